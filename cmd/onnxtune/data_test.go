package main

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// notBlocking runs f, which must not block on the FIFO at fifo: if it has
// not returned after a minute, the test fails and the FIFO is opened for
// writing and closed until f sees its end.
func notBlocking(t *testing.T, fifo string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { f(); close(done) }()
	select {
	case <-done:
		return
	case <-time.After(time.Minute):
		t.Errorf("blocked for a minute reading the FIFO %s", fifo)
	}
	for {
		if w, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			w.Close()
		}
		select {
		case <-done:
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// TestConfigRefused: --config must be a regular file of at most 1 MiB,
// checked before it is read (a usage error, exit 2, naming the file).
func TestConfigRefused(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join("..", "..", "models", "mnist_lenet_10.onnx")
	fifo := filepath.Join(dir, "fifo.yaml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.yaml")
	// A valid YAML file (one comment line) of 2 MiB.
	if err := os.WriteFile(big, []byte("#"+strings.Repeat("x", 2<<20)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, path, want string }{
		{"dev-zero", "/dev/zero", "not a regular file (a character device)"},
		{"fifo", fifo, "not a regular file (a FIFO)"},
		{"folder", dir, "not a regular file (a folder)"},
		{"big", big, "over the limit of 1 MiB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var code int
			var stderr string
			notBlocking(t, fifo, func() {
				code, _, stderr = runCLI("train", model, "-o", filepath.Join(dir, "out.onnx"), "--config", tc.path)
			})
			first, _, _ := strings.Cut(stderr, "\n")
			if code != exitUsage || !strings.Contains(first, tc.want) || !strings.Contains(first, "--config "+tc.path) {
				t.Errorf("exit %d, stderr %q; want exit %d and a line naming --config %s: %s", code, stderr, exitUsage, tc.path, tc.want)
			}
		})
	}
}

// TestDataMaxBytes: --max-bytes bounds the data that run, eval and train
// read. mnist_0to4_test.npz holds 200 examples of 28x28 float32 (613 KiB
// in x); the model's file and tensors, and conv1's output at batch 2,
// fit in 300 KiB.
func TestDataMaxBytes(t *testing.T) {
	dir := t.TempDir()
	models := filepath.Join("..", "..", "models")
	model := filepath.Join(models, "mnist_lenet_0to4.onnx")
	data := filepath.Join(models, "mnist_0to4_test.npz")
	for _, args := range [][]string{
		{"eval", model, "--data", data, "--batch-size", "2"},
		{"run", model, "--data", data, "--batch-size", "2", "-o", filepath.Join(dir, "out.npz")},
		{"train", model, "--data", data, "--batch-size", "2", "--steps", "1", "-o", filepath.Join(dir, "out.onnx")},
	} {
		t.Run(args[0], func(t *testing.T) {
			code, _, stderr := runCLI(append(args, "--max-bytes", "300K")...)
			if code != exitError || !strings.Contains(stderr, `array "x" would need`) || !strings.Contains(stderr, "over the limit of 300 KiB") || !strings.Contains(stderr, data) {
				t.Errorf("exit %d, stderr %q; want exit 1 and the limit error naming x of %s", code, stderr, data)
			}
			if code, _, stderr := runCLI(append(args, "--max-bytes", "1M", "--log-level", "error")...); code != exitOK {
				t.Errorf("with 1 MiB: exit %d, stderr %q", code, stderr)
			}
		})
	}
}

// TestImagesCheckedAgainstModel: an image folder whose images are not the
// size of the model's input is refused before any image is decoded, naming
// the file and both sizes.
func TestImagesCheckedAgainstModel(t *testing.T) {
	root := t.TempDir()
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, 4000, 4000))); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a/1.png", "a/2.png", "b/1.png", "b/2.png"} {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	model := filepath.Join("..", "..", "models", "mnist_lenet_0to4.onnx")
	code, _, stderr := runCLI("train", model, "--data", root, "--grayscale", "--steps", "1", "-o", filepath.Join(t.TempDir(), "out.onnx"))
	want := "data: " + filepath.Join(root, "a", "1.png") + ": image of 4000x4000 (height x width), but the model takes images of 28x28"
	if code != exitError || !strings.Contains(stderr, want) {
		t.Errorf("exit %d, stderr %q; want exit 1 and %q", code, stderr, want)
	}
	// Resized to the model's size, they are fine.
	code, _, stderr = runCLI("train", model, "--data", root, "--grayscale", "--image-size", "28", "--steps", "1",
		"-o", filepath.Join(t.TempDir(), "out.onnx"), "--log-level", "error")
	if code != exitOK {
		t.Errorf("with --image-size 28: exit %d, stderr %q", code, stderr)
	}
}
