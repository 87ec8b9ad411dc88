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

// TestGatherOfPerm: Gathers of constant indices of a Transpose's output
// run as one view of its input (the last step of a batch-first LSTM
// classifier; a list with a repeated and a negative index; a scalar on
// the first axis) give the outputs and the gradient of the separate ops
// bit for bit, float32 and float64, over reused buffers, with no
// Transpose left to run.
func TestGatherOfPerm(t *testing.T) {
	defer func() { fuseGatherPerm = true }()
	for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
		t.Run(dt.String(), func(t *testing.T) {
			var want [][]float64
			for _, fuse := range []bool{false, true} {
				fuseGatherPerm = fuse
				got, perms := gatherPermRun(t, dt)
				if wantPerms := map[bool]int{false: 6, true: 0}[fuse]; perms != wantPerms {
					t.Errorf("fuse %v: %d Transpose kernels run, want %d", fuse, perms, wantPerms)
				}
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
							t.Fatalf("result %d [%d] = %v, the separate ops give %v", k, i, got[k][i], want[k][i])
						}
					}
				}
			}
		})
	}
}

// gatherPermRun compiles Y [T, B, H] → Transpose(1, 0, 2) → Gather three
// times (the Gathers: the last step, a list, a scalar on axis 0), with a
// weighted sum of their outputs as the loss, computed by ops.Grad
// over the subgraph a training step runs; it returns the outputs and the
// gradient of Y, and the number of Transpose and TransposeGrad kernels run.
func gatherPermRun(t *testing.T, dt tensor.Dtype) ([][]float64, int) {
	t.Helper()
	const T, B, H = 5, 3, 4
	r := rand.New(rand.NewSource(8))
	v := make([]float64, T*B*H)
	for i := range v {
		v[i] = float64(float32(r.Float64()*2 - 1))
	}
	v[3] = math.Copysign(0, -1)
	y := Dense([]int{T, B, H}, v)
	if dt == tensor.Float32 {
		y = Dense([]int{T, B, H}, graph.Convert[float64, float32](v))
	}
	et, _ := fromTensorDtype(dt)
	dims := []graph.Dim{{Value: T, HasValue: true}, {Value: B, HasValue: true}, {Value: H, HasValue: true}}
	g := &graph.Graph{Name: "test", Inputs: []*graph.ValueInfo{{Name: "Y", Type: &graph.Type{Kind: graph.TypeTensor, Elem: et, Shape: &graph.Shape{Dims: dims}}}}}
	g.Initializers = append(g.Initializers, irTensor("last", Dense([]int{}, []int64{-1})), irTensor("list", Dense([]int{4}, []int64{2, 0, -3, 1})),
		irTensor("first", Dense([]int{}, []int64{1})))
	for k, c := range []struct {
		idx  string
		axis int64
	}{{"last", 1}, {"list", 1}, {"first", 0}} {
		out, yt := fmt.Sprint("out", k), fmt.Sprint("yt", k)
		g.Nodes = append(g.Nodes, &graph.Node{Name: "/tr" + out, OpType: "Transpose", Inputs: []string{"Y"}, Outputs: []string{yt},
			Attrs: []*graph.Attribute{attrInts("perm", 1, 0, 2)}})
		g.Nodes = append(g.Nodes, &graph.Node{Name: "/g" + out, OpType: "Gather", Inputs: []string{yt, c.idx}, Outputs: []string{out},
			Attrs: []*graph.Attribute{attrInt("axis", c.axis)}})
		g.Outputs = append(g.Outputs, &graph.ValueInfo{Name: out})
	}
	m := &graph.Model{IRVersion: 8, Opsets: []graph.Opset{{Version: 13}}, Graph: g}
	p, err := Compile(m, map[string][]int{"Y": {T, B, H}}, Options{})
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
	grads, err := Grad(loss, G.Nodes{p.Inputs["Y"]})
	if err != nil {
		t.Fatalf("Grad: %v", err)
	}
	roots := append(append(G.Nodes{loss}, outs...), grads...)
	sub := p.Graph.ExactSubgraphRoots(roots...)
	perms := 0
	for _, n := range sub.AllNodes() {
		if k, ok := n.Op().(*kernelOp); ok && (k.name == "Transpose" || k.name == "TransposeGrad") {
			perms++
		}
	}
	vm := G.NewTapeMachine(sub)
	defer vm.Close()
	if err := G.Let(p.Inputs["Y"], y); err != nil {
		t.Fatal(err)
	}
	for range 3 { // the later runs reuse the kept buffers
		vm.Reset()
		if err := vm.RunAll(); err != nil {
			t.Fatalf("run: %v", err)
		}
	}
	var res [][]float64
	for _, n := range roots[1:] {
		d, err := asDense(n.Value())
		if err != nil {
			t.Fatal(err)
		}
		res = append(res, floatsOf(d))
	}
	return res, perms
}

