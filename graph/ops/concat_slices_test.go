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

// TestConcatSlices: Concats of Slices run as one view (the gate reorder of
// an exported LSTM; a strided pair along the other axis, of the same
// input, whose gradients are summed) give the outputs and gradients of the
// separate ops bit for bit, float32 and float64, over reused buffers;
// Concats of slices of two inputs, or taking an element twice, stay
// Concats and agree too. The fused graph has fewer nodes.
func TestConcatSlices(t *testing.T) {
	defer func() { fuseSliceConcat = true }()
	for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
		t.Run(dt.String(), func(t *testing.T) {
			var want [][]float64
			var nodes0 int
			for _, fuse := range []bool{false, true} {
				fuseSliceConcat = fuse
				got, nodes := sliceConcatRun(t, dt)
				if want == nil {
					want, nodes0 = got, nodes
					continue
				}
				if nodes >= nodes0 {
					t.Errorf("fused graph: %d nodes, separate ops %d", nodes, nodes0)
				}
				for k := range want {
					if len(got[k]) != len(want[k]) {
						t.Fatalf("result %d: %d values, want %d", k, len(got[k]), len(want[k]))
					}
					for i := range want[k] {
						if math.Float64bits(got[k][i]) != math.Float64bits(want[k][i]) {
							t.Fatalf("result %d [%d] = %v, the separate ops give %v", k, i, got[k][i], want[k][i])
						}
					}
				}
			}
		})
	}
}

