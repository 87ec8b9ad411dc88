package importer_test

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onnxtune/onnxtune/export"
	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/importer"
	pb "github.com/onnxtune/onnxtune/internal/onnxpb"
)

func f32Type(dims ...any) *graph.Type {
	s := &graph.Shape{}
	for _, d := range dims {
		switch v := d.(type) {
		case int:
			s.Dims = append(s.Dims, graph.Dim{Value: int64(v), HasValue: true})
		case string:
			s.Dims = append(s.Dims, graph.Dim{Param: v, HasParam: true})
		}
	}
	return &graph.Type{Kind: graph.TypeTensor, Elem: graph.Float32, Shape: s}
}

// addModel is y = x + w with w an initializer of 4 floats.
func addModel() *graph.Model {
	w, _ := graph.NewFloat32("w", []int64{4}, []float32{1, 2, 3, 4})
	return &graph.Model{
		IRVersion: 8,
		Opsets:    []graph.Opset{{Version: 13}},
		Graph: &graph.Graph{
			Name:         "g",
			Nodes:        []*graph.Node{{Name: "add", OpType: "Add", Inputs: []string{"x", "w"}, Outputs: []string{"y"}}},
			Initializers: []*graph.Tensor{w},
			Inputs:       []*graph.ValueInfo{{Name: "x", Type: f32Type("batch", 4)}},
			Outputs:      []*graph.ValueInfo{{Name: "y", Type: f32Type("batch", 4)}},
		},
	}
}

