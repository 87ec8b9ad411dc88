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

// arg is one input of a test node: a graph input (varying, differentiated
// when float) or an initializer constant (Const, e.g. a shape).
type arg struct {
	Name  string
	Value *tensor.Dense
	Const bool
}

// oneNode builds a model of a single node of op with attrs, reading args.
func oneNode(op string, opset int64, attrs []*graph.Attribute, nOut int, args ...arg) (*graph.Model, map[string][]int) {
	g := &graph.Graph{Name: "test"}
	shapes := make(map[string][]int)
	n := &graph.Node{Name: "/test/" + op, OpType: op, Attrs: attrs}
	for _, a := range args {
		n.Inputs = append(n.Inputs, a.Name)
		if a.Name == "" {
			continue
		}
		dt, _ := fromTensorDtype(a.Value.Dtype())
		if a.Const {
			g.Initializers = append(g.Initializers, irTensor(a.Name, a.Value))
			continue
		}
		s := Shape(a.Value)
		dims := make([]graph.Dim, len(s))
		for i, d := range s {
			dims[i] = graph.Dim{Value: int64(d), HasValue: true}
		}
		g.Inputs = append(g.Inputs, &graph.ValueInfo{Name: a.Name, Type: &graph.Type{Kind: graph.TypeTensor, Elem: dt, Shape: &graph.Shape{Dims: dims}}})
		shapes[a.Name] = s
	}
	for i := 0; i < nOut; i++ {
		name := fmt.Sprintf("out%d", i)
		n.Outputs = append(n.Outputs, name)
		g.Outputs = append(g.Outputs, &graph.ValueInfo{Name: name})
	}
	g.Nodes = []*graph.Node{n}
	return &graph.Model{IRVersion: 8, Opsets: []graph.Opset{{Version: opset}}, Graph: g}, shapes
}

// irTensor converts a dense tensor to an IR initializer.
func irTensor(name string, t *tensor.Dense) *graph.Tensor {
	dt, _ := fromTensorDtype(t.Dtype())
	s := Shape(t)
	dims := make([]int64, len(s))
	for i, d := range s {
		dims[i] = int64(d)
	}
	out := &graph.Tensor{Name: name, DType: dt, Dims: dims}
	switch d := t.Data().(type) {
	case []float32:
		out.SetFloat32s(d)
	case float32:
		out.SetFloat32s([]float32{d})
	default:
		out.Raw = rawOf(t)
	}
	return out
}

func rawOf(t *tensor.Dense) []byte {
	var b []byte
	put := func(v uint64, n int) {
		for i := 0; i < n; i++ {
			b = append(b, byte(v>>(8*i)))
		}
	}
	switch d := t.Data().(type) {
	case []int64:
		for _, x := range d {
			put(uint64(x), 8)
		}
	case int64:
		put(uint64(d), 8)
	case []float64:
		for _, x := range d {
			put(math.Float64bits(x), 8)
		}
	case float64:
		put(math.Float64bits(d), 8)
	case []int32:
		for _, x := range d {
			put(uint64(uint32(x)), 4)
		}
	case []bool:
		for _, x := range d {
			if x {
				b = append(b, 1)
			} else {
				b = append(b, 0)
			}
		}
	case []uint8:
		b = append(b, d...)
	}
	return b
}

// run compiles and runs a one-node model and returns its outputs.
func run(t *testing.T, op string, opset int64, attrs []*graph.Attribute, nOut int, args ...arg) []*tensor.Dense {
	t.Helper()
	m, shapes := oneNode(op, opset, attrs, nOut, args...)
	p, err := Compile(m, shapes, Options{})
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	defer p.Close()
	in := make(map[string]*tensor.Dense)
	for _, a := range args {
		if !a.Const && a.Name != "" {
			in[a.Name] = a.Value
		}
	}
	outs, err := p.Run(in)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return outs
}

// randF64 returns a float64 tensor of the given shape with values in
// [lo, hi), from a fixed seed.
func randF64(seed int64, lo, hi float64, shape ...int) *tensor.Dense {
	r := rand.New(rand.NewSource(seed))
	v := make([]float64, sizeOf(shape))
	for i := range v {
		v[i] = lo + (hi-lo)*r.Float64()
	}
	return Dense(shape, v)
}

// gradCheck compares, for a one-node model in float64, the gradients
// gorgonia computes through the ops' SymDiff with central finite
// differences of loss = sum_i w_i * out_i (w fixed and random), for every
// float graph input. Output 0 is the one differentiated.
func gradCheck(t *testing.T, op string, opset int64, attrs []*graph.Attribute, args ...arg) {
	t.Helper()
	gradCheckOutputs(t, op, opset, attrs, 1, 1e-5, args...)
}

