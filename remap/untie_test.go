package remap_test

import (
	"path/filepath"
	"testing"

	"github.com/onnxtune/onnxtune/importer"
	"github.com/onnxtune/onnxtune/remap"
)

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
			if got := remap.ModulePath(c.node); got != c.want {
				t.Errorf("ModulePath(%q) = %q, want %q", c.node, got, c.want)
			}
		})
	}
}

func TestIsStateDictName(t *testing.T) {
	for name, want := range map[string]bool{
		"layer1.0.conv1.weight": true, "fc.bias": true, "w": true,
		"onnx::Conv_193": false, "/conv1/Constant_output_0": false, "1.weight": false,
	} {
		if got := remap.IsStateDictName(name); got != want {
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

func TestUntie(t *testing.T) {
	m, err := importer.Load(filepath.Join("..", "models", "bn_tied.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	tied := 0
	for _, p := range m.Params {
		if p.Tied {
			tied++
		}
	}
	if tied == 0 {
		t.Fatal("bn_tied.onnx has no tied parameters: the fixture no longer tests untying")
	}
	n, err := remap.Untie(m)
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Errorf("nothing untied")
	}
	seen := make(map[string]bool)
	for _, p := range m.Params {
		if p.Tied || p.Value != p.Initializer {
			t.Errorf("%s still tied to %s", p.Name, p.Initializer)
		}
		if seen[p.Initializer] {
			t.Errorf("initializer %s serves two parameters", p.Initializer)
		}
		seen[p.Initializer] = true
	}
	for _, node := range m.Graph.Nodes {
		if node.OpType == "Identity" {
			t.Errorf("Identity %s left after untying", node.Name)
		}
	}
	for _, name := range []string{"bn1.running_var", "bn2.weight", "bn2.running_mean"} {
		if m.Graph.Initializer(name) == nil {
			t.Errorf("no initializer %s after untying", name)
		}
	}
}
