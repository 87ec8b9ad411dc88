package data

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/internal/npz"
)

// writeImageTo encodes img as PNG to buf.
func writeImageTo(t *testing.T, buf *bytes.Buffer, img image.Image) {
	t.Helper()
	if err := png.Encode(buf, img); err != nil {
		t.Fatal(err)
	}
}

// allocated returns the bytes f allocated (the tests of this package do
// not run in parallel).
func allocated(f func()) uint64 {
	var a, b runtime.MemStats
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

// isLimitError checks that err is a one-line *graph.LimitError naming path
// with the limit max.
func isLimitError(t *testing.T, err error, path string, max int64) {
	t.Helper()
	var le *graph.LimitError
	if !errors.As(err, &le) || !strings.Contains(err.Error(), path) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("error %v, want a one-line *graph.LimitError naming %s", err, path)
	}
	if le.Limit != graph.LimitBytes(max) {
		t.Errorf("limit %d in the error, want %d", le.Limit, graph.LimitBytes(max))
	}
}

// gzippedIDXClaiming returns a gzipped IDX image file whose header claims
// dims and whose gzip stream then holds size bytes of incompressible data:
// a file of about size bytes that DEFLATE's ratio allows to be 1032 times
// larger.
func gzippedIDXClaiming(t *testing.T, dims []uint32, size int) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.NoCompression)
	if err != nil {
		t.Fatal(err)
	}
	zw.Write(idxBytes(dims, nil))
	noise := make([]byte, size)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range noise {
		noise[i] = byte(r.Uint32())
	}
	zw.Write(noise)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestIDXLimit(t *testing.T) {
	tests := []struct {
		name   string
		images []byte
		n      uint32 // images
		max    int64
	}{
		// 40 MiB of pixels in 40 KB, with a limit of 16 MiB.
		{"40 MiB over a limit of 16 MiB", gzipped(idxBytes([]uint32{40, 1024, 1024}, make([]byte, 40<<20))), 40, 16 << 20},
		// 3.3 MB claiming 3.45 GB, within DEFLATE's ratio, over the
		// default limit: refused before the data are read.
		{"3.3 MB claiming 3.45 GB", gzippedIDXClaiming(t, []uint32{60000, 240, 240}, 3_300_000), 60000, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			labels := filepath.Join(dir, "labels-idx1-ubyte")
			writeFile(t, labels, idxBytes([]uint32{tc.n}, make([]byte, tc.n)))
			images := filepath.Join(dir, "images-idx3-ubyte.gz")
			writeFile(t, images, tc.images)
			var err error
			n := allocated(func() { _, err = OpenIDX(images, labels, Options{MaxBytes: tc.max}) })
			isLimitError(t, err, images, tc.max)
			if n > 4<<20 {
				t.Errorf("refusing a %d-byte IDX file allocated %d bytes", len(tc.images), n)
			}
		})
	}
}

// bigPNG returns an 8-bit gray PNG of w x h black pixels: about 62 KB for
// 8000 x 8000 (64 MB of pixels).
func bigPNG(t *testing.T, w, h int) []byte {
	t.Helper()
	chunk := func(b []byte, kind string, data []byte) []byte {
		b = binary.BigEndian.AppendUint32(b, uint32(len(data)))
		start := len(b)
		b = append(b, kind...)
		b = append(b, data...)
		return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b[start:]))
	}
	ihdr := binary.BigEndian.AppendUint32(nil, uint32(w))
	ihdr = binary.BigEndian.AppendUint32(ihdr, uint32(h))
	ihdr = append(ihdr, 8, 0, 0, 0, 0) // 8 bits, gray, deflate, filter 0, no interlace
	var idat bytes.Buffer
	zw := zlib.NewWriter(&idat)
	row := make([]byte, 1+w) // filter byte 0, then the pixels
	for range h {
		zw.Write(row)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	b := []byte("\x89PNG\r\n\x1a\n")
	b = chunk(b, "IHDR", ihdr)
	b = chunk(b, "IDAT", idat.Bytes())
	return chunk(b, "IEND", nil)
}

// imageFolder writes files (relative path -> contents) under a new folder.
func imageFolder(t *testing.T, files map[string][]byte) string {
	t.Helper()
	root := t.TempDir()
	for name, b := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, p, b)
	}
	return root
}

