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
	switch d := v.Const.Data().(type) {
	case []int64:
		out := make([]int, len(d))
		for i, x := range d {
			out[i] = int(x)
		}
		return out, nil
	case int64:
		return []int{int(d)}, nil
	case []int32:
		out := make([]int, len(d))
		for i, x := range d {
			out[i] = int(x)
		}
		return out, nil
	case int32:
		return []int{int(d)}, nil
	}
	return nil, fmt.Errorf("value %v is not an integer tensor", v)
}

// Float returns a constant scalar (or one-element) value as float64.
func (v *Value) Float() (float64, error) {
	if !v.IsConst() {
		return 0, fmt.Errorf("value %v must be known when the model is compiled", v)
	}
	switch d := v.Const.Data().(type) {
	case []float32:
		if len(d) == 1 {
			return float64(d[0]), nil
		}
	case float32:
		return float64(d), nil
	case []float64:
		if len(d) == 1 {
			return d[0], nil
		}
	case float64:
		return d, nil
	case []int64:
		if len(d) == 1 {
			return float64(d[0]), nil
		}
	case int64:
		return float64(d), nil
	}
	return 0, fmt.Errorf("value %v is not a scalar number", v)
}

// tensorDtype maps an ONNX element type to gorgonia's.
func tensorDtype(d graph.DType) (tensor.Dtype, error) {
	switch d {
	case graph.Float32:
		return tensor.Float32, nil
	case graph.Float64:
		return tensor.Float64, nil
	case graph.Int64:
		return tensor.Int64, nil
	case graph.Int32:
		return tensor.Int32, nil
	case graph.Int8:
		return tensor.Int8, nil
	case graph.Uint8:
		return tensor.Uint8, nil
	case graph.Bool:
		return tensor.Bool, nil
	case graph.Int16:
		return tensor.Int16, nil
	case graph.Uint16:
		return tensor.Uint16, nil
	case graph.Uint32:
		return tensor.Uint32, nil
	case graph.Uint64:
		return tensor.Uint64, nil
	}
	return tensor.Dtype{}, fmt.Errorf("element type %s is not supported by the engine", d)
}

func fromTensorDtype(d tensor.Dtype) (graph.DType, error) {
	switch d {
	case tensor.Float32:
		return graph.Float32, nil
	case tensor.Float64:
		return graph.Float64, nil
	case tensor.Int64:
		return graph.Int64, nil
	case tensor.Int32:
		return graph.Int32, nil
	case tensor.Int8:
		return graph.Int8, nil
	case tensor.Uint8:
		return graph.Uint8, nil
	case tensor.Bool:
		return graph.Bool, nil
	case tensor.Int16:
		return graph.Int16, nil
	case tensor.Uint16:
		return graph.Uint16, nil
	case tensor.Uint32:
		return graph.Uint32, nil
	case tensor.Uint64:
		return graph.Uint64, nil
	}
	return graph.Undefined, fmt.Errorf("gorgonia type %v is not supported", d)
}
