package train

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph/ops"
	"github.com/onnxtune/onnxtune/importer"
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
