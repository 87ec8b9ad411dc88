package ops

import (
	"fmt"
	"sync"
	"unsafe"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/internal/gemm/vec"
)

// SiLU (x * sigmoid(x), EfficientNet's activation) reaches ONNX as a
// Sigmoid whose only reader is a Mul of its input and its output: every
// exporter opset writes it so. Compiled as written, it costs four passes
// and four buffers a step each way (Sigmoid, Mul, the Mul's two gradients
// and Sigmoid's). siluFusions finds the pair and the compiler runs it as
// one kernel, with one gradient kernel, both into kept buffers and in
// parallel. They compute what the pair computes, bit for bit: y = x*s with
// s = sigmoid(x) as the Sigmoid kernel rounds it, dx = dy*s +
// (dy*x)*(s*(1-s)) rounded step by step as the Mul's and Sigmoid's
// gradients are. The forward pass keeps s for the gradient, which
// recomputes it only if the buffers do not match (no forward run on them).

// siluFusions maps each fusable Sigmoid to the Mul that reads it, and that
// Mul to itself.
func siluFusions(g *graph.Graph) map[*graph.Node]*graph.Node {
	uses := valueUses(g)
	sigmoid := make(map[string]*graph.Node)
	for _, n := range g.Nodes {
		if n.QualifiedOp() == "Sigmoid" && len(n.Inputs) == 1 && len(n.Outputs) == 1 && n.Inputs[0] != "" {
			sigmoid[n.Outputs[0]] = n
		}
	}
	fused := make(map[*graph.Node]*graph.Node)
	for _, n := range g.Nodes {
		if n.QualifiedOp() != "Mul" || len(n.Inputs) != 2 || len(n.Outputs) != 1 {
			continue
		}
		for i := range 2 {
			s := sigmoid[n.Inputs[i]]
			if s != nil && s.Inputs[0] == n.Inputs[1-i] && uses[s.Outputs[0]] == 1 && fused[s] == nil {
				fused[s], fused[n] = n, n
				break
			}
		}
	}
	return fused
}

// siluState is what the forward pass leaves for the gradient: sigmoid(x)
// of its last run, and the output buffer it wrote.
type siluState struct {
	mu   sync.Mutex
	s    any // []float32 or []float64
	base unsafe.Pointer
}

// lowerSiLU lowers a fused Sigmoid and Mul on x.
func lowerSiLU(c *Ctx, x *Value) ([]*Value, error) {
	if !x.DType.IsFloat() {
		return nil, fmt.Errorf("sigmoid of %s", x.DType)
	}
	st := &siluState{}
	s := Spec{Name: "SiLU", Shape: x.Shape, DType: x.DType, WRT: []bool{true},
		Into: floatsInto(siluInto[float32](st), siluInto[float64](st)),
		Grad: func(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
			n, err := NewNode(grad.Graph(), output.Name()+"/grad", Spec{Name: "SiLUGrad", Shape: ShapeOf(inputs[0]),
				DType: DTypeOf(inputs[0]), Into: floatsInto(siluGradInto[float32](st), siluGradInto[float64](st))},
				grad, inputs[0], output)
			return G.Nodes{n}, err
		}}
	out, err := c.Apply(s, x)
	return []*Value{out}, err
}

func siluInto[T Float](st *siluState) IntoKernel {
	return func(in []*tensor.Dense, dst *tensor.Dense) error {
		x, err := Data[T](in[0])
		if err != nil {
			return err
		}
		y, err := Data[T](dst)
		if err != nil {
			return err
		}
		if len(x) != len(y) {
			return fmt.Errorf("SiLU: %d elements for an output of %d", len(x), len(y))
		}
		st.mu.Lock()
		defer st.mu.Unlock()
		s, _ := st.s.([]T)
		if len(s) != len(y) {
			s = make([]T, len(y))
			st.s = s
		}
		st.base = dataPtr(y)
		parallelRange(len(y), 8, func(lo, hi int) {
			xs, ss, ys := x[lo:hi], s[lo:hi], y[lo:hi]
			ss, ys = ss[:len(xs)], ys[:len(xs)]
			sigmoidSlice(ss, xs)
			for i, v := range xs {
				ys[i] = v * ss[i]
			}
		})
		return nil
	}
}

