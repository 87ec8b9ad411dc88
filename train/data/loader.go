package data

import (
	"errors"
	"fmt"
	"iter"
	"math/bits"
	"sync"

	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/graph/ops"
)

// Batch is a batch of examples: what one run of the model takes, with the
// labels or targets.
type Batch struct {
	// Inputs holds a tensor per field of the dataset, by its name (the
	// model's input it feeds): [N, field shape...] for a field with a
	// value per example, N on the field's BatchAxis when that is not 0
	// (an LSTM's initial state [layers, N, hidden]), the value itself for
	// a Fixed field. A Runner runs the model on Inputs as they are.
	Inputs  map[string]*tensor.Dense
	Labels  []int64       // class labels, one per example; nil with float targets or none
	Targets *tensor.Dense // [N, TargetShape...] float32; nil with class labels or none
	N       int           // number of examples
	Indices []int         // the dataset index of each example
}

// Loader cuts a dataset into batches, as PyTorch's DataLoader with
// drop_last=False: every example once per epoch, the last batch smaller
// when batchSize does not divide the dataset's length.
//
// With shuffle, the order of an epoch is a permutation that depends only on
// the seed, the epoch number and the dataset's length (not on the Go
// version, nor on earlier epochs having run): a run resumed at epoch e sees
// the batches an uninterrupted run sees. Without shuffle, every epoch is in
// dataset order. Every field of a batch (token ids, their mask, ...) holds
// the same examples in the same order, as do the labels and Indices.
//
// The examples of a batch are read by two goroutines; the batch does not
// depend on which finishes first. A Loader is safe for concurrent use.
type Loader struct {
	ds        Dataset
	batchSize int
	shuffle   bool
	seed      int64
	fields    []Field
	tshape    []int // of one target
	targets   bool
	labels    bool // neither targets nor labels: WithoutLabels

	mu        sync.Mutex
	permEpoch int
	perm      []int // order of epoch permEpoch, when shuffling
}

// NewLoader returns a Loader of ds in batches of batchSize examples,
// shuffled every epoch when shuffle is set. It checks ds's fields: named,
// distinct, of element types examples can have, at least one with a value
// per example.
func NewLoader(ds Dataset, batchSize int, shuffle bool, seed int64) (*Loader, error) {
	if batchSize < 1 {
		return nil, fmt.Errorf("data: batch size %d, want 1 or more", batchSize)
	}
	if ds == nil {
		return nil, errNoDataset
	}
	if ds.Len() < 1 {
		return nil, errors.New("data: the dataset has no examples")
	}
	fields := ds.Fields()
	if err := checkFields(fields); err != nil {
		return nil, err
	}
	tshape, targets := ds.TargetShape()
	if targets {
		if _, err := graph.NumElements(dims64(tshape)); err != nil {
			return nil, fmt.Errorf("data: target shape %v: %w", tshape, err)
		}
	}
	// A batch's arrays hold batchSize examples: their sizes must fit.
	for _, f := range fields {
		if f.Fixed != nil {
			continue
		}
		if _, err := graph.NumElements(append(dims64(f.Shape), int64(batchSize))); err != nil {
			return nil, fmt.Errorf("data: field %q: a batch of %d examples of shape %v has more than 2^63 elements", f.Name, batchSize, f.Shape)
		}
	}
	if _, err := graph.NumElements(append(dims64(tshape), int64(batchSize))); targets && err != nil {
		return nil, fmt.Errorf("data: a batch of %d targets of shape %v has more than 2^63 elements", batchSize, tshape)
	}
	return &Loader{ds: ds, batchSize: batchSize, shuffle: shuffle, seed: seed, fields: fields,
		tshape: tshape, targets: targets, labels: !targets && !hasNoLabels(ds)}, nil
}

// errNotMade reports a Loader that NewLoader did not make (its zero value).
var errNotMade = errors.New("data: the Loader was not made by NewLoader")

// Len returns the number of examples of an epoch (0 for a Loader that
// NewLoader did not make).
func (l *Loader) Len() int {
	if l.ds == nil {
		return 0
	}
	return l.ds.Len()
}

// Batches returns the number of batches of an epoch (0 for a Loader that
// NewLoader did not make).
func (l *Loader) Batches() int {
	if l.ds == nil {
		return 0
	}
	return (l.ds.Len() + l.batchSize - 1) / l.batchSize
}

// Order returns the dataset indices of epoch epoch, in the order the
// batches give them (nil for a Loader that NewLoader did not make).
func (l *Loader) Order(epoch int) []int {
	if l.ds == nil {
		return nil
	}
	return append([]int(nil), l.order(epoch)...)
}

