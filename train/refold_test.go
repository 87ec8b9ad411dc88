package train

import (
	"fmt"
	"math"
	"path/filepath"
	"testing"

	"github.com/onnxtune/onnxtune/graph/ops"
	"github.com/onnxtune/onnxtune/importer"
	"github.com/onnxtune/onnxtune/internal/npz"
	"github.com/onnxtune/onnxtune/remap"
)

// TestRefoldedRNNBias: the dynamo exporter unrolls nn.RNN and folds the
// first step's zeros @ W_hh + b_hh into a constant (b_hh repeated over the
// batch); Prepare computes it from b_hh again, so three SGD steps give
// PyTorch's weights, b_hh included (models/make_refold.py).
func TestRefoldedRNNBias(t *testing.T) {
	dir := filepath.Join("..", "models", "refold")
	m, err := importer.Load(filepath.Join(dir, "rnn_dynamo.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	ref, err := npz.Read(filepath.Join(dir, "rnn.npz"))
	if err != nil {
		t.Fatal(err)
	}
	if err := Prepare(m); err != nil {
		t.Fatal(err)
	}
	if w := m.ParamWarnings(); len(w) != 0 {
		t.Errorf("warnings after Prepare: %q", w)
	}
	tr := sgdTrainer(t, m, Hyper{LR: 0.1, Momentum: 0.9})
	x, y := ref["x"], ref["y"].Data.([]int64)
	for k := 1; k <= 3; k++ {
		if _, err := tr.Step(ops.Dense(x.Shape, x.Data.([]float32)), y, nil, 1); err != nil {
			t.Fatal(err)
		}
		for _, p := range m.Params {
			want, ok := ref[fmt.Sprintf("step%d/%s", k, p.Name)]
			if !ok {
				t.Fatalf("%s is not a state_dict name", p.Name)
			}
			got, _ := tr.Values(p.Name)
			if p.Transposed {
				got = transposed2(got, int(p.Shape[0]), int(p.Shape[1]))
			}
			for i, w := range want.Data.([]float32) {
				if d := math.Abs(float64(got[i] - w)); d > 1e-5 {
					t.Fatalf("step %d: %s[%d] = %g, PyTorch %g", k, p.Name, i, got[i], w)
				}
			}
		}
	}
}

// TestRefoldedRNNAnyBatch: the refolded first step ([1, B, H], read beside
// [B, H]) follows the batch on its axis 1, so the model runs at any batch
// (remap.DynamicBatch proves it).
func TestRefoldedRNNAnyBatch(t *testing.T) {
	m, err := importer.Load(filepath.Join("..", "models", "refold", "rnn_dynamo.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	if err := Prepare(m); err != nil {
		t.Fatal(err)
	}
	rep, err := remap.DynamicBatch(m, remap.BatchOptions{})
	if err != nil || rep.Batch != 4 {
		t.Fatalf("%+v, %v", rep, err)
	}
}
