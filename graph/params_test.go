package graph_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/importer"
)

func ExampleModulePath() {
	for _, name := range []string{
		"/layer1/layer1.0/conv1/Conv",
		"/features/features.1/conv/conv.0/conv.0.0/Conv",
		"/encoder/layers.0/linear2/MatMul",
		"/fc/Gemm",
		"/Flatten", // no module: the op ran in the top-level forward
		"Conv_12",  // not a PyTorch 1.13+ scope name
	} {
		fmt.Printf("%-48s -> %q\n", name, graph.ModulePath(name))
	}
	// Output:
	// /layer1/layer1.0/conv1/Conv                      -> "layer1.0.conv1"
	// /features/features.1/conv/conv.0/conv.0.0/Conv   -> "features.1.conv.0.0"
	// /encoder/layers.0/linear2/MatMul                 -> "encoder.layers.0.linear2"
	// /fc/Gemm                                         -> "fc"
	// /Flatten                                         -> ""
	// Conv_12                                          -> ""
}

func ExampleIsStateDictName() {
	for _, name := range []string{"layer1.0.conv1.weight", "fc.bias", "onnx::Conv_193", "/conv1/Constant_output_0"} {
		fmt.Println(name, graph.IsStateDictName(name))
	}
	// Output:
	// layer1.0.conv1.weight true
	// fc.bias true
	// onnx::Conv_193 false
	// /conv1/Constant_output_0 false
}

// bn_cnn_eval.onnx was exported with constant folding: each Conv+BatchNorm
// pair became one Conv whose weight and bias the exporter named
// "onnx::Conv_N". BuildParams (which importer.Load calls) names them after
// the module that reads them.
func ExampleModel_BuildParams() {
	m, err := importer.Load("../models/bn_cnn_eval.onnx")
	if err != nil {
		fmt.Println(err)
		return
	}
	m.Params = nil // importer.Load already built the table; start again
	m.BuildParams()
	for _, p := range m.Params {
		if p.Recovered {
			fmt.Printf("%s -> %s %v (read by %s)\n", p.Initializer, p.Name, p.Shape, p.Node)
		} else {
			fmt.Printf("%s kept its name\n", p.Name)
		}
	}
	// Output:
	// onnx::Conv_27 -> conv1.weight [8 3 3 3] (read by /conv1/Conv)
	// onnx::Conv_28 -> conv1.bias [8] (read by /conv1/Conv)
	// onnx::Conv_30 -> conv2.weight [16 8 3 3] (read by /conv2/Conv)
	// onnx::Conv_31 -> conv2.bias [16] (read by /conv2/Conv)
	// fc.weight kept its name
	// fc.bias kept its name
}

func TestModulePath(t *testing.T) {
	cases := []struct{ node, want string }{
		{"/layer1/layer1.0/conv1/Conv", "layer1.0.conv1"},
		{"/features/features.1/conv/conv.0/conv.0.0/Conv", "features.1.conv.0.0"},
		{"/encoder/layers.0/linear2/MatMul", "encoder.layers.0.linear2"},
		{"/fc/Gemm", "fc"},
		{"/conv1/Conv_1", "conv1"},
		{"/Flatten", ""},
		{"Identity_0", ""},
		{"", ""},
		{"//Conv", ""},
	}
	for _, c := range cases {
		t.Run(c.node, func(t *testing.T) {
			if got := graph.ModulePath(c.node); got != c.want {
				t.Errorf("ModulePath(%q) = %q, want %q", c.node, got, c.want)
			}
		})
	}
}

func TestIsStateDictName(t *testing.T) {
	for name, want := range map[string]bool{
		"layer1.0.conv1.weight": true, "fc.bias": true, "w": true,
		"onnx::Conv_193": false, "/conv1/Constant_output_0": false,
		// An nn.Sequential's keys start with the layer's index; a bare
		// number is an old exporter's value name.
		"1.weight": true, "0.0.bias": true, "12": false, "1.": false,
	} {
		if got := graph.IsStateDictName(name); got != want {
			t.Errorf("IsStateDictName(%q) = %v", name, got)
		}
	}
}

