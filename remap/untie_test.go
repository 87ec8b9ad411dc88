package remap_test

import (
	"path/filepath"
	"testing"

	"github.com/onnxtune/onnxtune/importer"
	"github.com/onnxtune/onnxtune/remap"
)

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
