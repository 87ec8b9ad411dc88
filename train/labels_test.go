package train

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/onnxtune/onnxtune/graph/ops"
	"github.com/onnxtune/onnxtune/train/data"
)

// fixedSource is one batch of 4 examples of the MLP (20 features, 3
// classes), with labels or float targets, and dataset indices 10 to 13.
type fixedSource struct {
	labels  []int64
	targets []float32
}

func (fixedSource) Batches() int { return 1 }

func (s fixedSource) Batch(int, int) (data.Batch, error) {
	b := data.Batch{Inputs: inputs(ops.Dense([]int{4, 20}, make([]float32, 80))), Labels: s.labels, N: 4, Indices: []int{10, 11, 12, 13}}
	if s.targets != nil {
		b.Targets = ops.Dense([]int{4, len(s.targets) / 4}, s.targets)
	}
	return b, nil
}

// TestBatchLabelsChecked: labels outside the model's classes, float targets
// with cross-entropy and class labels with mse stop the run before the
// step runs, with one line naming the example (its dataset index) and the
// label, or what the loss needs.
func TestBatchLabelsChecked(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  fixedSource
		loss Loss
		want []string
	}{
		{"label too large", fixedSource{labels: []int64{0, 1, 2, 99}}, CrossEntropy,
			[]string{"example 13 has label 99, not one of the model's 3 classes (0 to 2)"}},
		{"negative label", fixedSource{labels: []int64{0, -1, 2, 1}}, CrossEntropy, []string{"example 11 has label -1"}},
		{"float targets", fixedSource{targets: make([]float32, 12)}, CrossEntropy,
			[]string{"float targets", "cross-entropy needs integer class indices", "--loss mse"}},
		{"labels for mse", fixedSource{labels: []int64{0, 1, 2, 1}}, MSE, []string{"class labels", "mse needs float targets"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{Epochs: 1, Optimizer: SGD, Defaults: Hyper{LR: 0.1}, Loss: tc.loss}
			_, err := Run(context.Background(), mlpDropout(t), tc.src, nil, cfg)
			if err == nil || strings.Contains(err.Error(), "\n") || strings.Contains(err.Error(), "PC ") {
				t.Fatalf("error %v, want one line without gorgonia's instruction", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if strings.Contains(tc.name, "label") && tc.loss == CrossEntropy {
				var le *data.LabelError
				if !errors.As(err, &le) {
					t.Errorf("error %v is not a *data.LabelError", err)
				}
			}
		})
	}
	// ScoreLogits shares the check.
	_, _, err := ScoreLogits(make([]float32, 6), []int64{0, 3})
	var le *data.LabelError
	if !errors.As(err, &le) || le.Label != 3 || le.Classes != 3 {
		t.Errorf("ScoreLogits: error %v, want a *data.LabelError for label 3 of 3 classes", err)
	}
}
