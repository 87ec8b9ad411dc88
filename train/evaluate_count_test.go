package train

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/internal/testmodels"
	"github.com/onnxtune/onnxtune/internal/testsafe"
	"github.com/onnxtune/onnxtune/train/data"
)

// countSource is a memSource whose batches say another N.
type countSource struct {
	*memSource
	dn   int  // added to N
	zero bool // N 0: not said
}

func (s countSource) Batch(e, i int) (data.Batch, error) {
	b, err := s.memSource.Batch(e, i)
	b.N += s.dn
	if s.zero {
		b.N = 0
	}
	return b, err
}

// TestEvaluateBatchCounts: Evaluate takes a batch that does not say N (0)
// as training does, counting the examples its inputs hold (it refused it
// with "needs class scores of shape [batch, classes]" about scores of that
// shape), and says both counts when N disagrees with the model's scores.
func TestEvaluateBatchCounts(t *testing.T) {
	m := lenet10(t)
	x, y := testmodels.MNISTTest(t, 8)
	src := &memSource{x: x, y: y, bs: 4}
	want, err := Evaluate(m, src, EvalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := Evaluate(m, countSource{memSource: src, zero: true}, EvalOptions{})
	if err != nil {
		t.Fatalf("N not said: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("N not said: %+v, want %+v", got, want)
	}
	for _, tc := range []struct {
		name string
		src  countSource
		want string
	}{
		{"N above", countSource{memSource: src, dn: 1}, `batch 0: the batch has 5 examples (N), the model's output "logits" has 4`},
		{"N below", countSource{memSource: src, dn: -1}, `batch 0: the batch has 3 examples (N), the model's output "logits" has 4`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Evaluate(m, tc.src, EvalOptions{}); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one saying %q", err, tc.want)
			}
		})
	}
}

// TestRunValidatorWithoutMetrics: a Validator that returns no metrics and
// no error is an error naming the epoch; Run panicked reading them (also
// with Config.Best).
func TestRunValidatorWithoutMetrics(t *testing.T) {
	x, y := testmodels.MNISTTest(t, 8)
	for _, best := range []Metric{"", ValAccuracy} {
		t.Run("best "+string(best), func(t *testing.T) {
			err := testsafe.Call(t, func() error {
				_, err := Run(context.Background(), lenet10(t), &memSource{x: x, y: y, bs: 4}, func(*graph.Model) (*Metrics, error) { return nil, nil },
					Config{Epochs: 1, Optimizer: SGD, Defaults: Hyper{LR: 0.01}, Best: best})
				return err
			})
			const want = "validation after epoch 1: the validator returned no metrics (nil) and no error"
			if err == nil || err.Error() != want {
				t.Fatalf("error %v, want %q", err, want)
			}
		})
	}
}
