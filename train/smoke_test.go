package train

import (
	"math/rand"
	"path/filepath"
	"testing"

	"github.com/onnxtune/onnxtune/graph/ops"
	"github.com/onnxtune/onnxtune/importer"
)

// TestStepsLowerTheLoss: repeated SGD steps on one batch fit it, which needs
// gradients to flow and updates to reach the compiled program.
func TestStepsLowerTheLoss(t *testing.T) {
	m, err := importer.Load(filepath.Join("..", "models", "bn_cnn_preserve.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	opt, _ := NewOptimizer(SGD)
	groups, err := Assign(m.Params, nil, Hyper{LR: 0.05, Momentum: 0.9}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := NewTrainer(m, CrossEntropy, opt, groups)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	r := rand.New(rand.NewSource(1))
	x := make([]float32, 8*3*16*16)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	labels := []int64{0, 1, 2, 3, 0, 1, 2, 3}
	var first, last float64
	for i := 0; i < 60; i++ {
		res, err := tr.Step(ops.Dense([]int{8, 3, 16, 16}, x), labels, nil, 1)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = res.Loss
		}
		last = res.Loss
	}
	if !(last < first*0.5) {
		t.Errorf("loss went from %.4f to %.4f in 60 steps on one batch", first, last)
	}
	t.Logf("loss %.4f -> %.4f", first, last)
}
