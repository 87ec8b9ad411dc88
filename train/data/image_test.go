package data

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/onnxtune/onnxtune/internal/npz"
	"github.com/onnxtune/onnxtune/internal/testmodels"
)

var (
	imagenetMean = []float64{0.485, 0.456, 0.406}
	imagenetStd  = []float64{0.229, 0.224, 0.225}
)

// TestImageFolderMatchesTorchvision compares with what torchvision's
// ImageFolder gives for testdata/folder (written by testdata/make.py).
func TestImageFolderMatchesTorchvision(t *testing.T) {
	raw, err := os.ReadFile("testdata/torchvision.json")
	if err != nil {
		t.Fatalf("%v (regenerate with .venv/bin/python train/data/testdata/make.py)", err)
	}
	var meta struct {
		Classes []string `json:"classes"`
		Files   []string `json:"files"`
		JPEG    []bool   `json:"jpeg"`
	}
	if err := json.Unmarshal(raw, &meta); err != nil {
		t.Fatal(err)
	}
	ref, err := npz.Read("testdata/torchvision.npz")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		opts Options
		c    int
	}{
		{"plain", Options{}, 3},
		{"down", Options{ImageSize: [2]int{3, 4}}, 3},
		{"up", Options{ImageSize: [2]int{11, 9}}, 3},
		{"mixed", Options{ImageSize: [2]int{3, 9}}, 3},
		{"gray", Options{ImageSize: [2]int{4, 6}, Grayscale: true}, 1},
		{"gray_plain", Options{Grayscale: true}, 1},
		{"down_bicubic", Options{ImageSize: [2]int{3, 4}, Interpolation: Bicubic}, 3},
		{"up_bicubic", Options{ImageSize: [2]int{11, 9}, Interpolation: Bicubic}, 3},
		{"mixed_bicubic", Options{ImageSize: [2]int{3, 9}, Interpolation: Bicubic}, 3},
		{"wide_bicubic", Options{ImageSize: [2]int{10, 3}, Interpolation: Bicubic}, 3},
		{"down_nearest", Options{ImageSize: [2]int{3, 4}, Interpolation: Nearest}, 3},
		{"up_nearest", Options{ImageSize: [2]int{11, 9}, Interpolation: Nearest}, 3},
		{"mixed_nearest", Options{ImageSize: [2]int{3, 9}, Interpolation: Nearest}, 3},
		{"wide_nearest", Options{ImageSize: [2]int{10, 3}, Interpolation: Nearest}, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want := ref[tc.name]
			ds, err := Open("testdata/folder", tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			f := ds.(*ImageFolder)
			if !reflect.DeepEqual(f.Classes(), meta.Classes) {
				t.Errorf("classes %q, torchvision's %q", f.Classes(), meta.Classes)
			}
			if !reflect.DeepEqual(exampleShape(ds), want.Shape[1:]) || ds.Len() != want.Shape[0] {
				t.Fatalf("%d examples of shape %v, torchvision gives %v", ds.Len(), exampleShape(ds), want.Shape)
			}
			x, labels, _ := readAll(t, ds)
			if !reflect.DeepEqual(labels, ref["y"].Data) {
				t.Errorf("labels %v, torchvision's %v", labels, ref["y"].Data)
			}
			size := numel(want.Shape[1:])
			for i := range ds.Len() {
				if rel, _ := filepath.Rel("testdata/folder", f.Path(i)); rel != filepath.FromSlash(meta.Files[i]) {
					t.Errorf("example %d is %s, torchvision's %s", i, rel, meta.Files[i])
				}
				// PNG: only float rounding; JPEG: Go's decoder is not libjpeg.
				tol := 2e-6
				if meta.JPEG[i] {
					tol = jpegTolerance / 255.0 / 0.224
				}
				worst := 0.0
				for k := range size {
					d := math.Abs(float64(x.([]float32)[i*size+k] - want.Data.([]float32)[i*size+k]))
					worst = max(worst, d)
				}
				if meta.JPEG[i] {
					t.Logf("%s: largest difference from torchvision %.3g", meta.Files[i], worst)
				}
				if worst > tol {
					t.Errorf("%s differs from torchvision's by up to %.3g (tolerance %.3g)", meta.Files[i], worst, tol)
				}
			}
		})
	}
}

