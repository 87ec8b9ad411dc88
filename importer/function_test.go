package importer_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/importer"
	pb "github.com/onnxtune/onnxtune/internal/onnxpb"
)

func str(s string) *string { return &s }

func i64(v int64) *int64 { return &v }

func pbNode(name, op, domain string, in, out []string) *pb.NodeProto {
	return &pb.NodeProto{Name: str(name), OpType: str(op), Domain: str(domain), Input: in, Output: out}
}

func pbFunction(name string, nodes ...*pb.NodeProto) *pb.FunctionProto {
	return &pb.FunctionProto{Name: str(name), Domain: str("f"), Input: []string{"a"}, Output: []string{"b"}, Node: nodes,
		OpsetImport: []*pb.OperatorSetIdProto{{Domain: str(""), Version: i64(18)}, {Domain: str("f"), Version: i64(1)}}}
}

// functionFile returns the bytes of a model whose graph calls f.top once,
// from x to y, with the given functions.
func functionFile(t *testing.T, fns ...*pb.FunctionProto) []byte {
	t.Helper()
	elem := int32(pb.TensorProto_FLOAT)
	vi := func(n string) *pb.ValueInfoProto {
		return &pb.ValueInfoProto{Name: str(n), Type: &pb.TypeProto{Value: &pb.TypeProto_TensorType{
			TensorType: &pb.TypeProto_Tensor{ElemType: &elem, Shape: &pb.TensorShapeProto{}}}}}
	}
	m := &pb.ModelProto{
		IrVersion:   i64(9),
		OpsetImport: []*pb.OperatorSetIdProto{{Domain: str(""), Version: i64(18)}, {Domain: str("f"), Version: i64(1)}},
		Graph: &pb.GraphProto{Name: str("g"), Node: []*pb.NodeProto{pbNode("/top", "top", "f", []string{"x"}, []string{"y"})},
			Input: []*pb.ValueInfoProto{vi("x")}, Output: []*pb.ValueInfoProto{vi("y")}},
		Functions: fns,
	}
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Hostile files with local functions: each loads or is refused with one
// line naming the function, and inlining what loaded fails with one line
// naming the call and the function; nothing panics or takes long.
func TestFunctionFilesHostile(t *testing.T) {
	relu := func(name string) *pb.NodeProto { return pbNode(name, "Relu", "", []string{"a"}, []string{"b"}) }
	var doubling []*pb.FunctionProto
	for i := 0; i < 40; i++ {
		name, next := fmt.Sprintf("f%d", i), fmt.Sprintf("f%d", i+1)
		if i == 0 {
			name = "top"
		}
		if i == 39 {
			doubling = append(doubling, pbFunction(name, relu("r")))
			break
		}
		doubling = append(doubling, pbFunction(name,
			pbNode("c1", next, "f", []string{"a"}, []string{"t"}), pbNode("c2", next, "f", []string{"t"}, []string{"b"})))
	}
	big := pbFunction("top", &pb.NodeProto{Name: str("k"), OpType: str("Constant"), Output: []string{"b"},
		Attribute: []*pb.AttributeProto{{Name: str("value"), Type: pb.AttributeProto_TENSOR.Enum(),
			T: &pb.TensorProto{DataType: func() *int32 { v := int32(pb.TensorProto_FLOAT); return &v }(), Dims: []int64{1 << 20, 1 << 20}}}}})
	tests := []struct {
		name   string
		file   []byte
		load   string // substring of the load error; "" when the file loads
		inline string // substring of the inlining error
	}{
		{"recursion", functionFile(t,
			pbFunction("top", pbNode("n", "g", "f", []string{"a"}, []string{"b"})),
			pbFunction("g", pbNode("n", "top", "f", []string{"a"}, []string{"b"}))),
			"", `node "/top" (top): local function f.top: calls itself (f.top -> f.g -> f.top)`},
		{"missing function", functionFile(t,
			pbFunction("top", pbNode("n", "gone", "f", []string{"a"}, []string{"b"}))),
			"", `node "/top" (top): local function f.gone: the model defines no such function`},
		{"blow-up", functionFile(t, doubling...),
			"", fmt.Sprintf(`node "/top" (top): local function f.top: calls would expand the graph by more than %d nodes`, graph.DefaultMaxInlined)},
		{"tensor in a body without its values", functionFile(t, big), `function "f.top": node 0 "k" (Constant): attribute "value"`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			m, err := importer.Decode(tc.file, importer.Options{MaxBytes: 1 << 20})
			if tc.load != "" {
				if err == nil || !strings.Contains(err.Error(), tc.load) || strings.Contains(err.Error(), "\n") {
					t.Fatalf("load error %v, want one line with %q", err, tc.load)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			_, err = m.Inlined()
			if err == nil || err.Error() != tc.inline {
				t.Errorf("inlining: %v\nwant        %s", err, tc.inline)
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}
