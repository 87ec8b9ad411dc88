package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/onnxtune/onnxtune/internal/npz"
)

// TestAnyBatch: run, eval and train take a model exported at a fixed batch
// of 2 (current PyTorch, both exporters: models/batch) with data in
// batches of 3: the model is rewritten to run at any batch, the log says
// so, and run's outputs are PyTorch's for the 8 examples; a model that
// computes across the batch is refused, exit 1, naming the node.
func TestAnyBatch(t *testing.T) {
	dir := filepath.Join("..", "..", "models", "batch")
	ref, err := npz.Read(filepath.Join(dir, "view_cnn.npz"))
	if err != nil {
		t.Fatal(err)
	}
	y := make([]int64, 8)
	for i := range y {
		y[i] = int64(i % 5)
	}
	data := filepath.Join(t.TempDir(), "d.npz")
	if err := npz.Write(data, map[string]npz.Array{"x": ref["x_8"], "y": {Shape: []int{8}, Data: y}}); err != nil {
		t.Fatal(err)
	}
	for _, exp := range []string{"dynamo", "ts"} {
		model := filepath.Join(dir, "view_cnn_"+exp+".onnx")
		out := filepath.Join(t.TempDir(), "out.npz")
		code, _, stderr := runCLI("run", model, "--data", data, "--batch-size", "3", "-o", out)
		if code != exitOK || !strings.Contains(stderr, "exported at batch 2: rewritten to run at any batch") {
			t.Fatalf("%s: run: exit %d, %s", exp, code, stderr)
		}
		res, err := npz.Read(out)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range res {
			if d := maxDiff(t, a.Data.([]float32), ref["y_8"].Data.([]float32)); d > 1e-5 {
				t.Errorf("%s: run differs from PyTorch by %.3g", exp, d)
			}
		}
		if code, _, stderr := runCLI("eval", model, "--data", data, "--batch-size", "3"); code != exitOK {
			t.Errorf("%s: eval: exit %d, %s", exp, code, stderr)
		}
		trained := filepath.Join(t.TempDir(), "t.onnx")
		if code, _, stderr := runCLI("train", model, "--data", data, "--batch-size", "3", "--epochs", "1", "-o", trained); code != exitOK {
			t.Errorf("%s: train: exit %d, %s", exp, code, stderr)
		}
	}
	across := filepath.Join(dir, "across_batch_ts.onnx")
	x := filepath.Join(t.TempDir(), "x.npz")
	ab, _ := npz.Read(filepath.Join(dir, "across_batch.npz"))
	if err := npz.Write(x, map[string]npz.Array{"x": ab["x_8"]}); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCLI("run", across, "--data", x, "--batch-size", "3")
	if code != exitError || !strings.Contains(stderr, "node /ReduceMean (ReduceMean)") || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
		t.Errorf("across the batch: exit %d, %q", code, stderr)
	}
}
