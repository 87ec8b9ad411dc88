package export_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/onnxtune/onnxtune/export"
	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/importer"
	"github.com/onnxtune/onnxtune/internal/ort"
	"github.com/onnxtune/onnxtune/internal/testmodels"
	"github.com/onnxtune/onnxtune/internal/testsafe"
)

// sample returns a sample model's bytes and its entry.
func sample(t *testing.T, file string) ([]byte, testmodels.Entry) {
	t.Helper()
	for _, e := range testmodels.Samples(t) {
		if e.File == file {
			b, err := os.ReadFile(e.Path())
			if err != nil {
				t.Fatal(err)
			}
			return b, e
		}
	}
	t.Fatalf("no sample model %s", file)
	return nil, testmodels.Entry{}
}

// hostile writes into dir a copy of the model b whose initializers keep
// their values in side files chosen by place, and loads it.
func hostile(t *testing.T, b []byte, dir, name string, place func(i int, name string) (testmodels.Ext, bool)) (string, *graph.Model) {
	t.Helper()
	i := -1
	b = testmodels.Externalize(t, b, dir, func(n string) (testmodels.Ext, bool) {
		i++
		return place(i, n)
	})
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := importer.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, m
}

// sameValues checks that the initializers of got hold the bytes of want's.
func sameValues(t *testing.T, got, want *graph.Model) {
	t.Helper()
	if len(got.Graph.Initializers) != len(want.Graph.Initializers) {
		t.Fatalf("%d initializers, want %d", len(got.Graph.Initializers), len(want.Graph.Initializers))
	}
	for i, w := range want.Graph.Initializers {
		if g := got.Graph.Initializers[i]; g.Name != w.Name || !bytes.Equal(g.Raw, w.Raw) {
			t.Errorf("initializer %q: values differ from the original's", w.Name)
		}
	}
}

// files lists a folder's entries with their contents (the type of those
// that are not regular files).
func files(t *testing.T, dir string) map[string]string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]string)
	for _, e := range ents {
		if !e.Type().IsRegular() { // never open a FIFO
			out[e.Name()] = e.Type().String()
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = string(b)
	}
	return out
}

func externalCount(m *graph.Model) (n int, bytes int64) {
	for _, t := range m.Graph.Initializers {
		if t.Storage == graph.StorageExternal {
			n++
			bytes += int64(len(t.Raw))
		}
	}
	return n, bytes
}

