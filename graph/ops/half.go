package ops

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph"
)

// Half precision. The engine has no float16 or bfloat16 kernels: a value of
// either type is computed in float32 and rounded to its type (to nearest,
// ties to even, graph.F16FromFloat32 and BF16FromFloat32) where the model
// makes it, after every op whose output has that type, as ONNX Runtime's CPU
// provider runs a float16 node with float32 kernels between casts and
// PyTorch's CPU half ops compute in float and round their result. So a
// half-typed value is a float32 tensor (Value.DType Float32) holding values
// of the half type, and the kernels, the gradients and the trainer's weights
// stay float32: initializers are widened when read (TensorFromIR; exactly),
// graph inputs of a half type take float32 tensors and round them on entry,
// Cast to a half type rounds, graph outputs come out as float32 tensors
// holding values of their declared type. A parameter read by a program that
// can change it (training, or shared Options.Params) is rounded where it is
// read: the trainer's float32 tensor is the master copy (as PyTorch's
// mixed-precision training keeps one), the model computes with its rounded
// value, and the rounding passes the gradient through unchanged (as
// PyTorch's Cast between float32 and float16 does). The file keeps its
// types: the trainer writes its masters back rounded to the initializer's
// type.

// computeType is the element type the engine holds values of type d in:
// float32 for the half types, d for every other.
func computeType(d graph.DType) graph.DType {
	if isHalf(d) {
		return graph.Float32
	}
	return d
}

// isHalf reports whether d is float16 or bfloat16.
func isHalf(d graph.DType) bool { return d == graph.Float16 || d == graph.BFloat16 }

// widenHalf decodes raw half values of type d as float32 (exactly).
func widenHalf(d graph.DType, raw []byte) ([]float32, error) {
	if d == graph.Float16 {
		h, err := graph.Decode[graph.F16](raw)
		return widen(h, graph.F16.Float32), err
	}
	h, err := graph.Decode[graph.BF16](raw)
	return widen(h, graph.BF16.Float32), err
}

func widen[H any](h []H, f func(H) float32) []float32 {
	out := make([]float32, len(h))
	for i, x := range h {
		out[i] = f(x)
	}
	return out
}

// halfRound is the rounding of float32 values to half type d, in place.
func halfRound(d graph.DType) func([]float32) {
	if d == graph.BFloat16 {
		return func(v []float32) {
			for i, x := range v {
				v[i] = graph.BF16FromFloat32(x).Float32()
			}
		}
	}
	return func(v []float32) {
		for i, x := range v {
			v[i] = graph.F16FromFloat32(x).Float32()
		}
	}
}

// roundHalf rounds a float32 value to half type d: folded for a constant,
// else a node whose gradient is the output's gradient unchanged.
func roundHalf(c *Ctx, v *Value, d graph.DType) (*Value, error) {
	if v.DType != graph.Float32 {
		return nil, fmt.Errorf("cannot round %s to %s", v, d)
	}
	round := halfRound(d)
	s := Spec{Name: d.String(), Shape: v.Shape, DType: graph.Float32,
		Into: func(in []*tensor.Dense, dst *tensor.Dense) error {
			x, err := Data[float32](in[0])
			if err != nil {
				return err
			}
			y, err := Data[float32](dst)
			if err != nil {
				return err
			}
			copy(y, x)
			round(y)
			return nil
		},
		WRT: []bool{true},
		Grad: func(_ G.Nodes, _, grad *G.Node) (G.Nodes, error) {
			return G.Nodes{grad}, nil
		},
	}
	if len(v.Shape) == 0 {
		s.Fwd = func(in []*tensor.Dense) (*tensor.Dense, error) {
			x, err := Data[float32](in[0])
			if err != nil {
				return nil, err
			}
			y := []float32{x[0]}
			round(y)
			return tensor.New(tensor.FromScalar(y[0])), nil
		}
	}
	return c.Apply(s, v)
}

// halfTypes follows, while a model compiles, which of its values have a
// half type (by value name): graph inputs and initializers of that type,
// the outputs of Cast and CastLike to it and of Constant and
// ConstantOfShape holding it, and the float outputs of any other node that
// reads such a value (an ONNX op's float inputs and outputs share one type).
type halfTypes map[string]graph.DType

// lowered rounds each float output of node n that has a half type, unless
// the lowering passed on an input of that type unchanged (Identity), and
// records the type.
func (h halfTypes) lowered(c *Ctx, n *graph.Node, in, outs []*Value) ([]*Value, error) {
	d := h.typeOf(c, n)
	if d == graph.Undefined {
		return outs, nil
	}
	outs = append([]*Value(nil), outs...)
	for i, name := range n.Outputs {
		if name == "" || i >= len(outs) || outs[i] == nil || outs[i].DType != graph.Float32 {
			continue
		}
		h[name] = d
		if h.passed(n, in, outs[i], d) {
			continue
		}
		v, err := roundHalf(c, outs[i], d)
		if err != nil {
			return nil, err
		}
		outs[i] = v
	}
	return outs, nil
}

// passed reports whether out is one of n's inputs that already holds type d.
func (h halfTypes) passed(n *graph.Node, in []*Value, out *Value, d graph.DType) bool {
	for i, v := range in {
		if v == out && h[n.Inputs[i]] == d {
			return true
		}
	}
	return false
}

// typeOf is the half type of n's float outputs, or Undefined.
func (h halfTypes) typeOf(c *Ctx, n *graph.Node) graph.DType {
	switch n.QualifiedOp() {
	case "Cast":
		if to, err := castTarget(c.attrs()); err == nil && isHalf(to) {
			return to
		}
		return graph.Undefined
	case "CastLike":
		if len(n.Inputs) > 1 {
			return h[n.Inputs[1]]
		}
		return graph.Undefined
	case "Constant", "ConstantOfShape":
		if a := n.Attr("value"); a != nil && a.T != nil && isHalf(a.T.DType) {
			return a.T.DType
		}
		return graph.Undefined
	}
	for _, name := range n.Inputs {
		if d, ok := h[name]; ok {
			return d
		}
	}
	return graph.Undefined
}
