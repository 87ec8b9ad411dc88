package main

import (
	"bytes"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph/ops"
	"github.com/onnxtune/onnxtune/importer"
	"github.com/onnxtune/onnxtune/internal/npz"
	"github.com/onnxtune/onnxtune/internal/ort"
)

// TestTrainWritesInferenceModel trains the BatchNorm CNN for a few steps
// through the train command and checks what it writes: the same names,
// opsets, producer and symbolic batch dimension as the input, changed
// weights and running statistics, and a model ONNX Runtime runs with the
// engine's results.
func TestTrainWritesInferenceModel(t *testing.T) {
	models := filepath.Join("..", "..", "models")
	in := filepath.Join(models, "bn_cnn_training.onnx")
	exp, err := npz.Read(filepath.Join(models, "bn_cnn_training.expected.npz"))
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	dataPath := filepath.Join(tmp, "d.npz")
	x := exp["x"]
	if err := npz.Write(dataPath, map[string]npz.Array{"x": x, "y": {Shape: []int{4}, Data: []int64{0, 1, 2, 3}}}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(tmp, "out.onnx")
	var stdout bytes.Buffer
	code := run([]string{"train", in, "-o", out, "--data", dataPath, "--epochs", "3", "--batch-size", "2",
		"--lr", "0.05", "--group", "fc.*:lr=0.5", "--log-level", "error"}, &stdout, io.Discard)
	if code != 0 {
		t.Fatalf("train exited %d: %s", code, stdout.String())
	}
	before, err := importer.Load(in)
	if err != nil {
		t.Fatal(err)
	}
	after, err := importer.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if before.ProducerName != after.ProducerName || len(before.Opsets) != len(after.Opsets) || before.Opsets[0].Version != after.Opsets[0].Version {
		t.Errorf("producer or opsets changed")
	}
	_, dims, _ := after.Graph.Inputs[0].TensorShape()
	if !dims[0].HasParam || dims[0].Param != "batch" {
		t.Errorf("input's batch dim is %v, want symbolic batch", dims[0])
	}
	for _, p := range before.Params {
		q := after.Param(p.Name)
		if q == nil {
			t.Errorf("parameter %s lost", p.Name)
			continue
		}
		a, _ := before.Graph.Initializer(p.Initializer).Float32s()
		b, _ := after.Graph.Initializer(q.Initializer).Float32s()
		same := true
		for i := range a {
			if a[i] != b[i] {
				same = false
			}
		}
		if same {
			t.Errorf("%s unchanged by training", p.Name)
		}
	}
	for _, n := range after.Graph.Nodes {
		if n.OpType == "BatchNormalization" && len(n.Outputs) != 1 {
			t.Errorf("%s still in training form", n.Name)
		}
	}
	// ONNX Runtime runs it, with the engine's inference results.
	outs, err := ort.RunFile(out, []ort.Tensor{{Name: "input", Shape: []int64{4, 3, 16, 16}, Data: x.Data}}, 1)
	if err != nil {
		t.Fatal(err)
	}
	r, err := ops.NewRunner(after, ops.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := r.Run(map[string]*tensor.Dense{"input": ops.Dense(x.Shape, x.Data.([]float32))})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := ops.Data[float32](got[0])
	b := outs[0].Data.([]float32)
	for i := range b {
		if d := a[i] - b[i]; d > 1e-5 || d < -1e-5 {
			t.Fatalf("output %d: engine %v, onnxruntime %v", i, a[i], b[i])
		}
	}
}

// TestOneCycleGroupTable: under --schedule onecycle the group table shows
// the momentum (SGD) or beta1 (Adam) cycle, OneCycleLR's 0.95 to 0.85,
// not the setting it replaces, and no note says that momentum's default
// differs from torch.optim's; in JSON the group lines carry the cycle.
func TestOneCycleGroupTable(t *testing.T) {
	dir := t.TempDir()
	args := func(more ...string) []string {
		return append([]string{"train", metricsModel, "-o", filepath.Join(dir, "o.onnx"), "--data", metricsData,
			"--steps", "2", "--batch-size", "16", "--schedule", "onecycle"}, more...)
	}
	code, _, stderr := runCLI(args()...)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(stderr, "\n")
	if len(lines) < 2 || !strings.Contains(lines[0], "MOMENTUM") || !strings.Contains(lines[1], " 0.95→0.85 ") {
		t.Errorf("group table %q, want the momentum column to show 0.95→0.85", lines[:min(2, len(lines))])
	}
	if strings.Contains(stderr, "note: momentum") || !strings.Contains(stderr, "note: weight_decay") {
		t.Errorf("notes: %s, want weight_decay's and not momentum's", stderr)
	}
	code, _, stderr = runCLI(args("--optimizer", "adam", "--log-format", "json")...)
	if code != exitOK {
		t.Fatalf("adam: exit %d: %s", code, stderr)
	}
	g := withMsg(jsonLines(t, "stderr", stderr), "parameter group")
	if len(g) != 1 || g[0]["beta1"] != "0.95→0.85" || g[0]["beta2"] != 0.999 {
		t.Errorf("adam group lines %v, want beta1 0.95→0.85", g)
	}
}
