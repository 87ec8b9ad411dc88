package export_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/gogo/protobuf/proto"

	"github.com/onnxtune/onnxtune/export"
	"github.com/onnxtune/onnxtune/importer"
	pb "github.com/onnxtune/onnxtune/internal/onnxpb"
)

// TestRoundTripNodeTests reads every model of ONNX's conformance cases and
// writes it back: the protobuf fields must be equal to the original's.
func TestRoundTripNodeTests(t *testing.T) {
	dir := filepath.Join("..", "..", "shared", "onnx-node-tests")
	cases, _ := filepath.Glob(filepath.Join(dir, "test_*", "model.onnx"))
	if len(cases) == 0 {
		t.Skipf("no ONNX conformance cases at %s (they sit beside the repository in CI)", dir)
	}
	sameBytes := 0
	for _, path := range cases {
		name := filepath.Base(filepath.Dir(path))
		t.Run(name, func(t *testing.T) {
			orig, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			m, err := importer.Load(path)
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			out, err := export.Encode(m)
			if err != nil {
				t.Fatalf("export: %v", err)
			}
			if bytes.Equal(orig, out) {
				sameBytes++
			}
			assertSameProto(t, orig, out)
		})
	}
	t.Logf("%d of %d models byte-identical after the round trip", sameBytes, len(cases))
}

func assertSameProto(t *testing.T, a, b []byte) {
	t.Helper()
	var pa, pb2 pb.ModelProto
	if err := pa.Unmarshal(a); err != nil {
		t.Fatal(err)
	}
	if err := pb2.Unmarshal(b); err != nil {
		t.Fatalf("exported bytes do not parse: %v", err)
	}
	if !proto.Equal(&pa, &pb2) {
		t.Errorf("protobuf fields differ after the round trip:\nwant %v\ngot  %v", proto.CompactTextString(&pa), proto.CompactTextString(&pb2))
	}
}