// siluGradInto: (dy, x, y) -> dx.
func siluGradInto[T Float](st *siluState) IntoKernel {
	return func(in []*tensor.Dense, dst *tensor.Dense) error {
		d, err := datas[T](in)
		if err != nil {
			return err
		}
		dx, err := Data[T](dst)
		if err != nil {
			return err
		}
		dy, x := d[0], d[1]
		if len(dy) != len(dx) || len(x) != len(dx) {
			return fmt.Errorf("SiLUGrad: %d and %d elements for an output of %d", len(dy), len(x), len(dx))
		}
		st.mu.Lock()
		defer st.mu.Unlock()
		s, _ := st.s.([]T)
		if len(s) != len(dx) || st.base != dataPtr(d[2]) {
			s = nil // no forward run into this output: recompute
		}
		parallelRange(len(dx), 8, func(lo, hi int) {
			g, xs, out := dy[lo:hi], x[lo:hi], dx[lo:hi]
			xs, out = xs[:len(g)], out[:len(g)]
			var ss []T
			if s != nil {
				ss = s[lo:hi][:len(g)]
			} else {
				ss = make([]T, len(g))
				sigmoidSlice(ss, xs)
			}
			if g32, ok := any(g).([]float32); ok {
				vec.SiLUGrad(any(out).([]float32), g32, any(xs).([]float32), any(ss).([]float32))
				return
			}
			for i, gv := range g {
				sv := ss[i]
				// The Mul's gradients, then Sigmoid's, each rounded.
				gx := T(gv * sv)
				gs := T(gv * xs[i])
				out[i] = gx + T(gs*T(sv*(1-sv)))
			}
		})
		return nil
	}
}

// sigmoidSlice sets s = sigmoid(x): for float32 the AVX2 loop where the
// CPU has it (sigmoidSlice32), else actSigmoid; the Sigmoid op and SiLU
// both use it, so they agree to the bit.
func sigmoidSlice[T Float](s, x []T) {
	if s32, ok := any(s).([]float32); ok {
		sigmoidSlice32(s32, any(x).([]float32))
		return
	}
	for i, v := range x {
		s[i] = actSigmoid(v)
	}
}

// sigmoidGo32 is sigmoidSlice32 in Go.
func sigmoidGo32(s, x []float32) {
	for i, v := range x {
		s[i] = actSigmoid(v)
	}
}

// lowerSigmoid lowers Sigmoid: float32 and float64 through sigmoidSlice
// into a kept buffer, in parallel; its gradient is dy * y * (1 - y).
func lowerSigmoid(c *Ctx, in []*Value) ([]*Value, error) {
	if len(in) == 0 || in[0] == nil {
		return nil, fmt.Errorf("missing input")
	}
	x := in[0]
	if x.DType != graph.Float32 && x.DType != graph.Float64 {
		return actFixed("Sigmoid", actSigmoid[float32], actSigmoid[float64], actSigmoidGrad[float32], actSigmoidGrad[float64])(c, in)
	}
	s := Spec{Name: "Sigmoid", Shape: x.Shape, DType: x.DType, WRT: []bool{true},
		Into: bodiesInto(sigmoidBody[float32], sigmoidBody[float64]),
		Grad: func(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
			n, err := NewNode(grad.Graph(), output.Name()+"/grad", Spec{Name: "SigmoidGrad", Shape: ShapeOf(inputs[0]),
				DType: DTypeOf(inputs[0]), Fwd: unaryGradKernel(actSigmoidGrad[float32], actSigmoidGrad[float64])}, grad, inputs[0], output)
			return G.Nodes{n}, err
		}}
	out, err := c.Apply(s, x)
	return []*Value{out}, err
}

func sigmoidBody[T Float](in [][]T, y []T) {
	x := in[0]
	parallelRange(len(y), 8, func(lo, hi int) { sigmoidSlice(y[lo:hi], x[lo:hi]) })
}
