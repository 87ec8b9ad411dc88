package graph_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/importer"
)

// callsLeft lists the nodes of g (and its subgraphs) that still call a
// local function of m.
func callsLeft(m *graph.Model, g *graph.Graph) []string {
	var out []string
	for _, n := range g.Nodes {
		if m.Function(n) != nil {
			out = append(out, n.String())
		}
		for _, a := range n.Attrs {
			for _, sg := range append([]*graph.Graph{a.G}, a.Graphs...) {
				if sg != nil {
					out = append(out, callsLeft(m, sg)...)
				}
			}
		}
	}
	return out
}

// checkNames fails when two nodes share a name or two nodes define one value.
func checkNames(t *testing.T, g *graph.Graph) {
	t.Helper()
	nodes := make(map[string]bool)
	values := make(map[string]string)
	for _, n := range g.Nodes {
		if nodes[n.Name] {
			t.Errorf("node name %q is used twice", n.Name)
		}
		nodes[n.Name] = true
		for _, o := range n.Outputs {
			if prev, ok := values[o]; ok && o != "" {
				t.Errorf("value %q is defined by %s and %s", o, prev, n)
			}
			values[o] = n.Name
		}
	}
}

// The fixture of make_functions.py: two calls of Dense (which calls
// ScaledLeaky, passing its attribute slope on by reference), Clamp with an
// omitted input, Head with an anonymized weight.
func TestInlinedFixture(t *testing.T) {
	m, err := importer.Load("testdata/functions.onnx")
	if err != nil {
		t.Fatal(err)
	}
	if len(m.LocalFunctions) != len(m.Functions) || len(m.LocalFunctions) != 4 {
		t.Fatalf("%d functions decoded from %d messages, the file has 4", len(m.LocalFunctions), len(m.Functions))
	}
	dense := m.LocalFunctions[0]
	if dense.String() != "local.layers.Dense" || len(dense.Inputs) != 3 || len(dense.Attrs) != 1 || len(dense.ValueInfo) != 1 {
		t.Errorf("Dense decoded as %s, inputs %v, attrs %v, value_info %d", dense, dense.Inputs, dense.Attrs, len(dense.ValueInfo))
	}
	if v, ok := opsetOf(dense.Opsets, ""); !ok || v == 0 {
		t.Errorf("Dense's own opset imports %v lack ai.onnx", dense.Opsets)
	}
	g, err := m.Inlined()
	if err != nil {
		t.Fatal(err)
	}
	if left := callsLeft(m, g); len(left) > 0 {
		t.Fatalf("calls left after inlining: %v", left)
	}
	checkNames(t, g)
	var ops []string
	for _, n := range g.Nodes {
		ops = append(ops, n.OpType)
	}
	if got := strings.Join(ops, " "); got != "Gemm LeakyRelu Gemm LeakyRelu Constant Clip Gemm" {
		t.Errorf("inlined ops: %s", got)
	}
	// Node names come from the call's: an error names "/layer.1/Dense/...".
	leaky := nodesOf(g, "LeakyRelu")
	if len(leaky) != 2 || !strings.HasPrefix(leaky[0].Name, "/layer.0/Dense/") || !strings.HasPrefix(leaky[1].Name, "/layer.1/Dense/") {
		t.Fatalf("LeakyRelu nodes %v", leaky)
	}
	// The first call gives slope, which reaches LeakyRelu through two
	// references; the second gives none, so ScaledLeaky's default applies.
	slope := m.Graph.Nodes[0].Attr("slope")
	def := m.LocalFunctions[1].Default("alpha")
	if slope == nil || def == nil {
		t.Fatalf("fixture: slope %v, default %v", slope, def)
	}
	for i, want := range []float32{slope.F, def.F} {
		a := leaky[i].Attr("alpha")
		if a == nil || a.F != want || a.RefAttrName != "" || a.Type != graph.AttrFloat {
			t.Errorf("LeakyRelu %d: alpha %+v, want %v", i, a, want)
		}
	}
	if a := m.LocalFunctions[1].Nodes[0].Attr("alpha"); a.RefAttrName == "" {
		t.Error("inlining changed the function's own node")
	}
	// Formal inputs are bound to the call's, the outputs to the call's.
	gemm := nodesOf(g, "Gemm")
	if in := gemm[0].Inputs; in[0] != "x" || in[1] != "layer.0.weight" || in[2] != "layer.0.bias" {
		t.Errorf("first Gemm reads %v", in)
	}
	if leaky[0].Outputs[0] != "h1" || gemm[1].Inputs[0] != "h1" {
		t.Errorf("h1: LeakyRelu writes %v, Gemm reads %v", leaky[0].Outputs, gemm[1].Inputs)
	}
	clip := nodesOf(g, "Clip")[0]
	if len(clip.Inputs) != 3 || clip.Inputs[1] != "" || clip.Inputs[2] != "hi" || clip.Outputs[0] != "c" {
		t.Errorf("Clip %v -> %v: want the omitted input as \"\"", clip.Inputs, clip.Outputs)
	}
	// The body's value_info comes along, renamed.
	found := false
	for _, v := range g.ValueInfo {
		if strings.HasPrefix(v.Name, "/layer.0/Dense/") {
			found = true
		}
	}
	if !found {
		t.Errorf("no value_info of Dense's H in %d entries", len(g.ValueInfo))
	}
	if m.Graph.Nodes[0].OpType != "Dense" || len(m.Graph.Nodes) != 5 {
		t.Error("inlining changed the model's graph")
	}
}

