package main

import (
	"bytes"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onnxtune/onnxtune/importer"
	"github.com/onnxtune/onnxtune/internal/npz"
)

// TestTrainStepOptionsParity runs train with the step options and compares
// the written weights with PyTorch's after three optimizer steps
// (models/make_recipe.py; the flags repeat its settings: two groups, the
// head at lr 0.1, batches of 16 in file order).
func TestTrainStepOptionsParity(t *testing.T) {
	dir := filepath.Join("..", "..", "models", "recipe")
	ref, err := npz.Read(filepath.Join(dir, "expected.npz"))
	if err != nil {
		t.Fatal(err)
	}
	sgd := []string{"--lr", "0.01", "--momentum", "0.9", "--weight-decay", "1e-4"}
	adamw := []string{"--optimizer", "adamw", "--lr", "0.001", "--weight-decay", "1e-4"}
	cnn := []string{filepath.Join(dir, "cnn.onnx"), "--data", filepath.Join(dir, "cnn_data.npz"), "--group", "fc.*:lr=0.1"}
	mlp := []string{filepath.Join(dir, "mlp.onnx"), "--data", filepath.Join(dir, "mlp_data.npz"), "--group", "out.*:lr=0.1"}
	cat := func(parts ...[]string) []string {
		var out []string
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	tmp := t.TempDir()
	// The same options from a --config file (keys are the flag names).
	config := filepath.Join(tmp, "recipe.yaml")
	if err := os.WriteFile(config, []byte("clip-grad: 0.1\nclass-weights: 0.5,2,1.5\nmodel-ema: 0.9\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, want string
		args       []string
	}{
		{"clip+weights+ema, written", "cli/ema3/", cat(cnn, sgd, []string{"--clip-grad", "0.1", "--class-weights", "0.5,2,1.5", "--model-ema", "0.9", "--write-ema"})},
		{"clip+weights+ema from --config, trained weights", "cli/step3/", cat(cnn, sgd, []string{"--config", config})},
		{"accumulation 16 x 2 against batch 32", "batch32/step3/", cat(mlp, sgd, []string{"--grad-accum", "2"})},
		{"balanced class weights", "balanced/step3/", cat(cnn, adamw, []string{"--class-weights", "balanced"})},
		{"freeze-bn", "freeze_bn/step3/", cat(cnn, sgd, []string{"--freeze", "conv1.*", "--freeze", "bn1.*", "--freeze-bn"})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(tmp, "out.onnx")
			var stdout, stderr bytes.Buffer
			args := append([]string{"train"}, tc.args...)
			args = append(args, "-o", out, "--steps", "3", "--batch-size", "16", "--shuffle=false", "--log-level", "error")
			if code := run(args, &stdout, &stderr); code != 0 {
				t.Fatalf("train exited %d: %s%s", code, stdout.String(), stderr.String())
			}
			if !bytes.Contains(stdout.Bytes(), []byte("(3 steps)")) {
				t.Errorf("stdout %q: want 3 steps", stdout.String())
			}
			m, err := importer.Load(out)
			if err != nil {
				t.Fatal(err)
			}
			worst, seen := 0.0, 0
			for _, p := range m.Params {
				want, ok := ref[tc.want+p.Name]
				if !ok {
					continue
				}
				seen++
				got, err := m.Graph.Initializer(p.Initializer).Float32s()
				if err != nil || p.Transposed {
					t.Fatalf("%s: %v (transposed %v)", p.Name, err, p.Transposed)
				}
				for i, w := range want.Data.([]float32) {
					if d := math.Abs(float64(got[i] - w)); d > worst || math.IsNaN(d) {
						worst = d
						if d > 1e-5 {
							t.Errorf("%s[%d] = %g, PyTorch %g", p.Name, i, got[i], w)
						}
					}
				}
			}
			if seen == 0 {
				t.Fatalf("no parameter of the output is in expected.npz under %s", tc.want)
			}
			t.Logf("%d tensors within %.3g of PyTorch", seen, worst)
		})
	}
}

// TestTrainStepOptionsRefused: bad values are usage errors before any
// work; a count of class weights that is not the model's is one too,
// naming the model's class count.
func TestTrainStepOptionsRefused(t *testing.T) {
	dir := filepath.Join("..", "..", "models", "recipe")
	base := []string{"train", filepath.Join(dir, "cnn.onnx"), "--data", filepath.Join(dir, "cnn_data.npz"), "-o", filepath.Join(t.TempDir(), "x.onnx")}
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--grad-accum", "0"}, "invalid --grad-accum 0: want 1 or more batches a step"},
		{[]string{"--clip-grad", "-1"}, "invalid --clip-grad -1"},
		{[]string{"--model-ema", "1"}, "invalid --model-ema 1"},
		{[]string{"--write-ema"}, "--write-ema needs --model-ema DECAY"},
		{[]string{"--class-weights", "1,x"}, `invalid --class-weights "1,x"`},
		{[]string{"--class-weights", "1,2"}, "2 class weights: the model has 3 classes"},
		{[]string{"--class-weights", "1,2", "--loss", "mse"}, "not with loss mse"},
	} {
		t.Run(tc.msg, func(t *testing.T) {
			var stderr bytes.Buffer
			code := run(append(append([]string{}, base...), tc.args...), io.Discard, &stderr)
			if code != 2 || !bytes.Contains(stderr.Bytes(), []byte(tc.msg)) {
				t.Fatalf("exit %d, stderr %q: want 2 and %q", code, stderr.String(), tc.msg)
			}
			if n := bytes.Count(stderr.Bytes(), []byte("onnxtune: ")); n != 1 {
				t.Errorf("%d error lines on stderr: %q", n, stderr.String())
			}
		})
	}
}

// TestBalancedWeightsSubset: --class-weights balanced with --classes
// leaving a class of the model out is refused, as scikit-learn refuses
// it, with a usage error (exit 2) that says so and suggests explicit
// weights.
func TestBalancedWeightsSubset(t *testing.T) {
	dir := filepath.Join("..", "..", "models", "recipe")
	code, _, stderr := runCLI("train", filepath.Join(dir, "cnn.onnx"), "-o", filepath.Join(t.TempDir(), "o.onnx"),
		"--data", filepath.Join(dir, "cnn_data.npz"), "--classes", "0,1", "--class-weights", "balanced")
	for _, want := range []string{"class 2 has no training example", "scikit-learn's compute_class_weight refuses it too",
		"give 3 explicit weights, --class-weights W1,...,W3"} {
		if code != exitUsage || !strings.Contains(stderr, want) {
			t.Errorf("exit %d %q, want 2 and %q", code, stderr, want)
		}
	}
}
