package main

import (
	"bytes"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/onnxtune/onnxtune/importer"
	"github.com/onnxtune/onnxtune/internal/gemm"
	"github.com/onnxtune/onnxtune/internal/npz"
)

// testdata/winograd (models/make_winograd_user.py): <model>.onnx and
// <model>_sgd.npz, PyTorch's two SGD steps of it at batch 16 (x, y,
// step<k>/<name>), with the number of parameters the model has.
var winoUserModels = []struct {
	name   string
	params int
}{
	// 3x3 convolutions over odd planes (15x17) with padding 0, 1, 2 and an
	// asymmetric ZeroPad2d, a fused ReLU and Clip.
	{"odd_asym", 9},
	// A Conv3d kernel (1, 3, 3) with depth padding 1 over one input plane:
	// three output planes, two of them the bias alone.
	{"conv3d_d1", 4},
}

const winoUserChild = "ONNXTUNE_WINO_TEST_KERNEL"

// TestWinogradUserTrain runs 'onnxtune train' for two SGD steps (lr 0.1,
// momentum 0.9, no weight decay, file order) under each GEMM kernel this
// machine has, each in a child process with ONNXTUNE_GEMM set: training
// takes F(2x2, 3x3) for these layers' forward passes and gradients (their
// batch has more than twice as many tiles as channels). For every model of
// winoUserModels, the written model's parameters must be within 1e-5 of
// PyTorch's.
func TestWinogradUserTrain(t *testing.T) {
	if k := os.Getenv(winoUserChild); k != "" {
		if got, err := gemm.Kernel(); err != nil || got != k {
			t.Fatalf("kernel %s, %v; want %s", got, err, k)
		}
		for _, c := range winoUserModels {
			t.Run(c.name, func(t *testing.T) { winoUserTrain(t, c.name, c.params) })
		}
		return
	}
	for _, k := range gemm.Kernels() {
		t.Run(k, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestWinogradUserTrain$", "-test.count=1")
			cmd.Env = append(os.Environ(), gemm.EnvKernel+"="+k, winoUserChild+"="+k)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("%v\n%s", err, out)
			}
		})
	}
}

func winoUserTrain(t *testing.T, name string, params int) {
	dir := filepath.Join("testdata", "winograd")
	fx, err := npz.Read(filepath.Join(dir, name+"_sgd.npz"))
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "tuned.onnx")
	var stdout, stderr bytes.Buffer
	args := []string{"train", filepath.Join(dir, name+".onnx"), "--data", filepath.Join(dir, name+"_sgd.npz"), "-o", out,
		"--lr", "0.1", "--momentum", "0.9", "--weight-decay", "0", "--batch-size", "16", "--shuffle=false", "--steps", "2"}
	if code := run(args, &stdout, &stderr); code != 0 {
		t.Fatalf("train exited with %d: %s", code, stderr.String())
	}
	m, err := importer.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, p := range m.Params {
		a, ok := fx["step2/"+p.Name]
		if !ok {
			continue
		}
		n++
		var init []float32
		for _, in := range m.Graph.Initializers {
			if in.Name == p.Initializer {
				if init, err = in.Float32s(); err != nil {
					t.Fatal(err)
				}
			}
		}
		want := a.Data.([]float32)
		if len(init) != len(want) {
			t.Errorf("%s: %d values, PyTorch %d", p.Name, len(init), len(want))
			continue
		}
		d := 0.0
		for i := range want {
			d = max(d, math.Abs(float64(init[i])-float64(want[i])))
			if math.IsNaN(float64(init[i])) {
				d = math.Inf(1)
			}
		}
		if d > 1e-5 {
			t.Errorf("%s: max |diff| %.3g from PyTorch after two steps", p.Name, d)
		}
	}
	if n != params {
		t.Errorf("%d parameters compared, want PyTorch's %d", n, params)
	}
}
