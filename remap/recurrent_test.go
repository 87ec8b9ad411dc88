package remap_test

import (
	"bytes"
	"path/filepath"
	"testing"

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
