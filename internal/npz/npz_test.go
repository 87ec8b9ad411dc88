package npz

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/onnxtune/onnxtune/graph"
)

// The numpy fixtures come from testdata/make.py; nothing expected here is
// typed by hand.

type meta struct {
	Dtype string            `json:"dtype"`
	Shape []int             `json:"shape"`
	Data  []json.RawMessage `json:"data"`
}

func loadMeta(t *testing.T) map[string]meta {
	t.Helper()
	raw, err := os.ReadFile("testdata/numpy.json")
	if err != nil {
		t.Fatalf("%v (regenerate with /usr/bin/python3 internal/npz/testdata/make.py)", err)
	}
	var m map[string]meta
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// want converts the JSON description of a numpy array to the Array that
// Read must return.
func want(t *testing.T, m meta) Array {
	t.Helper()
	dec := func(i int, v any) {
		if err := json.Unmarshal(m.Data[i], v); err != nil {
			t.Fatal(err)
		}
	}
	n := len(m.Data)
	var data any
	switch m.Dtype {
	case "float32":
		d := make([]float32, n)
		for i := range d {
			var f float64
			dec(i, &f)
			d[i] = float32(f)
		}
		data = d
	case "float64":
		d := make([]float64, n)
		for i := range d {
			dec(i, &d[i])
		}
		data = d
	case "int64":
		d := make([]int64, n)
		for i := range d {
			dec(i, &d[i])
		}
		data = d
	case "int32":
		d := make([]int32, n)
		for i := range d {
			dec(i, &d[i])
		}
		data = d
	case "int8":
		d := make([]int8, n)
		for i := range d {
			dec(i, &d[i])
		}
		data = d
	case "uint8":
		d := make([]uint8, n)
		for i := range d {
			dec(i, &d[i])
		}
		data = d
	case "bool":
		d := make([]bool, n)
		for i := range d {
			dec(i, &d[i])
		}
		data = d
	default:
		t.Fatalf("fixture dtype %s", m.Dtype)
	}
	return Array{Shape: append([]int{}, m.Shape...), Data: data}
}

func TestReadNumpy(t *testing.T) {
	metas := loadMeta(t)
	for _, file := range []string{"testdata/numpy.npz", "testdata/numpy_compressed.npz"} {
		t.Run(filepath.Base(file), func(t *testing.T) {
			got, err := Read(file)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(metas) {
				t.Errorf("read %d arrays, want %d", len(got), len(metas))
			}
			for name, m := range metas {
				g, ok := got[name]
				if !ok {
					t.Errorf("array %q missing", name)
					continue
				}
				if w := want(t, m); !reflect.DeepEqual(g, w) {
					t.Errorf("array %q = %+v, want %+v", name, g, w)
				}
			}
		})
	}
}

// TestWriteMatchesNumpy checks that Encode writes each member byte for byte
// as numpy.savez does (header padding included), the big-endian array aside.
func TestWriteMatchesNumpy(t *testing.T) {
	arrays, err := Read("testdata/numpy.npz")
	if err != nil {
		t.Fatal(err)
	}
	delete(arrays, "big_endian")
	var buf bytes.Buffer
	if err := Encode(&buf, arrays); err != nil {
		t.Fatal(err)
	}
	ours := members(t, buf.Bytes())
	theirs := members(t, readFile(t, "testdata/numpy.npz"))
	for name := range arrays {
		o, th := ours[name+".npy"], theirs[name+".npy"]
		if !bytes.Equal(o, th) {
			t.Errorf("member %s.npy differs from numpy's:\n ours   %q\n numpy  %q", name, trim(o), trim(th))
		}
	}
}

func trim(b []byte) []byte {
	if len(b) > 160 {
		return b[:160]
	}
	return b
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func members(t *testing.T, archive []byte) map[string][]byte {
	t.Helper()
	z, err := zip.NewReader(bytes.NewReader(archive), int64(len(archive)))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string][]byte{}
	for _, f := range z.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		m[f.Name] = b
	}
	return m
}

