package importer_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/importer"
	pb "github.com/onnxtune/onnxtune/internal/onnxpb"
)

// externalModel writes dir/m.onnx: a graph that outputs a float32
// initializer "w" of the given dims, its values in the side file named by
// the external data entries.
func externalModel(t *testing.T, dir string, dims []int64, entries ...[2]string) string {
	t.Helper()
	name, dt := "w", int32(pb.TensorProto_FLOAT)
	ext := pb.TensorProto_EXTERNAL
	tp := &pb.TensorProto{Name: &name, DataType: &dt, Dims: dims, DataLocation: &ext}
	for _, e := range entries {
		k, v := e[0], e[1]
		tp.ExternalData = append(tp.ExternalData, &pb.StringStringEntryProto{Key: &k, Value: &v})
	}
	path := filepath.Join(dir, "m.onnx")
	if err := os.WriteFile(path, constantModel(t, tp), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// loadWithin runs LoadWith on its own goroutine and fails the test if it
// has not returned within a minute: a read that blocks (a FIFO without a
// writer) must not hang the suite. unblock, when set, is called after a
// timeout to let the stuck goroutine go.
func loadWithin(t *testing.T, path string, opts importer.Options, unblock func()) (*graph.Model, error) {
	t.Helper()
	type result struct {
		m   *graph.Model
		err error
	}
	done := make(chan result, 1)
	go func() {
		m, err := importer.LoadWith(path, opts)
		done <- result{m, err}
	}()
	select {
	case r := <-done:
		return r.m, r.err
	case <-time.After(time.Minute):
		if unblock != nil {
			unblock()
		}
		t.Fatalf("LoadWith(%s) still blocked after a minute", path)
		return nil, nil
	}
}

// openWriter opens a FIFO for writing without blocking (it succeeds only
// while a reader has it open) and closes it, releasing that reader.
func openWriter(path string) func() {
	return func() {
		if f, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
	}
}

func TestLoadRefusesNonRegularFiles(t *testing.T) {
	t.Run("model is a FIFO", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "m.onnx")
		if err := syscall.Mkfifo(path, 0o600); err != nil {
			t.Skip(err)
		}
		_, err := loadWithin(t, path, importer.Options{}, openWriter(path))
		if err == nil || !strings.Contains(err.Error(), "not a regular file") || !strings.Contains(err.Error(), path) {
			t.Errorf("error %v, want one naming %s as not a regular file", err, path)
		}
	})
	t.Run("model is a device", func(t *testing.T) {
		const path = "/dev/zero"
		if _, err := os.Stat(path); err != nil {
			t.Skip(err)
		}
		_, err := loadWithin(t, path, importer.Options{}, nil)
		if err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("error %v, want one saying %s is not a regular file", err, path)
		}
	})
	t.Run("external data is a FIFO", func(t *testing.T) {
		dir := t.TempDir()
		side := filepath.Join(dir, "w.bin")
		if err := syscall.Mkfifo(side, 0o600); err != nil {
			t.Skip(err)
		}
		path := externalModel(t, dir, []int64{4}, [2]string{"location", "w.bin"})
		_, err := loadWithin(t, path, importer.Options{}, openWriter(side))
		if !errors.Is(err, importer.ErrExternal) || !strings.Contains(err.Error(), "not a regular file") || !strings.Contains(err.Error(), "w.bin") {
			t.Errorf("error %v, want ErrExternal naming w.bin as not a regular file", err)
		}
	})
}

// sparseFile creates a file of size bytes that holds no data blocks.
func sparseFile(t *testing.T, path string, size int64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		t.Skipf("no sparse file of %d bytes here: %v", size, err)
	}
}

