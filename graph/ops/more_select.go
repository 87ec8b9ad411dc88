package ops

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph"
)

// registerMoreSelect adds Trilu (torch.triu and torch.tril, the causal
// masks of decoders) and ArgMax and ArgMin (torch.argmax: no gradient).
func registerMoreSelect(r *Registry) {
	r.add(OpInfo{Name: "Trilu", Differentiable: true, Lower: lowerTrilu})
	r.add(OpInfo{Name: "ArgMax", Lower: lowerArg(true)})
	r.add(OpInfo{Name: "ArgMin", Lower: lowerArg(false)})
}

// lowerTrilu keeps the upper (attribute upper, default 1) or lower
// triangle of the last two dimensions from diagonal k (input 1, default
// 0): element (i, j) stays where j-i >= k, or j-i <= k. The gradient is
// the output's, masked the same way.
func lowerTrilu(c *Ctx, in []*Value) ([]*Value, error) {
	x := in[0]
	if x.Rank() < 2 {
		return nil, fmt.Errorf("input has rank %d, want 2 or more", x.Rank())
	}
	k := 0
	if kv := input(in, 1); kv != nil {
		if !kv.IsConst() {
			return nil, fmt.Errorf("k must be known when the model is compiled")
		}
		ks, err := kv.Ints()
		if err != nil || len(ks) != 1 {
			return nil, fmt.Errorf("k must be one integer")
		}
		k = ks[0]
	}
	upper := c.attrs().Int("upper", 1) != 0
	n, m := x.Shape[x.Rank()-2], x.Shape[x.Rank()-1]
	keep := func(i, j int) bool {
		if upper {
			return j-i >= k
		}
		return j-i <= k
	}
	kern := dispatch(byType[Kernel]{
		Float32: triluRun[float32](n, m, keep), Float64: triluRun[float64](n, m, keep),
		Int64: triluRun[int64](n, m, keep), Int32: triluRun[int32](n, m, keep),
		Uint8: triluRun[uint8](n, m, keep), Int8: triluRun[int8](n, m, keep), Bool: triluRun[bool](n, m, keep),
	})
	s := Spec{Name: "Trilu", Shape: x.Shape, DType: x.DType, Fwd: kern}
	if x.DType.IsFloat() {
		s.WRT = make([]bool, len(in))
		s.WRT[0] = true
		s.Grad = func(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
			g, err := NewNode(grad.Graph(), output.Name()+"/grad", Spec{Name: "TriluGrad", Shape: ShapeOf(inputs[0]),
				DType: DTypeOf(inputs[0]), Fwd: kern}, grad)
			out := make(G.Nodes, len(inputs))
			out[0] = g
			return out, err
		}
	}
	args := []*Value{x}
	if kv := input(in, 1); kv != nil {
		args = append(args, kv)
	}
	y, err := c.Apply(s, args...)
	return []*Value{y}, err
}

func triluRun[T any](n, m int, keep func(i, j int) bool) Kernel {
	return func(in []*tensor.Dense) (*tensor.Dense, error) {
		x, err := Data[T](in[0])
		if err != nil {
			return nil, err
		}
		out := make([]T, len(x))
		for b := 0; b+n*m <= len(x) && n*m > 0; b += n * m {
			for i := range n {
				for j := range m {
					if keep(i, j) {
						out[b+i*m+j] = x[b+i*m+j]
					}
				}
			}
		}
		return Dense(Shape(in[0]), out), nil
	}
}

// lowerArg lowers ArgMax and ArgMin: attributes axis (0), keepdims (1),
// select_last_index (0: the first of equal values, as torch.argmax).
func lowerArg(isMax bool) LowerFunc {
	return func(c *Ctx, in []*Value) ([]*Value, error) {
		x := in[0]
		a := c.attrs()
		ax, err := shapeAxis(int(a.Int("axis", 0)), max(x.Rank(), 1))
		if err != nil {
			return nil, err
		}
		if x.Rank() == 0 {
			return nil, fmt.Errorf("input is a scalar")
		}
		keep, last := a.Int("keepdims", 1) != 0, a.Int("select_last_index", 0) != 0
		if x.Shape[ax] == 0 {
			return nil, fmt.Errorf("axis %d is empty", ax)
		}
		outer, n, inner := sizeOf(x.Shape[:ax]), x.Shape[ax], sizeOf(x.Shape[ax+1:])
		shape := append([]int{}, x.Shape[:ax]...)
		if keep {
			shape = append(shape, 1)
		}
		shape = append(shape, x.Shape[ax+1:]...)
		kern := dispatch(byType[Kernel]{
			Float32: argRun[float32](outer, n, inner, isMax, last, shape), Float64: argRun[float64](outer, n, inner, isMax, last, shape),
			Int64: argRun[int64](outer, n, inner, isMax, last, shape), Int32: argRun[int32](outer, n, inner, isMax, last, shape),
			Uint8: argRun[uint8](outer, n, inner, isMax, last, shape), Int8: argRun[int8](outer, n, inner, isMax, last, shape),
		})
		y, err := c.Apply(Spec{Name: c.Node.OpType, Shape: shape, DType: graph.Int64, Fwd: kern}, x)
		return []*Value{y}, err
	}
}

// argRun: the first NaN wins, as in torch.argmax and torch.argmin.
func argRun[T Number](outer, n, inner int, isMax, last bool, shape []int) Kernel {
	return func(in []*tensor.Dense) (*tensor.Dense, error) {
		x, err := Data[T](in[0])
		if err != nil {
			return nil, err
		}
		out := make([]int64, outer*inner)
		for o := range outer {
			for i := range inner {
				best, bi := x[o*n*inner+i], 0
				for k := 1; k < n; k++ {
					v := x[(o*n+k)*inner+i]
					if best != best { // NaN
						break
					}
					better := v > best
					if !isMax {
						better = v < best
					}
					if v != v || better || (last && v == best) {
						best, bi = v, k
					}
				}
				out[o*inner+i] = int64(bi)
			}
		}
		return Dense(shape, out), nil
	}
}
