package ops_test

import (
	"errors"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/graph/ops"
	"github.com/onnxtune/onnxtune/importer"
	"github.com/onnxtune/onnxtune/internal/ort"
	"github.com/onnxtune/onnxtune/internal/testmodels"
)

// realworld returns the path of a file of ../shared/realworld (beside the
// repository), skipping the test when that folder is absent.
func realworld(t *testing.T, name string) string {
	t.Helper()
	models, err := testmodels.ModelsDir()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(filepath.Dir(models), "..", "shared", "realworld", name)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("%s is absent (the real-world files live in ../shared/realworld beside the repository): %v", name, err)
	}
	return p
}

// feed makes seeded normal inputs for every graph input of m, symbolic
// dimensions set to batch.
func feed(t *testing.T, m *graph.Model, batch int, seed int64) (map[string]*tensor.Dense, []ort.Tensor) {
	t.Helper()
	rng := rand.New(rand.NewSource(seed))
	ins := make(map[string]*tensor.Dense)
	var ref []ort.Tensor
	for _, name := range ops.InputNames(m) {
		dt, dims, ok := m.Graph.Input(name).TensorShape()
		if !ok || dt != graph.Float32 {
			t.Fatalf("input %q is not a float32 tensor", name)
		}
		shape := make([]int, len(dims))
		shape64 := make([]int64, len(dims))
		n := 1
		for i, d := range dims {
			shape[i] = batch
			if d.HasValue {
				shape[i] = int(d.Value)
			}
			shape64[i] = int64(shape[i])
			n *= shape[i]
		}
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		ins[name] = ops.Dense(shape, x)
		ref = append(ref, ort.Tensor{Name: name, Shape: shape64, Data: x})
	}
	return ins, ref
}

// Models with local functions run in the engine as in ONNX Runtime, which
// reads the same file: the helper-built fixture (nested calls, attribute
// references with defaults, an omitted input, a function-local opset
// import), PyTorch's export_modules_as_functions, and a file of
// torch.onnx.dynamo_export 2.4.
func TestFunctionsParity(t *testing.T) {
	cases := []struct {
		name string
		path func(t *testing.T) string
	}{
		{"helper", func(*testing.T) string { return "../testdata/functions.onnx" }},
		{"torch_modules_as_functions", func(*testing.T) string { return "../testdata/functions_torch.onnx" }},
		{"fpgai_mlp_dynamo24_funcs", func(t *testing.T) string { return realworld(t, "fpgai_mlp_dynamo24_funcs.onnx") }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.path(t)
			m, err := importer.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if len(m.LocalFunctions) == 0 {
				t.Fatal("the model has no local function")
			}
			file, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			r, err := ops.NewRunner(m, ops.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			for _, batch := range []int{1, 3} {
				ins, ref := feed(t, m, batch, int64(batch))
				got, err := r.Run(ins)
				if err != nil {
					t.Fatal(err)
				}
				want, err := ort.Run(file, ref, 1)
				if err != nil {
					t.Fatalf("onnxruntime: %v", err)
				}
				if len(got) != len(want) {
					t.Fatalf("%d outputs, onnxruntime %d", len(got), len(want))
				}
				for i := range got {
					y, err := ops.Data[float32](got[i])
					if err != nil {
						t.Fatal(err)
					}
					w := want[i].Data.([]float32)
					if len(y) != len(w) {
						t.Fatalf("output %d: %d values, onnxruntime %d", i, len(y), len(w))
					}
					diff, scale := testmodels.MaxAbsDiff(y, w)
					if diff > 1e-5*scale {
						t.Errorf("batch %d, output %d: max |diff| %.3g vs onnxruntime, largest output %.3g (tolerance 1e-5 of it)", batch, i, diff, scale)
					}
					t.Logf("input %v, output %d: max |diff| vs onnxruntime %.3g, largest output %.3g", ref[0].Shape, i, diff, scale)
				}
			}
		})
	}
}

// An op the engine lacks inside a function is reported at the inlined
// node, whose name starts with the call's.
func TestFunctionsUnsupportedInBody(t *testing.T) {
	m, err := importer.Load("../testdata/functions.onnx")
	if err != nil {
		t.Fatal(err)
	}
	m.LocalFunctions[0].Nodes[0].OpType = "NoSuchOp" // Dense's Gemm
	_, err = ops.NewRunner(m, ops.Options{})
	var ue *ops.UnsupportedError
	if !errors.As(err, &ue) {
		t.Fatalf("got %v, want an *UnsupportedError", err)
	}
	if msg := err.Error(); !strings.Contains(msg, `NoSuchOp ("/layer.0/Dense/dense/Gemm", "/layer.1/Dense/dense/Gemm")`) {
		t.Errorf("error %q does not name the inlined nodes", msg)
	}
}

// Compile and NewRunner refuse a model whose functions call each other in
// a cycle with the one-line *graph.InlineError, and do not panic.
func TestFunctionsRecursionRefused(t *testing.T) {
	m, err := importer.Load("../testdata/functions.onnx")
	if err != nil {
		t.Fatal(err)
	}
	// ScaledLeaky's LeakyRelu becomes a call of Dense, which calls it.
	leaky := m.LocalFunctions[1].Nodes[0]
	leaky.OpType, leaky.Domain, leaky.Inputs = "Dense", "local.layers", []string{"X", "X", "X"}
	for _, run := range []func() error{
		func() error { _, err := ops.NewRunner(m, ops.Options{}); return err },
		func() error {
			_, err := ops.Compile(m, map[string][]int{"x": {2, 6}}, ops.Options{})
			return err
		},
	} {
		err := run()
		var ie *graph.InlineError
		if !errors.As(err, &ie) {
			t.Fatalf("got %v, want an *InlineError", err)
		}
		want := `node "/layer.0/Dense" (Dense): local function local.layers.Dense: calls itself (local.layers.Dense -> local.act.ScaledLeaky -> local.layers.Dense)`
		if err.Error() != want {
			t.Errorf("error %q,\nwant  %q", err, want)
		}
	}
}
