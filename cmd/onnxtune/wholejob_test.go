package main

import (
	"encoding/json"
	"io"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/onnxtune/onnxtune/internal/ort"
	"github.com/onnxtune/onnxtune/internal/testmodels"
)

// TestWholeJob is the README's main job: remap the LeNet pretrained on MNIST
// digits 0-4 into a 10-class LeNet, fine-tune it 10 epochs on the first 50
// training images of each digit (batch 32, SGD momentum 0.9, weight decay
// 1e-4, backbone lr 0.01, head lr 0.1), write it, and classify the 10,000
// MNIST test digits with ONNX Runtime: the accuracy must be within one point
// of PyTorch's for the same recipe (models/train/whole_job.json, the mean of
// three shuffles).
func TestWholeJob(t *testing.T) {
	if testing.Short() {
		t.Skip("whole job skipped with -short")
	}
	models := filepath.Join("..", "..", "models")
	var ref struct {
		Before float64   `json:"accuracy_before"`
		After  []float64 `json:"accuracy_after"`
		Mean   float64   `json:"accuracy_after_mean"`
	}
	b, err := os.ReadFile(filepath.Join(models, "train", "whole_job.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	remapped, tuned := filepath.Join(tmp, "lenet10.onnx"), filepath.Join(tmp, "tuned.onnx")
	steps := [][]string{
		{"remap", "--from", filepath.Join(models, "mnist_lenet_0to4.onnx"), "--into", filepath.Join(models, "mnist_lenet_10.onnx"), "-o", remapped},
		{"train", remapped, "-o", tuned, "--data", "mnist:train", "--per-class", "50", "--epochs", "10", "--batch-size", "32",
			"--lr", "0.01", "--momentum", "0.9", "--weight-decay", "1e-4", "--group", "fc3.*:lr=0.1", "--seed", "1", "--log-level", "error"},
	}
	for _, args := range steps {
		if code := run(args, io.Discard, io.Discard); code != 0 {
			t.Fatalf("onnxtune %v exited %d", args, code)
		}
	}
	x, y := testmodels.MNISTTest(t, 10000)
	acc := func(path string) float64 {
		sess, err := ort.NewSessionFile(path, 2)
		if err != nil {
			t.Fatal(err)
		}
		defer sess.Close()
		correct := 0
		const bs = 1000
		for first := 0; first < len(y); first += bs {
			outs, err := sess.Run([]ort.Tensor{{Name: "input", Shape: []int64{bs, 1, 28, 28}, Data: x[first*784 : (first+bs)*784]}})
			if err != nil {
				t.Fatal(err)
			}
			z := outs[0].Data.([]float32)
			for i := 0; i < bs; i++ {
				best := 0
				for j := 1; j < 10; j++ {
					if z[i*10+j] > z[i*10+best] {
						best = j
					}
				}
				if int64(best) == y[first+i] {
					correct++
				}
			}
		}
		return float64(correct) / float64(len(y))
	}
	before, after := acc(remapped), acc(tuned)
	t.Logf("accuracy on 10,000 test digits in onnxruntime: before %.4f (PyTorch %.4f), after %.4f (PyTorch %.4f, runs %v)",
		before, ref.Before, after, ref.Mean, ref.After)
	if math.Abs(before-ref.Before) > 1e-9 {
		t.Errorf("remapped model: %.4f, PyTorch's remapped model %.4f", before, ref.Before)
	}
	if math.Abs(after-ref.Mean) > 0.01 {
		t.Errorf("fine-tuned: %.4f, PyTorch %.4f: more than one point apart", after, ref.Mean)
	}
}
