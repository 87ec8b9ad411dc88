package npz

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/onnxtune/onnxtune/graph"
)

// f4Header is the .npy header dictionary of a float32 array of n elements.
func f4Header(n int64) string {
	return fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': (%d,), }", n)
}

// zeros returns a deflated .npy member of n float32 zeros.
func zeros(n int64) []byte {
	return npyBytes(f4Header(n), make([]byte, 4*n))
}

// aliased returns an archive of one deflated member, names[0], whose
// central directory also lists names[1:] at the same local header: every
// name reads the same compressed bytes.
func aliased(t *testing.T, member []byte, names ...string) []byte {
	t.Helper()
	b := zipOf(t, zip.Deflate, map[string][]byte{names[0]: member})
	eocd := len(b) - 22
	if binary.LittleEndian.Uint32(b[eocd:]) != 0x06054b50 {
		t.Fatal("no end of central directory record where expected")
	}
	cdSize := int(binary.LittleEndian.Uint32(b[eocd+12:]))
	cdOff := int(binary.LittleEndian.Uint32(b[eocd+16:]))
	rec := b[cdOff : cdOff+cdSize] // the one central directory record
	out := append([]byte{}, b[:eocd]...)
	for _, name := range names[1:] {
		if len(name) != len(names[0]) {
			t.Fatal("alias names must have the length of the first")
		}
		r := append([]byte{}, rec...)
		copy(r[46:], name)
		out = append(out, r...)
	}
	end := append([]byte{}, b[eocd:]...)
	binary.LittleEndian.PutUint16(end[8:], uint16(len(names)))
	binary.LittleEndian.PutUint16(end[10:], uint16(len(names)))
	binary.LittleEndian.PutUint32(end[12:], uint32(cdSize*len(names)))
	return append(out, end...)
}

func TestReadRefusesAliasedMembers(t *testing.T) {
	b := aliased(t, zeros(1<<10), "a.npy", "b.npy", "c.npy", "d.npy")
	// The archive is one that archive/zip lists with four members.
	z, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil || len(z.File) != 4 {
		t.Fatalf("test archive: %v, %d members", err, len(z.File))
	}
	_, err = readBytes(b)
	if err == nil || !strings.Contains(err.Error(), "overlap") {
		t.Fatalf("Read of four members sharing one compressed array: error %v, want one about overlapping members", err)
	}
}

