package data

import (
	"fmt"
	"slices"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/internal/npz"
)

// npzData is a dataset held in memory from an .npz file.
type npzData struct {
	n       int
	shape   []int // of one example
	xf      []float32
	xi      []int64
	labels  []int64   // with class labels
	targets []float32 // with float targets
	tshape  []int     // of one target
}

var (
	_ Dataset = (*npzData)(nil)
	_ labeler = (*npzData)(nil)
)

// OpenNPZ opens an .npz file (numpy.savez) holding two arrays whose first
// axis indexes the examples:
//
//   - x: the examples, float32 or int64 (float64 is converted to float32 and
//     int32 to int64);
//   - y: class labels (int64, int32, int8 or uint8, shape [N], none
//     negative) or float targets (float32, or float64 converted, shape
//     [N, ...]).
//
// Other arrays in the file are ignored (but read). The values are used as
// stored: no normalization is applied. The arrays may take
// graph.DefaultMaxBytes together; OpenNPZWith sets another limit.
func OpenNPZ(path string) (Dataset, error) {
	return OpenNPZWith(path, Options{})
}

// OpenNPZWith is OpenNPZ with options, as Open applies them to an .npz file:
// Options.MaxBytes bounds the arrays of the file (each and together),
// Classes and PerClass select examples, and the options about images are an
// error.
func OpenNPZWith(path string, opts Options) (Dataset, error) {
	if err := noImageOptions(path, opts, true); err != nil {
		return nil, err
	}
	ds, err := openNPZ(path, opts.MaxBytes, opts.Unlabeled)
	if err != nil {
		return nil, err
	}
	return finish(path, ds, opts)
}

func openNPZ(path string, max int64, unlabeled bool) (Dataset, error) {
	arrays, err := npz.ReadWith(path, npz.Options{MaxBytes: max})
	if err != nil {
		// npz's errors already name the file.
		return nil, fmt.Errorf("data: %w", err)
	}
	if unlabeled {
		return npzExamples(path, arrays)
	}
	return npzDataset(path, arrays)
}

// npzExamples makes a dataset of the examples x alone, without labels
// (Options.Unlabeled); npzDataset adds y.
func npzExamples(path string, arrays map[string]npz.Array) (*npzData, error) {
	x, ok := arrays["x"]
	switch {
	case !ok:
		return nil, fileErr(path, "no array x (examples) in the archive (it has %s)", names(arrays))
	case len(x.Shape) == 0:
		return nil, fileErr(path, "x is a scalar, want examples along its first axis")
	}
	d := &npzData{n: x.Shape[0], shape: slices.Clone(x.Shape[1:])}
	if d.n == 0 {
		return nil, fileErr(path, "no examples (x has shape %v)", x.Shape)
	}
	if numel(d.shape) == 0 {
		return nil, fileErr(path, "examples are empty (x has shape %v)", x.Shape)
	}
	switch v := x.Data.(type) {
	case []float32:
		d.xf = v
	case []float64:
		d.xf = convert[float32](v)
	case []int64:
		d.xi = v
	case []int32:
		d.xi = convert[int64](v)
	default:
		return nil, fileErr(path, "x has element type %s, want float32 or int64 (or float64, int32)", elemName(x.Data))
	}
	return d, nil
}