func encode(t *testing.T, m *graph.Model) []byte {
	t.Helper()
	b, err := export.Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// encodeInit encodes m with its first initializer changed by bad, as
// export would not write it (its values must fill its dims).
func encodeInit(t *testing.T, m *graph.Model, bad func(p *pb.TensorProto)) []byte {
	t.Helper()
	var p pb.ModelProto
	if err := p.Unmarshal(encode(t, m)); err != nil {
		t.Fatal(err)
	}
	bad(p.Graph.Initializer[0])
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeRejects(t *testing.T) {
	lenet, err := os.ReadFile(filepath.Join("..", "models", "lenet.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		bytes  func(t *testing.T) []byte
		is     error
		substr string
	}{
		{"empty", func(*testing.T) []byte { return nil }, importer.ErrEmpty, "empty"},
		{"truncated", func(*testing.T) []byte { return lenet[:len(lenet)/2] }, importer.ErrFormat, "truncated"},
		{"truncated in header", func(*testing.T) []byte { return lenet[:7] }, importer.ErrFormat, ""},
		{"random bytes", func(*testing.T) []byte {
			b := make([]byte, 4096)
			x := uint32(12345)
			for i := range b {
				x = x*1664525 + 1013904223
				b[i] = byte(x >> 24)
			}
			return b
		}, importer.ErrFormat, ""},
		{"no graph", func(t *testing.T) []byte {
			m := addModel()
			p := pb.ModelProto{IrVersion: &m.IRVersion}
			b, _ := p.Marshal()
			return b
		}, nil, "no graph"},
		{"dangling input", func(t *testing.T) []byte {
			m := addModel()
			m.Graph.Nodes[0].Inputs[1] = "nowhere"
			return encode(t, m)
		}, importer.ErrGraph, `input 1 "nowhere"`},
		{"duplicate output", func(t *testing.T) []byte {
			m := addModel()
			n := *m.Graph.Nodes[0]
			n.Name = "add2"
			m.Graph.Nodes = append(m.Graph.Nodes, &n)
			return encode(t, m)
		}, importer.ErrGraph, "defined twice"},
		{"output shadows initializer", func(t *testing.T) []byte {
			m := addModel()
			m.Graph.Nodes[0].Outputs[0] = "w"
			return encode(t, m)
		}, importer.ErrGraph, "defined twice"},
		{"cycle", func(t *testing.T) []byte {
			m := addModel()
			m.Graph.Nodes = []*graph.Node{
				{Name: "a", OpType: "Add", Inputs: []string{"x", "b_out"}, Outputs: []string{"a_out"}},
				{Name: "b", OpType: "Relu", Inputs: []string{"a_out"}, Outputs: []string{"b_out"}},
				{Name: "c", OpType: "Relu", Inputs: []string{"a_out"}, Outputs: []string{"y"}},
			}
			return encode(t, m)
		}, importer.ErrGraph, "cycle"},
		// ONNX Runtime refuses such a node ("Attribute 'strides' appeared
		// multiple times"); read, one of the two values would be used
		// and both written back.
		{"duplicate attribute", func(t *testing.T) []byte {
			m := addModel()
			m.Graph.Nodes[0].Attrs = []*graph.Attribute{{Name: "k", Type: graph.AttrInt, I: 1}, {Name: "k", Type: graph.AttrInt, I: 0}}
			return encode(t, m)
		}, importer.ErrGraph, `attribute "k" appears twice`},
		{"graph output not computed", func(t *testing.T) []byte {
			m := addModel()
			m.Graph.Outputs[0].Name = "z"
			return encode(t, m)
		}, importer.ErrGraph, `"z"`},
		{"raw_data of the wrong size", func(t *testing.T) []byte {
			m := addModel()
			return encodeInit(t, m, func(p *pb.TensorProto) { p.RawData = p.RawData[:12] })
		}, importer.ErrTensor, "raw_data has 12 bytes"},
		{"negative dim", func(t *testing.T) []byte {
			m := addModel()
			return encodeInit(t, m, func(p *pb.TensorProto) { p.Dims = []int64{-4} })
		}, importer.ErrTensor, "negative"},
		{"overflowing dims", func(t *testing.T) []byte {
			m := addModel()
			return encodeInit(t, m, func(p *pb.TensorProto) { p.Dims = []int64{math.MaxInt64 / 2, 4} })
		}, importer.ErrTensor, "2^63"},
		{"huge dims, few bytes", func(t *testing.T) []byte {
			m := addModel()
			return encodeInit(t, m, func(p *pb.TensorProto) { p.Dims = []int64{1 << 40} })
		}, importer.ErrTensor, "needs 4398046511104"},
		{"unknown tensor type", func(t *testing.T) []byte {
			m := addModel()
			dt := int32(99)
			return encodeInit(t, m, func(p *pb.TensorProto) { p.DataType = &dt })
		}, importer.ErrTensor, "unknown data type 99"},
		{"unknown input type", func(t *testing.T) []byte {
			m := addModel()
			m.Graph.Inputs[0].Type.Elem = 77
			return encode(t, m)
		}, nil, "unknown element type 77"},
		{"no ai.onnx opset", func(t *testing.T) []byte {
			m := addModel()
			m.Opsets = []graph.Opset{{Domain: "com.example", Version: 1}}
			return encode(t, m)
		}, importer.ErrGraph, "no ai.onnx opset"},
		{"deep nesting", func(t *testing.T) []byte { return nested(500) }, importer.ErrFormat, "nest deeper"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := importer.Decode(c.bytes(t), importer.Options{})
			if err == nil {
				t.Fatalf("decoded without error: %d nodes", len(m.Graph.Nodes))
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("error %q is not %v", err, c.is)
			}
			if !strings.Contains(err.Error(), c.substr) {
				t.Errorf("error %q does not mention %q", err, c.substr)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
		})
	}
}

// nested builds a model whose graph holds a node whose attribute holds a
// graph, depth times over, directly in protobuf.
func nested(depth int) []byte {
	g := &pb.GraphProto{}
	for i := 0; i < depth; i++ {
		typ := pb.AttributeProto_GRAPH
		name, op := "body", "If"
		g = &pb.GraphProto{Node: []*pb.NodeProto{{OpType: &op, Attribute: []*pb.AttributeProto{{Name: &name, Type: &typ, G: g}}}}}
	}
	v := int64(8)
	p := pb.ModelProto{IrVersion: &v, Graph: g}
	b, _ := p.Marshal()
	return b
}

func TestTypedStorage(t *testing.T) {
	// Values in float_data and, for float16, int32_data come back as raw
	// values and are written back to the same typed field.
	cases := []struct {
		name string
		p    *pb.TensorProto
		raw  []byte
	}{
		{"float_data", &pb.TensorProto{Dims: []int64{2}, DataType: i32(1), FloatData: []float32{1, -2}},
			[]byte{0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0}},
		{"int64_data", &pb.TensorProto{Dims: []int64{1}, DataType: i32(7), Int64Data: []int64{-1}},
			bytes.Repeat([]byte{0xff}, 8)},
		{"float16 in int32_data", &pb.TensorProto{Dims: []int64{1}, DataType: i32(10), Int32Data: []int32{0x3c00}},
			[]byte{0x00, 0x3c}},
		{"bfloat16 in int32_data", &pb.TensorProto{Dims: []int64{1}, DataType: i32(16), Int32Data: []int32{0x3f80}},
			[]byte{0x80, 0x3f}},
		{"int8 in int32_data", &pb.TensorProto{Dims: []int64{2}, DataType: i32(3), Int32Data: []int32{-1, 5}},
			[]byte{0xff, 5}},
		{"bool in int32_data", &pb.TensorProto{Dims: []int64{2}, DataType: i32(9), Int32Data: []int32{1, 0}},
			[]byte{1, 0}},
		{"double_data", &pb.TensorProto{Dims: []int64{1}, DataType: i32(11), DoubleData: []float64{1}},
			[]byte{0, 0, 0, 0, 0, 0, 0xf0, 0x3f}},
		{"uint64_data for uint32", &pb.TensorProto{Dims: []int64{1}, DataType: i32(12), Uint64Data: []uint64{7}},
			[]byte{7, 0, 0, 0}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			name := "c"
			c.p.Name = &name
			b := constantModel(t, c.p)
			m, err := importer.Decode(b, importer.Options{})
			if err != nil {
				t.Fatal(err)
			}
			got := m.Graph.Initializers[0]
			if got.Storage != graph.StorageTyped || !bytes.Equal(got.Raw, c.raw) {
				t.Errorf("storage %v raw % x, want typed % x", got.Storage, got.Raw, c.raw)
			}
			out := encode(t, m)
			if !bytes.Equal(out, b) {
				t.Errorf("typed tensor not written back as it was")
			}
		})
	}
	t.Run("out of range", func(t *testing.T) {
		name := "c"
		b := constantModel(t, &pb.TensorProto{Name: &name, Dims: []int64{1}, DataType: i32(2), Int32Data: []int32{300}})
		if _, err := importer.Decode(b, importer.Options{}); !errors.Is(err, importer.ErrTensor) {
			t.Errorf("uint8 value 300: err %v", err)
		}
	})
}

func i32(v int32) *int32 { return &v }

// constantModel returns a model whose graph outputs initializer t through
// Identity.
func constantModel(t *testing.T, tp *pb.TensorProto) []byte {
	t.Helper()
	ir, ver := int64(8), int64(13)
	op, out := "Identity", "y"
	p := pb.ModelProto{
		IrVersion:   &ir,
		OpsetImport: []*pb.OperatorSetIdProto{{Version: &ver}},
		Graph: &pb.GraphProto{
			Node:        []*pb.NodeProto{{OpType: &op, Input: []string{tp.GetName()}, Output: []string{out}}},
			Initializer: []*pb.TensorProto{tp},
			Output:      []*pb.ValueInfoProto{{Name: &out}},
		},
	}
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestExternalData(t *testing.T) {
	write := func(t *testing.T, loc string, entries ...graph.StringPair) string {
		dir := t.TempDir()
		m := addModel()
		w := m.Graph.Initializers[0]
		if err := os.WriteFile(filepath.Join(dir, "w.bin"), append(make([]byte, 16), w.Raw...), 0o644); err != nil {
			t.Fatal(err)
		}
		w.Storage = graph.StorageExternal
		w.External = append([]graph.StringPair{{Key: "location", Value: loc}}, entries...)
		path := filepath.Join(dir, "m.onnx")
		// Encode writes external tensors inline; build the proto by hand.
		b := encode(t, m)
		var p pb.ModelProto
		if err := p.Unmarshal(b); err != nil {
			t.Fatal(err)
		}
		tp := p.Graph.Initializer[0]
		tp.RawData = nil
		ext := pb.TensorProto_EXTERNAL
		tp.DataLocation = &ext
		for _, e := range w.External {
			k, v := e.Key, e.Value
			tp.ExternalData = append(tp.ExternalData, &pb.StringStringEntryProto{Key: &k, Value: &v})
		}
		b, _ = p.Marshal()
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	off16 := graph.StringPair{Key: "offset", Value: "16"}
	len16 := graph.StringPair{Key: "length", Value: "16"}

	t.Run("relative location", func(t *testing.T) {
		path := write(t, "w.bin", off16, len16)
		m, err := importer.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		v, _ := m.Graph.Initializers[0].Float32s()
		if len(v) != 4 || v[3] != 4 {
			t.Errorf("values %v", v)
		}
		// Written back next to a new file, the side file comes along.
		out := filepath.Join(t.TempDir(), "out.onnx")
		if err := export.WriteFile(out, m); err != nil {
			t.Fatal(err)
		}
		m2, err := importer.Load(out)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(m2.Graph.Initializers[0].Raw, m.Graph.Initializers[0].Raw) {
			t.Errorf("external values changed on the way out")
		}
	})
	bad := []struct {
		name, loc string
		entries   []graph.StringPair
		substr    string
	}{
		{"absolute", "/etc/passwd", nil, "leaves the model's folder"},
		{"parent", "../w.bin", nil, "leaves the model's folder"},
		{"missing", "nope.bin", nil, "no such file"},
		{"length mismatch", "w.bin", []graph.StringPair{off16, {Key: "length", Value: "8"}}, "length 8"},
		{"past the end", "w.bin", []graph.StringPair{{Key: "offset", Value: "24"}, len16}, "past its end"},
		{"offset near int64's end", "w.bin", []graph.StringPair{{Key: "offset", Value: "9223372036854775800"}, len16},
			"offset 9223372036854775800 + length 16 is past its end (size 32)"},
		{"bad offset", "w.bin", []graph.StringPair{{Key: "offset", Value: "-3"}}, "bad offset"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			_, err := importer.Load(write(t, c.loc, c.entries...))
			if !errors.Is(err, importer.ErrExternal) || !strings.Contains(err.Error(), c.substr) {
				t.Errorf("err %v, want ErrExternal mentioning %q", err, c.substr)
			}
		})
	}
	t.Run("symlink out of the folder", func(t *testing.T) {
		path := write(t, "link.bin")
		outside := filepath.Join(t.TempDir(), "secret.bin")
		os.WriteFile(outside, make([]byte, 16), 0o644)
		if err := os.Symlink(outside, filepath.Join(filepath.Dir(path), "link.bin")); err != nil {
			t.Skip(err)
		}
		if _, err := importer.Load(path); !errors.Is(err, importer.ErrExternal) {
			t.Errorf("err %v, want ErrExternal", err)
		}
	})
	t.Run("from a reader without a folder", func(t *testing.T) {
		b, _ := os.ReadFile(write(t, "w.bin", off16, len16))
		if _, err := importer.Decode(b, importer.Options{}); !errors.Is(err, importer.ErrTensor) {
			t.Errorf("err %v, want ErrTensor", err)
		}
	})
}

func TestLoadMissingAndFolder(t *testing.T) {
	if _, err := importer.Load(filepath.Join(t.TempDir(), "none.onnx")); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing file: %v", err)
	}
	if _, err := importer.Load(t.TempDir()); err == nil || !strings.Contains(err.Error(), "folder") {
		t.Errorf("folder: %v", err)
	}
}

// TestReadNil: Read from a nil reader is ErrEmpty, not a nil-pointer panic.
func TestReadNil(t *testing.T) {
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("panic: %v", r)
		}
	}()
	if _, err := importer.Read(nil, importer.Options{}); !errors.Is(err, importer.ErrEmpty) {
		t.Errorf("error %v, want one wrapping ErrEmpty", err)
	}
}