// order returns the order of an epoch, shared: the caller must not modify
// it.
func (l *Loader) order(epoch int) []int {
	if !l.shuffle {
		p := make([]int, l.ds.Len())
		for i := range p {
			p[i] = i
		}
		return p
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.perm == nil || l.permEpoch != epoch {
		// A new slice: earlier callers may still hold the old one.
		l.perm, l.permEpoch = permutation(l.ds.Len(), l.seed, epoch), epoch
	}
	return l.perm
}

// Batch returns batch i (from 0) of epoch epoch.
func (l *Loader) Batch(epoch, i int) (Batch, error) {
	if l.ds == nil {
		return Batch{}, errNotMade
	}
	nb := l.Batches()
	if i < 0 || i >= nb {
		return Batch{}, fmt.Errorf("data: batch %d out of range [0, %d)", i, nb)
	}
	lo, hi := i*l.batchSize, min((i+1)*l.batchSize, l.ds.Len())
	var idx []int
	if l.shuffle {
		idx = append(idx, l.order(epoch)[lo:hi]...)
	} else {
		idx = make([]int, hi-lo)
		for k := range idx {
			idx[k] = lo + k
		}
	}
	return l.read(epoch, idx)
}

// Epoch yields the batches of epoch epoch in order. After an error it
// yields nothing more.
func (l *Loader) Epoch(epoch int) iter.Seq2[Batch, error] {
	return func(yield func(Batch, error) bool) {
		if l.ds == nil {
			yield(Batch{}, errNotMade)
			return
		}
		for i := range l.Batches() {
			b, err := l.Batch(epoch, i)
			if !yield(b, err) || err != nil {
				return
			}
		}
	}
}

// read reads the examples idx of epoch epoch into a batch: each field with
// a value per example into one column of n values, row k from example
// idx[k], so that every array of the batch has the examples in the same
// order. A dataset that augments its examples draws them for the epoch.
func (l *Loader) read(epoch int, idx []int) (Batch, error) {
	n, tsize := len(idx), numel(l.tshape)
	cols := make([]column, len(l.fields))
	sizes := make([]int, len(l.fields))
	for j, f := range l.fields {
		if f.Fixed != nil {
			continue
		}
		sizes[j] = numel(f.Shape)
		c, err := newColumn(f.DType, n*sizes[j])
		if err != nil {
			return Batch{}, fmt.Errorf("data: field %q: %w", f.Name, err)
		}
		cols[j] = c
	}
	var labels []int64
	var targets []float32
	if l.targets {
		targets = make([]float32, n*tsize)
	} else if l.labels {
		labels = make([]int64, n)
	}
	readOne := func(k int) error {
		x := make([]any, len(cols))
		for j, c := range cols {
			if c != nil {
				x[j] = c.slice(k*sizes[j], (k+1)*sizes[j])
			}
		}
		var t []float32
		if targets != nil {
			t = targets[k*tsize : (k+1)*tsize]
		}
		y, err := readAt(l.ds, epoch, idx[k], x, t)
		if err != nil {
			var fe *FileError
			if errors.As(err, &fe) {
				return err
			}
			return fmt.Errorf("data: example %d: %w", idx[k], err)
		}
		if labels != nil {
			labels[k] = y
		}
		return nil
	}
	// Two goroutines read the two halves; the first error in batch order
	// is reported.
	errs := make([]error, 2)
	half := (n + 1) / 2
	var wg sync.WaitGroup
	for w, r := range [][2]int{{0, half}, {half, n}} {
		if r[0] == r[1] {
			continue
		}
		wg.Go(func() {
			defer func() {
				if p := recover(); p != nil {
					errs[w] = fmt.Errorf("data: reading examples: panic: %v", p)
				}
			}()
			for k := r[0]; k < r[1]; k++ {
				if err := readOne(k); err != nil {
					errs[w] = err
					return
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return Batch{}, err
		}
	}
	b := Batch{Inputs: make(map[string]*tensor.Dense, len(l.fields)), N: n, Labels: labels, Indices: idx}
	for j, f := range l.fields {
		if f.Fixed != nil {
			t, err := fixedTensor(f)
			if err != nil {
				return Batch{}, err
			}
			b.Inputs[f.Name] = t
			continue
		}
		b.Inputs[f.Name] = toAxis(cols[j], n, f.Shape, f.BatchAxis)
	}
	if targets != nil {
		b.Targets = ops.Dense(append([]int{n}, l.tshape...), targets)
	}
	return b, nil
}

// permutation returns a random permutation of 0..n-1 determined by seed
// and epoch: a Fisher-Yates shuffle driven by SplitMix64, written out here
// so that the order never changes with the Go version.
func permutation(n int, seed int64, epoch int) []int {
	r := splitMix{uint64(seed)}
	r = splitMix{r.next() ^ uint64(epoch)*0xd1b54a32d192ed03}
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	for i := n - 1; i > 0; i-- {
		j := int(r.below(uint64(i) + 1))
		p[i], p[j] = p[j], p[i]
	}
	return p
}

// splitMix is the SplitMix64 generator (Steele, Lea and Flood, 2014).
type splitMix struct{ s uint64 }

func (r *splitMix) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// below returns a uniform number in [0, n), n > 0 (Lemire's method).
func (r *splitMix) below(n uint64) uint64 {
	hi, lo := bits.Mul64(r.next(), n)
	if lo < n {
		thresh := -n % n
		for lo < thresh {
			hi, lo = bits.Mul64(r.next(), n)
		}
	}
	return hi
}

// epochReader is a dataset whose examples depend on the epoch (augmented
// images), or one that wraps such a dataset.
type epochReader interface {
	readEpoch(epoch, i int, x []any, target []float32) (int64, error)
}

// readAt reads example i of ds as epoch epoch sees it.
func readAt(ds Dataset, epoch, i int, x []any, target []float32) (int64, error) {
	if er, ok := ds.(epochReader); ok {
		return er.readEpoch(epoch, i, x, target)
	}
	return ds.Read(i, x, target)
}

// Dataset returns the dataset the Loader reads.
func (l *Loader) Dataset() Dataset { return l.ds }
