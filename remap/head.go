package remap

import (
	"fmt"
	"math"
	"math/rand"

	"github.com/onnxtune/onnxtune/graph"
)

// ReplaceHead replaces the linear layer at module path layer ("fc",
// "classifier.1") with a fresh one of classes outputs, initialized as
// PyTorch's nn.Linear initializes itself: weight and bias uniform in
// [-1/sqrt(in), 1/sqrt(in)] (kaiming_uniform_ with a = sqrt(5)), from a Go
// random source seeded with seed. The layer may be a Gemm or a MatMul
// followed by Add. Declared shapes of the outputs it feeds are fixed; node
// names, opsets and every other tensor are kept.
func ReplaceHead(m *graph.Model, layer string, classes int, seed int64) error {
	if classes < 1 {
		return fmt.Errorf("remap: replace head: %d classes", classes)
	}
	if len(m.Params) == 0 {
		if err := Recover(m); err != nil {
			return err
		}
	}
	if _, err := Untie(m); err != nil {
		return err
	}
	w, b := m.Param(layer+".weight"), m.Param(layer+".bias")
	if w == nil {
		return fmt.Errorf("remap: replace head: the model has no parameter %s.weight (see onnxtune inspect)", layer)
	}
	if len(w.Shape) != 2 || w.DType != graph.Float32 {
		return fmt.Errorf("remap: replace head: %s.weight is %s%v, not a float32 linear weight", layer, w.DType, w.Shape)
	}
	oldOut, in := w.Shape[0], w.Shape[1]
	wt := m.Graph.Initializer(w.Initializer)
	r := rand.New(rand.NewSource(seed))
	bound := 1 / math.Sqrt(float64(in))
	uniform := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32((2*r.Float64() - 1) * bound)
		}
		return v
	}
	if w.Transposed {
		wt.Dims = []int64{in, int64(classes)}
	} else {
		wt.Dims = []int64{int64(classes), in}
	}
	if err := wt.SetFloat32s(uniform(classes * int(in))); err != nil {
		return err
	}
	if b != nil {
		bt := m.Graph.Initializer(b.Initializer)
		bt.Dims = []int64{int64(classes)}
		if err := bt.SetFloat32s(uniform(classes)); err != nil {
			return err
		}
	}
	// Declared shapes: every value whose last dim is the old class count,
	// downstream of the layer.
	down := downstream(m.Graph, w.Initializer)
	fix := func(vs []*graph.ValueInfo) {
		for _, v := range vs {
			if !down[v.Name] || v.Type == nil || v.Type.Shape == nil || len(v.Type.Shape.Dims) == 0 {
				continue
			}
			d := &v.Type.Shape.Dims[len(v.Type.Shape.Dims)-1]
			if d.HasValue && d.Value == oldOut {
				d.Value = int64(classes)
			}
		}
	}
	fix(m.Graph.Outputs)
	fix(m.Graph.ValueInfo)
	return Recover(m)
}

// downstream returns the values computed, directly or not, from value.
func downstream(g *graph.Graph, value string) map[string]bool {
	reached := map[string]bool{value: true}
	for _, n := range g.Nodes {
		for _, in := range n.Inputs {
			if reached[in] {
				for _, o := range n.Outputs {
					reached[o] = true
				}
				break
			}
		}
	}
	return reached
}
