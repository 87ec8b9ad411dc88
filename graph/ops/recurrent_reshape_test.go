package ops

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph"
)

// TestReshapePackPart checks that a Squeeze of an LSTM's Y and a Flatten of
// its Y_h, which copy their part of the pack in their own shape
// (reshapePackPart), give the outputs and the gradients (of a weighted sum
// of the outputs, for X, W, R, B and the states) of the copies they
// replace, bit for bit, in float32 and float64.
func TestReshapePackPart(t *testing.T) {
	defer func() { reshapePacks = true }()
	for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
		t.Run(dt.String(), func(t *testing.T) {
			var want [][]float64
			for _, fuse := range []bool{false, true} {
				reshapePacks = fuse
				got := lstmSqueezeRun(t, dt)
				if want == nil {
					want = got
					continue
				}
				for k := range want {
					if len(got[k]) != len(want[k]) {
						t.Fatalf("result %d: %d values, want %d", k, len(got[k]), len(want[k]))
					}
					for i := range want[k] {
						if math.Float64bits(got[k][i]) != math.Float64bits(want[k][i]) {
							t.Fatalf("result %d [%d] = %v, the copies give %v", k, i, got[k][i], want[k][i])
						}
					}
				}
			}
		})
	}
}

// lstmSqueezeRun runs LSTM → Squeeze(Y, 1), Flatten(Y_h, 1), Y_c with
// their gradients; it returns the three outputs, then the gradients of
// X, W, R, B, initial_h and initial_c.
func lstmSqueezeRun(t *testing.T, dt tensor.Dtype) [][]float64 {
	t.Helper()
	const T, B, I, H = 3, 2, 3, 4
	r := rand.New(rand.NewSource(11))
	val := func(shape ...int) *tensor.Dense {
		v := make([]float64, sizeOf(shape))
		for i := range v {
			v[i] = float64(float32(r.Float64()*1.4 - 0.7))
		}
		if dt == tensor.Float32 {
			f := make([]float32, len(v))
			for i, x := range v {
				f[i] = float32(x)
			}
			return Dense(shape, f)
		}
		return Dense(shape, v)
	}
	args := []arg{{Name: "X", Value: val(T, B, I)}, {Name: "W", Value: val(1, 4*H, I)}, {Name: "R", Value: val(1, 4*H, H)},
		{Name: "B", Value: val(1, 8*H)}, {}, {Name: "h0", Value: val(1, B, H)}, {Name: "c0", Value: val(1, B, H)}}
	m, shapes := oneNode("LSTM", 14, []*graph.Attribute{attrInt("hidden_size", H)}, 3, args...)
	g := m.Graph
	lstm := g.Nodes[0]
	lstm.Outputs = []string{"y", "yh", "out2"}
	g.Initializers = append(g.Initializers, irTensor("axes", Dense([]int{1}, []int64{1})))
	g.Nodes = append(g.Nodes,
		&graph.Node{Name: "/sq", OpType: "Squeeze", Inputs: []string{"y", "axes"}, Outputs: []string{"out0"}},
		&graph.Node{Name: "/fl", OpType: "Flatten", Inputs: []string{"yh"}, Outputs: []string{"out1"},
			Attrs: []*graph.Attribute{attrInt("axis", 1)}})
	p, err := Compile(m, shapes, Options{})
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	defer p.Close()
	if got := fmt.Sprint(p.Outputs[0].Shape, p.Outputs[1].Shape); got != fmt.Sprint([]int{T, B, H}, []int{1, B * H}) {
		t.Fatalf("output shapes %s", got)
	}
	nodes := G.Nodes{p.Outputs[0].Node, p.Outputs[1].Node, p.Outputs[2].Node}
	wr := rand.New(rand.NewSource(99))
	ws := make([][]float64, len(nodes))
	for k := range ws {
		ws[k] = make([]float64, p.Outputs[k].Size())
		for i := range ws[k] {
			ws[k][i] = wr.Float64()*2 - 1
		}
	}
	// floats reads a tensor as float64 (the kernels below call it: no
	// t.Fatal off the test's goroutine).
	floats := func(d *tensor.Dense) []float64 {
		switch v := d.Data().(type) {
		case []float64:
			return append([]float64(nil), v...)
		case []float32:
			f := make([]float64, len(v))
			for i, x := range v {
				f[i] = float64(x)
			}
			return f
		case float64:
			return []float64{v}
		case float32:
			return []float64{float64(v)}
		}
		return nil
	}
	gt := DTypeOf(nodes[0])
	loss, err := NewNode(p.Graph, "loss", Spec{Name: "WeightedSum", Shape: []int{}, DType: gt,
		Fwd: func(in []*tensor.Dense) (*tensor.Dense, error) {
			s := 0.0
			for k, o := range in {
				for i, y := range floats(o) {
					s += ws[k][i] * y
				}
			}
			if gt == graph.Float32 {
				return tensor.New(tensor.FromScalar(float32(s))), nil
			}
			return tensor.New(tensor.FromScalar(s)), nil
		},
		WRT: []bool{true, true, true},
		Grad: func(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
			out := make(G.Nodes, len(inputs))
			for k := range inputs {
				w, shape := ws[k], ShapeOf(inputs[k])
				var err error
				out[k], err = NewNode(grad.Graph(), fmt.Sprintf("lossgrad%d", k), Spec{Name: "WeightedSumGrad", Shape: shape, DType: gt,
					Fwd: func(in []*tensor.Dense) (*tensor.Dense, error) {
						g0 := floats(in[0])[0]
						if gt == graph.Float32 {
							r := make([]float32, len(w))
							for i := range r {
								r[i] = float32(g0 * w[i])
							}
							return Dense(shape, r), nil
						}
						r := make([]float64, len(w))
						for i := range r {
							r[i] = g0 * w[i]
						}
						return Dense(shape, r), nil
					}}, grad)
				if err != nil {
					return nil, err
				}
			}
			return out, nil
		}}, nodes...)
	if err != nil {
		t.Fatal(err)
	}
	var wrt G.Nodes
	for _, a := range args {
		if a.Name != "" {
			wrt = append(wrt, p.Inputs[a.Name])
		}
	}
	grads, err := G.Grad(loss, wrt...)
	if err != nil {
		t.Fatalf("Grad: %v", err)
	}
	vm := G.NewTapeMachine(p.Graph)
	defer vm.Close()
	for _, a := range args {
		if a.Name != "" {
			if err := G.Let(p.Inputs[a.Name], a.Value); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Twice: the second run reuses the kept buffers.
	for range 2 {
		if err := vm.RunAll(); err != nil {
			t.Fatalf("run: %v", err)
		}
		vm.Reset()
	}
	if err := vm.RunAll(); err != nil {
		t.Fatalf("run: %v", err)
	}
	var res [][]float64
	for _, n := range append(nodes, grads...) {
		d, err := asDense(n.Value())
		if err != nil {
			t.Fatal(err)
		}
		res = append(res, floats(d))
	}
	return res
}