func opsetOf(os []graph.Opset, domain string) (int64, bool) {
	for _, o := range os {
		if o.Domain == domain {
			return o.Version, true
		}
	}
	return 0, false
}

func nodesOf(g *graph.Graph, op string) []*graph.Node {
	var out []*graph.Node
	for _, n := range g.Nodes {
		if n.OpType == op {
			out = append(out, n)
		}
	}
	return out
}

// The parameter table sees through calls: "onnx::Gemm_9" is read inside
// Head by Gemm input 1 (transB 0) in a node named "/head/Gemm".
func TestParamsThroughFunctions(t *testing.T) {
	m, err := importer.Load("testdata/functions.onnx")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range m.Params {
		names = append(names, p.Name)
	}
	if got := strings.Join(names, " "); got != "layer.0.weight layer.0.bias layer.1.weight layer.1.bias head.weight head.bias" {
		t.Fatalf("params: %s", got)
	}
	w := m.Param("head.weight")
	init := m.Graph.Initializer("onnx::Gemm_9")
	if w.Initializer != init.Name || w.Value != init.Name || !w.Transposed || !w.Recovered || w.Node != "/head/Head" ||
		len(w.Shape) != 2 || w.Shape[0] != init.Dims[1] || w.Shape[1] != init.Dims[0] {
		t.Errorf("head.weight: %+v", *w)
	}
	if m.Graph.Node(w.Node) == nil {
		t.Errorf("Param.Node %q is not a node of the model's graph", w.Node)
	}
}

// stateDict is what make_functions.py wrote of PyTorch's state_dict.
type stateDict map[string]struct {
	Shape  []int64   `json:"shape"`
	Values []float64 `json:"values"`
}

// PyTorch's exporter with export_modules_as_functions: each Block's Linear
// weight is an anonymized, transposed MatMul input inside the function;
// the table names it after the bias beside it, as PyTorch's state_dict.
func TestParamsTorchModulesAsFunctions(t *testing.T) {
	m, err := importer.Load("testdata/functions_torch.onnx")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("testdata/functions_torch.state_dict.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		StateDict stateDict `json:"state_dict"`
	}
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	if len(m.Params) != len(ref.StateDict) {
		var names []string
		for _, p := range m.Params {
			names = append(names, p.Name)
		}
		t.Errorf("%d params %v, PyTorch's state_dict has %d", len(m.Params), names, len(ref.StateDict))
	}
	for name, want := range ref.StateDict {
		p := m.Param(name)
		if p == nil {
			t.Errorf("%s is not in the table", name)
			continue
		}
		if fmt.Sprint(p.Shape) != fmt.Sprint(want.Shape) {
			t.Errorf("%s: shape %v, PyTorch %v", name, p.Shape, want.Shape)
		}
		got, err := pytorchValues(m, p)
		if err != nil {
			t.Fatal(err)
		}
		for i := range got {
			if float64(got[i]) != want.Values[i] {
				t.Errorf("%s[%d] = %v, PyTorch %v (transposed %v)", name, i, got[i], want.Values[i], p.Transposed)
				break
			}
		}
	}
}

// pytorchValues returns p's values in PyTorch's layout.
func pytorchValues(m *graph.Model, p *graph.Param) ([]float32, error) {
	t := m.Graph.Initializer(p.Initializer)
	if t == nil {
		return nil, fmt.Errorf("%s: no initializer %q", p.Name, p.Initializer)
	}
	v, err := graph.Decode[float32](t.Raw)
	if err != nil {
		return nil, err
	}
	if !p.Transposed {
		return v, nil
	}
	r, c := int(t.Dims[0]), int(t.Dims[1])
	out := make([]float32, len(v))
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			out[j*r+i] = v[i*c+j]
		}
	}
	return out, nil
}