// deflatedZip returns an archive of deflated members.
func deflatedZip(t *testing.T, members map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	z := zip.NewWriter(&buf)
	z.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) { return flate.NewWriter(w, flate.BestSpeed) })
	names := make([]string, 0, len(members))
	for name := range members {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		w, err := z.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(members[name]); err != nil {
			t.Fatal(err)
		}
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// claims returns an archive whose members declare (in the zip directory
// and in their .npy headers) n float32 elements each, from a thousandth of
// that in compressed bytes (DEFLATE reaches 1032:1), but hold only the
// start of that data: what a reader must refuse from the sizes alone.
func claims(t *testing.T, n int64, names ...string) []byte {
	t.Helper()
	csize := (4*n+128)/1000 + 1
	var buf bytes.Buffer
	z := zip.NewWriter(&buf)
	var head bytes.Buffer
	fw, _ := flate.NewWriter(&head, flate.BestSpeed)
	fw.Write(npyBytes(f4Header(n), make([]byte, 1<<10)))
	fw.Flush()
	raw := append(head.Bytes(), make([]byte, csize-int64(head.Len()))...)
	for _, name := range names {
		w, err := z.CreateRaw(&zip.FileHeader{Name: name, Method: zip.Deflate,
			CompressedSize64: uint64(csize), UncompressedSize64: uint64(4*n + 128)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(raw); err != nil {
			t.Fatal(err)
		}
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
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

func TestReadLimits(t *testing.T) {
	const limit = 16 << 20
	const mib = 1 << 18 // float32 elements in 1 MiB
	tests := []struct {
		name    string
		archive func(t *testing.T) []byte
		max     int64
		ok      bool
		what    string // in the error
	}{
		{"one array over the limit", func(t *testing.T) []byte {
			return deflatedZip(t, map[string][]byte{"a.npy": zeros(20 * mib)})
		}, limit, false, `"a"`},
		{"arrays together over the limit", func(t *testing.T) []byte {
			return deflatedZip(t, map[string][]byte{"a.npy": zeros(6 * mib), "b.npy": zeros(6 * mib), "c.npy": zeros(6 * mib)})
		}, limit, false, "together"},
		{"arrays together under the limit", func(t *testing.T) []byte {
			return deflatedZip(t, map[string][]byte{"a.npy": zeros(6 * mib), "b.npy": zeros(6 * mib)})
		}, limit, true, ""},
		// 3.8 MB that claims 3.5 GiB in two arrays of 1.75 GiB, each under
		// the default limit of 2 GiB, both over it.
		{"4 MB claiming 3.5 GiB under the default limit", func(t *testing.T) []byte {
			return claims(t, 1792*mib, "a.npy", "b.npy")
		}, 0, false, "together"},
		{"3 MB claiming 2.5 GiB in one array under the default limit", func(t *testing.T) []byte {
			return claims(t, 2560*mib, "a.npy")
		}, 0, false, `"a"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.archive(t)
			var err error
			n := allocated(func() { _, err = ReadReaderWith(bytes.NewReader(b), int64(len(b)), Options{MaxBytes: tc.max}) })
			if tc.ok {
				if err != nil {
					t.Fatalf("error %v", err)
				}
				return
			}
			var le *graph.LimitError
			if !errors.As(err, &le) || !strings.Contains(err.Error(), tc.what) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %v, want a one-line *graph.LimitError naming %s", err, tc.what)
			}
			if le.Limit != graph.LimitBytes(tc.max) {
				t.Errorf("limit %d in the error, want %d", le.Limit, graph.LimitBytes(tc.max))
			}
			if n > uint64(len(b))+1<<20 {
				t.Errorf("refusing a %d-byte archive allocated %d bytes", len(b), n)
			}
		})
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
		if w, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			w.Close()
		}
		return <-done
	}
}

func TestReadRefusesNonRegularFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "x.npz")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	folder := filepath.Join(dir, "d.npz")
	if err := os.Mkdir(folder, 0o700); err != nil {
		t.Fatal(err)
	}
	for path, kind := range map[string]string{fifo: "a FIFO", folder: "a folder", "/dev/zero": "a character device"} {
		err := notBlocking(t, fifo, func() error { _, err := Read(path); return err })
		if err == nil || !strings.Contains(err.Error(), "not a regular file") || !strings.Contains(err.Error(), kind) || !strings.Contains(err.Error(), path) {
			t.Errorf("Read(%s): error %v, want one saying it is %s, not a regular file", path, err, kind)
		}
	}
}

// TestReadErrorsOneLine: text from a header that reaches an error message
// (found by FuzzReaders: a descr holding a newline) keeps it on one line.
func TestReadErrorsOneLine(t *testing.T) {
	eight := make([]byte, 8)
	for name, dict := range map[string]string{
		"descr":       "{'descr': '|u\n', 'fortran_order': False, 'shape': (2,), }",
		"descr order": "{'descr': '!\nf4', 'fortran_order': False, 'shape': (2,), }",
		"long descr":  "{'descr': '<f4\n\r\n', 'fortran_order': False, 'shape': (2,), }",
	} {
		_, err := readBytes(zipOf(t, zip.Store, map[string][]byte{"a.npy": npyBytes(dict, eight)}))
		if err == nil || strings.ContainsAny(err.Error(), "\n\r") {
			t.Errorf("%s: error %q, want one line", name, err)
		}
	}
}

// TestWriteRefusesNonRegular: Write replaces only a regular file. A link
// (renaming over it would replace the link, not its target), a FIFO or a
// folder at the path is refused and left as it was.
func TestWriteRefusesNonRegular(t *testing.T) {
	arrays := map[string]Array{"x": {Shape: []int{1}, Data: []float32{1}}}
	for _, c := range []struct {
		name string
		make func(t *testing.T, path string)
	}{
		{"link to a regular file", func(t *testing.T, path string) {
			target := filepath.Join(filepath.Dir(path), "victim")
			if err := os.WriteFile(target, []byte("keep"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink("victim", path); err != nil {
				t.Fatal(err)
			}
		}},
		{"FIFO", func(t *testing.T, path string) {
			if err := syscall.Mkfifo(path, 0o644); err != nil {
				t.Fatal(err)
			}
		}},
		{"folder", func(t *testing.T, path string) {
			if err := os.Mkdir(path, 0o755); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "out.npz")
			c.make(t, path)
			before, err := os.Lstat(path)
			if err != nil {
				t.Fatal(err)
			}
			err = Write(path, arrays)
			if err == nil || !strings.Contains(err.Error(), "not a regular file") {
				t.Errorf("Write: %v, want a refusal naming a non-regular file", err)
			}
			after, err := os.Lstat(path)
			if err != nil {
				t.Fatal(err)
			}
			if after.Mode() != before.Mode() {
				t.Errorf("%s was %v, is now %v", path, before.Mode(), after.Mode())
			}
		})
	}
}
