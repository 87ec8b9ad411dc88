package main

import (
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"

	"github.com/onnxtune/onnxtune/export"
	"github.com/onnxtune/onnxtune/importer"
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

// TestEvalConfusionLimit: eval sizes the confusion matrix of the classes
// the model scores (k*k counts) against --max-bytes before making it, and
// exits 1 naming it; a model of 100,000 classes made eval allocate 80 GB.
// The model is models/metrics/classifier.onnx with a head of 512 classes
// (zero weights: the scores do not matter here), a 2 MiB matrix.
func TestEvalConfusionLimit(t *testing.T) {
	m, err := importer.Load(metricsModel)
	if err != nil {
		t.Fatal(err)
	}
	const classes = 512
	for _, name := range []string{"2.weight", "2.bias"} {
		w := m.Graph.Initializer(name)
		w.Dims[0] = classes
		n := 1
		for _, d := range w.Dims {
			n *= int(d)
		}
		w.Raw = make([]byte, 4*n)
	}
	_, dims, _ := m.Graph.Outputs[0].TensorShape()
	dims[1].Value = classes
	model := filepath.Join(t.TempDir(), "wide.onnx")
	if err := export.WriteFile(model, m); err != nil {
		t.Fatal(err)
	}
	// train --val scores the validation's first batch before training:
	// the same error at once, after no step and with no model written
	// (it came after the first epoch).
	out := filepath.Join(t.TempDir(), "trained.onnx")
	code, _, stderr := runCLI("train", model, "--data", metricsData, "--val", metricsData, "--epochs", "2", "--max-bytes", "1MiB", "-o", out)
	wantVal := "onnxtune: --val: checked on its first batch before training: batch 0: the confusion matrix of 512 classes would need 2 MiB, over the limit of 1 MiB (raise it with --max-bytes, or the MaxBytes option of the Go packages)\n"
	if _, err := os.Stat(out); code != exitError || !strings.HasSuffix(stderr, wantVal) || strings.Contains(stderr, "epoch") || err == nil {
		t.Errorf("train --val over --max-bytes: exit %d, stderr %q, output written %v; want exit %d ending %q, no epoch", code, stderr, err == nil, exitError, wantVal)
	}
	code, stdout, stderr := runCLI("eval", model, "--data", metricsData, "--max-bytes", "1MiB")
	want := "onnxtune: batch 0: the confusion matrix of 512 classes would need 2 MiB, over the limit of 1 MiB (raise it with --max-bytes, or the MaxBytes option of the Go packages)\n"
	if code != exitError || stdout != "" || stderr != want {
		t.Errorf("--max-bytes 1MiB: exit %d, stdout %.200q, stderr %q; want exit %d and %q", code, stdout, stderr, exitError, want)
	}
	code, stdout, stderr = runCLI("eval", "--json", model, "--data", metricsData, "--max-bytes", "4MiB", "--log-level", "warn")
	if code != exitOK || stderr != "" || !strings.Contains(stdout, `"classes":512`) {
		t.Errorf("--max-bytes 4MiB: exit %d, stderr %q, stdout %.200q; want exit 0 with 512 classes", code, stderr, stdout)
	}
}
