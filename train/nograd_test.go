package train

import (
	"strings"
	"testing"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/internal/testmodels"
)

// TestRunParamsWithoutGradient: a graph output that is an initializer gives
// a clear error when it is the output trained (not gorgonia's "Non
// Differentiable WRTs"), and none when it is another output; a parameter
// that only another output reads has no gradient and is left as it was
// (PyTorch skips a parameter whose .grad is None, weight decay included),
// and the engine's errors never carry gorgonia's "PC n." wrapping.
func TestRunParamsWithoutGradient(t *testing.T) {
	x, y := testmodels.MNISTTest(t, 8)
	src := &memSource{x: x, y: y, bs: 4}
	cfg := Config{Epochs: 1, Optimizer: SGD, Defaults: Hyper{LR: 0.01, Momentum: 0.9, WeightDecay: 0.1}, Loss: CrossEntropy}
	weight := func(m *graph.Model) string {
		for _, p := range m.Params {
			if p.Role == graph.RoleWeight {
				return p.Initializer
			}
		}
		t.Fatal("no weight")
		return ""
	}
	t.Run("first output an initializer", func(t *testing.T) {
		m := lenet10(t)
		m.Graph.Outputs = append([]*graph.ValueInfo{{Name: weight(m)}}, m.Graph.Outputs...)
		_, err := runNoPanic(t, m, src, cfg)
		if err == nil || !strings.Contains(err.Error(), "does not depend on its input") || strings.Contains(err.Error(), "Differentiable") {
			t.Fatalf("error %v, want one saying the output does not depend on the input", err)
		}
	})
	t.Run("second output an initializer", func(t *testing.T) {
		m := lenet10(t)
		m.Graph.Outputs = append(m.Graph.Outputs, &graph.ValueInfo{Name: weight(m)})
		if _, err := runNoPanic(t, m, src, cfg); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("parameter only another output reads", func(t *testing.T) {
		m := lenet10(t)
		init, err := graph.NewFloat32("extra.weight", []int64{2, 3}, []float32{1, 2, 3, 4, 5, 6})
		if err != nil {
			t.Fatal(err)
		}
		m.Graph.Initializers = append(m.Graph.Initializers, init)
		m.Params = append(m.Params, &graph.Param{Name: "extra.weight", Initializer: "extra.weight", Value: "extra.weight",
			Shape: []int64{2, 3}, DType: graph.Float32, Role: graph.RoleWeight})
		m.Graph.Nodes = append(m.Graph.Nodes, &graph.Node{Name: "/extra/Relu", OpType: "Relu", Inputs: []string{"extra.weight"}, Outputs: []string{"extra_out"}})
		m.Graph.Outputs = append(m.Graph.Outputs, &graph.ValueInfo{Name: "extra_out"})
		if _, err := runNoPanic(t, m, src, cfg); err != nil {
			t.Fatal(err)
		}
		got, err := m.Graph.Initializer("extra.weight").Float32s()
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range got {
			if v != float32(i+1) {
				t.Fatalf("extra.weight %v changed; it has no gradient", got)
			}
		}
	})
}
