package remap_test

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/importer"
	"github.com/onnxtune/onnxtune/remap"
)

// TestApplyRecurrentViews copies a bidirectional two-layer GRU's weights
// from its TorchScript export into its dynamo export whose W, R and B were
// zeroed: each PyTorch tensor (weight_ih_l0_reverse, bias_hh_l1, ...) is
// read out of one file's tensors and written into the other's through the
// views, and every tensor comes back as the dynamo exporter wrote it.
func TestApplyRecurrentViews(t *testing.T) {
	dir := filepath.Join("..", "models", "recurrent")
	pre, err := importer.Load(filepath.Join(dir, "gru_bi2_ts.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	target, err := importer.Load(filepath.Join(dir, "gru_bi2_dynamo.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	orig := make(map[string][]byte)
	views := 0
	for _, p := range target.Params {
		if p.View == nil {
			continue
		}
		views++
		init := target.Graph.Initializer(p.Initializer)
		if _, ok := orig[init.Name]; !ok {
			orig[init.Name] = bytes.Clone(init.Raw)
			clear(init.Raw)
		}
	}
	if views != 16 {
		t.Fatalf("%d recurrent views in the table, want 16", views)
	}
	rep, err := remap.Apply(pre, target, remap.Options{Strict: true})
	if err != nil {
		t.Fatalf("apply: %v (%+v)", err, rep)
	}
	for name, want := range orig {
		if !bytes.Equal(target.Graph.Initializer(name).Raw, want) {
			t.Errorf("%s: not the dynamo export's values after Apply", name)
		}
	}
}

// TestUntieRecurrentViews: when two GRU layers read one R (an exporter's
// de-duplication of equal tensors), their views are tied; Untie gives the
// second node a copy of its own, under a name that is no state_dict name,
// and the table lists every view once again, untied.
func TestUntieRecurrentViews(t *testing.T) {
	m, err := importer.Load(filepath.Join("..", "models", "recurrent", "gru_bi2_ts.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	var nodes []*graph.Node
	for _, n := range m.Graph.Nodes {
		if n.OpType == "GRU" {
			nodes = append(nodes, n)
		}
	}
	if len(nodes) != 2 {
		t.Fatalf("%d GRU nodes, want 2", len(nodes))
	}
	if err := m.Edit(func(g *graph.Graph) error { nodes[1].Inputs[2] = nodes[0].Inputs[2]; return nil }); err != nil {
		t.Fatal(err)
	}
	if p := m.Param("gru.weight_hh_l1"); p == nil || !p.Tied {
		t.Fatalf("gru.weight_hh_l1 after sharing R: %+v, want a tied view", p)
	}
	n, err := remap.Untie(m)
	if err != nil || n != 1 {
		t.Fatalf("untie: %d, %v; want one copy", n, err)
	}
	if nodes[1].Inputs[2] == nodes[0].Inputs[2] || graph.IsStateDictName(nodes[1].Inputs[2]) {
		t.Errorf("second GRU reads R %q after untying (first %q)", nodes[1].Inputs[2], nodes[0].Inputs[2])
	}
	views := 0
	for _, p := range m.Params {
		if p.View != nil {
			views++
			if p.Tied {
				t.Errorf("%s still tied", p.Name)
			}
		}
	}
	if views != 16 {
		t.Errorf("%d views after untying, want 16", views)
	}
}
