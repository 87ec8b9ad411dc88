package ops

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph"
)

// Value is an input or output of an IR node while a model is compiled:
// either a gorgonia node, computed when the machine runs, or a tensor known
// at compile time (a constant, or a folded shape computation).
type Value struct {
	Node  *G.Node       // nil for a constant
	Const *tensor.Dense // set for a constant
	Shape []int         // always known: models compile per input shape
	DType graph.DType

	held bool // counted in the program's total (see Ctx.hold)
	// quant is set on a QuantizeLinear's output: what it quantized, so
	// that a DequantizeLinear reading it runs the pair as one fake
	// quantization in training (quant.go).
	quant *quantized
	// transposeOf is set on a 2-D Transpose's output: the matrix it
	// transposes, so that a MatMul reading it multiplies by that matrix
	// with GEMM's transB instead (matmul.go).
	transposeOf *Value
	// packOf is set on a recurrent node's output (a part of its pack): the
	// part, so that a Reshape, Squeeze, Unsqueeze or Flatten of it copies
	// that part of the pack in its own shape instead of copying the
	// output again (recurrent.go).
	packOf *packView
	// sliceOf is set on a Slice's output: the sliced value and the view,
	// so that a Concat of slices of one value copies them from it as one
	// view (concat_slices.go).
	sliceOf *sliceView
	// reshapeOf is set on a float Reshape's copy (Squeeze, Unsqueeze,
	// Flatten): the value it copies, so that a kernel reading its input's
	// elements flat whatever the shape (the recurrent ops' W, R and B)
	// reads that value, and the copy and its gradient's are not run.
	reshapeOf *Value
	// permOf is set on a float Transpose's output: the value it permutes
	// and the view, so that a Gather of constant indices reading it
	// gathers from that value at once (gather_view.go).
	permOf *sliceView
	// gatherOf is set on a float Gather's output along axis 0: its data,
	// indices and embedding record, so that a Transpose of it that keeps
	// the rows whole gathers them into their places at once
	// (gather_view.go).
	gatherOf *gatherRows
}

// IsConst reports whether v is known at compile time.
func (v *Value) IsConst() bool { return v != nil && v.Node == nil }

// Rank is len(Shape).
func (v *Value) Rank() int { return len(v.Shape) }

// Size is the number of elements.
func (v *Value) Size() int {
	n := 1
	for _, d := range v.Shape {
		n *= d
	}
	return n
}

func (v *Value) String() string {
	kind := "node"
	if v.IsConst() {
		kind = "const"
	}
	return fmt.Sprintf("%s %s%v", kind, v.DType, v.Shape)
}

// ConstValue wraps a tensor as a constant Value.
func ConstValue(t *tensor.Dense) (*Value, error) {
	dt, err := fromTensorDtype(t.Dtype())
	if err != nil {
		return nil, err
	}
	return &Value{Const: t, Shape: append([]int{}, t.Shape()...), DType: dt}, nil
}

// Ints returns a constant integer value's elements as ints (for shapes,
// axes, pads read from inputs).
func (v *Value) Ints() ([]int, error) {
	if !v.IsConst() {
		return nil, fmt.Errorf("value %v must be known when the model is compiled", v)
	}
	read, err := pick(intReaders, v.Const.Dtype())
	if err != nil {
		return nil, fmt.Errorf("value %v is not an integer tensor", v)
	}
	return read(v.Const)
}

// Float returns a constant scalar (or one-element) value as float64.
func (v *Value) Float() (float64, error) {
	if !v.IsConst() {
		return 0, fmt.Errorf("value %v must be known when the model is compiled", v)
	}
	want := byType[func(*tensor.Dense) (float64, error)]{Float32: numbers.Float32, Float64: numbers.Float64, Int64: numbers.Int64}
	read, err := pick(want, v.Const.Dtype())
	if err == nil && v.Const.Size() == 1 {
		return read(v.Const)
	}
	return 0, fmt.Errorf("value %v is not a scalar number", v)
}

// tensorDtypes is gorgonia's element type for each ONNX element type the
// engine runs.
var tensorDtypes = byType[tensor.Dtype]{
	Float32: tensor.Float32, Float64: tensor.Float64,
	Int8: tensor.Int8, Int16: tensor.Int16, Int32: tensor.Int32, Int64: tensor.Int64,
	Uint8: tensor.Uint8, Uint16: tensor.Uint16, Uint32: tensor.Uint32, Uint64: tensor.Uint64,
	Bool: tensor.Bool,
}

// tensorDtype maps an ONNX element type to gorgonia's.
func tensorDtype(d graph.DType) (tensor.Dtype, error) {
	if t, ok := tensorDtypes.For(d); ok && t.Type != nil {
		return t, nil
	}
	return tensor.Dtype{}, fmt.Errorf("element type %s is not supported by the engine", d)
}

// fromTensorDtypes is tensorDtypes read backwards.
var fromTensorDtypes = func() map[tensor.Dtype]graph.DType {
	m := map[tensor.Dtype]graph.DType{}
	for d := graph.Float32; d <= graph.Int2; d++ {
		if t, err := tensorDtype(d); err == nil {
			m[t] = d
		}
	}
	return m
}()

// fromTensorDtype maps gorgonia's element type back to ONNX's.
func fromTensorDtype(d tensor.Dtype) (graph.DType, error) {
	if g, ok := fromTensorDtypes[d]; ok {
		return g, nil
	}
	return graph.Undefined, fmt.Errorf("gorgonia type %v is not supported", d)
}

// input is the optional input i: nil when the node has fewer inputs (or
// leaves it empty).
func input(in []*Value, i int) *Value {
	if i < len(in) {
		return in[i]
	}
	return nil
}