// fn builds a function of domain "f" whose body is nodes.
func fn(name string, in, out []string, nodes ...*graph.Node) *graph.Function {
	return &graph.Function{Name: name, Domain: "f", Inputs: in, Outputs: out, Nodes: nodes,
		Opsets: []graph.Opset{{Version: 18}, {Domain: "f", Version: 1}}}
}

func call(name, op string, in, out []string) *graph.Node {
	return &graph.Node{Name: name, OpType: op, Domain: "f", Inputs: in, Outputs: out}
}

func op(name, op string, in, out []string) *graph.Node {
	return &graph.Node{Name: name, OpType: op, Inputs: in, Outputs: out}
}

// model returns a model whose graph is nodes, from x to y.
func model(fns []*graph.Function, nodes ...*graph.Node) *graph.Model {
	vi := func(n string) *graph.ValueInfo {
		return &graph.ValueInfo{Name: n, Type: &graph.Type{Kind: graph.TypeTensor, Elem: graph.Float32, Shape: &graph.Shape{}}}
	}
	return &graph.Model{
		IRVersion: 9, Opsets: []graph.Opset{{Version: 18}, {Domain: "f", Version: 1}},
		Graph:          &graph.Graph{Nodes: nodes, Inputs: []*graph.ValueInfo{vi("x")}, Outputs: []*graph.ValueInfo{vi("y")}},
		LocalFunctions: fns,
	}
}

// doubling returns n functions f0..f(n-1), each calling the next twice;
// the last is one Relu. Inlined, one call of f0 is 2^(n-1) Relus.
func doubling(n int) []*graph.Function {
	var fns []*graph.Function
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("f%d", i)
		if i == n-1 {
			fns = append(fns, fn(name, []string{"a"}, []string{"b"}, op("r", "Relu", []string{"a"}, []string{"b"})))
			break
		}
		next := fmt.Sprintf("f%d", i+1)
		fns = append(fns, fn(name, []string{"a"}, []string{"b"},
			call("c1", next, []string{"a"}, []string{"t"}), call("c2", next, []string{"t"}, []string{"b"})))
	}
	return fns
}