func TestExternalDataSizes(t *testing.T) {
	t.Run("sparse side file, tensor at offset 2^31", func(t *testing.T) {
		dir := t.TempDir()
		const off, n = int64(1) << 31, 3072
		sparseFile(t, filepath.Join(dir, "w.bin"), off+4*n)
		path := externalModel(t, dir, []int64{n}, [2]string{"location", "w.bin"}, [2]string{"offset", strconv.FormatInt(off, 10)})
		m, err := loadWithin(t, path, importer.Options{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := len(m.Graph.Initializers[0].Raw); got != 4*n {
			t.Errorf("read %d bytes, want the tensor's %d", got, 4*n)
		}
	})
	t.Run("sparse side file, tensor over the default limit", func(t *testing.T) {
		dir := t.TempDir()
		n := graph.DefaultMaxBytes/4 + 1
		sparseFile(t, filepath.Join(dir, "w.bin"), 4*n)
		path := externalModel(t, dir, []int64{n}, [2]string{"location", "w.bin"})
		_, err := loadWithin(t, path, importer.Options{}, nil)
		var le *graph.LimitError
		if !errors.As(err, &le) || le.Bytes != 4*n || le.Limit != graph.DefaultMaxBytes {
			t.Fatalf("error %v, want a *graph.LimitError for %d bytes over the default %d", err, 4*n, graph.DefaultMaxBytes)
		}
		if !strings.Contains(err.Error(), `"w"`) {
			t.Errorf("error %q does not name the tensor", err)
		}
	})
	t.Run("MaxBytes", func(t *testing.T) {
		dir := t.TempDir()
		const n = 1024
		if err := os.WriteFile(filepath.Join(dir, "w.bin"), make([]byte, 4*n), 0o644); err != nil {
			t.Fatal(err)
		}
		path := externalModel(t, dir, []int64{n}, [2]string{"location", "w.bin"})
		if _, err := loadWithin(t, path, importer.Options{MaxBytes: 4 * n}, nil); err != nil {
			t.Fatalf("MaxBytes %d, the tensor's size: %v", 4*n, err)
		}
		_, err := loadWithin(t, path, importer.Options{MaxBytes: 4*n - 1}, nil)
		var le *graph.LimitError
		if !errors.As(err, &le) || le.Bytes != 4*n || le.Limit != 4*n-1 {
			t.Errorf("MaxBytes %d: error %v, want a *graph.LimitError for %d bytes", 4*n-1, err, 4*n)
		}
	})
	t.Run("negative length", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "w.bin"), make([]byte, 16), 0o644); err != nil {
			t.Fatal(err)
		}
		path := externalModel(t, dir, []int64{4}, [2]string{"location", "w.bin"}, [2]string{"length", "-16"})
		if _, err := loadWithin(t, path, importer.Options{}, nil); !errors.Is(err, importer.ErrExternal) || !strings.Contains(err.Error(), "length") {
			t.Errorf("error %v, want ErrExternal about the length", err)
		}
	})
}

// TestDecodeChecksTensorSizes: inline tensors and the model file itself
// are held to MaxBytes too.
func TestDecodeChecksTensorSizes(t *testing.T) {
	const n = 1024
	name, dt := "w", int32(pb.TensorProto_FLOAT)
	b := constantModel(t, &pb.TensorProto{Name: &name, DataType: &dt, Dims: []int64{n}, RawData: make([]byte, 4*n)})
	if _, err := importer.Decode(b, importer.Options{MaxBytes: 4 * n}); err != nil {
		t.Fatalf("MaxBytes %d, the tensor's size: %v", 4*n, err)
	}
	_, err := importer.Decode(b, importer.Options{MaxBytes: 4*n - 1})
	var le *graph.LimitError
	if !errors.As(err, &le) || le.Bytes != 4*n || !strings.Contains(err.Error(), `"w"`) {
		t.Errorf("inline tensor over MaxBytes: error %v, want a *graph.LimitError naming \"w\"", err)
	}
	path := filepath.Join(t.TempDir(), "m.onnx")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	size := int64(len(b))
	_, err = importer.LoadWith(path, importer.Options{MaxBytes: size - 1})
	if !errors.As(err, &le) || le.Bytes != size || !strings.Contains(err.Error(), path) {
		t.Errorf("model file over MaxBytes: error %v, want a *graph.LimitError for %d bytes naming the file", err, size)
	}
	if _, err := importer.Read(bytes.NewReader(b), importer.Options{MaxBytes: size}); err != nil {
		t.Errorf("stream of MaxBytes: %v", err)
	}
	if _, err = importer.Read(bytes.NewReader(b), importer.Options{MaxBytes: size - 1}); !errors.As(err, &le) || le.Limit != size-1 {
		t.Errorf("stream over MaxBytes: error %v, want a *graph.LimitError", err)
	}
}
