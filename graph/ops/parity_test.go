package ops_test

import (
	"testing"

	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/export"
	"github.com/onnxtune/onnxtune/graph/ops"
	"github.com/onnxtune/onnxtune/importer"
	"github.com/onnxtune/onnxtune/internal/ort"
	"github.com/onnxtune/onnxtune/internal/testmodels"
	"github.com/onnxtune/onnxtune/remap"
)

// parity runs a model in the engine (inference semantics) and in ONNX
// Runtime on the fixture input, and requires the outputs to agree within
// 1e-4 of the largest output magnitude; it also reports the difference to
// PyTorch's output.
func parity(t *testing.T, e testmodels.Entry) {
	m, err := importer.Load(e.Path())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := remap.ToInference(m); err != nil {
		t.Fatal(err)
	}
	in, torch := e.ExpectedIO(t)
	model, err := export.Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	outs, err := ort.Run(model, []ort.Tensor{in}, 2)
	if err != nil {
		t.Fatalf("onnxruntime: %v", err)
	}
	want := outs[0].Data.([]float32)
	shape := make([]int, len(in.Shape))
	for i, d := range in.Shape {
		shape[i] = int(d)
	}
	var x *tensor.Dense
	switch d := in.Data.(type) {
	case []float32:
		x = ops.Dense(shape, d)
	case []int64:
		x = ops.Dense(shape, d)
	}
	r, err := ops.NewRunner(m, ops.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := r.Run(map[string]*tensor.Dense{in.Name: x})
	if err != nil {
		t.Fatal(err)
	}
	y, err := ops.Data[float32](got[0])
	if err != nil {
		t.Fatal(err)
	}
	diff, scale := testmodels.MaxAbsDiff(y, want)
	if diff > 1e-4*scale {
		t.Errorf("engine vs onnxruntime: max |diff| %.3g, largest output %.3g (tolerance 1e-4 of it)", diff, scale)
	}
	td, _ := testmodels.MaxAbsDiff(y, torch)
	t.Logf("max |diff|: vs onnxruntime %.3g, vs PyTorch %.3g (largest output %.3g)", diff, td, scale)
}

func TestParitySamples(t *testing.T) {
	for _, e := range testmodels.Samples(t) {
		t.Run(e.Name(), func(t *testing.T) { parity(t, e) })
	}
}

func TestParityBig(t *testing.T) {
	if testing.Short() {
		t.Skip("big models skipped with -short")
	}
	for _, e := range testmodels.Big(t) {
		t.Run(e.Name(), func(t *testing.T) { parity(t, e) })
	}
}

// TestEvalMatchesORT classifies 2,000 MNIST test digits with the MNIST LeNet
// in the engine and in ONNX Runtime: every prediction must agree.
func TestEvalMatchesORT(t *testing.T) {
	const n = 2000
	xs, _ := testmodels.MNISTTest(t, n)
	var path string
	for _, e := range testmodels.Samples(t) {
		if e.File == "mnist_lenet_0to4.onnx" {
			path = e.Path()
		}
	}
	_, r := loadRunner(t, path)
	sess, err := ort.NewSessionFile(path, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	const bs = 250
	agree := 0
	for first := 0; first < n; first += bs {
		batch := xs[first*784 : (first+bs)*784]
		got, err := r.Run(map[string]*tensor.Dense{"input": ops.Dense([]int{bs, 1, 28, 28}, batch)})
		if err != nil {
			t.Fatal(err)
		}
		outs, err := sess.Run([]ort.Tensor{{Name: "input", Shape: []int64{bs, 1, 28, 28}, Data: batch}})
		if err != nil {
			t.Fatal(err)
		}
		a, _ := ops.Data[float32](got[0])
		b := outs[0].Data.([]float32)
		for i := 0; i < bs; i++ {
			if argmax(a[i*5:(i+1)*5]) == argmax(b[i*5:(i+1)*5]) {
				agree++
			} else {
				t.Errorf("example %d: engine predicts %d, onnxruntime %d", first+i, argmax(a[i*5:(i+1)*5]), argmax(b[i*5:(i+1)*5]))
			}
		}
	}
	t.Logf("%d of %d predictions agree with onnxruntime", agree, n)
}

func argmax(v []float32) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}