// writeImage encodes img to path as PNG or (for .jpg) JPEG at quality 100.
func writeImage(t *testing.T, path string, img image.Image) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	var err error
	if strings.HasSuffix(path, ".jpg") {
		err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 100})
	} else {
		err = png.Encode(&buf, img)
	}
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, buf.Bytes())
}

func solid(w, h int, c color.Color) image.Image {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, c)
		}
	}
	return img
}

func TestImageFolderSolid(t *testing.T) {
	root := t.TempDir()
	orange := color.NRGBA{200, 100, 50, 255}
	// Created unsorted: the classes must come out as "Apple", "bird", "cat".
	writeImage(t, filepath.Join(root, "cat", "2.png"), solid(6, 4, orange))
	writeImage(t, filepath.Join(root, "cat", "10.png"), solid(6, 4, color.NRGBA{0, 255, 0, 128}))
	writeImage(t, filepath.Join(root, "Apple", "x.jpg"), solid(6, 4, orange))
	writeImage(t, filepath.Join(root, "bird", "g.png"), solid(6, 4, color.Gray{77}))
	writeFile(t, filepath.Join(root, "README.txt"), []byte("not a class"))

	// The definitions: torchvision's Normalize of ToTensor, and PIL's "L".
	norm := func(p uint8, c int, mean, std []float64) float32 { return float32((float64(p)/255 - mean[c]) / std[c]) }
	lumaOf := func(r, g, b uint8) uint8 {
		return uint8((uint32(r)*19595 + uint32(g)*38470 + uint32(b)*7471 + 1<<15) >> 16)
	}
	rgb := func(r, g, b uint8) [3]uint8 { return [3]uint8{r, g, b} }
	tests := []struct {
		name  string
		opts  Options
		shape []int
		want  func(i, c int) float32
	}{
		{"rgb", Options{}, []int{3, 4, 6}, func(i, c int) float32 {
			p := [][3]uint8{rgb(200, 100, 50), rgb(77, 77, 77), rgb(0, 255, 0), rgb(200, 100, 50)}[i]
			return norm(p[c], c, imagenetMean, imagenetStd)
		}},
		{"resized", Options{ImageSize: [2]int{3, 10}}, []int{3, 3, 10}, func(i, c int) float32 {
			p := [][3]uint8{rgb(200, 100, 50), rgb(77, 77, 77), rgb(0, 255, 0), rgb(200, 100, 50)}[i]
			return norm(p[c], c, imagenetMean, imagenetStd)
		}},
		{"grayscale", Options{Grayscale: true, ImageSize: [2]int{2, 2}}, []int{1, 2, 2}, func(i, c int) float32 {
			p := []uint8{lumaOf(200, 100, 50), 77, lumaOf(0, 255, 0), lumaOf(200, 100, 50)}[i]
			return norm(p, 0, []float64{0.449}, []float64{0.226})
		}},
		{"custom normalization", Options{Mean: []float64{0.5}, Std: []float64{0.25}}, []int{3, 4, 6}, func(i, c int) float32 {
			p := [][3]uint8{rgb(200, 100, 50), rgb(77, 77, 77), rgb(0, 255, 0), rgb(200, 100, 50)}[i]
			return norm(p[c], 0, []float64{0.5}, []float64{0.25})
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ds, err := Open(root, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			f := ds.(*ImageFolder)
			if got := f.Classes(); !reflect.DeepEqual(got, []string{"Apple", "bird", "cat"}) {
				t.Errorf("classes %q", got)
			}
			var files []string
			for i := range ds.Len() {
				files = append(files, filepath.Base(f.Path(i)))
			}
			if want := []string{"x.jpg", "g.png", "10.png", "2.png"}; !reflect.DeepEqual(files, want) {
				t.Errorf("files %q, want %q (classes, then names sorted as strings)", files, want)
			}
			if !reflect.DeepEqual(exampleShape(ds), tc.shape) {
				t.Fatalf("ExampleShape() = %v, want %v", exampleShape(ds), tc.shape)
			}
			x, labels, _ := readAll(t, ds)
			if want := []int64{0, 1, 2, 2}; !reflect.DeepEqual(labels, want) {
				t.Errorf("labels %v, want %v", labels, want)
			}
			plane := tc.shape[1] * tc.shape[2]
			for i := range ds.Len() {
				for c := range tc.shape[0] {
					w := tc.want(i, c)
					// JPEG round trips a solid colour within a level or two.
					tol := 0.0
					if i == 0 {
						tol = 2.5 / 255 / 0.224
					}
					for k := range plane {
						if v := x.([]float32)[(i*tc.shape[0]+c)*plane+k]; math.Abs(float64(v-w)) > tol {
							t.Fatalf("%s channel %d pixel %d = %v, want %v", files[i], c, k, v, w)
						}
					}
				}
			}
		})
	}
}

// jpegWithSize returns a valid 8x8 JPEG whose header claims w x h pixels.
func jpegWithSize(t *testing.T, w, h uint16) []byte {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, image.NewGray(image.Rect(0, 0, 8, 8)), nil); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	// SOF0: marker, length (2), precision (1), height (2), width (2).
	i := bytes.Index(b, []byte{0xff, 0xc0})
	if i < 0 {
		t.Fatal("no SOF0 marker")
	}
	binary.BigEndian.PutUint16(b[i+5:], h)
	binary.BigEndian.PutUint16(b[i+7:], w)
	return b
}

