package data

import (
	"bufio"
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/internal/npz"
)

// fuzzMax is the MaxBytes of FuzzReaders.
const fuzzMax = 16 << 20

// The readers FuzzReaders feeds, chosen by the first byte of an input.
const (
	fuzzNPZ = iota
	fuzzIDX
	fuzzImage
	fuzzReaders
)

// fuzzSeeds returns the seeds of FuzzReaders, each with its reader's byte:
// the committed test files and small valid files built here.
func fuzzSeeds(f *testing.F) [][]byte {
	var seeds [][]byte
	add := func(kind byte, b []byte) { seeds = append(seeds, append([]byte{kind}, b...)) }
	files, _ := filepath.Glob(filepath.Join("..", "..", "internal", "npz", "testdata", "*.npz"))
	files = append(files, filepath.Join("testdata", "torchvision.npz"))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		add(fuzzNPZ, b)
	}
	var buf bytes.Buffer
	if err := npz.Encode(&buf, map[string]npz.Array{
		"x": {Shape: []int{3, 2}, Data: []float32{1, 2, 3, 4, 5, 6}},
		"y": {Shape: []int{3}, Data: []int64{0, 1, 2}},
	}); err != nil {
		f.Fatal(err)
	}
	add(fuzzNPZ, buf.Bytes())
	// The arrays of fuzzInputs, fed by name.
	buf.Reset()
	if err := npz.Encode(&buf, map[string]npz.Array{
		"ids":   {Shape: []int{2, 3}, Data: []int64{1, 2, 3, 4, 5, 6}},
		"mask":  {Shape: []int{2, 3}, Data: []bool{true, true, false, true, false, false}},
		"scale": {Shape: []int{}, Data: []float32{1.5}},
		"y":     {Shape: []int{2}, Data: []int64{0, 1}},
	}); err != nil {
		f.Fatal(err)
	}
	add(fuzzNPZ, buf.Bytes())

	small := idxBytes([]uint32{2, 3, 2}, []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11})
	add(fuzzIDX, small)
	add(fuzzIDX, gzipped(small))
	add(fuzzIDX, idxBytes([]uint32{4}, []byte{1, 2, 3, 4}))
	add(fuzzIDX, idxBytes([]uint32{0xffffffff, 2, 2}, nil))

	images, _ := filepath.Glob(filepath.Join(decodeDir, "*.[jp][pn]g")) // every subsampling, progressive, 16-bit
	err := filepath.WalkDir(filepath.Join("testdata", "folder"), func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			images = append(images, path)
		}
		return err
	})
	if err != nil {
		f.Fatal(err)
	}
	for _, path := range images {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		add(fuzzImage, b)
	}
	img := image.NewNRGBA(image.Rect(0, 0, 5, 3))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7)
	}
	buf.Reset()
	png.Encode(&buf, img)
	add(fuzzImage, buf.Bytes())
	buf.Reset()
	jpeg.Encode(&buf, img, nil)
	add(fuzzImage, buf.Bytes())
	buf.Reset()
	png.Encode(&buf, image.NewPaletted(image.Rect(0, 0, 4, 4), color.Palette{color.Black, color.White}))
	add(fuzzImage, buf.Bytes())
	return seeds
}

// FuzzReaders feeds bytes to the data readers: the npz reader with what
// OpenNPZ makes of its arrays, the IDX parser, and an image's header check,
// decoding and conversion to channels (gray and resized too). The first
// byte picks the reader. No input may panic, give an error of several
// lines, or make a reader allocate more than a few times MaxBytes (16 MiB
// here) in all.
func FuzzReaders(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) == 0 {
			return
		}
		kind, b := in[0]%fuzzReaders, in[1:]
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		var err error
		switch kind {
		case fuzzNPZ:
			err = fuzzNPZData(t, b)
		case fuzzIDX:
			err = fuzzIDXData(t, b)
		case fuzzImage:
			err = fuzzImageData(t, b)
		}
		runtime.ReadMemStats(&after)
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("error %q has several lines", err)
		}
		if n := after.TotalAlloc - before.TotalAlloc; n > 4*fuzzMax {
			t.Errorf("reader %d allocated %d bytes for a %d-byte input (limit %d)", kind, n, len(b), fuzzMax)
		}
	})
}

func fuzzNPZData(t *testing.T, b []byte) error {
	arrays, err := npz.ReadReaderWith(bytes.NewReader(b), int64(len(b)), npz.Options{MaxBytes: fuzzMax})
	if err != nil {
		return err
	}
	// As x and y, then for a model of the inputs fuzzInputs (by name).
	var first error
	for _, inputs := range [][]Input{nil, fuzzInputs} {
		d, err := npzExamples("fuzz.npz", arrays, inputs, graph.Undefined, false)
		if err == nil {
			err = d.addLabels("fuzz.npz", arrays)
		}
		if err != nil {
			if first == nil {
				first = err
			}
			if strings.Contains(err.Error(), "\n") {
				return err
			}
			continue
		}
		x, err := NewExample(d)
		if err != nil {
			t.Fatalf("NewExample of an npz dataset that opened: %v", err)
		}
		ts, _ := d.TargetShape()
		target := make([]float32, numel(ts))
		for _, i := range []int{0, d.Len() - 1} {
			if _, err := d.Read(i, x, target); err != nil {
				t.Fatalf("Read(%d) of an npz dataset that opened: %v", i, err)
			}
		}
	}
	return first
}

// fuzzInputs are the inputs of a model that FuzzReaders feeds by name.
var fuzzInputs = []Input{
	{Name: "ids", DType: graph.Int64, HasShape: true, Dims: []graph.Dim{{Param: "batch", HasParam: true}, {Param: "seq", HasParam: true}}},
	{Name: "mask", DType: graph.Bool, HasShape: true, Dims: []graph.Dim{{Param: "batch", HasParam: true}, {Param: "seq", HasParam: true}}},
	{Name: "scale", DType: graph.Float32, HasShape: true},
}

func fuzzIDXData(t *testing.T, b []byte) error {
	dims, data, err := parseIDX(bufio.NewReader(bytes.NewReader(b)), int64(len(b)), fuzzMax)
	if err != nil {
		return err
	}
	n := 1
	for _, d := range dims {
		n *= d
	}
	if n != len(data) {
		t.Fatalf("dims %v for %d bytes of data", dims, len(data))
	}
	if len(data) > len(b)*maxGzipRatio {
		t.Fatalf("%d bytes of data from a %d-byte input", len(data), len(b))
	}
	return nil
}

func fuzzImageData(t *testing.T, b []byte) error {
	img, err := decode(bytes.NewReader(b), int64(len(b)), [2]int{}, fuzzMax, 0)
	if err != nil {
		return err
	}
	p := rgbPlanes(img)
	g := luma(p)
	r := resize(g, 3, 5)
	if len(r.pix) != 15 {
		t.Fatalf("resized to %d pixels, want 15", len(r.pix))
	}
	return nil
}
