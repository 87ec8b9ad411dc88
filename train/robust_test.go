package train

import (
	"context"
	"testing"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/internal/testmodels"
)

// runNoPanic runs Run and turns a panic into a test failure.
func runNoPanic(t *testing.T, m *graph.Model, src Source, cfg Config) (res *Result, err error) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("Run panicked: %v", r)
		}
	}()
	return Run(context.Background(), m, src, nil, cfg)
}

// TestRunOddModels: models a file can describe that training cannot use
// give errors, not panics, and an unused empty initializer is no obstacle.
func TestRunOddModels(t *testing.T) {
	x, y := testmodels.MNISTTest(t, 8)
	src := &memSource{x: x, y: y, bs: 4}
	cfg := Config{Epochs: 1, Optimizer: SGD, Defaults: Hyper{LR: 0.01}, Loss: CrossEntropy}
	t.Run("no outputs", func(t *testing.T) {
		m := lenet10(t)
		m.Graph.Outputs = nil
		_, err := runNoPanic(t, m, src, cfg)
		if err == nil {
			t.Fatal("no error")
		}
		t.Log(err)
	})
	t.Run("unused zero-size initializer", func(t *testing.T) {
		m := lenet10(t)
		init, err := graph.NewFloat32("extra.weight", []int64{0, 3}, nil)
		if err != nil {
			t.Fatal(err)
		}
		m.Graph.Initializers = append(m.Graph.Initializers, init)
		m.Params = append(m.Params, &graph.Param{Name: "extra.weight", Initializer: "extra.weight", Value: "extra.weight",
			Shape: []int64{0, 3}, DType: graph.Float32, Role: graph.RoleWeight})
		res, err := runNoPanic(t, m, src, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if res.Steps != int64(src.Batches()) {
			t.Errorf("%d steps, want %d", res.Steps, src.Batches())
		}
	})
	t.Run("assignment of another model", func(t *testing.T) {
		m := lenet10(t)
		other := append([]*graph.Param{}, m.Params...)
		other = append(other, &graph.Param{Name: "ghost.weight", Initializer: "ghost.weight", Shape: []int64{2},
			DType: graph.Float32, Role: graph.RoleWeight})
		groups, err := Assign(other, nil, Hyper{LR: 0.01}, nil)
		if err != nil {
			t.Fatal(err)
		}
		opt, _ := NewOptimizer(SGD)
		if _, err := NewTrainer(m, CrossEntropy, opt, groups); err == nil {
			t.Fatal("no error for a group member the model lacks")
		} else {
			t.Log(err)
		}
	})
}