// npzDataset makes the dataset of OpenNPZ from the arrays of the file at
// path.
func npzDataset(path string, arrays map[string]npz.Array) (Dataset, error) {
	x, okx := arrays["x"]
	y, oky := arrays["y"]
	switch {
	case !okx && !oky:
		return nil, fileErr(path, "no arrays x and y (examples and labels) in the archive (it has %s)", names(arrays))
	case !okx:
		return nil, fileErr(path, "no array x (examples) in the archive (it has %s)", names(arrays))
	case !oky:
		return nil, fileErr(path, "no array y (labels or targets) in the archive (it has %s)", names(arrays))
	}
	if len(x.Shape) == 0 {
		return nil, fileErr(path, "x is a scalar, want examples along its first axis")
	}
	if len(y.Shape) == 0 {
		return nil, fileErr(path, "y is a scalar, want one label or target per example")
	}
	if n := x.Shape[0]; y.Shape[0] != n {
		return nil, fileErr(path, "x has %d examples (shape %v) but y has %d (shape %v)", n, x.Shape, y.Shape[0], y.Shape)
	}
	d, err := npzExamples(path, arrays)
	if err != nil {
		return nil, err
	}
	switch v := y.Data.(type) {
	case []float32:
		d.targets, d.tshape = v, slices.Clone(y.Shape[1:])
	case []float64:
		d.targets, d.tshape = convert[float32](v), slices.Clone(y.Shape[1:])
	case []int64:
		d.labels = v
	case []int32:
		d.labels = convert[int64](v)
	case []int8:
		d.labels = convert[int64](v)
	case []uint8:
		d.labels = convert[int64](v)
	default:
		return nil, fileErr(path, "y has element type %s, want integer class labels or float32 targets", elemName(y.Data))
	}
	if d.labels != nil {
		if len(y.Shape) != 1 {
			return nil, fileErr(path, "y holds integer labels of shape %v, want one label per example (shape [%d])", y.Shape, d.n)
		}
		for i, l := range d.labels {
			if l < 0 {
				return nil, fileErr(path, "label y[%d] = %d is negative, want a class index", i, l)
			}
		}
	}
	return d, nil
}

func (d *npzData) Len() int            { return d.n }
func (d *npzData) ExampleShape() []int { return slices.Clone(d.shape) }

func (d *npzData) DType() graph.DType {
	if d.xi != nil {
		return graph.Int64
	}
	return graph.Float32
}

func (d *npzData) TargetShape() ([]int, bool) {
	if d.targets == nil {
		return nil, false
	}
	return slices.Clone(d.tshape), true
}

func (d *npzData) label(i int) int64 { return d.labels[i] }

func (d *npzData) Read(i int, x any, target []float32) (int64, error) {
	if i < 0 || i >= d.n {
		return 0, fmt.Errorf("data: example %d out of range [0, %d)", i, d.n)
	}
	size := numel(d.shape)
	switch {
	case d.xf != nil:
		xf, ok := x.([]float32)
		if !ok || len(xf) != size {
			return 0, fmt.Errorf("data: Read into %T of length %d, want []float32 of length %d", x, lenOf(x), size)
		}
		copy(xf, d.xf[i*size:])
	default:
		xi, ok := x.([]int64)
		if !ok || len(xi) != size {
			return 0, fmt.Errorf("data: Read into %T of length %d, want []int64 of length %d", x, lenOf(x), size)
		}
		copy(xi, d.xi[i*size:])
	}
	if d.labels != nil {
		return d.labels[i], nil
	}
	if d.targets == nil { // Options.Unlabeled
		return 0, nil
	}
	ts := numel(d.tshape)
	if len(target) != ts {
		return 0, fmt.Errorf("data: Read with a target of length %d, want %d", len(target), ts)
	}
	copy(target, d.targets[i*ts:])
	return 0, nil
}

func convert[T, F int64 | int32 | int8 | uint8 | float32 | float64](v []F) []T {
	out := make([]T, len(v))
	for i, e := range v {
		out[i] = T(e)
	}
	return out
}

func lenOf(x any) int {
	switch v := x.(type) {
	case []float32:
		return len(v)
	case []int64:
		return len(v)
	}
	return 0
}

func elemName(data any) string {
	switch data.(type) {
	case []float32:
		return "float32"
	case []float64:
		return "float64"
	case []int64:
		return "int64"
	case []int32:
		return "int32"
	case []int8:
		return "int8"
	case []uint8:
		return "uint8"
	case []bool:
		return "bool"
	}
	return fmt.Sprintf("%T", data)
}

func names(arrays map[string]npz.Array) string {
	if len(arrays) == 0 {
		return "none"
	}
	var s []string
	for k := range arrays {
		s = append(s, k)
	}
	slices.Sort(s)
	if len(s) > 8 {
		s = append(s[:8], "...")
	}
	return fmt.Sprint(s)
}
