package export_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onnxtune/onnxtune/export"
	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/importer"
	"github.com/onnxtune/onnxtune/internal/ort"
	"github.com/onnxtune/onnxtune/internal/testmodels"
	"github.com/onnxtune/onnxtune/remap"
)

func runORT(t *testing.T, model []byte, in ort.Tensor) []float32 {
	t.Helper()
	outs, err := ort.Run(model, []ort.Tensor{in}, 1)
	if err != nil {
		t.Fatalf("onnxruntime: %v", err)
	}
	y, ok := outs[0].Data.([]float32)
	if !ok {
		t.Fatalf("onnxruntime output is %T", outs[0].Data)
	}
	return y
}

func bitsEqual(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] && !(a[i] != a[i] && b[i] != b[i]) {
			return false
		}
	}
	return true
}

// roundTrip checks that a model read and written back has the same protobuf
// fields and that ONNX Runtime gives bit-identical outputs for it.
func roundTrip(t *testing.T, e testmodels.Entry) {
	orig, err := os.ReadFile(e.Path())
	if err != nil {
		t.Fatal(err)
	}
	m, err := importer.Load(e.Path())
	if err != nil {
		t.Fatal(err)
	}
	out, err := export.Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	assertSameProto(t, orig, out)
	if !bytes.Equal(orig, out) {
		t.Logf("%s: fields equal, bytes differ", e.File)
	}
	in, _ := e.ExpectedIO(t)
	if a, b := runORT(t, orig, in), runORT(t, out, in); !bitsEqual(a, b) {
		t.Errorf("onnxruntime outputs differ after the round trip")
	}
}

func TestRoundTripSamples(t *testing.T) {
	for _, e := range testmodels.Samples(t) {
		t.Run(e.Name(), func(t *testing.T) { roundTrip(t, e) })
	}
}

func TestRoundTripBig(t *testing.T) {
	if testing.Short() {
		t.Skip("big models skipped with -short")
	}
	for _, e := range testmodels.Big(t) {
		t.Run(e.Name(), func(t *testing.T) { roundTrip(t, e) })
	}
}

// convertCheck runs what `onnxtune convert` does and checks the result in
// ONNX Runtime against PyTorch's inference output for the same input, and,
// for inference exports, against the original model in ONNX Runtime.
func convertCheck(t *testing.T, e testmodels.Entry) {
	m, err := importer.Load(e.Path())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := remap.Convert(m); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "out.onnx")
	if err := export.WriteFile(path, m); err != nil {
		t.Fatal(err)
	}
	out, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// What was written loads again with every parameter under its name.
	back, err := importer.Load(path)
	if err != nil {
		t.Fatalf("converted model does not load: %v", err)
	}
	checkNames(t, back)

	in, want := e.ExpectedIO(t)
	got := runORT(t, out, in)
	tol := 1e-5
	if e.Mode == "training" {
		tol = 1e-4 // the inference export fuses BatchNorm into Conv
	}
	diff, scale := testmodels.MaxAbsDiff(got, want)
	if diff > tol*max(1, scale) {
		t.Errorf("converted model vs PyTorch eval output: max |diff| %.3g (scale %.3g), tolerance %.0e", diff, scale, tol)
	}
	if e.Mode != "training" {
		orig, err := os.ReadFile(e.Path())
		if err != nil {
			t.Fatal(err)
		}
		ref := runORT(t, orig, in)
		if d, s := testmodels.MaxAbsDiff(got, ref); d > 1e-5*max(1, s) {
			t.Errorf("converted model vs original in onnxruntime: max |diff| %.3g", d)
		}
	}
	t.Logf("max |diff| vs PyTorch %.3g (scale %.3g)", diff, scale)
}

// checkNames asserts that a converted model has no anonymized parameter on a
// Conv, Gemm or BatchNormalization node, no tied parameter, and that each
// parameter's initializer has the parameter's name.
func checkNames(t *testing.T, m *graph.Model) {
	t.Helper()
	for _, n := range m.Graph.Nodes {
		switch n.OpType {
		case "Conv", "Gemm", "BatchNormalization":
			for _, in := range n.Inputs[1:] {
				if strings.HasPrefix(in, "onnx::") {
					t.Errorf("node %s still reads anonymized %q", n, in)
				}
			}
		}
	}
	for _, p := range m.Params {
		if p.Tied {
			t.Errorf("parameter %q still tied to %q", p.Name, p.Initializer)
		}
		if p.Initializer != p.Name && isParamOp(m, p) {
			t.Errorf("parameter %q kept initializer name %q", p.Name, p.Initializer)
		}
	}
}

func isParamOp(m *graph.Model, p *graph.Param) bool {
	for _, u := range m.Graph.Consumers()[p.Value] {
		switch u.Node.OpType {
		case "Conv", "Gemm", "BatchNormalization":
			return true
		}
	}
	return false
}

func TestConvertSamples(t *testing.T) {
	for _, e := range testmodels.Samples(t) {
		t.Run(e.Name(), func(t *testing.T) { convertCheck(t, e) })
	}
}

func TestConvertBig(t *testing.T) {
	if testing.Short() {
		t.Skip("big models skipped with -short")
	}
	for _, e := range testmodels.Big(t) {
		t.Run(e.Name(), func(t *testing.T) { convertCheck(t, e) })
	}
}
