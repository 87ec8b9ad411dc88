package ops

import (
	"fmt"
	"math"
	"math/rand"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph"
)

// i64s is a 1-D int64 tensor (shapes, axes, pads).
func i64s(v ...int64) *tensor.Dense { return Dense([]int{len(v)}, v) }

// i64 is an int64 scalar tensor.
func i64(v int64) *tensor.Dense { return tensor.New(tensor.FromScalar(v)) }

// chainModel builds a model of several nodes over args (graph inputs, or
// initializers when Const) with the given graph outputs.
func chainModel(opset int64, args []arg, nodes []*graph.Node, outputs ...string) (*graph.Model, map[string][]int) {
	g := &graph.Graph{Name: "test", Nodes: nodes}
	shapes := make(map[string][]int)
	for _, a := range args {
		if a.Const {
			g.Initializers = append(g.Initializers, irTensor(a.Name, a.Value))
			continue
		}
		dt, _ := fromTensorDtype(a.Value.Dtype())
		s := Shape(a.Value)
		dims := make([]graph.Dim, len(s))
		for i, d := range s {
			dims[i] = graph.Dim{Value: int64(d), HasValue: true}
		}
		g.Inputs = append(g.Inputs, &graph.ValueInfo{Name: a.Name, Type: &graph.Type{Kind: graph.TypeTensor, Elem: dt, Shape: &graph.Shape{Dims: dims}}})
		shapes[a.Name] = s
	}
	for _, o := range outputs {
		g.Outputs = append(g.Outputs, &graph.ValueInfo{Name: o})
	}
	return &graph.Model{IRVersion: 8, Opsets: []graph.Opset{{Version: opset}}, Graph: g}, shapes
}

// gradCheckModel is gradCheck for a whole model: the loss is the sum over
// every float64 output the graph computes of sum_i w_i * out_i (fixed random
// w), differentiated with respect to every float64 graph input.
func gradCheckModel(t *testing.T, m *graph.Model, shapes map[string][]int, args []arg) {
	t.Helper()
	p, err := Compile(m, shapes, Options{})
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	wr := rand.New(rand.NewSource(99))
	weights := make([][]float64, len(p.Outputs))
	var loss *G.Node
	for k, out := range p.Outputs {
		if out.IsConst() || out.DType != graph.Float64 {
			continue
		}
		w := make([]float64, out.Size())
		for i := range w {
			w[i] = wr.Float64()*2 - 1
		}
		weights[k] = w
		shape := out.Shape
		term, err := NewNode(p.Graph, fmt.Sprintf("loss%d", k), Spec{Name: "WeightedSum", Shape: []int{}, DType: graph.Float64,
			Fwd: func(in []*tensor.Dense) (*tensor.Dense, error) {
				y, _ := Data[float64](in[0])
				s := 0.0
				for i := range y {
					s += y[i] * w[i]
				}
				return tensor.New(tensor.FromScalar(s)), nil
			},
			WRT: []bool{true},
			Grad: func(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
				n, err := NewNode(grad.Graph(), output.Name()+"/grad", Spec{Name: "WeightedSumGrad", Shape: shape, DType: graph.Float64,
					Fwd: func(in []*tensor.Dense) (*tensor.Dense, error) {
						g, _ := Data[float64](in[0])
						r := make([]float64, len(w))
						for i := range r {
							r[i] = g[0] * w[i]
						}
						return Dense(shape, r), nil
					}}, grad)
				return G.Nodes{n}, err
			}}, out.Node)
		if err != nil {
			t.Fatal(err)
		}
		if loss == nil {
			loss = term
		} else if loss, err = G.Add(loss, term); err != nil {
			t.Fatal(err)
		}
	}
	if loss == nil {
		t.Fatal("no float64 output computed by the graph: nothing to differentiate")
	}
	var wrt G.Nodes
	var names []string
	vals := make(map[string]*tensor.Dense)
	for _, a := range args {
		if a.Const {
			continue
		}
		vals[a.Name] = a.Value
		if err := G.Let(p.Inputs[a.Name], a.Value); err != nil {
			t.Fatal(err)
		}
		if a.Value.Dtype() == tensor.Float64 {
			wrt = append(wrt, p.Inputs[a.Name])
			names = append(names, a.Name)
		}
	}
	grads, err := G.Grad(loss, wrt...)
	if err != nil {
		t.Fatalf("Grad: %v", err)
	}
	vm := G.NewTapeMachine(p.Graph)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatalf("run with gradients: %v", err)
	}
	analytic := make([][]float64, len(grads))
	for i, g := range grads {
		d, err := asDense(g.Value())
		if err != nil {
			t.Fatal(err)
		}
		x, _ := Data[float64](d)
		analytic[i] = append([]float64(nil), x...)
	}
	fp, err := Compile(m, shapes, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer fp.Close()
	lossAt := func() float64 {
		outs, err := fp.Run(vals)
		if err != nil {
			t.Fatalf("run: %v", err)
		}
		s := 0.0
		for k, w := range weights {
			if w == nil {
				continue
			}
			y, _ := Data[float64](outs[k])
			for i := range y {
				s += w[i] * y[i]
			}
		}
		return s
	}
	const eps = 1e-6
	for i, name := range names {
		x, _ := Data[float64](vals[name])
		if len(analytic[i]) != len(x) {
			t.Fatalf("gradient of %s has %d elements, want %d", name, len(analytic[i]), len(x))
		}
		for j := range x {
			orig := x[j]
			x[j] = orig + eps
			lp := lossAt()
			x[j] = orig - eps
			lm := lossAt()
			x[j] = orig
			num := (lp - lm) / (2 * eps)
			if d := math.Abs(num - analytic[i][j]); d > 1e-5*max(1, math.Abs(num)) {
				t.Errorf("d loss / d %s[%d]: analytic %.8g, numeric %.8g", name, j, analytic[i][j], num)
				return
			}
		}
	}
}