// Models that cannot be inlined fail with one line that names the call and
// the function; nothing panics, and a blow-up is refused before it is
// built.
func TestInlineErrors(t *testing.T) {
	attrRef := &graph.Node{Name: "lr", OpType: "LeakyRelu", Inputs: []string{"a"}, Outputs: []string{"b"},
		Attrs: []*graph.Attribute{{Name: "alpha", Type: graph.AttrFloat, RefAttrName: "k"}}}
	tests := []struct {
		name string
		m    *graph.Model
		want []string // substrings of the error
	}{
		{"recursion", model([]*graph.Function{
			fn("a", []string{"p"}, []string{"q"}, call("n", "b", []string{"p"}, []string{"q"})),
			fn("b", []string{"p"}, []string{"q"}, call("n", "a", []string{"p"}, []string{"q"})),
		}, call("/top", "a", []string{"x"}, []string{"y"})),
			[]string{`node "/top" (a)`, "calls itself (f.a -> f.b -> f.a)"}},
		{"self call", model([]*graph.Function{
			fn("a", []string{"p"}, []string{"q"}, op("r", "Relu", []string{"p"}, []string{"t"}), call("n", "a", []string{"t"}, []string{"q"})),
		}, call("/top", "a", []string{"x"}, []string{"y"})),
			[]string{"local function f.a: calls itself (f.a -> f.a)"}},
		{"name with a newline", model([]*graph.Function{
			fn("a\nb", []string{"p"}, []string{"q"}, call("n", "a\nb", []string{"p"}, []string{"q"})),
		}, call("/top", "a\nb", []string{"x"}, []string{"y"})),
			[]string{`local function f.a\nb: calls itself`}},
		{"missing function", model([]*graph.Function{
			fn("a", []string{"p"}, []string{"q"}, call("n", "gone", []string{"p"}, []string{"q"})),
		}, call("/top", "a", []string{"x"}, []string{"y"})),
			[]string{`node "/top" (a)`, "local function f.gone: the model defines no such function"}},
		{"blow-up", model(doubling(40), call("/top", "f0", []string{"x"}, []string{"y"})),
			[]string{`node "/top" (f0)`, "local function f.f0", fmt.Sprintf("more than %d nodes", graph.DefaultMaxInlined)}},
		{"undefined read", model([]*graph.Function{
			fn("a", []string{"p"}, []string{"q"}, op("r", "Add", []string{"p", "outer"}, []string{"q"})),
		}, call("/top", "a", []string{"x"}, []string{"y"})),
			[]string{`reads "outer", which is neither an input of the function nor computed in it`}},
		{"output not computed", model([]*graph.Function{
			fn("a", []string{"p"}, []string{"q"}, op("r", "Relu", []string{"p"}, []string{"t"})),
		}, call("/top", "a", []string{"x"}, []string{"y"})),
			[]string{`output "q" is not computed by the function`}},
		{"too many inputs", model([]*graph.Function{
			fn("a", []string{"p"}, []string{"q"}, op("r", "Relu", []string{"p"}, []string{"q"})),
		}, call("/top", "a", []string{"x", "x"}, []string{"y"})),
			[]string{"called with 2 inputs, it takes 1"}},
		{"defined twice", model([]*graph.Function{
			fn("a", []string{"p"}, []string{"q"}, op("r", "Relu", []string{"p"}, []string{"p"})),
		}, call("/top", "a", []string{"x"}, []string{"y"})),
			[]string{`defines "p", which is already defined`}},
		{"function twice", model([]*graph.Function{
			fn("a", []string{"p"}, []string{"q"}, op("r", "Relu", []string{"p"}, []string{"q"})),
			fn("a", []string{"p"}, []string{"q"}, op("r", "Relu", []string{"p"}, []string{"q"})),
		}, call("/top", "a", []string{"x"}, []string{"y"})),
			[]string{"local function f.a: defined twice"}},
		{"attribute of another type", model([]*graph.Function{
			fn("a", []string{"a"}, []string{"b"}, attrRef),
		}, &graph.Node{Name: "/top", OpType: "a", Domain: "f", Inputs: []string{"x"}, Outputs: []string{"y"},
			Attrs: []*graph.Attribute{{Name: "k", Type: graph.AttrInt, I: 2}}}),
			[]string{`attribute "alpha" refers to "k", a FLOAT, given a INT`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			_, err := tc.m.Inlined()
			var ie *graph.InlineError
			if !errors.As(err, &ie) {
				t.Fatalf("got %v, want an *InlineError", err)
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("error of several lines: %q", msg)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("took %v", d)
			}
			// The table falls back to the graph as it is.
			tc.m.BuildParams()
		})
	}
}

// A graph at the limit inlines; one node more is refused.
func TestInlineLimit(t *testing.T) {
	m := model(doubling(5), call("/top", "f0", []string{"x"}, []string{"y"})) // 16 Relus
	g, err := m.InlinedWith(16)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Nodes) != 16 {
		t.Errorf("%d nodes, want 16", len(g.Nodes))
	}
	checkNames(t, g)
	if _, err := m.InlinedWith(15); err == nil || !strings.Contains(err.Error(), "more than 15 nodes") {
		t.Errorf("limit 15: %v", err)
	}
}

