package ops

import (
	"math"
	"path/filepath"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/importer"
)

// archLossCase is one of models/arch's small transformers, fed token ids
// (BERT) or an image (ViT).
type archLossCase struct {
	name  string
	shape []int
	ids   bool
}

// archLossCases: values read by the query, key and value projections and
// by residual connections, the kernels a training step shares buffers
// between and sums gradients of.
var archLossCases = []archLossCase{
	{"bert_dynamo_noopt", []int{2, 8}, true},
	{"bert_ts", []int{2, 8}, true},
	{"vit_dynamo_noopt", []int{2, 3, 16, 16}, false},
}

// archLossModel loads tc's model with the loss sum(logits^2) as its only
// output, and an input for it: token ids, or an image filled by fill(i).
func archLossModel(t *testing.T, tc archLossCase, fill func(float64) float64) (*graph.Model, *tensor.Dense) {
	t.Helper()
	m, err := importer.Load(filepath.Join("..", "..", "models", "arch", tc.name+".onnx"))
	if err != nil {
		t.Fatal(err)
	}
	logits := m.Graph.Outputs[0].Name
	m.Graph.Nodes = append(m.Graph.Nodes,
		&graph.Node{Name: "sq", OpType: "Mul", Inputs: []string{logits, logits}, Outputs: []string{"sq"}},
		&graph.Node{Name: "loss", OpType: "ReduceSum", Inputs: []string{"sq"}, Outputs: []string{"loss"},
			Attrs: []*graph.Attribute{attrInt("keepdims", 0)}})
	m.Graph.Outputs = []*graph.ValueInfo{{Name: "loss"}}
	if tc.ids {
		ids := make([]int64, sizeOf(tc.shape))
		for i := range ids {
			ids[i] = int64(i*37) % 64
		}
		return m, Dense(tc.shape, ids)
	}
	v := make([]float32, sizeOf(tc.shape))
	for i := range v {
		v[i] = float32(fill(float64(i)))
	}
	return m, Dense(tc.shape, v)
}

// float32Grads copies the float32 values of gs (nil ones skipped) by name.
func float32Grads(t *testing.T, names []string, gs G.Nodes) map[string][]float32 {
	t.Helper()
	out := make(map[string][]float32)
	for i, g := range gs {
		if g == nil {
			continue
		}
		d, err := asDense(g.Value())
		if err != nil {
			t.Fatal(err)
		}
		v, err := Data[float32](d)
		if err != nil {
			t.Fatal(err)
		}
		out[names[i]] = append([]float32(nil), v...)
	}
	return out
}

// sameGradBits fails unless got has want's gradients, bit for bit; what
// names the two sides in the message ("%v after NaNs, %v with new ones").
func sameGradBits(t *testing.T, got, want map[string][]float32, what string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d gradients, want %d", len(got), len(want))
	}
	for n, w := range want {
		g := got[n]
		if len(g) != len(w) {
			t.Fatalf("%s: %d elements, want %d", n, len(g), len(w))
		}
		for i := range w {
			if math.Float32bits(g[i]) != math.Float32bits(w[i]) {
				t.Fatalf("%s[%d]: "+what, n, i, g[i], w[i])
			}
		}
	}
}
