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

// TestFlatReads checks that two stacked LSTMs (X → LSTM → Squeeze → LSTM
// → Squeeze, the exported nn.LSTM's two layers, the second's W and R
// reordered and Unsqueezed) whose backwards read d Y in place
// (flatSource: the next layer's gradient buffer, the loss's gradient),
// whose second layer reads X at the head of the first's pack and W and R
// through their Unsqueezes, and whose ConcatGrads read d W and d R in the
// backward's buffer, give the outputs and gradients of the copies they
// skip, bit for bit, in float32 (the AVX-512 recurrence at H = 32) and
// float64, and that the copies are then left out of what a step runs.
func TestFlatReads(t *testing.T) {
	defer func() { flatReads = true }()
	for _, c := range []struct {
		dt   tensor.Dtype
		H    int
		copy int // the copying kernels a step runs without flatReads
	}{{tensor.Float64, 5, 16}, {tensor.Float32, 32, 16}, {tensor.Float32, 7, 16}} {
		t.Run(fmt.Sprintf("%v/H%d", c.dt, c.H), func(t *testing.T) {
			var want [][]float64
			for _, in := range []bool{false, true} {
				flatReads = in
				got, copies := lstmStackRun(t, c.dt, c.H)
				wantCopies := c.copy
				if in {
					// Left: the first layer's four parts, the second's B,
					// the output's Squeeze.
					wantCopies = 6
				}
				if copies != wantCopies {
					t.Errorf("flatReads %v: %d copying kernels run, want %d", in, copies, wantCopies)
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
							t.Fatalf("result %d [%d] = %v, the copies give %v", k, i, got[k][i], want[k][i])
						}
					}
				}
			}
		})
	}
}