// TestGatherGradVec checks that GatherGrad's rows (added with addTo's
// vectors) give the bits of the element-by-element loop they replace:
// repeated indices, signed zeros, infinities and NaNs, rows of 1 to 40
// elements, on the first and a middle axis.
func TestGatherGradVec(t *testing.T) {
	r := rand.New(rand.NewSource(4))
	specials := []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN())}
	val := func() float32 {
		if r.Intn(8) == 0 {
			return specials[r.Intn(len(specials))]
		}
		return float32(r.NormFloat64())
	}
	for inner := 1; inner <= 40; inner++ {
		for _, axis := range []int{0, 1} {
			ds := []int{6, 6, inner}
			idx := []int64{2, 5, 2, 0, 2, 1}
			outer, n, m := sizeOf(ds[:axis]), ds[axis], len(idx)
			in := sizeOf(ds[axis+1:])
			g := make([]float32, outer*m*in)
			for i := range g {
				g[i] = val()
			}
			want := make([]float32, sizeOf(ds))
			for o := range outer {
				for k, i := range idx {
					for j := range in {
						want[(o*n+int(i))*in+j] += g[(o*m+k)*in+j]
					}
				}
			}
			gs := append(append(append([]int{}, ds[:axis]...), m), ds[axis+1:]...)
			dst := Dense(ds, make([]float32, sizeOf(ds)))
			if err := gatherGradInto(axis, ds, noEmbeddingHint)([]*tensor.Dense{Dense(gs, g), Dense([]int{m}, idx)}, dst); err != nil {
				t.Fatal(err)
			}
			got := dst.Data().([]float32)
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("inner %d axis %d: [%d] = %v, the loop gives %v", inner, axis, i, got[i], want[i])
				}
			}
		}
	}
}

// TestTransposeOfGather: Transposes of an embedding's rows (ids [B, T]
// with repeated ids) that keep the rows whole run as one Gather, whose
// gradient reads an LSTM's d X in place, and give the outputs and the
// gradients (the table's, the LSTM's W, R, B) of the separate ops bit
// for bit, float32 and float64; a Gather read twice stays one and agrees
// too.
func TestTransposeOfGather(t *testing.T) {
	defer func() { fuseGatherPerm, flatReads = true, true }()
	for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
		t.Run(dt.String(), func(t *testing.T) {
			var want [][]float64
			for _, fuse := range []bool{false, true} {
				fuseGatherPerm, flatReads = fuse, fuse
				got, kernels := transposeGatherRun(t, dt)
				wantKernels := map[bool]string{false: "Transpose 4, TransposeGrad 4, LSTMGradPart 4",
					true: "Transpose 2, TransposeGrad 2, LSTMGradPart 3"}[fuse]
				if kernels != wantKernels {
					t.Errorf("fuse %v: kernels run: %s, want %s", fuse, kernels, wantKernels)
				}
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
							t.Fatalf("result %d [%d] = %v, the separate ops give %v", k, i, got[k][i], want[k][i])
						}
					}
				}
			}
		})
	}
}