func TestRecoverFusedNames(t *testing.T) {
	m, err := importer.Load(filepath.Join("..", "models", "bn_cnn_eval.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]int64{
		"conv1.weight": {8, 3, 3, 3}, "conv1.bias": {8},
		"conv2.weight": {16, 8, 3, 3}, "conv2.bias": {16},
		"fc.weight": {4, 16}, "fc.bias": {4},
	}
	if len(m.Params) != len(want) {
		t.Errorf("%d params, want %d", len(m.Params), len(want))
	}
	for _, p := range m.Params {
		w, ok := want[p.Name]
		if !ok {
			t.Errorf("unexpected parameter %q (from %q)", p.Name, p.Initializer)
			continue
		}
		if len(w) != len(p.Shape) {
			t.Errorf("%s: shape %v, want %v", p.Name, p.Shape, w)
		}
		if p.Name[:4] == "conv" && (!p.Recovered || p.Initializer[:6] != "onnx::") {
			t.Errorf("%s: recovered %v from %q", p.Name, p.Recovered, p.Initializer)
		}
	}
}

// TestBuildParamsOddNodes checks that nodes of the wrong arity, and reads
// from a subgraph, name no parameter and do not panic.
func TestBuildParamsOddNodes(t *testing.T) {
	bias, err := graph.NewFloat32("fc.bias", []int64{2}, []float32{1, 2})
	if err != nil {
		t.Fatal(err)
	}
	anon, err := graph.NewFloat32("onnx::Add_7", []int64{2}, []float32{1, 2})
	if err != nil {
		t.Fatal(err)
	}
	sub := &graph.Graph{Nodes: []*graph.Node{{OpType: "Identity", Inputs: []string{"fc.bias"}, Outputs: []string{"y"}}}}
	cases := []struct {
		name string
		node *graph.Node
	}{
		{"Add with one input", &graph.Node{Name: "/fc/Add", OpType: "Add", Inputs: []string{"fc.bias"}, Outputs: []string{"out"}}},
		{"anonymized Add with one input", &graph.Node{Name: "/fc/Add", OpType: "Add", Inputs: []string{"onnx::Add_7"}, Outputs: []string{"out"}}},
		{"Add reading from a subgraph", &graph.Node{Name: "/fc/Add", OpType: "Add", Inputs: []string{"x", "x"}, Outputs: []string{"out"},
			Attrs: []*graph.Attribute{{Name: "body", Type: graph.AttrGraph, G: sub}}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := &graph.Model{Graph: &graph.Graph{Nodes: []*graph.Node{c.node}, Initializers: []*graph.Tensor{bias, anon}}}
			m.BuildParams()
			var names []string
			for _, p := range m.Params {
				names = append(names, p.Name)
			}
			if fmt.Sprint(names) != "[fc.bias]" {
				t.Errorf("params %v, want [fc.bias]", names)
			}
		})
	}
}

// TestEditKeepsParams checks that the table follows a change made through
// Edit, even one that fails half-way.
func TestEditKeepsParams(t *testing.T) {
	m, err := importer.Load(filepath.Join("..", "models", "bn_cnn_eval.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	if p := m.Param("conv1.weight"); p == nil || p.Initializer != "onnx::Conv_27" {
		t.Fatalf("conv1.weight: %+v", p)
	}
	err = m.Edit(func(g *graph.Graph) error {
		g.RenameValue("onnx::Conv_27", "conv1.weight")
		return fmt.Errorf("half-way")
	})
	if err == nil || err.Error() != "half-way" {
		t.Fatalf("Edit returned %v, want the change's error", err)
	}
	p := m.Param("conv1.weight")
	if p == nil || p.Initializer != "conv1.weight" || p.Recovered {
		t.Errorf("after the rename conv1.weight is %+v, want its own initializer, not recovered", p)
	}
	if len(m.Params) != 6 {
		t.Errorf("%d params after the rename, want 6", len(m.Params))
	}
}

// TestSlotOf reads the slots the op descriptors declare (through the
// generated table): positions, Gemm's transB, the Add beside a MatMul.
func TestSlotOf(t *testing.T) {
	mm := &graph.Node{Name: "/fc/MatMul", OpType: "MatMul", Inputs: []string{"x", "w"}, Outputs: []string{"h"}}
	conv := &graph.Node{Name: "/c/Conv", OpType: "Conv", Inputs: []string{"x", "w", "b"}, Outputs: []string{"c"}}
	producers := map[string]*graph.Node{"h": mm, "c": conv}
	gemm := func(transB int64) *graph.Node {
		return &graph.Node{OpType: "Gemm", Inputs: []string{"x", "w", "b"},
			Attrs: []*graph.Attribute{{Name: "transB", Type: graph.AttrInt, I: transB}}}
	}
	for _, tc := range []struct {
		name       string
		n          *graph.Node
		idx        int
		ok         bool
		suffix     string
		transposed bool
	}{
		{"Conv weight", conv, 1, true, "weight", false},
		{"Conv bias", conv, 2, true, "bias", false},
		{"Conv input", conv, 0, false, "", false},
		{"Gemm transB=1", gemm(1), 1, true, "weight", false},
		{"Gemm transB=0", gemm(0), 1, true, "weight", true},
		{"MatMul", mm, 1, true, "weight", true},
		{"Add beside MatMul", &graph.Node{OpType: "Add", Inputs: []string{"h", "b"}}, 1, true, "bias", false},
		{"Add beside Conv", &graph.Node{OpType: "Add", Inputs: []string{"c", "b"}}, 1, false, "", false},
		{"BatchNormalization var", &graph.Node{OpType: "BatchNormalization", Inputs: []string{"x", "s", "b", "m", "v"}}, 4, true, "running_var", false},
		{"other domain", &graph.Node{OpType: "Conv", Domain: "com.example", Inputs: []string{"x", "w"}}, 1, false, "", false},
		{"subgraph read", conv, -1, false, "", false},
		{"past the inputs", conv, 3, false, "", false},
		{"PRelu slope", &graph.Node{OpType: "PRelu", Inputs: []string{"x", "s"}}, 1, true, "weight", false},
	} {
		s, ok := graph.SlotOf(tc.n, tc.idx, producers)
		if ok != tc.ok || s.Suffix != tc.suffix || s.Transposed != tc.transposed {
			t.Errorf("%s: got %+v %v, want %q transposed=%v %v", tc.name, s, ok, tc.suffix, tc.transposed, tc.ok)
		}
	}
}

// TestDynamoNames: a dynamo export (current PyTorch, models/batch, written
// by models/make_batch_cases.py) names its parameters by the program's
// graph signature; folded constants with identifier-like names ("val_0",
// "expand") are not parameters: a transposed Linear weight is recovered
// from its reader's name scopes, a parameter folded away is warned about.
func TestDynamoNames(t *testing.T) {
	m, err := importer.Load(filepath.Join("..", "models", "batch", "cls_token_dynamo.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	sig := graph.ExportSignature(m.Graph)
	got := make(map[string]bool)
	for _, p := range m.Params {
		got[p.Name] = true
		if sig[p.Name] != graph.SigParameter {
			t.Errorf("parameter %q (initializer %q) is not in the export's signature", p.Name, p.Initializer)
		}
	}
	if p := m.Param("proj.weight"); p == nil || !p.Transposed || !p.Recovered || p.Initializer != "val_0" {
		t.Errorf("proj.weight: %+v", p)
	}
	warn := strings.Join(m.ParamWarnings(), "\n")
	for _, want := range []string{"parameter cls of the exported program has no tensor", "initializer expand float32[2 1 8], read by node node_cat"} {
		if !strings.Contains(warn, want) {
			t.Errorf("warnings lack %q:\n%s", want, warn)
		}
	}
}

// TestDerivedNames: an export that names no modules (PyTorch 0.3: nodes
// without names, weights under bare numbers) still lists its weights, under
// stable derived names: the op and its rank among the graph's nodes of
// that op.
func TestDerivedNames(t *testing.T) {
	w, _ := graph.NewFloat32("1", []int64{2, 3}, make([]float32, 6))
	b, _ := graph.NewFloat32("2", []int64{2}, make([]float32, 2))
	w2, _ := graph.NewFloat32("3", []int64{2, 2}, make([]float32, 4))
	g := &graph.Graph{
		Initializers: []*graph.Tensor{w, b, w2},
		Nodes: []*graph.Node{
			{OpType: "Gemm", Inputs: []string{"x", "1", "2"}, Outputs: []string{"h"},
				Attrs: []*graph.Attribute{{Name: "transB", Type: graph.AttrInt, I: 1}}},
			{OpType: "Gemm", Inputs: []string{"h", "3"}, Outputs: []string{"y"},
				Attrs: []*graph.Attribute{{Name: "transB", Type: graph.AttrInt, I: 1}}},
		},
	}
	m := &graph.Model{Graph: g}
	m.BuildParams()
	var got []string
	for _, p := range m.Params {
		got = append(got, p.Name+"<-"+p.Initializer)
	}
	if want := "Gemm_0.weight<-1 Gemm_0.bias<-2 Gemm_1.weight<-3"; strings.Join(got, " ") != want {
		t.Errorf("got %q, want %q", strings.Join(got, " "), want)
	}
}

// TestConstantInputsAreNoParameters: a float initializer read only where
// its op needs a constant (Resize's scales, named "sc" by the producer) is
// no parameter, so training compiles the model with it constant.
func TestConstantInputsAreNoParameters(t *testing.T) {
	sc, _ := graph.NewFloat32("sc", []int64{4}, []float32{1, 1, 2, 2})
	w, _ := graph.NewFloat32("w", []int64{1}, []float32{0.5})
	g := &graph.Graph{
		Initializers: []*graph.Tensor{sc, w},
		Nodes: []*graph.Node{
			{Name: "mul", OpType: "Mul", Inputs: []string{"x", "w"}, Outputs: []string{"m"}},
			{Name: "rz", OpType: "Resize", Inputs: []string{"m", "", "sc"}, Outputs: []string{"y"},
				Attrs: []*graph.Attribute{{Name: "mode", Type: graph.AttrString, S: []byte("nearest")}}},
		},
	}
	m := &graph.Model{Graph: g, Opsets: []graph.Opset{{Version: 18}}}
	m.BuildParams()
	if m.Param("sc") != nil || m.Param("w") == nil {
		t.Fatalf("table %v: want w and not sc", m.Params)
	}
	if !graph.ConstantInput(g.Nodes[1], 2) || graph.ConstantInput(g.Nodes[1], 0) {
		t.Error("Resize's constant inputs are not declared")
	}
}