func TestImageFolderChecksSizesBeforeDecoding(t *testing.T) {
	big := bigPNG(t, 8000, 8000)
	if len(big) > 70_000 {
		t.Fatalf("the 8000x8000 PNG has %d bytes, want about 62 KB", len(big))
	}
	root := imageFolder(t, map[string][]byte{"a/1.png": big, "a/2.png": big, "b/1.png": big, "b/2.png": big})
	first := filepath.Join(root, "a", "1.png")
	var small bytes.Buffer
	writeImageTo(t, &small, solid(4, 4, color.White))
	smallRoot := imageFolder(t, map[string][]byte{"a/1.png": small.Bytes(), "b/1.png": small.Bytes()})

	tests := []struct {
		name string
		root string
		opts Options
		want []string // in the error; none: Open succeeds
	}{
		{"not the model's size", root, Options{InputSize: [2]int{28, 28}}, []string{first, "8000x8000", "28x28"}},
		{"the model's size", smallRoot, Options{InputSize: [2]int{4, 4}}, nil},
		{"the model's size, not square", smallRoot, Options{InputSize: [2]int{4, 5}}, []string{filepath.Join(smallRoot, "a", "1.png"), "4x4", "4x5"}},
		{"resized, over the limit", root, Options{ImageSize: [2]int{28, 28}, InputSize: [2]int{28, 28}, MaxBytes: 16 << 20}, []string{first, "over the limit of 16 MiB"}},
		{"resized, under the default limit", root, Options{ImageSize: [2]int{28, 28}, InputSize: [2]int{28, 28}}, nil},
		{"resized to another size than the model's", smallRoot, Options{ImageSize: [2]int{28, 28}, InputSize: [2]int{32, 32}}, []string{smallRoot, "28x28", "32x32"}},
		{"resize over the limit", smallRoot, Options{ImageSize: [2]int{4096, 4096}, MaxBytes: 16 << 20}, []string{smallRoot, "over the limit of 16 MiB"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			n := allocated(func() { _, err = Open(tc.root, tc.opts) })
			if n > 8<<20 {
				t.Errorf("Open allocated %d bytes: images were decoded", n)
			}
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %v, want one line", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// TestImageReadChecksSizeBeforeDecoding replaces an image after Open by a
// larger one: Read refuses it from its header.
func TestImageReadChecksSizeBeforeDecoding(t *testing.T) {
	var small bytes.Buffer
	writeImageTo(t, &small, solid(4, 4, color.White))
	root := imageFolder(t, map[string][]byte{"a/1.png": small.Bytes()})
	ds, err := Open(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(root, "a", "1.png")
	writeFile(t, path, bigPNG(t, 8000, 8000))
	x := make([]float32, 3*4*4)
	n := allocated(func() { _, err = ds.Read(0, []any{x}, nil) })
	if err == nil || !strings.Contains(err.Error(), "want 4x4") || !strings.Contains(err.Error(), path) {
		t.Fatalf("error %v, want one naming %s and its size", err, path)
	}
	if n > 8<<20 {
		t.Errorf("Read allocated %d bytes: the image was decoded", n)
	}
}

// notBlocking runs f, which must not block on the FIFO at fifo: if it has
// not returned after a minute, the test fails and the FIFO is opened for
// writing and closed, so that f sees its end.
func notBlocking(t *testing.T, fifo string, f func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-time.After(time.Minute):
		t.Errorf("blocked for a minute reading the FIFO %s", fifo)
		for {
			// The reader may open the FIFO again: keep closing it.
			if w, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
				w.Close()
			}
			select {
			case err := <-done:
				return err
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
}

func TestNonRegularFilesRefused(t *testing.T) {
	dir := t.TempDir()
	mkfifo := func(name string) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Mkfifo(p, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var small bytes.Buffer
	writeImageTo(t, &small, solid(4, 4, color.White))
	if err := os.MkdirAll(filepath.Join(dir, "folder", "a"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "folder", "a", "1.png"), small.Bytes())
	writeFile(t, filepath.Join(dir, "labels-idx1-ubyte"), idxBytes([]uint32{1}, []byte{0}))
	writeFile(t, filepath.Join(dir, "images-idx3-ubyte"), idxBytes([]uint32{1, 1, 1}, []byte{0}))
	for _, tc := range []struct {
		name string
		fifo string
		open func() error
	}{
		{"npz", mkfifo("x.npz"), func() error { _, err := Open(filepath.Join(dir, "x.npz"), Options{}); return err }},
		{"IDX images", mkfifo("fifo-images-idx3-ubyte"), func() error {
			_, err := OpenIDX(filepath.Join(dir, "fifo-images-idx3-ubyte"), filepath.Join(dir, "labels-idx1-ubyte"), Options{})
			return err
		}},
		{"IDX labels", mkfifo("fifo-labels-idx1-ubyte"), func() error {
			_, err := OpenIDX(filepath.Join(dir, "images-idx3-ubyte"), filepath.Join(dir, "fifo-labels-idx1-ubyte"), Options{})
			return err
		}},
		{"image", mkfifo("folder/b/2.png"), func() error {
			_, err := Open(filepath.Join(dir, "folder"), Options{})
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := notBlocking(t, tc.fifo, tc.open)
			if err == nil || !strings.Contains(err.Error(), "not a regular file") || !strings.Contains(err.Error(), tc.fifo) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %v, want one line saying %s is not a regular file", err, tc.fifo)
			}
		})
	}
}

func TestNPZLimit(t *testing.T) {
	// x: 1 MiB of data and its header; y: 16 bytes and its header.
	path := writeNPZ(t, "big.npz", map[string]npz.Array{
		"x": {Shape: []int{2, 1 << 17}, Data: make([]float32, 2<<17)},
		"y": {Shape: []int{2}, Data: []int64{0, 1}},
	})
	for _, max := range []int64{1 << 20, 1<<20 + 200} { // x alone, x and y together
		t.Run(fmt.Sprint(max), func(t *testing.T) {
			_, err := Open(path, Options{MaxBytes: max})
			isLimitError(t, err, path, max)
		})
	}
	if _, err := Open(path, Options{MaxBytes: 2 << 20}); err != nil {
		t.Errorf("under the limit: %v", err)
	}
}