// transposeGatherRun compiles E [V, D] → Gather(ids) → Transpose(1, 0, 2)
// → LSTM, → Gather(ids2) → Transpose(1, 0, 2), → Gather(ids) read by
// Transpose(1, 0, 2) and Transpose(2, 1, 0) (not fused: its gradient is a
// sum), with a weighted sum of the four as the loss; it
// returns the outputs and the gradients of E, W, R and B, and the count of
// the kernels that move the rows.
func transposeGatherRun(t *testing.T, dt tensor.Dtype) ([][]float64, string) {
	t.Helper()
	const V, D, B, T, H = 7, 6, 3, 4, 5
	r := rand.New(rand.NewSource(12))
	val := func(shape ...int) *tensor.Dense {
		v := make([]float64, sizeOf(shape))
		for i := range v {
			v[i] = float64(float32(r.Float64()*1.2 - 0.6))
		}
		v[0] = math.Copysign(0, -1)
		if dt == tensor.Float32 {
			return Dense(shape, graph.Convert[float64, float32](v))
		}
		return Dense(shape, v)
	}
	ins := map[string]*tensor.Dense{"E": val(V, D), "W": val(1, 4*H, D), "R": val(1, 4*H, H), "B": val(1, 8*H)}
	et, _ := fromTensorDtype(dt)
	g := &graph.Graph{Name: "test"}
	shapes := map[string][]int{}
	for _, name := range []string{"E", "W", "R", "B"} {
		s := Shape(ins[name])
		var dims []graph.Dim
		for _, d := range s {
			dims = append(dims, graph.Dim{Value: int64(d), HasValue: true})
		}
		g.Inputs = append(g.Inputs, &graph.ValueInfo{Name: name, Type: &graph.Type{Kind: graph.TypeTensor, Elem: et, Shape: &graph.Shape{Dims: dims}}})
		shapes[name] = s
	}
	ids := make([]int64, B*T)
	for i := range ids {
		ids[i] = int64(r.Intn(V - 3)) // repeats
	}
	g.Initializers = append(g.Initializers, irTensor("ids", Dense([]int{B, T}, ids)),
		irTensor("ids2", Dense([]int{2, 3}, []int64{1, 1, 6, 0, 1, 2})), irTensor("axes", Dense([]int{1}, []int64{1})))
	node := func(op string, in []string, out string, attrs ...*graph.Attribute) {
		g.Nodes = append(g.Nodes, &graph.Node{Name: "/" + out, OpType: op, Inputs: in, Outputs: []string{out}, Attrs: attrs})
	}
	node("Gather", []string{"E", "ids"}, "e")
	node("Transpose", []string{"e"}, "x", attrInts("perm", 1, 0, 2))
	node("LSTM", []string{"x", "W", "R", "B"}, "y", attrInt("hidden_size", H))
	node("Squeeze", []string{"y", "axes"}, "out0")
	node("Gather", []string{"E", "ids2"}, "e2")
	node("Transpose", []string{"e2"}, "out1", attrInts("perm", 1, 0, 2))
	node("Gather", []string{"E", "ids"}, "e3")
	node("Transpose", []string{"e3"}, "out2", attrInts("perm", 1, 0, 2))
	node("Transpose", []string{"e3"}, "out3", attrInts("perm", 2, 1, 0))
	for _, o := range []string{"out0", "out1", "out2", "out3"} {
		g.Outputs = append(g.Outputs, &graph.ValueInfo{Name: o})
	}
	m := &graph.Model{IRVersion: 8, Opsets: []graph.Opset{{Version: 14}}, Graph: g}
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
	grads, err := Grad(loss, G.Nodes{p.Inputs["E"], p.Inputs["W"], p.Inputs["R"], p.Inputs["B"]})
	if err != nil {
		t.Fatalf("Grad: %v", err)
	}
	roots := append(append(G.Nodes{loss}, outs...), grads...)
	sub := p.Graph.ExactSubgraphRoots(roots...)
	count := map[string]int{}
	for _, n := range sub.AllNodes() {
		if k, ok := n.Op().(*kernelOp); ok {
			count[k.name]++
		}
	}
	kernels := fmt.Sprintf("Transpose %d, TransposeGrad %d, LSTMGradPart %d", count["Transpose"], count["TransposeGrad"], count["LSTMGradPart"])
	vm := G.NewTapeMachine(sub)
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
	for _, n := range roots[1:] {
		d, err := asDense(n.Value())
		if err != nil {
			t.Fatal(err)
		}
		res = append(res, floatsOf(d))
	}
	return res, kernels
}