func TestReshapeFamilyGradients(t *testing.T) {
	x := func() arg { return arg{Name: "x", Value: randF64(1, -1, 1, 2, 3, 4)} }
	cases := []struct {
		name  string
		op    string
		opset int64
		attrs []*graph.Attribute
		args  []arg
	}{
		{"Reshape/infer", "Reshape", 13, nil, []arg{x(), {Name: "s", Value: i64s(4, -1), Const: true}}},
		{"Reshape/copy-zero", "Reshape", 13, nil, []arg{x(), {Name: "s", Value: i64s(0, 12), Const: true}}},
		{"Reshape/allowzero", "Reshape", 14, []*graph.Attribute{attrInt("allowzero", 1)}, []arg{x(), {Name: "s", Value: i64s(3, 8), Const: true}}},
		{"Reshape/attribute-opset4", "Reshape", 4, []*graph.Attribute{attrInts("shape", 0, -1, 2)}, []arg{x()}},
		{"Flatten/default", "Flatten", 13, nil, []arg{x()}},
		{"Flatten/axis0", "Flatten", 13, []*graph.Attribute{attrInt("axis", 0)}, []arg{x()}},
		{"Flatten/axis-negative", "Flatten", 13, []*graph.Attribute{attrInt("axis", -1)}, []arg{x()}},
		{"Squeeze/attribute-opset11", "Squeeze", 11, []*graph.Attribute{attrInts("axes", 0, -1)},
			[]arg{{Name: "x", Value: randF64(2, -1, 1, 1, 3, 1)}}},
		{"Squeeze/input-opset13", "Squeeze", 13, nil,
			[]arg{{Name: "x", Value: randF64(2, -1, 1, 1, 3, 1)}, {Name: "a", Value: i64s(-3), Const: true}}},
		{"Squeeze/all", "Squeeze", 13, nil, []arg{{Name: "x", Value: randF64(2, -1, 1, 1, 3, 1)}}},
		{"Squeeze/to-scalar", "Squeeze", 13, nil, []arg{{Name: "x", Value: randF64(2, -1, 1, 1, 1)}}},
		{"Unsqueeze/attribute-opset11", "Unsqueeze", 11, []*graph.Attribute{attrInts("axes", 0, 3)}, []arg{x()}},
		{"Unsqueeze/input-unsorted-negative", "Unsqueeze", 13, nil, []arg{x(), {Name: "a", Value: i64s(-1, 1), Const: true}}},
		{"Identity", "Identity", 16, nil, []arg{x()}},
		{"Transpose/default", "Transpose", 13, nil, []arg{x()}},
		{"Transpose/perm", "Transpose", 13, []*graph.Attribute{attrInts("perm", 1, 2, 0)}, []arg{x()}},
		{"Transpose/keep-last", "Transpose", 13, []*graph.Attribute{attrInts("perm", 1, 0, 2)}, []arg{x()}},
		{"Expand/broadcast", "Expand", 13, nil,
			[]arg{{Name: "x", Value: randF64(3, -1, 1, 3, 1)}, {Name: "s", Value: i64s(2, 3, 4), Const: true}}},
		{"Expand/bidirectional", "Expand", 13, nil,
			[]arg{{Name: "x", Value: randF64(3, -1, 1, 2, 1, 4)}, {Name: "s", Value: i64s(3, 1), Const: true}}},
		{"Expand/one-element", "Expand", 13, nil,
			[]arg{{Name: "x", Value: randF64(3, -1, 1, 1)}, {Name: "s", Value: i64s(2, 2), Const: true}}},
		{"Tile/2d", "Tile", 13, nil,
			[]arg{{Name: "x", Value: randF64(4, -1, 1, 2, 3)}, {Name: "r", Value: i64s(2, 3), Const: true}}},
		{"Tile/3d", "Tile", 13, nil, []arg{x(), {Name: "r", Value: i64s(1, 2, 1), Const: true}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { gradCheck(t, c.op, c.opset, c.attrs, c.args...) })
	}
}

// shapeChain is the subgraph a transformer export computes a Reshape's
// target with: Reshape(x, Concat(Unsqueeze(Gather(Shape(x), 0)), [-1])).
func shapeChain(opset int64, x *tensor.Dense) (*graph.Model, map[string][]int) {
	unsq := &graph.Node{Name: "/Unsqueeze", OpType: "Unsqueeze", Inputs: []string{"d0", "axes"}, Outputs: []string{"u"}}
	args := []arg{{Name: "x", Value: x}, {Name: "zero", Value: i64(0), Const: true},
		{Name: "minus1", Value: i64s(-1), Const: true}, {Name: "axes", Value: i64s(0), Const: true}}
	if opset < 13 {
		unsq.Inputs = unsq.Inputs[:1]
		unsq.Attrs = []*graph.Attribute{attrInts("axes", 0)}
	}
	nodes := []*graph.Node{
		{Name: "/Shape", OpType: "Shape", Inputs: []string{"x"}, Outputs: []string{"s"}},
		{Name: "/Gather", OpType: "Gather", Inputs: []string{"s", "zero"}, Outputs: []string{"d0"}, Attrs: []*graph.Attribute{attrInt("axis", 0)}},
		unsq,
		{Name: "/Concat", OpType: "Concat", Inputs: []string{"u", "minus1"}, Outputs: []string{"target"}, Attrs: []*graph.Attribute{attrInt("axis", 0)}},
		{Name: "/Reshape", OpType: "Reshape", Inputs: []string{"x", "target"}, Outputs: []string{"y"}},
	}
	return chainModel(opset, args, nodes, "y", "target")
}

func TestShapeSubgraphFolds(t *testing.T) {
	for _, opset := range []int64{11, 13, 17} {
		t.Run(fmt.Sprint("opset", opset), func(t *testing.T) {
			x := randF64(5, -1, 1, 2, 3, 4)
			m, shapes := shapeChain(opset, x)
			p, err := Compile(m, shapes, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			if !p.Outputs[1].IsConst() {
				t.Errorf("Reshape target %v is not a constant", p.Outputs[1])
			}
			for _, n := range p.Graph.AllNodes() {
				for _, op := range []string{"/Shape", "/Gather", "/Unsqueeze", "/Concat"} {
					if strings.HasPrefix(n.Name(), op) {
						t.Errorf("graph has node %q: the shape subgraph was not folded", n.Name())
					}
				}
			}
			if got := p.Outputs[0].Shape; !sameInts(got, []int{2, 12}) {
				t.Errorf("Reshape output shape %v, want [2 12]", got)
			}
			outs, err := p.Run(map[string]*tensor.Dense{"x": x})
			if err != nil {
				t.Fatal(err)
			}
			got, _ := Data[float64](outs[0])
			want, _ := Data[float64](x)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("Reshape changed the elements")
			}
		})
	}
}

func TestShapeSubgraphGradient(t *testing.T) {
	x := randF64(6, -1, 1, 2, 3, 4)
	m, shapes := shapeChain(13, x)
	gradCheckModel(t, m, shapes, []arg{{Name: "x", Value: x}})
}

// TestShapeOpsFoldConstants checks that every shape op applied to
// constants gives a constant.
func TestShapeOpsFoldConstants(t *testing.T) {
	s := arg{Name: "s", Value: i64s(2, 3, 4, 5), Const: true}
	cases := []struct {
		name  string
		op    string
		opset int64
		attrs []*graph.Attribute
		args  []arg
	}{
		{"Shape", "Shape", 15, []*graph.Attribute{attrInt("start", 1)}, []arg{{Name: "x", Value: randF64(1, 0, 1, 2, 3)}}},
		{"Size", "Size", 13, nil, []arg{{Name: "x", Value: randF64(1, 0, 1, 2, 3)}}},
		{"Slice", "Slice", 13, nil, []arg{s, {Name: "b", Value: i64s(1), Const: true}, {Name: "e", Value: i64s(math.MaxInt64), Const: true}}},
		{"Gather", "Gather", 13, nil, []arg{s, {Name: "i", Value: i64s(-1, 0), Const: true}}},
		{"Concat", "Concat", 13, []*graph.Attribute{attrInt("axis", 0)}, []arg{s, {Name: "t", Value: i64s(-1), Const: true}}},
		{"Unsqueeze", "Unsqueeze", 13, nil, []arg{{Name: "d", Value: i64(7), Const: true}, {Name: "a", Value: i64s(0), Const: true}}},
		{"Squeeze", "Squeeze", 13, nil, []arg{{Name: "d", Value: i64s(7), Const: true}}},
		{"Reshape", "Reshape", 13, nil, []arg{s, {Name: "t", Value: i64s(2, 2), Const: true}}},
		{"Transpose", "Transpose", 13, nil, []arg{{Name: "m", Value: Dense([]int{2, 2}, []int64{1, 2, 3, 4}), Const: true}}},
		{"Expand", "Expand", 13, nil, []arg{{Name: "d", Value: i64(1), Const: true}, {Name: "t", Value: i64s(3), Const: true}}},
		{"Tile", "Tile", 13, nil, []arg{s, {Name: "r", Value: i64s(2), Const: true}}},
		{"Pad", "Pad", 13, nil, []arg{s, {Name: "p", Value: i64s(1, 1), Const: true}}},
		{"Range", "Range", 13, nil, []arg{{Name: "a", Value: i64(0), Const: true}, {Name: "b", Value: i64(5), Const: true}, {Name: "c", Value: i64(2), Const: true}}},
		{"ConstantOfShape", "ConstantOfShape", 13, nil, []arg{s}},
		{"Constant", "Constant", 13, []*graph.Attribute{attrInts("value_ints", 1, 2)}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, shapes := oneNode(c.op, c.opset, c.attrs, 1, c.args...)
			p, err := Compile(m, shapes, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			if !p.Outputs[0].IsConst() {
				t.Errorf("output %v is not a constant", p.Outputs[0])
			}
		})
	}
}

// TestShapeOpsNeedConstants: an input that sets the output's shape must be
// known when the model is compiled.
func TestShapeOpsNeedConstants(t *testing.T) {
	x := arg{Name: "x", Value: randF64(1, 0, 1, 2, 3)}
	cases := []struct {
		op   string
		args []arg
	}{
		{"Reshape", []arg{x, {Name: "s", Value: i64s(3, 2)}}},
		{"Expand", []arg{x, {Name: "s", Value: i64s(2, 3)}}},
		{"Tile", []arg{x, {Name: "r", Value: i64s(1, 1)}}},
		{"Slice", []arg{x, {Name: "b", Value: i64s(0)}, {Name: "e", Value: i64s(1)}}},
		{"Range", []arg{{Name: "a", Value: i64(0)}, {Name: "b", Value: i64(3), Const: true}, {Name: "c", Value: i64(1), Const: true}}},
		{"ConstantOfShape", []arg{{Name: "s", Value: i64s(2)}}},
	}
	for _, c := range cases {
		t.Run(c.op, func(t *testing.T) {
			m, shapes := oneNode(c.op, 13, nil, 1, c.args...)
			_, err := Compile(m, shapes, Options{})
			if err == nil || !strings.Contains(err.Error(), "must be known when the model is compiled") {
				t.Errorf("error %v, want one saying the input must be known", err)
			}
		})
	}
}

func TestShapeOpErrors(t *testing.T) {
	x := arg{Name: "x", Value: randF64(1, 0, 1, 2, 3)}
	cases := []struct {
		name  string
		op    string
		attrs []*graph.Attribute
		args  []arg
		want  string
	}{
		{"Reshape/size", "Reshape", nil, []arg{x, {Name: "s", Value: i64s(4, 2), Const: true}}, "does not fit"},
		{"Reshape/two-inferred", "Reshape", nil, []arg{x, {Name: "s", Value: i64s(-1, -1), Const: true}}, "more than one -1"},
		{"Squeeze/not-one", "Squeeze", nil, []arg{x, {Name: "a", Value: i64s(0), Const: true}}, "is not 1"},
		{"Transpose/perm", "Transpose", []*graph.Attribute{attrInts("perm", 0, 0)}, []arg{x}, "not a permutation"},
		{"Concat/axis", "Concat", []*graph.Attribute{attrInt("axis", 2)}, []arg{x, x}, "out of range"},
		{"Split/sizes", "Split", nil, []arg{x, {Name: "s", Value: i64s(1, 2), Const: true}}, "parts for 1 outputs"},
		{"Pad/mode", "Pad", []*graph.Attribute{padMode("mirror")}, []arg{x, {Name: "p", Value: i64s(0, 1, 0, 1), Const: true}}, "not supported"},
		{"Gather/index", "Gather", nil, []arg{{Name: "d", Value: i64s(1, 2), Const: true}, {Name: "i", Value: i64s(2), Const: true}}, "out of range"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, shapes := oneNode(c.op, 13, c.attrs, 1, c.args...)
			_, err := Compile(m, shapes, Options{})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}
