package ops

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// registerMoreNorm adds LpNormalization (x / ||x||_p along an axis, p 1
// or 2) and Hardmax (a one-hot of the first largest element: no gradient).
func registerMoreNorm(r *Registry) {
	r.add(OpInfo{Name: "LpNormalization", Differentiable: true, Lower: lowerLpNormalization})
	r.add(OpInfo{Name: "Hardmax", Lower: lowerHardmax})
}

// lowerLpNormalization: attributes axis (default -1) and p (default 2).
// A slice of norm zero gives zeros, as in ONNX Runtime. The gradient is
// that of x / x.norm(p, axis, keepdim=True) in PyTorch: for p=2,
// g/n - x*sum(g*x)/n^3; for p=1, g/n - sign(x)*sum(g*x)/n^2 with sign(0)
// = 0 (torch.norm's backward); zero where the norm is zero (where PyTorch's
// division gives NaN).
func lowerLpNormalization(c *Ctx, in []*Value) ([]*Value, error) {
	x := in[0]
	if !x.DType.IsFloat() {
		return nil, fmt.Errorf("input is %s, want a float type", x.DType)
	}
	if x.Rank() == 0 {
		return nil, fmt.Errorf("input is a scalar, want rank 1 or more")
	}
	a := c.attrs()
	ax, err := shapeAxis(int(a.Int("axis", -1)), x.Rank())
	if err != nil {
		return nil, err
	}
	p := a.Int("p", 2)
	if p != 1 && p != 2 {
		return nil, fmt.Errorf("p is %d, want 1 or 2", p)
	}
	lay := smxLayout{outer: sizeOf(x.Shape[:ax]), n: x.Shape[ax], inner: sizeOf(x.Shape[ax+1:])}
	shape := x.Shape
	s := Spec{Name: "LpNormalization", Shape: shape, DType: x.DType, WRT: []bool{true},
		Fwd: floats(lpNormRun[float32](lay, p, shape, false), lpNormRun[float64](lay, p, shape, false))}
	s.Grad = func(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
		g, err := NewNode(grad.Graph(), output.Name()+"/grad", Spec{Name: "LpNormalizationGrad", Shape: shape,
			DType: DTypeOf(inputs[0]), Fwd: floats(lpNormRun[float32](lay, p, shape, true), lpNormRun[float64](lay, p, shape, true))},
			inputs[0], grad)
		return G.Nodes{g}, err
	}
	y, err := c.Apply(s, x)
	return []*Value{y}, err
}

// lpNormRun: the forward (in: x) or, with grad, the input gradient (in: x,
// output gradient).
func lpNormRun[T Float](lay smxLayout, p int64, shape []int, grad bool) Kernel {
	return func(in []*tensor.Dense) (*tensor.Dense, error) {
		x, err := Data[T](in[0])
		if err != nil {
			return nil, err
		}
		var g []T
		if grad {
			if g, err = Data[T](in[1]); err != nil {
				return nil, err
			}
		}
		out := make([]T, len(x))
		n, inner := lay.n, lay.inner
		for o := range lay.outer {
			for i := range inner {
				at := func(k int) int { return (o*n+k)*inner + i }
				norm := 0.0
				for k := range n {
					v := float64(x[at(k)])
					if p == 1 {
						norm += math.Abs(v)
					} else {
						norm += v * v
					}
				}
				if p == 2 {
					norm = math.Sqrt(norm)
				}
				if norm == 0 {
					continue
				}
				if !grad {
					for k := range n {
						out[at(k)] = T(float64(x[at(k)]) / norm)
					}
					continue
				}
				dot := 0.0
				for k := range n {
					dot += float64(g[at(k)]) * float64(x[at(k)])
				}
				for k := range n {
					v := float64(x[at(k)])
					d := v / (norm * norm * norm) // p=2: d n / d x = x/n
					if p == 1 {
						d = sign(v) / (norm * norm)
					}
					out[at(k)] = T(float64(g[at(k)])/norm - dot*d)
				}
			}
		}
		return Dense(shape, out), nil
	}
}

func sign(v float64) float64 {
	switch {
	case v > 0:
		return 1
	case v < 0:
		return -1
	}
	return 0
}

// lowerHardmax: 1 at the first largest element along axis (default -1)
// and 0 elsewhere; before opset 13 the input is seen as 2-D, [prod of the
// dimensions before axis (default 1), prod of the rest]. A slice whose
// first element is NaN is all zeros, as in ONNX Runtime.
func lowerHardmax(c *Ctx, in []*Value) ([]*Value, error) {
	x := in[0]
	if !x.DType.IsFloat() {
		return nil, fmt.Errorf("input is %s, want a float type", x.DType)
	}
	r := x.Rank()
	legacy := c.Opset < 13
	def, hi := int64(-1), r-1
	if legacy {
		def = 1
	}
	axis := int(c.attrs().Int("axis", def))
	if r == 0 || axis < -r || axis > hi {
		return nil, fmt.Errorf("axis %d out of range for rank %d", axis, r)
	}
	if axis < 0 {
		axis += r
	}
	lay := smxLayout{outer: sizeOf(x.Shape[:axis]), n: 1, inner: 1}
	if legacy {
		lay.n = sizeOf(x.Shape[axis:])
	} else {
		lay.n, lay.inner = x.Shape[axis], sizeOf(x.Shape[axis+1:])
	}
	y, err := c.Apply(Spec{Name: "Hardmax", Shape: x.Shape, DType: x.DType,
		Fwd: floats(hardmaxRun[float32](lay, x.Shape), hardmaxRun[float64](lay, x.Shape))}, x)
	return []*Value{y}, err
}

func hardmaxRun[T Float](lay smxLayout, shape []int) Kernel {
	return func(in []*tensor.Dense) (*tensor.Dense, error) {
		x, err := Data[T](in[0])
		if err != nil {
			return nil, err
		}
		out := make([]T, len(x))
		n, inner := lay.n, lay.inner
		for o := range lay.outer {
			for i := range inner {
				if n == 0 {
					continue
				}
				best, bi := x[o*n*inner+i], 0
				for k := 1; k < n; k++ {
					if v := x[(o*n+k)*inner+i]; v > best {
						best, bi = v, k
					}
				}
				if best == best {
					out[(o*n+bi)*inner+i] = 1
				}
			}
		}
		return Dense(shape, out), nil
	}
}
