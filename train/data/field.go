package data

import (
	"fmt"
	"slices"

	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/graph/ops"
)

// Field is one array of an example: what feeds one graph input of the
// model.
type Field struct {
	// Name is the graph input the field feeds: the model's input name when
	// the data was opened for a model (Options.Inputs), else the array's
	// name ("x" for the examples of MNIST, an image folder or an .npz
	// file's x).
	Name string
	// DType is the element type: graph.Float32, Float64, Int64, Int32,
	// Int8, Uint8 or Bool.
	DType graph.DType
	// Shape is the shape of one example, without the batch dimension (the
	// sizes of the other axes, in order); for a Fixed field, the shape of
	// the whole value.
	Shape []int
	// BatchAxis is the axis of a batch's tensor that holds its examples,
	// from 0 to len(Shape): 0 unless the model declares the batch on
	// another axis of the input, as PyTorch's recurrent initial states
	// [layers*directions, batch, hidden] have it on axis 1 (Input.BatchAxis).
	// A Fixed field has none.
	BatchAxis int
	// Fixed, when not nil, is a value every batch takes as it is rather
	// than one value per example: a 0-d array for a model input of rank 0
	// (a scalar setting such as a temperature). It is a slice of the
	// element type ([]float32 for Float32, []bool for Bool, ...) with the
	// elements of Shape (one for a 0-d value). Read leaves such a field
	// alone.
	Fixed any
}

// elemTypes makes a column of each element type an example's array may
// have.
var elemTypes = map[graph.DType]func(n int) column{
	graph.Float32: newCol[float32],
	graph.Float64: newCol[float64],
	graph.Int64:   newCol[int64],
	graph.Int32:   newCol[int32],
	graph.Int8:    newCol[int8],
	graph.Uint8:   newCol[uint8],
	graph.Bool:    newCol[bool],
}

const elemTypeList = "float32, float64, int64, int32, int8, uint8 or bool"

// column is the values of one field for several examples, as a slice of
// its element type.
type column interface {
	// slice returns elements [lo, hi), sharing the column's memory.
	slice(lo, hi int) any
	// dense returns the column as a tensor of the given shape, sharing
	// its memory.
	dense(shape []int) *tensor.Dense
	// copyRow copies row i (of size elements) into dst, which must be a
	// slice of the column's element type and of size elements.
	copyRow(dst any, i, size int) error
	// from copies src, a slice of the column's type, into the column.
	from(src any) bool
	// moveAxis returns the column, of shape [outer, mid, inner], as
	// [mid, outer, inner] (a new column; outer*mid*inner elements).
	moveAxis(outer, mid, inner int) column
}

type col[T any] []T

func newCol[T any](n int) column                 { return col[T](make([]T, n)) }
func (c col[T]) slice(lo, hi int) any            { return []T(c[lo:hi]) }
func (c col[T]) dense(shape []int) *tensor.Dense { return ops.Dense(shape, []T(c)) }

func (c col[T]) copyRow(dst any, i, size int) error {
	d, ok := dst.([]T)
	if !ok || len(d) != size {
		var zero T
		return fmt.Errorf("data: Read into %T of length %d, want []%T of length %d", dst, lenOf(dst), zero, size)
	}
	copy(d, c[i*size:(i+1)*size])
	return nil
}

func (c col[T]) from(src any) bool {
	s, ok := src.([]T)
	if ok && len(s) == len(c) {
		copy(c, s)
	}
	return ok && len(s) == len(c)
}

func (c col[T]) moveAxis(outer, mid, inner int) column {
	out := make(col[T], len(c))
	for o := range outer {
		for m := range mid {
			copy(out[(m*outer+o)*inner:(m*outer+o+1)*inner], c[(o*mid+m)*inner:(o*mid+m+1)*inner])
		}
	}
	return out
}

// toAxis returns the values of c, n examples of shape one each, as a
// tensor with the examples along axis: [n, one...] moved to [one[:axis],
// n, one[axis:]].
func toAxis(c column, n int, one []int, axis int) *tensor.Dense {
	shape := append(append(slices.Clone(one[:axis]), n), one[axis:]...)
	if axis == 0 {
		return c.dense(shape)
	}
	return c.moveAxis(n, numel(one[:axis]), numel(one[axis:])).dense(shape)
}

// fromAxis returns the values of an array of the given shape as a column
// of its examples along axis, each example's values in order: shape moved
// to [shape[axis], shape[:axis], shape[axis+1:]].
func fromAxis(c column, shape []int, axis int) column {
	if axis == 0 {
		return c
	}
	return c.moveAxis(numel(shape[:axis]), shape[axis], numel(shape[axis+1:]))
}

// newColumn returns a zeroed column of n elements of type dt.
func newColumn(dt graph.DType, n int) (column, error) {
	mk, ok := elemTypes[dt]
	if !ok {
		return nil, fmt.Errorf("element type %v, want %s", dt, elemTypeList)
	}
	return mk(n), nil
}

