package main

import (
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onnxtune/onnxtune/internal/npz"
)

// randomData writes n random float32 examples of shape [n, dims...] with
// labels below classes.
func randomData(t *testing.T, n, classes int, dims ...int) string {
	t.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	size := n
	for _, d := range dims {
		size *= d
	}
	x := make([]float32, size)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	y := make([]int64, n)
	for i := range y {
		y[i] = int64(i % classes)
	}
	path := filepath.Join(t.TempDir(), "d.npz")
	if err := npz.Write(path, map[string]npz.Array{"x": {Shape: append([]int{n}, dims...), Data: x}, "y": {Shape: []int{n}, Data: y}}); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestTrainWarnings: train says what a PyTorch user would want to know
// before the work starts: BatchNorm folded into the Conv weights of an eval
// export, and a parameter that two --group patterns match (the first
// wins); the work still runs.
func TestTrainWarnings(t *testing.T) {
	models := filepath.Join("..", "..", "models")
	out := filepath.Join(t.TempDir(), "o.onnx")
	code, _, stderr := runCLI("train", filepath.Join(models, "bn_cnn_eval.onnx"), "--data", randomData(t, 4, 4, 3, 16, 16), "--epochs", "1", "-o", out)
	if code != exitOK || !strings.Contains(stderr, "BatchNorm is folded into 2 Conv layers") {
		t.Errorf("fused eval export: exit %d, %s", code, stderr)
	}
	code, _, stderr = runCLI("train", filepath.Join(models, "lenet.onnx"), "--data", randomData(t, 4, 10, 3, 32, 32), "--epochs", "1",
		"--group", "fc3.*:lr=0.1", "--group", "*.bias:lr=0.02", "-o", out)
	if code != exitOK || !strings.Contains(stderr, `--group \"fc3.*\" took fc3.bias (also *.bias)`) {
		t.Errorf("overlapping groups: exit %d, %s", code, stderr)
	}
	if code, _, stderr := runCLI("train", filepath.Join(models, "bn_cnn_preserve.onnx"), "--data", randomData(t, 4, 4, 3, 16, 16), "--epochs", "1", "-o", out); code != exitOK || strings.Contains(stderr, "folded") {
		t.Errorf("preserve export: exit %d, %s", code, stderr)
	}
}

// TestTrainWarnsOfPreparedTable: train's warnings are about the table it
// trains (train.Prepare), as inspect shows it: the zero biases the dynamo
// optimizer dropped are restored, not reported as missing.
func TestTrainWarnsOfPreparedTable(t *testing.T) {
	today := filepath.Join("..", "..", "models", "today")
	ref, err := npz.Read(filepath.Join(today, "transformer_tied.expected.npz"))
	if err != nil {
		t.Fatal(err)
	}
	x := ref["x"]
	data := filepath.Join(t.TempDir(), "d.npz")
	if err := npz.Write(data, map[string]npz.Array{"x": x, "y": {Shape: []int{x.Shape[0]}, Data: make([]int64, x.Shape[0])}}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "o.onnx")
	code, _, stderr := runCLI("train", filepath.Join(today, "transformer_tied_dynamo.onnx"), "--data", data, "--epochs", "1", "-o", out)
	if code != exitOK || strings.Contains(stderr, "has no tensor of its own") {
		t.Errorf("exit %d, %s", code, stderr)
	}
}
