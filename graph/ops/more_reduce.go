package ops

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// registerMoreReduce adds the norm-like reductions: ReduceL2 is
// F.normalize's and torch.linalg.vector_norm's (sentence encoders), the
// others come with it in PyTorch's exports of norm(p=1), x.pow(2).sum()
// and torch.logsumexp.
func registerMoreReduce(r *Registry) {
	for _, name := range []string{"ReduceL1", "ReduceL2", "ReduceSumSquare", "ReduceLogSum", "ReduceLogSumExp"} {
		r.add(OpInfo{Name: name, Differentiable: true, Lower: lowerNormReduce(name)})
	}
}

// lowerNormReduce lowers a float reduction with the axes, keepdims and
// noop_with_empty_axes of the other Reduce ops (with no axes and
// noop_with_empty_axes, each element is reduced alone: |x|, x*x, log x).
// Gradients, as PyTorch's: L1 sign(x) (0 at 0); L2 x/y, 0 where the norm
// is 0; SumSquare 2x; LogSum 1/sum; LogSumExp exp(x-y).
func lowerNormReduce(name string) LowerFunc {
	return func(c *Ctx, in []*Value) ([]*Value, error) {
		x := in[0]
		if !x.DType.IsFloat() {
			return nil, fmt.Errorf("input is %s, want a float type", x.DType)
		}
		axes, err := reduceAxes(c, name, in)
		if err != nil {
			return nil, err
		}
		if axes == nil {
			axes = make([]bool, x.Rank())
		}
		l := newReduceLayout(x.Shape, axes, c.attrs().Bool("keepdims", true))
		s := Spec{Name: name, Shape: l.out, DType: x.DType,
			Fwd: floats(normReduceRun[float32](name, l), normReduceRun[float64](name, l)),
			WRT: []bool{true}}
		s.Grad = func(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
			shape := ShapeOf(inputs[0])
			n, err := NewNode(grad.Graph(), output.Name()+"/grad", Spec{Name: name + "Grad", Shape: shape,
				DType: DTypeOf(inputs[0]), Fwd: floats(normReduceGradRun[float32](name, l, shape),
					normReduceGradRun[float64](name, l, shape))}, grad, inputs[0], output)
			return G.Nodes{n}, err
		}
		out, err := c.Apply(s, x)
		return []*Value{out}, err
	}
}

func normReduceRun[T Float](name string, l *reduceLayout) Kernel {
	return func(in []*tensor.Dense) (*tensor.Dense, error) {
		x, err := Data[T](in[0])
		if err != nil {
			return nil, err
		}
		y := make([]T, sizeOf(l.out))
		switch name {
		case "ReduceL1":
			l.each(func(i, j int) { y[j] += T(math.Abs(float64(x[i]))) })
		case "ReduceL2", "ReduceSumSquare":
			l.each(func(i, j int) { y[j] += x[i] * x[i] })
			if name == "ReduceL2" {
				for j, v := range y {
					y[j] = T(math.Sqrt(float64(v)))
				}
			}
		case "ReduceLogSum":
			l.each(func(i, j int) { y[j] += x[i] })
			for j, v := range y {
				y[j] = T(math.Log(float64(v)))
			}
		case "ReduceLogSumExp":
			// max + log(sum(exp(x - max))): no overflow.
			m := make([]T, len(y))
			for j := range m {
				m[j] = T(math.Inf(-1))
			}
			l.each(func(i, j int) { m[j] = max(m[j], x[i]) })
			l.each(func(i, j int) {
				if !math.IsInf(float64(m[j]), 0) {
					y[j] += T(math.Exp(float64(x[i] - m[j])))
				}
			})
			for j, v := range y {
				if math.IsInf(float64(m[j]), 0) {
					y[j] = m[j]
				} else {
					y[j] = m[j] + T(math.Log(float64(v)))
				}
			}
		}
		return Dense(l.out, y), nil
	}
}

// normReduceGradRun: inputs (dY, X, Y); the output has X's shape.
func normReduceGradRun[T Float](name string, l *reduceLayout, shape []int) Kernel {
	return func(in []*tensor.Dense) (*tensor.Dense, error) {
		ts, err := datas[T](in)
		if err != nil {
			return nil, err
		}
		dy, x, y := ts[0], ts[1], ts[2]
		g := make([]T, len(x))
		switch name {
		case "ReduceL1":
			l.each(func(i, j int) {
				switch {
				case x[i] > 0:
					g[i] = dy[j]
				case x[i] < 0:
					g[i] = -dy[j]
				}
			})
		case "ReduceL2":
			l.each(func(i, j int) {
				if y[j] != 0 {
					g[i] = dy[j] * x[i] / y[j]
				}
			})
		case "ReduceSumSquare":
			l.each(func(i, j int) { g[i] = 2 * x[i] * dy[j] })
		case "ReduceLogSum":
			l.each(func(i, j int) { g[i] = dy[j] / T(math.Exp(float64(y[j]))) })
		case "ReduceLogSumExp":
			l.each(func(i, j int) { g[i] = dy[j] * T(math.Exp(float64(x[i]-y[j]))) })
		}
		return Dense(shape, g), nil
	}
}
