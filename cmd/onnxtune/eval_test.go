package main

import (
	"io"
	"math"
	"path/filepath"
	"testing"

	"github.com/sirupsen/logrus"

	"github.com/onnxtune/onnxtune/internal/npz"
)

// TestEvalMatchesPyTorch: on 200 MNIST test digits, eval's accuracy equals
// PyTorch's and its mean cross-entropy is within 1e-5 (both figures written
// by models/make_models.py).
func TestEvalMatchesPyTorch(t *testing.T) {
	data := filepath.Join("..", "..", "models", "mnist_0to4_test.npz")
	arrs, err := npz.Read(data)
	if err != nil {
		t.Fatal(err)
	}
	wantAcc := arrs["torch_accuracy"].Data.([]float64)[0]
	wantLoss := arrs["torch_loss"].Data.([]float64)[0]
	log := logrus.New()
	log.Out = io.Discard
	a := &app{stdout: io.Discard, stderr: io.Discard, log: log}
	for _, bs := range []int{64, 200, 7} {
		res, _, err := a.eval(filepath.Join("..", "..", "models", "mnist_lenet_0to4.onnx"), dataSpec{spec: data, need: classLabels, batch: bs})
		if err != nil {
			t.Fatal(err)
		}
		// PyTorch's figure is a float32 mean: compare counts of correct examples.
		if want := int(math.Round(wantAcc * 200)); res.Correct != want || res.N != 200 {
			t.Errorf("batch %d: %d of %d correct, PyTorch %d of 200", bs, res.Correct, res.N, want)
		}
		if d := math.Abs(res.Loss - wantLoss); d > 1e-5 {
			t.Errorf("batch %d: loss %.8f, PyTorch %.8f", bs, res.Loss, wantLoss)
		}
		t.Logf("batch %d: accuracy %.4f (PyTorch %.4f), loss %.6f (PyTorch %.6f)", bs, res.Accuracy, wantAcc, res.Loss, wantLoss)
	}
}