func TestRoundTrip(t *testing.T) {
	arrays := map[string]Array{
		"f32":                 {Shape: []int{2, 3}, Data: []float32{1, -2, 3.5, float32(math.Inf(1)), float32(math.SmallestNonzeroFloat32), -0}},
		"f64":                 {Shape: []int{1, 1, 2}, Data: []float64{math.Pi, -math.MaxFloat64}},
		"i64":                 {Shape: []int{3}, Data: []int64{math.MinInt64, 0, math.MaxInt64}},
		"i32":                 {Shape: []int{2, 1}, Data: []int32{math.MinInt32, math.MaxInt32}},
		"i8":                  {Shape: []int{2}, Data: []int8{-128, 127}},
		"u8":                  {Shape: []int{4}, Data: []uint8{0, 1, 254, 255}},
		"bool":                {Shape: []int{2, 2}, Data: []bool{true, false, false, true}},
		"scalar":              {Shape: []int{}, Data: []float64{42}},
		"empty":               {Shape: []int{0, 5}, Data: []int64{}},
		"fc.weight/with.dots": {Shape: []int{2, 2}, Data: []float32{1, 2, 3, 4}},
		"long_shape":          {Shape: []int{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2}, Data: []int32{7, 8}},
		"f16":                 {Shape: []int{2, 2}, Data: []graph.F16{0x3c00, 0x8001, 0x7bff, 0xfc00}},
	}
	path := filepath.Join(t.TempDir(), "round.npz")
	if err := Write(path, arrays); err != nil {
		t.Fatal(err)
	}
	got, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, arrays) {
		t.Fatalf("round trip:\n got  %+v\n want %+v", got, arrays)
	}
	// NaN does not compare equal: check its bits.
	nan := map[string]Array{"nan": {Shape: []int{1}, Data: []float32{float32(math.NaN())}}}
	if err := Write(path, nan); err != nil {
		t.Fatal(err)
	}
	got, err = Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if v := got["nan"].Data.([]float32)[0]; math.Float32bits(v) != math.Float32bits(float32(math.NaN())) {
		t.Errorf("NaN read back as %v", v)
	}
	if len(got) != 1 {
		t.Errorf("Write did not replace the file: %d arrays", len(got))
	}
}

func TestWriteDeterministic(t *testing.T) {
	arrays := map[string]Array{
		"b": {Shape: []int{2}, Data: []float32{1, 2}},
		"a": {Shape: []int{1}, Data: []int64{3}},
	}
	var x, y bytes.Buffer
	if err := Encode(&x, arrays); err != nil {
		t.Fatal(err)
	}
	if err := Encode(&y, arrays); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(x.Bytes(), y.Bytes()) {
		t.Error("two encodings of the same arrays differ")
	}
}

func TestLargeArray(t *testing.T) {
	const n = 1 << 20
	d := make([]float32, n)
	for i := range d {
		d[i] = float32(i) * 0.5
	}
	path := filepath.Join(t.TempDir(), "large.npz")
	if err := Write(path, map[string]Array{"w": {Shape: []int{1024, 1024}, Data: d}}); err != nil {
		t.Fatal(err)
	}
	got, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got["w"].Data, d) {
		t.Error("large array differs after a round trip")
	}
}

func TestWriteErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keep.npz")
	if err := Write(path, map[string]Array{"a": {Shape: []int{1}, Data: []float32{1}}}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		arrays map[string]Array
		want   string
	}{
		{"length", map[string]Array{"a": {Shape: []int{2, 2}, Data: []float32{1}}}, "needs 4 elements"},
		{"type", map[string]Array{"a": {Shape: []int{1}, Data: []uint16{1}}}, "unsupported data type"},
		{"nil", map[string]Array{"a": {Shape: []int{0}}}, "unsupported data type"},
		{"negative", map[string]Array{"a": {Shape: []int{-1}, Data: []float32{}}}, "negative dimension"},
		{"overflow", map[string]Array{"a": {Shape: []int{1 << 40, 1 << 40}, Data: []float32{}}}, "too large"},
		{"name", map[string]Array{"": {Shape: []int{1}, Data: []float32{1}}}, "empty array name"},
	}
	for _, tc := range tests {
		err := Write(path, tc.arrays)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
	if err := Write(filepath.Join(dir, "no", "such", "dir.npz"), nil); err == nil {
		t.Error("Write into a missing folder succeeded")
	}
	got, err := Read(path)
	if err != nil || len(got) != 1 {
		t.Errorf("failed writes changed the file: %v, %v", got, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("failed writes left files behind: %v", entries)
	}
}

// npyBytes builds a .npy member with the given header dictionary (padded
// as numpy pads it) and data.
func npyBytes(dict string, data []byte) []byte {
	b := []byte("\x93NUMPY\x01\x00")
	h := dict + strings.Repeat(" ", pad(10+len(dict)+1, 64)) + "\n"
	b = binary.LittleEndian.AppendUint16(b, uint16(len(h)))
	b = append(b, h...)
	return append(b, data...)
}

func zipOf(t testing.TB, method uint16, members map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	z := zip.NewWriter(&buf)
	for name, b := range members {
		w, err := z.CreateHeader(&zip.FileHeader{Name: name, Method: method})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func readBytes(b []byte) (map[string]Array, error) {
	return ReadReader(bytes.NewReader(b), int64(len(b)))
}

func TestReadRejects(t *testing.T) {
	f4 := func(shape string) string {
		return "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }"
	}
	eight := make([]byte, 8)
	good := npyBytes(f4("(2,)"), eight)
	v2 := append([]byte("\x93NUMPY\x02\x00"), 0xff, 0xff, 0xff, 0x7f)
	tests := []struct {
		name    string
		members map[string][]byte
		want    string
	}{
		{"fortran", map[string][]byte{"a.npy": npyBytes("{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }", eight)}, "Fortran order"},
		{"uint16", map[string][]byte{"a.npy": npyBytes("{'descr': '<u2', 'fortran_order': False, 'shape': (4,), }", eight)}, "unsupported element type"},
		{"short float16", map[string][]byte{"a.npy": npyBytes("{'descr': '<f2', 'fortran_order': False, 'shape': (5,), }", eight)}, "needs 10 bytes"},
		{"object", map[string][]byte{"a.npy": npyBytes("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", eight)}, "unsupported element type"},
		{"structured", map[string][]byte{"a.npy": npyBytes("{'descr': [('x', '<f4')], 'fortran_order': False, 'shape': (2,), }", eight)}, "unsupported element type"},
		{"short data", map[string][]byte{"a.npy": npyBytes(f4("(3,)"), eight)}, "needs 12 bytes"},
		{"extra data", map[string][]byte{"a.npy": npyBytes(f4("(1,)"), eight)}, "bytes after the data"},
		{"huge shape", map[string][]byte{"a.npy": npyBytes(f4("(1000000000000,)"), eight)}, "needs 4000000000000 bytes"},
		{"overflow shape", map[string][]byte{"a.npy": npyBytes(f4("(4611686018427387904, 4)"), eight)}, "too large"},
		{"negative shape", map[string][]byte{"a.npy": npyBytes(f4("(-2,)"), eight)}, "negative dimension"},
		{"bad shape", map[string][]byte{"a.npy": npyBytes(f4("(x,)"), eight)}, "bad .npy header"},
		{"no newline", map[string][]byte{"a.npy": append([]byte("\x93NUMPY\x01\x00\x04\x00abcd"), eight...)}, "malformed"},
		{"no dict", map[string][]byte{"a.npy": npyBytes("{}", eight)}, "bad .npy header"},
		{"garbled dict", map[string][]byte{"a.npy": npyBytes("{'shape': (2,), 'fortran_order': False, 'descr': '<f4', }", eight)}, ""},
		{"bad magic", map[string][]byte{"a.npy": append([]byte("\x93NUMPZ\x01\x00"), good[8:]...)}, "bad magic"},
		{"version", map[string][]byte{"a.npy": append([]byte("\x93NUMPY\x09\x00"), good[8:]...)}, "format version"},
		{"huge header", map[string][]byte{"a.npy": append(v2, eight...)}, "header of"},
		{"tiny member", map[string][]byte{"a.npy": []byte("\x93NU")}, "not a .npy"},
		{"not npy name", map[string][]byte{"a.txt": good}, "not a .npy array"},
	}
	for _, tc := range tests {
		for _, method := range []uint16{zip.Store, zip.Deflate} {
			_, err := readBytes(zipOf(t, method, tc.members))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s (method %d): error %v, want one containing %q", tc.name, method, err, tc.want)
			}
		}
	}

	// The numpy fixtures that must be rejected.
	for file, msg := range map[string]string{"testdata/fortran.npz": "Fortran order", "testdata/complex.npz": "unsupported element type"} {
		_, err := Read(file)
		if err == nil || !strings.Contains(err.Error(), msg) || !strings.Contains(err.Error(), file) {
			t.Errorf("Read(%s) error %v, want one containing %q and the file name", file, err, msg)
		}
	}
}

func TestReadDamaged(t *testing.T) {
	orig := readFile(t, "testdata/numpy.npz")
	if _, err := Read(filepath.Join(t.TempDir(), "missing.npz")); err == nil {
		t.Error("Read of a missing file succeeded")
	}
	if _, err := readBytes([]byte("not a zip file at all")); err == nil {
		t.Error("Read of garbage succeeded")
	}
	for _, n := range []int{0, 10, len(orig) / 2, len(orig) - 1} {
		if _, err := readBytes(orig[:n]); err == nil {
			t.Errorf("Read of the first %d bytes succeeded", n)
		}
	}
	// Flip a byte inside the first member's data: the CRC must catch it.
	b := append([]byte{}, orig...)
	i := bytes.Index(b, []byte("}")) + 80
	b[i] ^= 0xff
	if _, err := readBytes(b); err == nil {
		t.Error("Read of a corrupted member succeeded")
	}
	// Flipping any single byte must give an error or a result, never a panic.
	for i := range orig {
		b := append([]byte{}, orig...)
		b[i] ^= 0x5a
		_, _ = readBytes(b)
	}
}

func FuzzRead(f *testing.F) {
	for _, file := range []string{"testdata/numpy.npz", "testdata/numpy_compressed.npz", "testdata/fortran.npz"} {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := readBytes(b)
		if err != nil {
			return
		}
		// What was read must be consistent and encode again.
		for k, a := range m {
			_, length, err := dtypeOf(a.Data)
			if err != nil {
				t.Fatalf("%s: %v", k, err)
			}
			if n, err := elements(a.Shape, 8); err != nil || n != length {
				t.Fatalf("%s: shape %v with %d elements", k, a.Shape, length)
			}
		}
		if err := Encode(io.Discard, m); err != nil {
			t.Fatal(err)
		}
	})
}

// numpy's float16 arrays read as their bits, in either byte order, and
// write back as numpy writes them.
func TestReadFloat16(t *testing.T) {
	raw, err := os.ReadFile("testdata/half.json")
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]struct {
		Shape []int    `json:"shape"`
		Bits  []uint16 `json:"bits"`
	}
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	got, err := Read("testdata/half.npz")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("read %d arrays, want %d", len(got), len(want))
	}
	for name, w := range want {
		a := got[name]
		h, ok := a.Data.([]graph.F16)
		if !ok {
			t.Fatalf("%s: data %T, want []graph.F16", name, a.Data)
		}
		bits := make([]uint16, len(h))
		for i, v := range h {
			bits[i] = uint16(v)
		}
		if !slices.Equal(a.Shape, w.Shape) || !slices.Equal(bits, w.Bits) {
			t.Errorf("%s: shape %v bits %v, want %v %v", name, a.Shape, bits, w.Shape, w.Bits)
		}
	}
	// Values: the codec's widening of numpy's bits.
	if v := got["h"].Data.([]graph.F16); v[3].Float32() != -2.5 || v[4].Float32() != 65504 || v[6].Float32() != 5.9604645e-08 {
		t.Errorf("h widens to %v %v %v, want -2.5 65504 5.9604645e-08", v[3].Float32(), v[4].Float32(), v[6].Float32())
	}
	ones, err := Read("testdata/float16.npz")
	if err != nil {
		t.Fatal(err)
	}
	if h := ones["h"].Data.([]graph.F16); len(h) != 2 || h[0] != 0x3c00 || h[1] != 0x3c00 {
		t.Errorf("float16.npz: %v, want two ones (0x3c00)", h)
	}
	// Written as numpy writes the little-endian arrays.
	delete(got, "h_be")
	var buf bytes.Buffer
	if err := Encode(&buf, got); err != nil {
		t.Fatal(err)
	}
	ours, theirs := members(t, buf.Bytes()), members(t, readFile(t, "testdata/half.npz"))
	for name := range got {
		if !bytes.Equal(ours[name+".npy"], theirs[name+".npy"]) {
			t.Errorf("member %s.npy differs from numpy's:\n ours   %q\n numpy  %q", name, trim(ours[name+".npy"]), trim(theirs[name+".npy"]))
		}
	}
}
