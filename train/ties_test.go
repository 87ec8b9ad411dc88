package train

import (
	"fmt"
	"math"
	"path/filepath"
	"testing"

	"github.com/onnxtune/onnxtune/graph/ops"
	"github.com/onnxtune/onnxtune/importer"
	"github.com/onnxtune/onnxtune/internal/npz"
)

// TestTiedParameters: parameters PyTorch ties (an Embedding's weight that
// is the head's, a Linear used twice) stay one tensor each in a dynamo
// export's table (the nodes' FX records read the same placeholder), so the
// table counts PyTorch's sum(p.numel() for p in model.parameters()) and
// three SGD steps at batch 4 (exported at 2) give PyTorch's weights
// (models/make_ties.py).
func TestTiedParameters(t *testing.T) {
	dir := filepath.Join("..", "models", "ties")
	m, err := importer.Load(filepath.Join(dir, "tied_dynamo.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	ref, err := npz.Read(filepath.Join(dir, "tied.npz"))
	if err != nil {
		t.Fatal(err)
	}
	if err := Prepare(m); err != nil {
		t.Fatal(err)
	}
	var count int64
	for _, p := range m.Params {
		if !p.Role.Trainable() {
			continue
		}
		n := int64(1)
		for _, d := range p.Shape {
			n *= d
		}
		count += n
		if p.Tied {
			t.Errorf("%s is tied to another parameter: it is one PyTorch tensor", p.Name)
		}
	}
	if want := ref["numel"].Data.([]int64)[0]; count != want {
		t.Fatalf("the table holds %d trainable elements, PyTorch's parameters %d", count, want)
	}
	tr := sgdTrainer(t, m, Hyper{LR: 0.05, Momentum: 0.9, WeightDecay: 1e-4})
	ids, y := ref["ids"], ref["y"].Data.([]int64)
	for k := 1; k <= 3; k++ {
		if _, err := tr.Step(ops.Dense(ids.Shape, ids.Data.([]int64)), y, nil, 1); err != nil {
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

// transposed2 lays out v, stored as the transpose of a rows x cols matrix,
// as that matrix.
func transposed2(v []float32, rows, cols int) []float32 {
	out := make([]float32, len(v))
	for i := 0; i < rows; i++ {
		for j := 0; j < cols; j++ {
			out[i*cols+j] = v[j*rows+i]
		}
	}
	return out
}
