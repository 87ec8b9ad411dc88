package train

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/export"
	"github.com/onnxtune/onnxtune/graph/ops"
	"github.com/onnxtune/onnxtune/importer"
	"github.com/onnxtune/onnxtune/internal/ort"
)

// TestTrainLocalFunctions: a model whose layers are calls of local
// functions (PyTorch's export_modules_as_functions; written with
// graph/testdata/make_functions.py) trains through the Trainer: two SGD
// steps on mean(output**2) (MSE against zeros) give PyTorch's weights.
func TestTrainLocalFunctions(t *testing.T) {
	dir := filepath.Join("..", "graph", "testdata")
	m, err := importer.Load(filepath.Join(dir, "functions_torch.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "functions_torch.state_dict.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		SGD struct {
			LR    float64 `json:"lr"`
			Steps int     `json:"steps"`
			X     struct {
				Shape  []int     `json:"shape"`
				Values []float32 `json:"values"`
			} `json:"x"`
			StateDict map[string]struct {
				Shape  []int64   `json:"shape"`
				Values []float64 `json:"values"`
			} `json:"state_dict"`
		} `json:"sgd"`
	}
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	groups, err := Assign(m.Params, nil, Hyper{LR: ref.SGD.LR}, nil)
	if err != nil {
		t.Fatal(err)
	}
	opt, err := NewOptimizer(SGD)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := NewTrainer(m, MSE, opt, groups)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	x := ops.Dense(ref.SGD.X.Shape, ref.SGD.X.Values)
	for s := 0; s < ref.SGD.Steps; s++ {
		p, err := ops.NewRunner(m, ops.Options{Params: tr.weights})
		if err != nil {
			t.Fatal(err)
		}
		out, err := p.Run(map[string]*tensor.Dense{ops.InputNames(m)[0]: x})
		p.Close()
		if err != nil {
			t.Fatal(err)
		}
		zeros := tensor.New(tensor.WithShape(ops.Shape(out[0])...), tensor.Of(tensor.Float32))
		if _, err := tr.Step(x, nil, zeros, 1); err != nil {
			t.Fatal(err)
		}
	}
	checked := 0
	for _, p := range m.Params {
		want, ok := ref.SGD.StateDict[p.Name]
		if !ok || !p.Role.Trainable() {
			continue
		}
		got, _ := tr.Values(p.Name)
		if p.Transposed {
			r, c := int(p.Shape[0]), int(p.Shape[1])
			tp := make([]float32, len(got))
			for i := 0; i < r; i++ {
				for j := 0; j < c; j++ {
					tp[i*c+j] = got[j*r+i]
				}
			}
			got = tp
		}
		for i, w := range want.Values {
			if d := math.Abs(float64(got[i]) - w); d > 1e-6 {
				t.Fatalf("%s[%d] = %g after %d steps, PyTorch %g", p.Name, i, got[i], ref.SGD.Steps, w)
			}
		}
		checked++
	}
	if checked != len(ref.SGD.StateDict) {
		t.Fatalf("checked %d parameters of PyTorch's %d", checked, len(ref.SGD.StateDict))
	}
}

// TestTrainFoldedFunctionWeights: torch.onnx.dynamo_export (PyTorch 2.4)
// wrote this real MLP with each Linear in a function whose weight is folded
// into a Constant of the body (fc0.weight is passed in, unread). Prepare
// reads the weights from their inputs again, so all four parameters train:
// two steps of SGD with momentum match PyTorch's on the same module
// (models/make_functions_reference.py), and ONNX Runtime runs the written
// model, functions included, with the engine's outputs.
func TestTrainFoldedFunctionWeights(t *testing.T) {
	path := filepath.Join("..", "..", "shared", "realworld", "fpgai_mlp_dynamo24_funcs.onnx")
	if _, err := os.Stat(path); err != nil {
		t.Skipf("the real-world files live in ../shared/realworld beside the repository: %v", err)
	}
	m, err := importer.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join("..", "models", "functions", "fpgai_sgd.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		LR, Momentum float64
		Steps        int
		X            struct {
			Shape  []int     `json:"shape"`
			Values []float32 `json:"values"`
		} `json:"x"`
		StateDict map[string]struct {
			Values []float64 `json:"values"`
		} `json:"state_dict"`
	}
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	if err := Prepare(m); err != nil {
		t.Fatal(err)
	}
	tr := sgdTrainerLoss(t, m, MSE, Hyper{LR: ref.LR, Momentum: ref.Momentum})
	x := ops.Dense(ref.X.Shape, ref.X.Values)
	zeros := tensor.New(tensor.WithShape(ref.X.Shape[0], 1, 1, 4), tensor.Of(tensor.Float32))
	for s := 0; s < ref.Steps; s++ {
		if _, err := tr.Step(x, nil, zeros, 1); err != nil {
			t.Fatal(err)
		}
	}
	if len(ref.StateDict) != 4 {
		t.Fatalf("reference has %d tensors", len(ref.StateDict))
	}
	for name, want := range ref.StateDict {
		p := m.Param(name)
		if p == nil {
			t.Fatalf("%s is not in the table", name)
		}
		got, _ := tr.Values(name)
		for i, w := range want.Values {
			if d := math.Abs(float64(got[i]) - w); d > 1e-6 {
				t.Fatalf("%s[%d] = %g, PyTorch %g", name, i, got[i], w)
			}
		}
	}
	if err := tr.Sync(); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "trained.onnx")
	if err := export.WriteFile(out, m); err != nil {
		t.Fatal(err)
	}
	res, err := ort.RunFile(out, []ort.Tensor{{Name: ops.InputNames(m)[0], Shape: []int64{int64(ref.X.Shape[0]), 1, 1, int64(ref.X.Shape[3])}, Data: ref.X.Values}}, 1)
	if err != nil {
		t.Fatalf("onnxruntime: %v", err)
	}
	r, err := ops.NewRunner(m, ops.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := r.Run(map[string]*tensor.Dense{ops.InputNames(m)[0]: x})
	if err != nil {
		t.Fatal(err)
	}
	y, _ := ops.Data[float32](got[0])
	for i, v := range res[0].Data.([]float32) {
		if math.Abs(float64(v-y[i])) > 1e-5 {
			t.Fatalf("output %d: onnxruntime %g, engine %g", i, v, y[i])
		}
	}
}