// TestWriteFileSideFile: whatever locations a model read had, WriteFile puts
// every external tensor into OUT.data, packed from offset 0, and creates or
// replaces nothing else in OUT's folder.
func TestWriteFileSideFile(t *testing.T) {
	lenet, e := sample(t, "lenet.onnx")
	orig, err := importer.Load(e.Path())
	if err != nil {
		t.Fatal(err)
	}
	big := int64(1) << 31
	cases := []struct {
		name  string
		place func(i int, name string) (testmodels.Ext, bool)
	}{
		{"location names a file beside OUT", func(int, string) (testmodels.Ext, bool) {
			return testmodels.Ext{Location: ".bashrc"}, true // offsets fixed below
		}},
		{"one file spelled two ways", func(i int, _ string) (testmodels.Ext, bool) {
			return testmodels.Ext{Location: [2]string{"./w.bin", "w.bin"}[i%2], Offset: int64(i) << 20}, true
		}},
		{"sparse offset of 2^31", func(i int, _ string) (testmodels.Ext, bool) {
			return testmodels.Ext{Location: "w.bin", Offset: big + int64(i)<<20}, true
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in, outDir := t.TempDir(), t.TempDir()
			place := c.place
			if c.name == "location names a file beside OUT" {
				place = func(i int, n string) (testmodels.Ext, bool) {
					x, ok := c.place(i, n)
					x.Offset = int64(i) << 20
					return x, ok
				}
			}
			_, m := hostile(t, lenet, in, "m.onnx", place)
			n, size := externalCount(m)
			if n == 0 {
				t.Fatal("no external tensor in the hostile model")
			}
			bystander := filepath.Join(outDir, ".bashrc")
			if err := os.WriteFile(bystander, []byte("precious\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			before := files(t, outDir)
			out := filepath.Join(outDir, "out.onnx")
			if err := export.WriteFile(out, m); err != nil {
				t.Fatal(err)
			}
			after := files(t, outDir)
			for name, content := range before {
				if after[name] != content {
					t.Errorf("%s was changed", name)
				}
			}
			var created []string
			for name := range after {
				if _, ok := before[name]; !ok {
					created = append(created, name)
				}
			}
			slices.Sort(created)
			if want := []string{"out.onnx", "out.onnx.data"}; !slices.Equal(created, want) {
				t.Errorf("created %q, want %q", created, want)
			}
			if export.SidePath(out, m) != out+".data" {
				t.Errorf("SidePath %q, want %q", export.SidePath(out, m), out+".data")
			}
			if got := int64(len(after["out.onnx.data"])); got != size {
				t.Errorf("side file has %d bytes, want the %d bytes of the external tensors", got, size)
			}
			back, err := importer.Load(out)
			if err != nil {
				t.Fatal(err)
			}
			sameValues(t, back, orig)
			for _, tn := range back.Graph.Initializers {
				if tn.Storage != graph.StorageExternal {
					continue
				}
				for _, p := range tn.External {
					if p.Key == "location" && p.Value != "out.onnx.data" {
						t.Errorf("initializer %q: location %q, want out.onnx.data", tn.Name, p.Value)
					}
				}
			}
		})
	}
}

// TestWriteFileBesideInput: a model written into the folder of a model with
// external data leaves that model's side file alone, and two models whose
// side files had one name written into one folder both read back.
func TestWriteFileBesideInput(t *testing.T) {
	lenet, _ := sample(t, "lenet.onnx")
	other, _ := sample(t, "mnist_lenet_0to4.onnx")
	at := func(i int, _ string) (testmodels.Ext, bool) {
		return testmodels.Ext{Location: "w.bin", Offset: int64(i) << 20}, true
	}

	t.Run("input's folder", func(t *testing.T) {
		dir := t.TempDir()
		path, m := hostile(t, lenet, dir, "m.onnx", at)
		orig, err := importer.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		side, err := os.ReadFile(filepath.Join(dir, "w.bin"))
		if err != nil {
			t.Fatal(err)
		}
		// What training does: new values for a weight.
		w := m.Graph.Initializers[0]
		w.Raw = bytes.Repeat([]byte{0x3f}, len(w.Raw))
		if err := export.WriteFile(filepath.Join(dir, "tuned.onnx"), m); err != nil {
			t.Fatal(err)
		}
		now, err := os.ReadFile(filepath.Join(dir, "w.bin"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(now, side) {
			t.Errorf("the input's side file w.bin was changed")
		}
		again, err := importer.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		sameValues(t, again, orig)
	})

	t.Run("two models, one folder", func(t *testing.T) {
		inA, inB, out := t.TempDir(), t.TempDir(), t.TempDir()
		_, a := hostile(t, lenet, inA, "a.onnx", at)
		_, b := hostile(t, other, inB, "b.onnx", at)
		if err := export.WriteFile(filepath.Join(out, "a.onnx"), a); err != nil {
			t.Fatal(err)
		}
		if err := export.WriteFile(filepath.Join(out, "b.onnx"), b); err != nil {
			t.Fatal(err)
		}
		for name, want := range map[string]*graph.Model{"a.onnx": a, "b.onnx": b} {
			back, err := importer.Load(filepath.Join(out, name))
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			sameValues(t, back, want)
		}
	})
}

// TestWriteFileRunsInORT: the model written with its side file runs in ONNX
// Runtime bit-identically to the original model.
func TestWriteFileRunsInORT(t *testing.T) {
	lenet, e := sample(t, "lenet.onnx")
	_, m := hostile(t, lenet, t.TempDir(), "m.onnx", func(i int, _ string) (testmodels.Ext, bool) {
		return testmodels.Ext{Location: [2]string{"./w.bin", "w.bin"}[i%2], Offset: int64(i) << 20}, true
	})
	out := filepath.Join(t.TempDir(), "out.onnx")
	if err := export.WriteFile(out, m); err != nil {
		t.Fatal(err)
	}
	in, _ := e.ExpectedIO(t)
	got, err := ort.RunFile(out, []ort.Tensor{in}, 1)
	if err != nil {
		t.Fatalf("onnxruntime: %v", err)
	}
	y, ok := got[0].Data.([]float32)
	if !ok {
		t.Fatalf("onnxruntime output is %T", got[0].Data)
	}
	if want := runORT(t, lenet, in); !bitsEqual(y, want) {
		t.Errorf("onnxruntime outputs of the written model differ from the original's")
	}
}

// TestWriteFileNotRegular: WriteFile replaces only regular files: a FIFO,
// a device or a folder at OUT or at its side file is an error and is left
// as it was, and nothing is written.
func TestWriteFileNotRegular(t *testing.T) {
	lenet, _ := sample(t, "lenet.onnx")
	_, ext := hostile(t, lenet, t.TempDir(), "m.onnx", func(i int, _ string) (testmodels.Ext, bool) {
		return testmodels.Ext{Location: "w.bin", Offset: int64(i) << 20}, true
	})
	plain, err := importer.Load(filepath.Join("..", "models", "lenet.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	fifo := func(t *testing.T, path string) {
		if err := syscall.Mkfifo(path, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A character device like /dev/null, made in the test's folder; without
	// the right to make one, /dev/null itself (which such a user cannot
	// replace either).
	device := func(t *testing.T, path string) string {
		if err := syscall.Mknod(path, syscall.S_IFCHR|0o666, 1<<8|3); err != nil {
			if !errors.Is(err, syscall.EPERM) {
				t.Fatal(err)
			}
			return "/dev/null"
		}
		return path
	}
	cases := []struct {
		name string
		m    *graph.Model
		// make creates the obstacle for OUT dir/out.onnx and returns the
		// path that must keep its kind.
		make func(t *testing.T, dir string) (out, obstacle string)
	}{
		{"OUT is a FIFO", plain, func(t *testing.T, dir string) (string, string) {
			p := filepath.Join(dir, "out.onnx")
			fifo(t, p)
			return p, p
		}},
		{"side file is a FIFO", ext, func(t *testing.T, dir string) (string, string) {
			p := filepath.Join(dir, "out.onnx")
			fifo(t, p+".data")
			return p, p + ".data"
		}},
		{"OUT is a device", plain, func(t *testing.T, dir string) (string, string) {
			p := device(t, filepath.Join(dir, "out.onnx"))
			return p, p
		}},
		{"OUT is a folder", plain, func(t *testing.T, dir string) (string, string) {
			p := filepath.Join(dir, "out.onnx")
			if err := os.Mkdir(p, 0o755); err != nil {
				t.Fatal(err)
			}
			return p, p
		}},
		{"OUT is a link to a regular file", plain, func(t *testing.T, dir string) (string, string) {
			p := filepath.Join(dir, "out.onnx")
			if err := os.WriteFile(filepath.Join(dir, "victim"), []byte("keep"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink("victim", p); err != nil {
				t.Fatal(err)
			}
			return p, p
		}},
		{"side file is a link to a regular file", ext, func(t *testing.T, dir string) (string, string) {
			p := filepath.Join(dir, "out.onnx")
			if err := os.WriteFile(filepath.Join(dir, "victim"), []byte("keep"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink("victim", p+".data"); err != nil {
				t.Fatal(err)
			}
			return p, p + ".data"
		}},
		{"OUT is a link to a FIFO", plain, func(t *testing.T, dir string) (string, string) {
			p := filepath.Join(dir, "out.onnx")
			fifo(t, filepath.Join(dir, "pipe"))
			if err := os.Symlink("pipe", p); err != nil {
				t.Fatal(err)
			}
			return p, filepath.Join(dir, "pipe")
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			out, obstacle := c.make(t, dir)
			st, err := os.Lstat(obstacle)
			if err != nil {
				t.Fatal(err)
			}
			before := len(files(t, dir))
			err = export.WriteFile(out, c.m)
			if err == nil || !errors.Is(err, export.ErrModel) {
				t.Errorf("err %v, want an export error", err)
			}
			if err != nil && !bytes.Contains([]byte(err.Error()), []byte("not a regular file")) {
				t.Errorf("err %q does not say the file is not a regular file", err)
			}
			now, err := os.Lstat(obstacle)
			if err != nil {
				t.Fatal(err)
			}
			if now.Mode() != st.Mode() {
				t.Errorf("%s was %v, is now %v", obstacle, st.Mode(), now.Mode())
			}
			if n := len(files(t, dir)); n != before {
				t.Errorf("%d files in the folder after a refused write, %d before", n, before)
			}
		})
	}
}

// TestWriteFileKeepsModel: WriteFile does not change the model it writes.
func TestWriteFileKeepsModel(t *testing.T) {
	lenet, _ := sample(t, "lenet.onnx")
	_, m := hostile(t, lenet, t.TempDir(), "m.onnx", func(i int, _ string) (testmodels.Ext, bool) {
		return testmodels.Ext{Location: "w.bin", Offset: int64(i) << 20}, true
	})
	var before [][]graph.StringPair
	for _, tn := range m.Graph.Initializers {
		before = append(before, slices.Clone(tn.External))
	}
	if err := export.WriteFile(filepath.Join(t.TempDir(), "out.onnx"), m); err != nil {
		t.Fatal(err)
	}
	for i, tn := range m.Graph.Initializers {
		if !reflect.DeepEqual(tn.External, before[i]) {
			t.Errorf("initializer %q: external entries changed from %v to %v", tn.Name, before[i], tn.External)
		}
	}
}

// TestNilModel: Encode, Write and WriteFile refuse a nil model with an
// error wrapping ErrModel, not a nil-pointer panic.
func TestNilModel(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out.onnx")
	for name, f := range map[string]func() error{
		"Encode":    func() error { _, err := export.Encode(nil); return err },
		"Write":     func() error { return export.Write(io.Discard, nil) },
		"WriteFile": func() error { return export.WriteFile(out, nil) },
	} {
		t.Run(name, func(t *testing.T) {
			err := testsafe.Call(t, f)
			if !errors.Is(err, export.ErrModel) {
				t.Errorf("error %v, want one wrapping ErrModel", err)
			}
		})
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("WriteFile of a nil model left %s: %v", out, err)
	}
}

// TestEncodeChecksEntries: a nil node, initializer, graph input or output,
// or a tensor whose values do not fill its dims, in a model changed by
// hand is an error wrapping ErrModel that names the entry, not a nil-pointer
// panic or a file ONNX Runtime refuses.
func TestEncodeChecksEntries(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(g *graph.Graph)
		want string
	}{
		{"nil initializer", func(g *graph.Graph) { g.Initializers = append(g.Initializers, nil) }, "initializer 10 is nil"},
		{"nil node", func(g *graph.Graph) { g.Nodes = append(g.Nodes[:1:1], append([]*graph.Node{nil}, g.Nodes[1:]...)...) }, "node 1 is nil"},
		{"nil input", func(g *graph.Graph) { g.Inputs = append(g.Inputs, nil) }, "input 1 is nil"},
		{"nil output", func(g *graph.Graph) { g.Outputs = append([]*graph.ValueInfo{nil}, g.Outputs...) }, "output 0 is nil"},
		// ONNX Runtime refuses a tensor whose values do not fill its dims,
		// and the importer would not read the file back.
		{"short initializer", func(g *graph.Graph) { w := g.Initializers[0]; w.Raw = w.Raw[:len(w.Raw)-4] }, "bytes of values for float32"},
		{"initializer of unknown type", func(g *graph.Graph) { g.Initializers[1].DType = 99 }, "data type dtype(99) is not an ONNX tensor type"},
		{"initializer of negative dims", func(g *graph.Graph) { g.Initializers[1].Dims = []int64{-1} }, "negative dim"},
		{"short constant", func(g *graph.Graph) {
			g.Nodes = append(g.Nodes, &graph.Node{Name: "c", OpType: "Constant", Outputs: []string{"c_out"}, Attrs: []*graph.Attribute{
				{Name: "value", Type: graph.AttrTensor, T: &graph.Tensor{Name: "v", DType: graph.Int64, Dims: []int64{2}, Raw: make([]byte, 8)}}}})
		}, `node "c" (Constant): attribute "value": 8 bytes of values for int64[2], which needs 16`},
		{"strings short of dims", func(g *graph.Graph) {
			g.Nodes = append(g.Nodes, &graph.Node{Name: "s", OpType: "Constant", Outputs: []string{"s_out"}, Attrs: []*graph.Attribute{
				{Name: "value", Type: graph.AttrTensor, T: &graph.Tensor{Name: "v", DType: graph.String, Dims: []int64{3}, Strings: [][]byte{[]byte("a")}}}}})
		}, "1 strings for dims [3], which need 3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := importer.Load(filepath.Join("..", "models", "lenet.onnx"))
			if err != nil {
				t.Fatal(err)
			}
			tc.edit(m.Graph)
			var b []byte
			err = testsafe.Call(t, func() (err error) { b, err = export.Encode(m); return err })
			if !errors.Is(err, export.ErrModel) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Encode: error %v (%d bytes), want one wrapping ErrModel saying %q", err, len(b), tc.want)
			}
		})
	}
}

// TestSidePathNilModel: a nil model has no side file ("", as one without
// a graph), not a nil-pointer panic.
func TestSidePathNilModel(t *testing.T) {
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("panic: %v", r)
		}
	}()
	if got := export.SidePath("out.onnx", nil); got != "" {
		t.Errorf("SidePath of a nil model = %q, want \"\"", got)
	}
}
