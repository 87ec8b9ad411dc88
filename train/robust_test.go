package train

import (
	"context"
	"strings"
	"testing"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/internal/testmodels"
	"github.com/onnxtune/onnxtune/internal/testsafe"
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

// TestNilArguments: a nil model or source given to Run, Evaluate or Prepare
// is an error naming what is missing, not a nil-pointer panic.
func TestNilArguments(t *testing.T) {
	x, y := testmodels.MNISTTest(t, 4)
	src := &memSource{x: x, y: y, bs: 4}
	cfg := Config{Epochs: 1, Optimizer: SGD, Defaults: Hyper{LR: 0.01}}
	for _, tc := range []struct {
		name string
		f    func() error
		want string
	}{
		{"Run nil model", func() error { _, err := Run(context.Background(), nil, src, nil, cfg); return err }, "no model"},
		{"Run nil source", func() error { _, err := Run(context.Background(), lenet10(t), nil, nil, cfg); return err }, "no data source"},
		{"Evaluate nil model", func() error { _, err := Evaluate(nil, src, EvalOptions{}); return err }, "no model"},
		{"Evaluate nil source", func() error { _, err := Evaluate(lenet10(t), nil, EvalOptions{}); return err }, "no data source"},
		{"Prepare nil model", func() error { return Prepare(nil) }, "no model"},
		{"NewTrainer nil model", func() error {
			m := lenet10(t)
			groups, err := Assign(m.Params, nil, Hyper{LR: 0.01}, nil)
			if err != nil {
				return err
			}
			opt, _ := NewOptimizer(SGD)
			_, err = NewTrainer(nil, CrossEntropy, opt, groups)
			return err
		}, "no model"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := testsafe.Call(t, tc.f)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one saying %q", err, tc.want)
			}
		})
	}
}
