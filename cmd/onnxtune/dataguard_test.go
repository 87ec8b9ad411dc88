package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/onnxtune/onnxtune/internal/npz"
	"github.com/onnxtune/onnxtune/internal/testmodels"
)

// folderOf writes the same image as a/0.png ... and b/0.png ... (n each).
func folderOf(t *testing.T, img []byte, n int) string {
	t.Helper()
	root := t.TempDir()
	for _, c := range []string{"a", "b"} {
		if err := os.MkdirAll(filepath.Join(root, c), 0o755); err != nil {
			t.Fatal(err)
		}
		for i := range n {
			if err := os.WriteFile(filepath.Join(root, c, string(rune('0'+i))+".png"), img, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return root
}

// dataCommands returns run, eval and train of model on data with args.
func dataCommands(t *testing.T, model, data string, args ...string) [][]string {
	out := filepath.Join(t.TempDir(), "out.onnx")
	return [][]string{
		append([]string{"run", model, "--data", data}, args...),
		append([]string{"eval", model, "--data", data}, args...),
		append([]string{"train", model, "--data", data, "--steps", "1", "-o", out, "--log-level", "error"}, args...),
	}
}

// wantExit checks the exit code and that stderr's first line holds want
// (one line; a usage error's ends with the --help hint).
func wantExit(t *testing.T, args []string, code int, want ...string) {
	t.Helper()
	got, _, stderr := runCLI(args...)
	// One line, for a usage error too ("... (see 'onnxtune CMD --help')").
	first, _, _ := strings.Cut(stderr, "\n")
	ok := got == code && strings.Count(stderr, "\n") == 1
	if code == exitUsage {
		ok = ok && strings.HasSuffix(first, " --help')")
	}
	for _, w := range want {
		ok = ok && strings.Contains(first, w)
	}
	if !ok {
		t.Errorf("%s: exit %d, stderr %q; want exit %d and a line with %q", args[0], got, stderr, code, want)
	}
}

// TestImageBombRefused: an image of more pixels than Pillow accepts (its
// DecompressionBombError threshold, 2*89478485) is refused from its header,
// naming the file and the limit; --max-image-pixels raises the limit.
func TestImageBombRefused(t *testing.T) {
	root := folderOf(t, testmodels.ClaimingPNG(t, 20000, 20000), 4)
	lenet := filepath.Join("..", "..", "models", "lenet.onnx")
	first := filepath.Join(root, "a", "0.png")
	for _, args := range dataCommands(t, lenet, root, "--image-size", "32", "--batch-size", "8") {
		wantExit(t, args, exitError, first, "20000x20000", "limit of 178956970 pixels", "--max-image-pixels")
		// Raised, the header passes the pixel limit and the file is
		// refused for what its bytes can hold.
		got, _, stderr := runCLI(append(args, "--max-image-pixels", "400000000")...)
		if got != exitError || strings.Contains(stderr, "pixels against decompression bombs") || !strings.Contains(stderr, "cannot fit") {
			t.Errorf("%s --max-image-pixels 400000000: exit %d, stderr %q", args[0], got, stderr)
		}
		wantExit(t, append(args, "--max-image-pixels", "0"), exitUsage, "--max-image-pixels")
	}
}

// TestChannelsCheckedFirst: a folder read as RGB for a model of one channel
// is refused before any image is read (these are decompression bombs),
// suggesting --grayscale.
func TestChannelsCheckedFirst(t *testing.T) {
	root := folderOf(t, testmodels.ClaimingPNG(t, 20000, 20000), 4)
	model := filepath.Join("..", "..", "models", "mnist_lenet_10.onnx")
	for _, args := range dataCommands(t, model, root, "--image-size", "28", "--batch-size", "8") {
		wantExit(t, args, exitError, root, `input "input" takes 1 channel`, "--grayscale")
	}
}

// TestLabelsChecked: labels outside the model's classes are refused before
// any work, naming the example and label; float y for cross-entropy says
// what cross-entropy needs.
func TestLabelsChecked(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join("..", "..", "models", "mlp_bn_eval.onnx")
	x := npz.Array{Shape: []int{4, 20}, Data: make([]float32, 80)}
	write := func(name string, y npz.Array) string {
		p := filepath.Join(dir, name)
		if err := npz.Write(p, map[string]npz.Array{"x": x, "y": y}); err != nil {
			t.Fatal(err)
		}
		return p
	}
	oob := write("yoob.npz", npz.Array{Shape: []int{4}, Data: []int64{0, 1, 2, 99}})
	fy := write("yf.npz", npz.Array{Shape: []int{4}, Data: []float32{0, 1, 2, 1.5}})
	cmds := dataCommands(t, model, oob)
	for _, args := range cmds[1:] {
		wantExit(t, args, exitError, oob, "example 3 has label 99, not one of the model's 3 classes (0 to 2)")
	}
	if code, _, stderr := runCLI(cmds[0]...); code != exitOK {
		t.Errorf("run reads no labels: exit %d, stderr %q", code, stderr)
	}
	wantExit(t, dataCommands(t, model, fy)[2], exitError, "float targets", "cross-entropy needs integer class indices", "--loss mse")
	wantExit(t, dataCommands(t, model, fy)[1], exitError, fy, "float targets")
}

// TestImageFlagUsage: image flags with values no image has, or given for
// data they do not apply to, are usage errors (exit 2) for run, eval and
// train.
func TestImageFlagUsage(t *testing.T) {
	models := filepath.Join("..", "..", "models")
	model := filepath.Join(models, "mnist_lenet_0to4.onnx")
	npzData := filepath.Join(models, "mnist_0to4_test.npz")
	folder := t.TempDir()
	for _, tc := range []struct {
		name string
		data string
		args []string
		want string
	}{
		{"three sizes", npzData, []string{"--image-size", "1,2,3"}, "--image-size"},
		{"size 0", folder, []string{"--image-size", "0"}, "--image-size"},
		{"negative size", folder, []string{"--image-size", "28,-1"}, "--image-size"},
		{"size for npz", npzData, []string{"--image-size", "5"}, "--image-size"},
		{"mean for npz", npzData, []string{"--mean", "0.5"}, "--mean"},
		{"std for npz", npzData, []string{"--std", "0.5"}, "--std"},
		{"grayscale for npz", npzData, []string{"--grayscale"}, "--grayscale"},
		{"grayscale for mnist", "mnist:test", []string{"--grayscale"}, "--grayscale"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, args := range dataCommands(t, model, tc.data, tc.args...) {
				wantExit(t, args, exitUsage, tc.want)
			}
		})
	}
}

// TestDataNotRegular: --data naming a FIFO or a device is refused as not a
// regular file or folder, without reading it.
func TestDataNotRegular(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	model := filepath.Join("..", "..", "models", "mnist_lenet_0to4.onnx")
	for _, data := range []string{fifo, "/dev/zero"} {
		for _, args := range dataCommands(t, model, data) {
			notBlocking(t, fifo, func() { wantExit(t, args, exitError, data, "not a regular file or folder") })
		}
	}
}