// sliceConcatRun compiles the Slice/Concat graph of TestConcatSlices with
// a weighted sum of its four outputs as the loss; it returns the outputs,
// then the gradients of W and V, and the graph's node count.
func sliceConcatRun(t *testing.T, dt tensor.Dtype) ([][]float64, int) {
	t.Helper()
	r := rand.New(rand.NewSource(5))
	val := func(shape ...int) *tensor.Dense {
		v := make([]float64, sizeOf(shape))
		for i := range v {
			v[i] = float64(float32(r.Float64()*2 - 1))
		}
		v[1] = math.Copysign(0, -1)
		if dt == tensor.Float32 {
			return Dense(shape, graph.Convert[float64, float32](v))
		}
		return Dense(shape, v)
	}
	g := &graph.Graph{Name: "test"}
	shapes := map[string][]int{"W": {12, 5}, "V": {6, 5}}
	ins := map[string]*tensor.Dense{"W": val(12, 5), "V": val(6, 5)}
	for _, name := range []string{"W", "V"} {
		et, _ := fromTensorDtype(dt)
		dims := []graph.Dim{{Value: int64(shapes[name][0]), HasValue: true}, {Value: 5, HasValue: true}}
		g.Inputs = append(g.Inputs, &graph.ValueInfo{Name: name, Type: &graph.Type{Kind: graph.TypeTensor, Elem: et, Shape: &graph.Shape{Dims: dims}}})
	}
	n := 0
	slice := func(x string, start, end, axis, step int64) string {
		n++
		name := fmt.Sprintf("s%d", n)
		k := fmt.Sprintf("k%d_", n)
		for i, v := range []int64{start, end, axis, step} {
			g.Initializers = append(g.Initializers, irTensor(k+fmt.Sprint(i), i64s(v)))
		}
		g.Nodes = append(g.Nodes, &graph.Node{Name: "/" + name, OpType: "Slice",
			Inputs: []string{x, k + "0", k + "1", k + "2", k + "3"}, Outputs: []string{name}})
		return name
	}
	concat := func(out string, axis int64, in ...string) {
		g.Nodes = append(g.Nodes, &graph.Node{Name: "/" + out, OpType: "Concat", Inputs: in, Outputs: []string{out},
			Attrs: []*graph.Attribute{attrInt("axis", axis)}})
		g.Outputs = append(g.Outputs, &graph.ValueInfo{Name: out})
	}
	concat("out0", 0, slice("W", 0, 4, 0, 1), slice("W", 8, 12, 0, 1), slice("W", 4, 8, 0, 1))
	concat("out1", 1, slice("W", 0, 5, 1, 2), slice("W", 1, 5, 1, 2))
	concat("out2", 0, slice("V", 0, 3, 0, 1), slice("W", 0, 3, 0, 1))
	concat("out3", 0, slice("V", 0, 4, 0, 1), slice("V", 2, 6, 0, 1))
	m := &graph.Model{IRVersion: 8, Opsets: []graph.Opset{{Version: 13}}, Graph: g}
	p, err := Compile(m, shapes, Options{})
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	defer p.Close()
	outs := make(G.Nodes, len(p.Outputs))
	ws := make([][]float64, len(outs))
	wr := rand.New(rand.NewSource(9))
	for k, o := range p.Outputs {
		outs[k] = o.Node
		ws[k] = make([]float64, o.Size())
		for i := range ws[k] {
			ws[k][i] = wr.Float64()*2 - 1
		}
	}
	loss := weightedSum(t, p.Graph, outs, ws)
	wrt := G.Nodes{p.Inputs["W"], p.Inputs["V"]}
	grads, err := G.Grad(loss, wrt...)
	if err != nil {
		t.Fatalf("Grad: %v", err)
	}
	vm := G.NewTapeMachine(p.Graph)
	defer vm.Close()
	for name, v := range ins {
		if err := G.Let(p.Inputs[name], v); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 { // the later runs reuse the kept buffers
		vm.Reset()
		if err := vm.RunAll(); err != nil {
			t.Fatalf("run: %v", err)
		}
	}
	var res [][]float64
	for _, n := range append(outs, grads...) {
		d, err := asDense(n.Value())
		if err != nil {
			t.Fatal(err)
		}
		res = append(res, floatsOf(d))
	}
	return res, len(p.Graph.AllNodes())
}

// floatsOf reads a float tensor (or scalar) as float64.
func floatsOf(d *tensor.Dense) []float64 {
	switch v := d.Data().(type) {
	case []float64:
		return append([]float64(nil), v...)
	case []float32:
		return graph.Convert[float32, float64](v)
	case float64:
		return []float64{v}
	case float32:
		return []float64{float64(v)}
	}
	return nil
}

// weightedSum adds to g the scalar Σ_k Σ_i ws[k][i]·nodes[k][i] in their
// type, with its gradient ws[k] times the output gradient.
func weightedSum(t *testing.T, g *G.ExprGraph, nodes G.Nodes, ws [][]float64) *G.Node {
	t.Helper()
	gt := DTypeOf(nodes[0])
	scalar := func(s float64) *tensor.Dense {
		if gt == graph.Float32 {
			return tensor.New(tensor.FromScalar(float32(s)))
		}
		return tensor.New(tensor.FromScalar(s))
	}
	wrt := make([]bool, len(nodes))
	for k := range wrt {
		wrt[k] = true
	}
	loss, err := NewNode(g, "loss", Spec{Name: "WeightedSum", Shape: []int{}, DType: gt,
		Fwd: func(in []*tensor.Dense) (*tensor.Dense, error) {
			s := 0.0
			for k, o := range in {
				for i, y := range floatsOf(o) {
					s += ws[k][i] * y
				}
			}
			return scalar(s), nil
		},
		WRT: wrt,
		Grad: func(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
			out := make(G.Nodes, len(inputs))
			for k := range inputs {
				w, shape := ws[k], ShapeOf(inputs[k])
				var err error
				out[k], err = NewNode(grad.Graph(), fmt.Sprintf("lossgrad%d", k), Spec{Name: "WeightedSumGrad", Shape: shape, DType: gt,
					Fwd: func(in []*tensor.Dense) (*tensor.Dense, error) {
						g0 := floatsOf(in[0])[0]
						r := make([]float64, len(w))
						for i := range r {
							r[i] = g0 * w[i]
						}
						if gt == graph.Float32 {
							return Dense(shape, graph.Convert[float64, float32](r)), nil
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
	return loss
}