// elemType returns the element type and length of a slice of one of
// elemTypes' types.
func elemType(v any) (graph.DType, int, bool) {
	switch s := v.(type) {
	case []float32:
		return graph.Float32, len(s), true
	case []float64:
		return graph.Float64, len(s), true
	case []int64:
		return graph.Int64, len(s), true
	case []int32:
		return graph.Int32, len(s), true
	case []int8:
		return graph.Int8, len(s), true
	case []uint8:
		return graph.Uint8, len(s), true
	case []bool:
		return graph.Bool, len(s), true
	}
	return graph.Undefined, 0, false
}

// asColumn returns a column over v, a slice of one of elemTypes' types
// (sharing its memory).
func asColumn(v any) (column, bool) {
	switch s := v.(type) {
	case []float32:
		return col[float32](s), true
	case []float64:
		return col[float64](s), true
	case []int64:
		return col[int64](s), true
	case []int32:
		return col[int32](s), true
	case []int8:
		return col[int8](s), true
	case []uint8:
		return col[uint8](s), true
	case []bool:
		return col[bool](s), true
	}
	return nil, false
}

// fixedTensor returns a copy of a Fixed field's value as a tensor.
func fixedTensor(f Field) (*tensor.Dense, error) {
	_, n, _ := elemType(f.Fixed)
	c, err := newColumn(f.DType, n)
	if err != nil || n != numel(f.Shape) || !c.from(f.Fixed) {
		return nil, fmt.Errorf("data: field %q: fixed value %T of %d elements, want %v of shape %v", f.Name, f.Fixed, n, f.DType, f.Shape)
	}
	return c.dense(f.Shape), nil
}

// checkFields checks what a dataset says of its fields: names given and
// distinct, element types that examples can have, fixed values of their
// shape, and at least one field with a value per example.
func checkFields(fields []Field) error {
	seen := make(map[string]bool, len(fields))
	batched := false
	for _, f := range fields {
		switch {
		case f.Name == "":
			return fmt.Errorf("data: a field has no name")
		case seen[f.Name]:
			return fmt.Errorf("data: two fields are named %q", f.Name)
		}
		seen[f.Name] = true
		if _, ok := elemTypes[f.DType]; !ok {
			return fmt.Errorf("data: field %q has element type %v, want %s", f.Name, f.DType, elemTypeList)
		}
		if _, err := graph.NumElements(dims64(f.Shape)); err != nil {
			return fmt.Errorf("data: field %q has shape %v: %w", f.Name, f.Shape, err)
		}
		if f.Fixed == nil && (f.BatchAxis < 0 || f.BatchAxis > len(f.Shape)) {
			return fmt.Errorf("data: field %q has batch axis %d, want 0 to %d (examples of shape %v)", f.Name, f.BatchAxis, len(f.Shape), f.Shape)
		}
		if f.Fixed == nil {
			batched = true
			continue
		}
		if dt, n, ok := elemType(f.Fixed); !ok || dt != f.DType || n != numel(f.Shape) {
			return fmt.Errorf("data: field %q: fixed value %T of %d elements, want %v of shape %v", f.Name, f.Fixed, n, f.DType, f.Shape)
		}
	}
	if !batched {
		return fmt.Errorf("data: no field holds one value per example")
	}
	return nil
}

// NewExample returns buffers for one example of ds to Read into: a slice
// of each field's element type and size, nil for Fixed fields.
func NewExample(ds Dataset) ([]any, error) {
	if ds == nil {
		return nil, errNoDataset
	}
	fields := ds.Fields()
	if err := checkFields(fields); err != nil {
		return nil, err
	}
	x := make([]any, len(fields))
	for k, f := range fields {
		if f.Fixed != nil {
			continue
		}
		c, err := newColumn(f.DType, numel(f.Shape))
		if err != nil {
			return nil, fmt.Errorf("data: field %q: %w", f.Name, err)
		}
		x[k] = c.slice(0, numel(f.Shape))
	}
	return x, nil
}

// dims64 converts a shape to graph dims.
func dims64(shape []int) []int64 {
	d := make([]int64, len(shape))
	for i, v := range shape {
		d[i] = int64(v)
	}
	return d
}

// cloneFields returns a copy of fields that a caller may change.
func cloneFields(fields []Field) []Field {
	out := slices.Clone(fields)
	for k := range out {
		out[k].Shape = slices.Clone(out[k].Shape)
	}
	return out
}

// checkRead checks the arguments of a Read of example i of a dataset of n
// examples with one float32 field of size elements.
func checkRead(i, n int, x []any, size int) ([]float32, error) {
	if i < 0 || i >= n {
		return nil, fmt.Errorf("data: example %d out of range [0, %d)", i, n)
	}
	if len(x) != 1 {
		return nil, fmt.Errorf("data: Read into %d arrays, want 1", len(x))
	}
	xf, ok := x[0].([]float32)
	if !ok {
		return nil, fmt.Errorf("data: Read into %T, want []float32", x[0])
	}
	if len(xf) != size {
		return nil, fmt.Errorf("data: Read into %d elements, want %d", len(xf), size)
	}
	return xf, nil
}

func lenOf(x any) int {
	_, n, _ := elemType(x)
	return n
}
