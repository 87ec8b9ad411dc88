package data

// unlabeled is a dataset whose labels and targets are not used.
type unlabeled struct {
	ds    Dataset
	tsize int // of the targets ds reads, if any
}

var _ Dataset = (*unlabeled)(nil)

// WithoutLabels returns the examples of ds without their labels or targets,
// for a model to run on them: a Loader's batches of it have nil Labels and
// Targets, Read returns label 0, and Select refuses it. WithoutLabels(nil)
// is nil, which the functions taking a dataset refuse.
func WithoutLabels(ds Dataset) Dataset {
	if ds == nil {
		return nil
	}
	if hasNoLabels(ds) {
		return ds
	}
	u := &unlabeled{ds: ds}
	if ts, ok := ds.TargetShape(); ok {
		u.tsize = numel(ts)
	}
	return u
}

// hasNoLabels reports whether ds (or the dataset a subset takes examples
// from) is WithoutLabels's.
func hasNoLabels(ds Dataset) bool {
	if s, ok := ds.(*subset); ok {
		ds = s.ds
	}
	_, ok := ds.(*unlabeled)
	return ok
}

func (u *unlabeled) Len() int                   { return u.ds.Len() }
func (u *unlabeled) Fields() []Field            { return u.ds.Fields() }
func (u *unlabeled) TargetShape() ([]int, bool) { return nil, false }

func (u *unlabeled) Read(i int, x []any, t []float32) (int64, error) {
	return u.readEpoch(0, i, x, t)
}

func (u *unlabeled) readEpoch(epoch, i int, x []any, _ []float32) (int64, error) {
	var t []float32
	if u.tsize > 0 {
		t = make([]float32, u.tsize)
	}
	_, err := readAt(u.ds, epoch, i, x, t)
	return 0, err
}