// Inlining preserves what the graph computes where a function forwards
// an input to an output, returns one value twice, is called with an output
// omitted, or is called inside a subgraph.
func TestInlineShapes(t *testing.T) {
	forward := fn("fwd", []string{"p"}, []string{"p", "q", "q"}, op("r", "Relu", []string{"p"}, []string{"q"}))
	m := model([]*graph.Function{forward},
		call("", "fwd", []string{"x"}, []string{"a", "b", "c"}),
		call("", "fwd", []string{"a"}, []string{"", "d"}),
		op("/add", "Sum", []string{"a", "b", "c", "d"}, []string{"y"}))
	g, err := m.Inlined()
	if err != nil {
		t.Fatal(err)
	}
	checkNames(t, g)
	var got []string
	for _, n := range g.Nodes {
		got = append(got, fmt.Sprintf("%s %s%v->%v", n.Name, n.OpType, n.Inputs, n.Outputs))
	}
	want := []string{
		"fwd/r Relu[x]->[b]", "fwd/Identity Identity[x]->[a]", "fwd/Identity_1 Identity[b]->[c]",
		"fwd_1/r Relu[a]->[d]",
		"/add Sum[a b c d]->[y]",
	}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Errorf("inlined:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// A call in a subgraph of the main graph, and a subgraph in a body.
	branch := &graph.Graph{Name: "then", Nodes: []*graph.Node{call("/then/call", "fwd", []string{"x"}, []string{"", "t"})},
		Outputs: []*graph.ValueInfo{{Name: "t"}}}
	inner := &graph.Graph{Name: "else", Nodes: []*graph.Node{op("neg", "Neg", []string{"p"}, []string{"u"})},
		Outputs: []*graph.ValueInfo{{Name: "u"}}}
	withIf := fn("withif", []string{"p", "c"}, []string{"q"}, &graph.Node{Name: "if", OpType: "If", Inputs: []string{"c"}, Outputs: []string{"q"},
		Attrs: []*graph.Attribute{{Name: "else_branch", Type: graph.AttrGraph, G: inner}}})
	m = model([]*graph.Function{forward, withIf},
		&graph.Node{Name: "/if", OpType: "If", Inputs: []string{"cond"}, Outputs: []string{"v"},
			Attrs: []*graph.Attribute{{Name: "then_branch", Type: graph.AttrGraph, G: branch}}},
		call("/w", "withif", []string{"v", "cond"}, []string{"y"}))
	g, err = m.Inlined()
	if err != nil {
		t.Fatal(err)
	}
	if left := callsLeft(m, g); len(left) > 0 {
		t.Fatalf("calls left: %v", left)
	}
	then := g.Nodes[0].Attr("then_branch").G
	if len(then.Nodes) != 1 || then.Nodes[0].OpType != "Relu" || then.Nodes[0].Outputs[0] != "t" || then.Nodes[0].Name != "/then/call/r" {
		t.Errorf("then branch: %+v", then.Nodes[0])
	}
	if branch.Nodes[0].OpType != "fwd" {
		t.Error("inlining changed the model's subgraph")
	}
	els := g.Nodes[1].Attr("else_branch").G
	if n := els.Nodes[0]; n.Inputs[0] != "v" || n.Outputs[0] != els.Outputs[0].Name || n.Outputs[0] == "u" {
		t.Errorf("else branch: %v -> %v, output %q", n.Inputs, n.Outputs, els.Outputs[0].Name)
	}
}

// A file whose calls expand 2^39-fold is refused at once, with nothing
// built; the importer still loads it (the parameter table falls back to
// the graph as written).
func TestInlineBlowUpIsCheap(t *testing.T) {
	m := model(doubling(40), call("/top", "f0", []string{"x"}, []string{"y"}))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := m.Inlined()
	runtime.ReadMemStats(&after)
	if err == nil {
		t.Fatal("no error")
	}
	if d := after.TotalAlloc - before.TotalAlloc; d > 1<<20 {
		t.Errorf("refusing allocated %d bytes", d)
	}
}

// functions.onnx calls Dense twice; Dense calls ScaledLeaky, whose
// LeakyRelu takes alpha from Dense's slope when the call gives one, else
// from ScaledLeaky's default.
func ExampleModel_Inlined() {
	m, err := importer.Load("testdata/functions.onnx")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, n := range m.Graph.Nodes {
		fmt.Printf("%-14s %s\n", n.Name, n.QualifiedOp())
	}
	g, err := m.Inlined()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("inlined:")
	for _, n := range g.Nodes {
		alpha := ""
		if a := n.Attr("alpha"); a != nil {
			alpha = fmt.Sprintf(" alpha=%.2g", a.F)
		}
		fmt.Printf("%-32s %s%v -> %v%s\n", n.Name, n.OpType, n.Inputs, n.Outputs, alpha)
	}
	// Output:
	// /layer.0/Dense local.layers.Dense
	// /layer.1/Dense local.layers.Dense
	// /Constant      Constant
	// /clamp/Clamp   local.layers.Clamp
	// /head/Head     local.layers.Head
	// inlined:
	// /layer.0/Dense/dense/Gemm        Gemm[x layer.0.weight layer.0.bias] -> [/layer.0/Dense/H]
	// /layer.0/Dense/act/leaky         LeakyRelu[/layer.0/Dense/H] -> [h1] alpha=0.1
	// /layer.1/Dense/dense/Gemm        Gemm[h1 layer.1.weight layer.1.bias] -> [/layer.1/Dense/H]
	// /layer.1/Dense/act/leaky         LeakyRelu[/layer.1/Dense/H] -> [h2] alpha=0.5
	// /Constant                        Constant[] -> [hi]
	// /clamp/Clamp/clip                Clip[h2  hi] -> [c]
	// /head/Head/head/Gemm             Gemm[c onnx::Gemm_9 head.bias] -> [logits]
}
