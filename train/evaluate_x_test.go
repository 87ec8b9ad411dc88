package train

import (
	"path/filepath"
	"testing"

	"github.com/onnxtune/onnxtune/train/data"
)

// TestEvaluateTakesX: Evaluate feeds an array named x to a model of one
// input, as training does (package data names the examples of an .npz
// opened without the model x); it failed with `no value for input
// "input"` on data that Run trained on.
func TestEvaluateTakesX(t *testing.T) {
	m := lenet10(t)
	path := filepath.Join("..", "models", "mnist_0to4_test.npz")
	metrics := func(ds data.Dataset, err error) *Metrics {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		src, err := data.NewLoader(ds, 50, false, 0)
		if err != nil {
			t.Fatal(err)
		}
		met, err := Evaluate(m, src, EvalOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return met
	}
	named := metrics(data.OpenFor(m, path, data.Options{}))
	x := metrics(data.Open(path, data.Options{}))
	if x.N != named.N || x.Loss != named.Loss || x.Correct != named.Correct {
		t.Errorf("x: n %d loss %v correct %d; by name: n %d loss %v correct %d", x.N, x.Loss, x.Correct, named.N, named.Loss, named.Correct)
	}
}