// gradCheckOutputs compares the analytic gradient of sum_k w_k * out_k (w
// random, fixed) with central differences, for every float input, at
// relative tolerance tol.
func gradCheckOutputs(t *testing.T, op string, opset int64, attrs []*graph.Attribute, nOut int, tol float64, args ...arg) {
	t.Helper()
	m, shapes := oneNode(op, opset, attrs, nOut, args...)
	p, err := Compile(m, shapes, Options{})
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	defer p.Close()
	wr := rand.New(rand.NewSource(99))
	ws := make([][]float64, nOut)
	for k := range ws {
		ws[k] = make([]float64, p.Outputs[k].Size())
		for i := range ws[k] {
			ws[k][i] = wr.Float64()*2 - 1
		}
	}
	weighted := func(outs []*tensor.Dense) float64 {
		s := 0.0
		for k, o := range outs {
			y, err := Data[float64](o)
			if err != nil {
				t.Fatal(err)
			}
			for i := range y {
				s += ws[k][i] * y[i]
			}
		}
		return s
	}
	var nodes G.Nodes
	for k := 0; k < nOut; k++ {
		nodes = append(nodes, reshapeNode(t, p, p.Outputs[k]))
	}
	wrtAll := make([]bool, nOut)
	for k := range wrtAll {
		wrtAll[k] = true
	}
	lossNode, err := NewNode(p.Graph, "loss", Spec{Name: "WeightedSum", Shape: []int{}, DType: graph.Float64,
		Fwd: func(in []*tensor.Dense) (*tensor.Dense, error) {
			return tensor.New(tensor.FromScalar(weighted(in))), nil
		},
		WRT: wrtAll,
		Grad: func(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
			out := make(G.Nodes, len(inputs))
			for k := range inputs {
				w, shape := ws[k], ShapeOf(inputs[k])
				var err error
				out[k], err = NewNode(grad.Graph(), fmt.Sprintf("lossgrad%d", k), Spec{Name: "WeightedSumGrad", Shape: shape, DType: graph.Float64,
					Fwd: func(in []*tensor.Dense) (*tensor.Dense, error) {
						g, _ := Data[float64](in[0])
						r := make([]float64, len(w))
						for i := range r {
							r[i] = g[0] * w[i]
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
	var names []string
	vals := make(map[string]*tensor.Dense)
	for _, a := range args {
		if !a.Const && a.Name != "" {
			vals[a.Name] = a.Value
			if a.Value.Dtype() != tensor.Float64 {
				continue // indices, lengths: no gradient
			}
			wrt = append(wrt, p.Inputs[a.Name])
			names = append(names, a.Name)
		}
	}
	grads, err := G.Grad(lossNode, wrt...)
	if err != nil {
		t.Fatalf("Grad: %v", err)
	}
	vm := G.NewTapeMachine(p.Graph)
	defer vm.Close()
	for name, v := range vals {
		if err := G.Let(p.Inputs[name], v); err != nil {
			t.Fatal(err)
		}
	}
	if err := vm.RunAll(); err != nil {
		t.Fatalf("run with gradients: %v", err)
	}
	analytic := make([][]float64, len(grads))
	for i, g := range grads {
		d, err := asDense(g.Value())
		if err != nil {
			t.Fatal(err)
		}
		v, _ := Data[float64](d)
		analytic[i] = append([]float64(nil), v...)
	}
	fp, err := Compile(m, shapes, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer fp.Close()
	loss := func() float64 {
		outs, err := fp.Run(vals)
		if err != nil {
			t.Fatalf("run: %v", err)
		}
		return weighted(outs)
	}
	const eps = 1e-6
	for i, name := range names {
		x, _ := Data[float64](vals[name])
		for j := range x {
			orig := x[j]
			x[j] = orig + eps
			lp := loss()
			x[j] = orig - eps
			lm := loss()
			x[j] = orig
			num := (lp - lm) / (2 * eps)
			if d := math.Abs(num - analytic[i][j]); d > tol*max(1, math.Abs(num)) {
				t.Errorf("d loss / d %s[%d]: analytic %.8g, numeric %.8g", name, j, analytic[i][j], num)
				return
			}
		}
	}
}

func max1(s []int) []int {
	if len(s) == 0 {
		return []int{1}
	}
	return s
}

// reshapeNode returns the output node (scalars are fine as they are for the
// weighted sum since Data flattens).
func reshapeNode(t *testing.T, p *Program, v *Value) *G.Node {
	t.Helper()
	if v.IsConst() {
		t.Fatal("output folded to a constant: nothing to differentiate")
	}
	return v.Node
}

func attrInt(name string, v int64) *graph.Attribute {
	return &graph.Attribute{Name: name, Type: graph.AttrInt, I: v}
}

func attrFloat(name string, v float32) *graph.Attribute {
	return &graph.Attribute{Name: name, Type: graph.AttrFloat, F: v}
}

func attrInts(name string, v ...int64) *graph.Attribute {
	return &graph.Attribute{Name: name, Type: graph.AttrInts, Ints: v}
}