func TestImageFolderErrors(t *testing.T) {
	var good bytes.Buffer
	if err := png.Encode(&good, solid(4, 4, color.White)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		files map[string][]byte // relative path -> contents
		dirs  []string
		opts  Options
		want  string
		names string // the path the error names, relative to the root
	}{
		{name: "empty folder", want: "no class folders", names: "."},
		{name: "only files", files: map[string][]byte{"a.png": good.Bytes()}, want: "no class folders", names: "."},
		{name: "class without images", files: map[string][]byte{"a/1.png": good.Bytes(), "b/notes.txt": []byte("x")},
			want: `class folder "b" has no .png, .jpg or .jpeg images`, names: "b"},
		{name: "empty class folder", files: map[string][]byte{"a/1.png": good.Bytes()}, dirs: []string{"b"},
			want: `class folder "b" has no`, names: "b"},
		{name: "sizes differ", files: map[string][]byte{"a/1.png": good.Bytes(), "b/2.png": testmodels.ClaimingPNG(t, 1, 1)},
			want: "image of 1x1 (height x width), but", names: "b/2.png"},
		{name: "huge dimensions", files: map[string][]byte{"a/1.png": testmodels.ClaimingPNG(t, 1<<20, 1<<20)},
			want: "over the limit", names: "a/1.png"},
		{name: "dimensions beyond the file", files: map[string][]byte{"a/1.png": testmodels.ClaimingPNG(t, 4000, 4000)},
			want: "cannot fit in a", names: "a/1.png"},
		{name: "JPEG dimensions beyond the file", files: map[string][]byte{"a/1.jpg": jpegWithSize(t, 8000, 8000)},
			want: "JPEG image of 8000x8000 pixels cannot fit in a", names: "a/1.jpg"},
		{name: "not an image", files: map[string][]byte{"a/1.png": []byte("GIF89a...")},
			want: "not a PNG or JPEG image", names: "a/1.png"},
		{name: "truncated header", files: map[string][]byte{"a/1.jpg": good.Bytes()[:20]},
			want: "bad PNG image header", names: "a/1.jpg"},
		{name: "bmp", files: map[string][]byte{"a/1.png": good.Bytes(), "a/2.BMP": []byte("BM")},
			want: ".bmp images are not supported", names: "a/2.BMP"},
		{name: "bad image size", files: map[string][]byte{"a/1.png": good.Bytes()}, opts: Options{ImageSize: [2]int{0, 5}},
			want: "ImageSize 0x5 is not a valid image size", names: "."},
		{name: "bad mean", files: map[string][]byte{"a/1.png": good.Bytes()}, opts: Options{Mean: []float64{1, 2}},
			want: "Mean has 2 values, want 1 or 3", names: "."},
		{name: "absent class", files: map[string][]byte{"a/1.png": good.Bytes()}, opts: Options{Classes: []int64{1}},
			want: "class 1 has no examples", names: "."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			for _, d := range tc.dirs {
				if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			for name, b := range tc.files {
				p := filepath.Join(root, filepath.FromSlash(name))
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				writeFile(t, p, b)
			}
			_, err := Open(root, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			if name := filepath.Join(root, filepath.FromSlash(tc.names)); !strings.Contains(err.Error(), name) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q is not one line naming %s", err, name)
			}
		})
	}
}

