package ops

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph"
)

// registerMore adds further ops that current PyTorch exports use: the
// ops of Hugging Face encoders (BERT, RoBERTa, a sentence encoder, ViT) and
// of torchvision's classifiers that the other files lack. More of them are
// in more_index.go (gathers) and more_reduce.go (norm reductions).
func registerMore(r *Registry) {
	// IsNaN and IsInf: scaled_dot_product_attention's masked softmax
	// (dynamo) and the TorchScript attention of transformers test for NaN.
	r.add(OpInfo{Name: "IsNaN", Lower: lowerFloatTest("IsNaN")})
	r.add(OpInfo{Name: "IsInf", Lower: lowerFloatTest("IsInf")})
	// CumSum: RoBERTa's position ids (the running count of non-pad tokens).
	r.add(OpInfo{Name: "CumSum", Differentiable: true, Lower: lowerCumSum})
	registerMoreIndex(r)
	registerMoreReduce(r)
	registerMoreTopK(r)    // more_topk.go
	registerMoreScatter(r) // more_scatter.go
	registerMoreNorm(r)    // more_norm.go: LpNormalization, Hardmax
}

// lowerFloatTest lowers IsNaN and IsInf (detect_positive and
// detect_negative, default 1): a bool per element of a float input.
func lowerFloatTest(name string) LowerFunc {
	return func(c *Ctx, in []*Value) ([]*Value, error) {
		x := in[0]
		if !x.DType.IsFloat() {
			return nil, fmt.Errorf("input is %s, want a float type", x.DType)
		}
		test := math.IsNaN
		if name == "IsInf" {
			a := c.attrs()
			pos, neg := a.Bool("detect_positive", true), a.Bool("detect_negative", true)
			test = func(v float64) bool { return (pos && math.IsInf(v, 1)) || (neg && math.IsInf(v, -1)) }
		}
		k := floats(floatTestRun[float32](test), floatTestRun[float64](test))
		out, err := c.Apply(Spec{Name: name, Shape: x.Shape, DType: graph.Bool, Fwd: k}, x)
		return []*Value{out}, err
	}
}

func floatTestRun[T Float](test func(float64) bool) Kernel {
	return func(in []*tensor.Dense) (*tensor.Dense, error) {
		x, err := Data[T](in[0])
		if err != nil {
			return nil, err
		}
		out := make([]bool, len(x))
		for i, v := range x {
			out[i] = test(float64(v))
		}
		return Dense(Shape(in[0]), out), nil
	}
}

// lowerCumSum: the running sum along the axis given by input 1 (a constant
// of one element), inclusive or exclusive, forward or reversed. The
// gradient is the running sum of the output gradient in the other
// direction with the same exclusiveness (PyTorch's cumsum backward); the
// axis is not differentiable.
func lowerCumSum(c *Ctx, in []*Value) ([]*Value, error) {
	x, a := in[0], input(in, 1)
	if a == nil {
		return nil, fmt.Errorf("the axis input is required")
	}
	if !a.IsConst() {
		return nil, fmt.Errorf("the axis input must be known when the model is compiled")
	}
	axes, err := a.Ints()
	if err != nil {
		return nil, fmt.Errorf("axis: %w", err)
	}
	if len(axes) != 1 {
		return nil, fmt.Errorf("axis has %d elements, want 1", len(axes))
	}
	ax, err := shapeAxis(axes[0], x.Rank())
	if err != nil {
		return nil, err
	}
	attrs := c.attrs()
	excl, rev := attrs.Bool("exclusive", false), attrs.Bool("reverse", false)
	outer, n, inner := sizeOf(x.Shape[:ax]), x.Shape[ax], sizeOf(x.Shape[ax+1:])
	s := Spec{Name: "CumSum", Shape: x.Shape, DType: x.DType, Fwd: cumSumKernel(outer, n, inner, excl, rev)}
	if x.DType.IsFloat() {
		s.WRT = []bool{true, false}
		s.Grad = func(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
			g, err := NewNode(grad.Graph(), output.Name()+"/grad", Spec{Name: "CumSumGrad", Shape: ShapeOf(inputs[0]),
				DType: DTypeOf(inputs[0]), Fwd: cumSumKernel(outer, n, inner, excl, !rev)}, grad)
			return G.Nodes{g, nil}, err
		}
	}
	y, err := c.Apply(s, x, a)
	return []*Value{y}, err
}

func cumSumKernel(outer, n, inner int, excl, rev bool) Kernel {
	return dispatch(byType[Kernel]{
		Float32: cumSumRun[float32](outer, n, inner, excl, rev), Float64: cumSumRun[float64](outer, n, inner, excl, rev),
		Int64: cumSumRun[int64](outer, n, inner, excl, rev), Int32: cumSumRun[int32](outer, n, inner, excl, rev),
		Uint64: cumSumRun[uint64](outer, n, inner, excl, rev), Uint32: cumSumRun[uint32](outer, n, inner, excl, rev),
	})
}

func cumSumRun[T Number](outer, n, inner int, excl, rev bool) Kernel {
	return func(in []*tensor.Dense) (*tensor.Dense, error) {
		x, err := Data[T](in[0])
		if err != nil {
			return nil, err
		}
		y := make([]T, len(x))
		for o := 0; o < outer; o++ {
			for i := 0; i < inner; i++ {
				var acc T
				for k := 0; k < n; k++ {
					kk := k
					if rev {
						kk = n - 1 - k
					}
					at := (o*n+kk)*inner + i
					if excl {
						y[at] = acc
						acc += x[at]
					} else {
						acc += x[at]
						y[at] = acc
					}
				}
			}
		}
		return Dense(Shape(in[0]), y), nil
	}
}
