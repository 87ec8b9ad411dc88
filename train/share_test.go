package train

import (
	"math/rand"
	"path/filepath"
	"testing"

	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph/ops"
	"github.com/onnxtune/onnxtune/importer"
)

// Kernels computing into shared buffers (ops.ShareBuffers) change no
// number: the same steps with a buffer per kernel give the same losses and
// weights, bit for bit. The small BERT and ViT bring the kernels that
// joined the plan later: Softmax, LayerNormalization, Reshape, GatherGrad,
// broadcasting Add and Mul and their gradients, the gradient sums.
func TestSharedBuffersChangeNothing(t *testing.T) {
	for _, c := range []struct {
		name   string
		path   string
		shape  []int
		ids    bool // input ids below 64, else normal floats
		labels []int64
	}{
		{"bn_cnn", filepath.Join("..", "models", "bn_cnn_preserve.onnx"), []int{8, 3, 16, 16}, false, []int64{0, 1, 2, 3, 3, 2, 1, 0}},
		{"bert", filepath.Join("..", "models", "arch", "bert_dynamo_noopt.onnx"), []int{2, 8}, true, []int64{0, 1}},
		{"vit", filepath.Join("..", "models", "arch", "vit_dynamo_noopt.onnx"), []int{2, 3, 16, 16}, false, []int64{1, 0}},
	} {
		t.Run(c.name, func(t *testing.T) { sharedBuffersChangeNothing(t, c.path, c.shape, c.ids, c.labels) })
	}
}

func sharedBuffersChangeNothing(t *testing.T, path string, shape []int, ids bool, labels []int64) {
	run := func(own bool) ([]float64, map[string][]float32, int64) {
		m, err := importer.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		opt, _ := NewOptimizer(SGD)
		groups, err := Assign(m.Params, nil, Hyper{LR: 0.05, Momentum: 0.9, WeightDecay: 1e-4}, nil)
		if err != nil {
			t.Fatal(err)
		}
		tr, err := NewTrainer(m, CrossEntropy, opt, groups)
		if err != nil {
			t.Fatal(err)
		}
		defer tr.Close()
		tr.ownBuffers = own
		r := rand.New(rand.NewSource(1))
		var losses []float64
		n := 1
		for _, d := range shape {
			n *= d
		}
		for i := 0; i < 5; i++ {
			var x *tensor.Dense
			if ids {
				v := make([]int64, n)
				for j := range v {
					v[j] = r.Int63n(64)
				}
				x = ops.Dense(shape, v)
			} else {
				v := make([]float32, n)
				for j := range v {
					v[j] = float32(r.NormFloat64())
				}
				x = ops.Dense(shape, v)
			}
			res, err := tr.Step(x, labels, nil, 1)
			if err != nil {
				t.Fatal(err)
			}
			losses = append(losses, res.Loss)
		}
		var saved int64
		for _, sp := range tr.progs {
			saved += sp.shared
		}
		weights := make(map[string][]float32)
		for name, w := range tr.weights {
			d, err := ops.Data[float32](w)
			if err != nil {
				continue
			}
			weights[name] = append([]float32(nil), d...)
		}
		return losses, weights, saved
	}
	lossOwn, wOwn, savedOwn := run(true)
	loss, w, saved := run(false)
	if savedOwn != 0 || saved <= 0 {
		t.Fatalf("bytes saved: %d with a buffer per kernel, %d shared; want 0 and more than 0", savedOwn, saved)
	}
	for i := range loss {
		if loss[i] != lossOwn[i] {
			t.Fatalf("step %d: loss %v shared, %v with a buffer per kernel", i, loss[i], lossOwn[i])
		}
	}
	if len(w) != len(wOwn) || len(w) == 0 {
		t.Fatalf("%d weights shared, %d with a buffer per kernel", len(w), len(wOwn))
	}
	for name, a := range wOwn {
		b := w[name]
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("%s[%d]: %v shared, %v with a buffer per kernel", name, i, b[i], a[i])
			}
		}
	}
}