// TestImageReadErrors covers files that pass the header check but fail to
// decode, or change after Open.
func TestImageReadErrors(t *testing.T) {
	var good bytes.Buffer
	if err := png.Encode(&good, solid(4, 4, color.NRGBA{1, 2, 3, 255})); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	path := filepath.Join(root, "a", "1.png")
	writeImage(t, path, solid(4, 4, color.White))
	ds, err := Open(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float32, 3*4*4)
	tests := []struct {
		name string
		b    []byte
		want string
	}{
		{"truncated data", good.Bytes()[:len(good.Bytes())-20], "decoding PNG image"},
		{"size changed", testmodels.ClaimingPNG(t, 1, 1), "want 4x4"},
		{"deleted", nil, "no such file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.b == nil {
				os.Remove(path)
			} else {
				writeFile(t, path, tc.b)
			}
			_, err := ds.Read(0, []any{x}, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Fatalf("error %v, want one containing %q and naming %s", err, tc.want, path)
			}
		})
	}
}

func TestOpenSpecErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "data.csv")
	writeFile(t, file, []byte("1,2"))
	tests := []struct {
		spec, want string
	}{
		{"", "empty spec"},
		{file, "unrecognized data spec"},
		{filepath.Join(dir, "missing"), "no such file"},
		{"mnist:", "unrecognized data spec"},
	}
	for _, tc := range tests {
		t.Run(tc.spec, func(t *testing.T) {
			_, err := Open(tc.spec, Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Open(%q): error %v, want one containing %q", tc.spec, err, tc.want)
			}
		})
	}
}

// TestResizeIdentity checks that resizing to the same size changes nothing
// and that a solid plane stays solid whatever the scale.
func TestResizeIdentity(t *testing.T) {
	p := plane{5, 3, []uint8{0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 255}}
	if got := resize(p, 5, 3); !reflect.DeepEqual(got, p) {
		t.Errorf("resize to the same size changed the plane: %v", got.pix)
	}
	for _, size := range [][2]int{{1, 1}, {2, 7}, {13, 3}, {100, 1}, {5, 3}} {
		for _, v := range []uint8{0, 1, 128, 254, 255} {
			s := plane{5, 3, bytes.Repeat([]byte{v}, 15)}
			got := resize(s, size[0], size[1])
			for k, u := range got.pix {
				if u != v {
					t.Fatalf("solid %d resized to %v: pixel %d = %d", v, size, k, u)
				}
			}
		}
	}
}
