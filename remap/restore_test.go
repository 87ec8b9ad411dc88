package remap_test

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/onnxtune/onnxtune/remap"
)

// TestRestoreBiases: the dynamo exporter's optimizer drops a fresh
// attention's zero out_proj biases (the Gemm loses its C input);
// RestoreBiases gives each Gemm a zero bias of its name, also where the
// weight is one tensor shared by two layers; a TorchScript export, which
// keeps them, is left as it is.
func TestRestoreBiases(t *testing.T) {
	today := filepath.Join("..", "models", "today")
	m := load(t, filepath.Join(today, "transformer_tied_dynamo.onnx"))
	got, err := remap.RestoreBiases(m)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	want := []string{"encoder.layers.0.self_attn.out_proj.bias", "encoder.layers.1.self_attn.out_proj.bias"}
	if !slices.Equal(got, want) {
		t.Fatalf("restored %v, want %v", got, want)
	}
	for _, name := range want {
		p := m.Param(name)
		if p == nil || p.Shape[0] != 16 {
			t.Fatalf("%s: %+v", name, p)
		}
		for _, b := range m.Graph.Initializer(p.Initializer).Raw {
			if b != 0 {
				t.Fatalf("%s is not zero", name)
			}
		}
	}
	if again, _ := remap.RestoreBiases(m); len(again) != 0 {
		t.Errorf("a second call restored %v", again)
	}
	if got, _ := remap.RestoreBiases(load(t, filepath.Join(today, "transformer_tied_ts.onnx"))); len(got) != 0 {
		t.Errorf("TorchScript export: restored %v", got)
	}
}
