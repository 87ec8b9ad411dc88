package data

import (
	"bytes"
	"errors"
	"fmt"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/internal/npz"
	"github.com/onnxtune/onnxtune/internal/testmodels"
)

// wantOneLine checks that err is one line containing every string of want.
func wantOneLine(t *testing.T, err error, want ...string) {
	t.Helper()
	if err == nil || strings.Contains(err.Error(), "\n") {
		t.Fatalf("error %v, want one line with %q", err, want)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
}

// TestImagePixelLimit: an image of more pixels than Options.MaxImagePixels
// (by default Pillow's DecompressionBombError threshold, twice
// Image.MAX_IMAGE_PIXELS) is refused from its header, at Open and at Read,
// naming the file and the limit.
func TestImagePixelLimit(t *testing.T) {
	if DefaultMaxImagePixels != 2*89_478_485 {
		t.Errorf("DefaultMaxImagePixels = %d, want Pillow's 2*89478485", DefaultMaxImagePixels)
	}
	bomb := testmodels.ClaimingPNG(t, 20000, 20000)
	root := imageFolder(t, map[string][]byte{"a/1.png": bomb, "b/1.png": bomb})
	first := filepath.Join(root, "a", "1.png")
	var err error
	n := allocated(func() { _, err = Open(root, Options{ImageSize: [2]int{32, 32}}) })
	wantOneLine(t, err, first, "20000x20000", "400000000 pixels", "limit of 178956970 pixels", "--max-image-pixels")
	if n > 8<<20 {
		t.Errorf("Open allocated %d bytes", n)
	}
	// Raised, the pixel count passes (and the file is refused for what
	// its bytes can hold).
	_, err = Open(root, Options{ImageSize: [2]int{32, 32}, MaxImagePixels: 1 << 30})
	if err == nil || strings.Contains(err.Error(), "pixels limit") || strings.Contains(err.Error(), "--max-image-pixels") {
		t.Errorf("with MaxImagePixels 2^30: error %v, want another one", err)
	}

	var img16, img10 bytes.Buffer
	writeImageTo(t, &img16, solid(16, 16, color.White))
	writeImageTo(t, &img10, solid(10, 10, color.White))
	small := imageFolder(t, map[string][]byte{"a/1.png": img10.Bytes()})
	ds, err := Open(small, Options{MaxImagePixels: 100})
	if err != nil {
		t.Fatalf("10x10 with a limit of 100 pixels: %v", err)
	}
	_, err = Open(imageFolder(t, map[string][]byte{"a/1.png": img16.Bytes()}), Options{MaxImagePixels: 100})
	wantOneLine(t, err, "16x16", "256 pixels", "limit of 100 pixels")
	// Replaced after Open, the image is refused by Read.
	path := filepath.Join(small, "a", "1.png")
	writeFile(t, path, bomb)
	_, err = ds.Read(0, []any{make([]float32, 3*10*10)}, nil)
	wantOneLine(t, err, path, "limit of 100 pixels")
	if _, err := Open(small, Options{MaxImagePixels: -1}); err == nil {
		t.Error("MaxImagePixels -1: no error")
	} else {
		var oe *OptionError
		if !errors.As(err, &oe) || oe.Option != "MaxImagePixels" {
			t.Errorf("MaxImagePixels -1: error %v, want an *OptionError for MaxImagePixels", err)
		}
	}
}

// TestImageChannelsCheckedFirst: a folder read with another number of
// channels than the model's input takes is refused before any image is
// read, suggesting --grayscale (naming option Grayscale when that is what
// reads one channel, as the other options are named).
func TestImageChannelsCheckedFirst(t *testing.T) {
	bomb := testmodels.ClaimingPNG(t, 20000, 20000)
	root := imageFolder(t, map[string][]byte{"a/1.png": bomb, "b/1.png": bomb})
	_, err := Open(root, Options{ImageSize: [2]int{28, 28}, InputSize: [2]int{28, 28}, InputChannels: 1})
	wantOneLine(t, err, root, "1 channel", "3 (RGB)", "--grayscale")
	_, err = Open(root, Options{ImageSize: [2]int{28, 28}, InputChannels: 3, Grayscale: true})
	wantOneLine(t, err, root, "3 channels", "option Grayscale") // the CLI says --grayscale, or the model's metadata
	// The model's H and W too, before any header.
	_, err = Open(root, Options{ImageSize: [2]int{32, 32}, InputSize: [2]int{28, 28}, InputChannels: 3})
	wantOneLine(t, err, root, "32x32", "28x28")

	in, err := InputOf(modelWithInput("input", graph.Float32, -1, 1, 28, 28))
	if err != nil || in.Channels != 1 {
		t.Errorf("InputOf: %+v, %v; want 1 channel", in, err)
	}
	if o := (Options{}).ForInput(in); o.InputChannels != 1 {
		t.Errorf("ForInput: InputChannels %d, want 1", o.InputChannels)
	}
}

// TestOptionErrors: options that do not apply to the source, or have
// invalid values, are *OptionErrors naming the option (a mistake of the
// caller, not of the data).
func TestOptionErrors(t *testing.T) {
	x := npz.Array{Shape: []int{2, 3}, Data: make([]float32, 6)}
	y := npz.Array{Shape: []int{2}, Data: []int64{0, 1}}
	file := writeNPZ(t, "d.npz", map[string]npz.Array{"x": x, "y": y})
	var img bytes.Buffer
	writeImageTo(t, &img, solid(4, 4, color.White))
	root := imageFolder(t, map[string][]byte{"a/1.png": img.Bytes()})
	for _, tc := range []struct {
		name, spec, option string
		opts               Options
	}{
		{"npz ImageSize", file, "ImageSize", Options{ImageSize: [2]int{5, 5}}},
		{"npz Grayscale", file, "Grayscale", Options{Grayscale: true}},
		{"npz Mean", file, "Mean", Options{Mean: []float64{0.5}}},
		{"npz Std", file, "Std", Options{Std: []float64{0.5}}},
		{"folder ImageSize", root, "ImageSize", Options{ImageSize: [2]int{0, 5}}},
		{"folder Mean", root, "Mean", Options{Mean: []float64{1, 2}}},
		{"folder Std", root, "Std", Options{Std: []float64{-1}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Open(tc.spec, tc.opts)
			var oe *OptionError
			if !errors.As(err, &oe) || oe.Option != tc.option || !strings.Contains(err.Error(), tc.spec) {
				t.Errorf("error %v, want an *OptionError for %s naming %s", err, tc.option, tc.spec)
			}
		})
	}
}

// TestOpenChecksLabels: with the model's class count, labels outside it
// are refused when the data is opened, naming the example and its label.
func TestOpenChecksLabels(t *testing.T) {
	x := npz.Array{Shape: []int{4, 3}, Data: make([]float32, 12)}
	for _, tc := range []struct {
		name string
		y    []int64
		want string // "" for none
	}{
		{"in range", []int64{0, 1, 2, 1}, ""},
		{"too large", []int64{0, 1, 2, 99}, "example 3 has label 99, not one of the model's 3 classes (0 to 2)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := writeNPZ(t, "d.npz", map[string]npz.Array{"x": x, "y": {Shape: []int{4}, Data: tc.y}})
			_, err := Open(file, Options{ModelClasses: 3})
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantOneLine(t, err, file, tc.want)
			var le *LabelError
			if !errors.As(err, &le) {
				t.Errorf("error %v is not a *LabelError", err)
			}
			// Unlabeled data and unknown class counts are not checked.
			if _, err := Open(file, Options{ModelClasses: 3, Unlabeled: true}); err != nil {
				t.Errorf("Unlabeled: %v", err)
			}
			if _, err := Open(file, Options{}); err != nil {
				t.Errorf("no class count: %v", err)
			}
		})
	}
	// An image folder of more classes than the model's.
	var img bytes.Buffer
	writeImageTo(t, &img, solid(4, 4, color.White))
	files := map[string][]byte{}
	for c := range 3 {
		files[fmt.Sprintf("c%d/1.png", c)] = img.Bytes()
	}
	root := imageFolder(t, files)
	_, err := Open(root, Options{ModelClasses: 2})
	wantOneLine(t, err, root, "example 2 has label 2", "2 classes")

	// CheckLabels, the one check: dataset indices when given.
	wantOneLine(t, CheckLabels([]int64{0, 5}, []int{7, 3}, 4), "example 3 has label 5, not one of the model's 4 classes (0 to 3)")
	wantOneLine(t, CheckLabels([]int64{0, 5}, nil, 4), "example 1 of the batch has label 5")
	wantOneLine(t, CheckLabels([]int64{-1}, []int{9}, 4), "example 9 has label -1")
	if err := CheckLabels([]int64{0, 3}, nil, 4); err != nil {
		t.Error(err)
	}
}

// TestOpenNotRegular: a data spec that is neither a regular file nor a
// folder is refused as such.
func TestOpenNotRegular(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, spec := range []string{fifo, os.DevNull} {
		err := notBlocking(t, fifo, func() error { _, err := Open(spec, Options{}); return err })
		wantOneLine(t, err, spec, "not a regular file or folder")
	}
}