// lstmStackRun runs two LSTM layers and the Squeezes of their Y, with the
// gradients of a weighted sum of the output (ops.Grad, the machine over
// the loss's and the gradients' subgraph, as a training step); it returns
// the output and the gradients of X and each layer's W, R and B, and the
// number of SqueezeGrad and LSTMGradPart kernels in the subgraph.
func lstmStackRun(t *testing.T, dt tensor.Dtype, H int) ([][]float64, int) {
	t.Helper()
	const T, B, I = 4, 3, 6
	r := rand.New(rand.NewSource(5))
	val := func(shape ...int) *tensor.Dense {
		v := make([]float64, sizeOf(shape))
		for i := range v {
			v[i] = float64(float32(r.Float64()*1.2 - 0.6))
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
		{Name: "B", Value: val(1, 8*H)}}
	m, shapes := oneNode("LSTM", 14, []*graph.Attribute{attrInt("hidden_size", int64(H))}, 1, args...)
	g := m.Graph
	g.Nodes[0].Outputs = []string{"y0"}
	// The second layer's W and R as exported from nn.LSTM: 2-D, their
	// gate blocks reordered by three Slices and a Concat, then Unsqueezed.
	more := []arg{{Name: "W1", Value: val(4*H, H)}, {Name: "R1", Value: val(4*H, H)}, {Name: "B1", Value: val(1, 8*H)}}
	for _, a := range more {
		dims := []graph.Dim{}
		for _, d := range Shape(a.Value) {
			dims = append(dims, graph.Dim{Value: int64(d), HasValue: true})
		}
		g.Inputs = append(g.Inputs, &graph.ValueInfo{Name: a.Name, Type: &graph.Type{Kind: graph.TypeTensor, Elem: graph.Float32, Shape: &graph.Shape{Dims: dims}}})
		if dt == tensor.Float64 {
			g.Inputs[len(g.Inputs)-1].Type.Elem = graph.Float64
		}
		shapes[a.Name] = Shape(a.Value)
	}
	args = append(args, more...)
	g.Initializers = append(g.Initializers, irTensor("axes", Dense([]int{1}, []int64{1})), irTensor("axis0", Dense([]int{1}, []int64{0})))
	for k, b := range [][2]int64{{0, 1}, {3, 4}, {1, 3}} { // PyTorch's i, f, g, o into ONNX's i, o, f, c
		g.Initializers = append(g.Initializers, irTensor(fmt.Sprint("lo", k), Dense([]int{1}, []int64{b[0] * int64(H)})),
			irTensor(fmt.Sprint("hi", k), Dense([]int{1}, []int64{b[1] * int64(H)})))
	}
	for _, w := range []string{"W1", "R1"} {
		var parts []string
		for k := range 3 {
			part := fmt.Sprint(w, "_", k)
			g.Nodes = append(g.Nodes, &graph.Node{Name: "/sl" + part, OpType: "Slice",
				Inputs: []string{w, fmt.Sprint("lo", k), fmt.Sprint("hi", k), "axis0"}, Outputs: []string{part}})
			parts = append(parts, part)
		}
		g.Nodes = append(g.Nodes,
			&graph.Node{Name: "/cat" + w, OpType: "Concat", Inputs: parts, Outputs: []string{w + "c"}, Attrs: []*graph.Attribute{attrInt("axis", 0)}},
			&graph.Node{Name: "/unsq" + w, OpType: "Unsqueeze", Inputs: []string{w + "c", "axis0"}, Outputs: []string{w + "u"}})
	}
	g.Nodes = append(g.Nodes,
		&graph.Node{Name: "/sq0", OpType: "Squeeze", Inputs: []string{"y0", "axes"}, Outputs: []string{"x1"}},
		&graph.Node{Name: "/lstm1", OpType: "LSTM", Inputs: []string{"x1", "W1u", "R1u", "B1"}, Outputs: []string{"y1"},
			Attrs: []*graph.Attribute{attrInt("hidden_size", int64(H))}},
		&graph.Node{Name: "/sq1", OpType: "Squeeze", Inputs: []string{"y1", "axes"}, Outputs: []string{"out0"}})
	p, err := Compile(m, shapes, Options{})
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	defer p.Close()
	out := p.Outputs[0].Node
	wr := rand.New(rand.NewSource(99))
	ws := make([]float64, p.Outputs[0].Size())
	for i := range ws {
		ws[i] = wr.Float64()*2 - 1
	}
	loss := weightedSum(t, p.Graph, G.Nodes{out}, [][]float64{ws})
	var wrt G.Nodes
	for _, a := range args {
		wrt = append(wrt, p.Inputs[a.Name])
	}
	grads, err := Grad(loss, wrt)
	if err != nil {
		t.Fatalf("Grad: %v", err)
	}
	roots := append(G.Nodes{out, loss}, grads...)
	sub := p.Graph.ExactSubgraphRoots(roots...)
	copies := 0
	for _, n := range sub.AllNodes() {
		if k, ok := n.Op().(*kernelOp); ok && (k.name == "LSTM Y Squeeze" || k.name == "LSTM Y SqueezeGrad" || k.name == "LSTMGradPart" ||
			k.name == "Unsqueeze" || k.name == "UnsqueezeGrad") {
			copies++
		}
	}
	vm := G.NewTapeMachine(sub)
	defer vm.Close()
	for _, a := range args {
		if err := G.Let(p.Inputs[a.Name], a.Value); err != nil {
			t.Fatal(err)
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
	for _, n := range roots {
		d, err := asDense(n.Value())
		if err != nil {
			t.Fatal(err)
		}
		res = append(res, floatsOf(d))
	}
	return res, copies
}

// TestViewBackwardAddVec checks that viewBackwardAdd's rows of
// consecutive elements (added with addTo's vectors) give the bits of the
// element-by-element loop they replace, over values with signed zeros,
// infinities and NaNs, for rows of 1 to 40 elements.
func TestViewBackwardAddVec(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	specials := []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN())}
	val := func() float32 {
		if r.Intn(8) == 0 {
			return specials[r.Intn(len(specials))]
		}
		return float32(r.NormFloat64())
	}
	for cols := 1; cols <= 40; cols++ {
		const rows = 5
		in := []int{rows, cols + 3}
		a := r.Intn(4)
		perm := r.Perm(rows)
		off := [][]int{make([]int, rows), stepTable(cols, a, 1)}
		for i, p := range perm {
			off[0][i] = p * in[1]
		}
		v := newViewMap(in, []int{rows, cols}, off)
		if cols > 1 && v.step != 1 {
			t.Fatalf("cols %d: step %d, want 1", cols, v.step)
		}
		g := make([]float32, rows*cols)
		res := make([]float32, sizeOf(in))
		for i := range g {
			g[i] = val()
		}
		for i := range res {
			res[i] = val()
		}
		want := append([]float32(nil), res...)
		for i := range rows {
			for j := range cols {
				want[off[0][i]+off[1][j]] += g[i*cols+j]
			}
		}
		viewBackwardAdd(res, g, v)
		for i := range want {
			if math.Float32bits(res[i]) != math.Float32bits(want[i]) {
				t.Fatalf("cols %d: res[%d] = %v, the loop gives %v", cols, i, res[i], want[i])
			}
		}
	}
}

// TestViewBackwardRows checks that the gradient of a view taking every
// element once by rows (coversByRows) written in one pass over a buffer
// of NaNs gives the bits of clearing it and scatter-adding, and that
// views taking a row twice, leaving one out, or reading strided rows do
// not count as covering.
func TestViewBackwardRows(t *testing.T) {
	r := rand.New(rand.NewSource(6))
	for _, cols := range []int{1, 7, 16, 37} {
		const rows = 9
		in := []int{rows, cols}
		perm := r.Perm(rows)
		tab := make([]int, rows)
		for i, p := range perm {
			tab[i] = p * cols
		}
		v := newViewMap(in, in, [][]int{tab, stepTable(cols, 0, 1)})
		if cols > 1 && !v.coversByRows() {
			t.Fatalf("cols %d: a permutation of rows does not cover", cols)
		}
		g := make([]float32, rows*cols)
		for i := range g {
			g[i] = float32(r.NormFloat64())
		}
		g[0], g[1%len(g)] = float32(math.Copysign(0, -1)), float32(math.Inf(-1))
		want := make([]float32, len(g))
		viewBackwardAdd(want, g, v)
		got := make([]float32, len(g))
		for i := range got {
			got[i] = float32(math.NaN())
		}
		viewBackwardRows(got, g, v)
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("cols %d: [%d] = %v, clear and add give %v", cols, i, got[i], want[i])
			}
		}
		twice := append([]int{}, tab...)
		twice[1] = twice[0]
		for name, w := range map[string]*viewMap{
			"row twice":    newViewMap(in, in, [][]int{twice, stepTable(cols, 0, 1)}),
			"row left out": newViewMap(in, []int{rows - 1, cols}, [][]int{tab[:rows-1], stepTable(cols, 0, 1)}),
			"strided":      newViewMap([]int{rows, 2 * cols}, in, [][]int{stepTable(rows, 0, 2*cols), stepTable(cols, 0, 2)}),
		} {
			if w.coversByRows() {
				t.Errorf("cols %d: %s covers", cols, name)
			}
		}
	}
}
