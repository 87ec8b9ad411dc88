package train

import (
	"path/filepath"
	"testing"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/graph/ops"
	"github.com/onnxtune/onnxtune/importer"
)

// TestFloat64ParameterSync: a float64 parameter (models/today's
// weight_views_dynamo_noopt holds head64) trains, and Sync writes it back as
// float64 with the values the trainer holds.
func TestFloat64ParameterSync(t *testing.T) {
	m, err := importer.Load(filepath.Join("..", "models", "today", "weight_views_dynamo_noopt.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	if err := Prepare(m); err != nil {
		t.Fatal(err)
	}
	p := m.Param("head64")
	if p == nil || p.DType != graph.Float64 {
		t.Fatalf("head64: %+v", p)
	}
	tr := sgdTrainer(t, m, Hyper{LR: 0.1})
	before, _ := graph.Decode[float64](m.Graph.Initializer(p.Initializer).Raw)
	v := make([]float32, 2*3*12)
	for i := range v {
		v[i] = float32(i%5) - 2
	}
	x := ops.Dense([]int{2, 3, 12}, v)
	if _, err := tr.Step(x, []int64{0, 1}, nil, 1); err != nil {
		t.Fatal(err)
	}
	if err := tr.Sync(); err != nil {
		t.Fatal(err)
	}
	init := m.Graph.Initializer(p.Initializer)
	after, err := graph.Decode[float64](init.Raw)
	if init.DType != graph.Float64 || err != nil {
		t.Fatalf("head64 written as %s: %v", init.DType, err)
	}
	held, _ := ops.Data[float64](tr.weights[p.Initializer])
	changed := false
	for i := range after {
		if after[i] != held[i] {
			t.Fatalf("element %d: written %g, trained %g", i, after[i], held[i])
		}
		changed = changed || after[i] != before[i]
	}
	if !changed {
		t.Fatal("one step changed nothing of head64")
	}
}
