package train_test

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/export"
	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/graph/ops"
	"github.com/onnxtune/onnxtune/importer"
	"github.com/onnxtune/onnxtune/internal/npz"
	"github.com/onnxtune/onnxtune/internal/ort"
	"github.com/onnxtune/onnxtune/remap"
	"github.com/onnxtune/onnxtune/train"
	"github.com/onnxtune/onnxtune/train/data"
)

// The QDQ CNNs of models/quant (models/make_quant.py: a PyTorch CNN
// quantized by onnxruntime.quantization.quantize_static, per channel and
// per tensor) and PyTorch's fake-quantize training of them.

var quantDir = filepath.Join("..", "models", "quant")

type quantManifest struct {
	Models []struct {
		Name      string       `json:"name"`
		File      string       `json:"file"`
		Training  string       `json:"training"`
		InputName string       `json:"input_name"`
		Groups    []todayGroup `json:"groups"`
		Params    []struct {
			Name  string  `json:"name"`
			Shape []int64 `json:"shape"`
		} `json:"params"`
	} `json:"models"`
}

func quantCases(t *testing.T) quantManifest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(quantDir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m quantManifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Models) == 0 {
		t.Fatal("no models in models/quant/manifest.json")
	}
	return m
}

// TestQuantQAT: three SGD steps (momentum 0.9, weight decay 1e-4) on each
// QDQ CNN match PyTorch's fake-quantize training within 1e-5 (todayTrain:
// loss and every parameter after every step); the parameter table names
// the weights by the float module's state_dict names with PyTorch's
// shapes, float after train.Prepare; the engine's output equals ONNX
// Runtime's within one quantization step of the output; and the trained
// model, written back as a QDQ model (remap.ToInference), has its
// integer weights again and runs in ONNX Runtime.
func TestQuantQAT(t *testing.T) {
	for _, mc := range quantCases(t).Models {
		t.Run(mc.Name, func(t *testing.T) {
			path := filepath.Join(quantDir, mc.File)
			fx, err := npz.Read(filepath.Join(quantDir, mc.Training))
			if err != nil {
				t.Fatal(err)
			}
			x, in := todayInput(t, mc.InputName, fx["x"])

			// Inference against ONNX Runtime.
			m, err := importer.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range mc.Params {
				q := m.Param(p.Name)
				if q == nil || len(q.Shape) != len(p.Shape) {
					t.Fatalf("%s %v: table has %+v", p.Name, p.Shape, q)
				}
			}
			r, err := ops.NewRunner(m, ops.Options{})
			if err != nil {
				t.Fatal(err)
			}
			got, err := r.Run(map[string]*tensor.Dense{mc.InputName: x})
			r.Close()
			if err != nil {
				t.Fatal(err)
			}
			want, err := ort.RunFile(path, []ort.Tensor{in}, 1)
			if err != nil {
				t.Fatalf("onnxruntime: %v", err)
			}
			y, _ := ops.Data[float32](got[0])
			diff, scale := todayMaxDiff(y, want[0].Data.([]float32))
			if diff != 0 {
				t.Errorf("engine vs onnxruntime: max |diff| %.3g (largest output %.3g)", diff, scale)
			}
			t.Logf("engine vs onnxruntime: max |diff| %.3g (largest output %.3g)", diff, scale)

			// Training against PyTorch.
			mod := &todayModel{Name: mc.Name, InputName: mc.InputName}
			mod.Training.File = mc.Training
			mod.Training.Groups = mc.Groups
			c := todayCase{model: mod, exp: todayExport{File: mc.File}, dir: quantDir}
			name := "training"
			c.exp.TrainingCase = &name
			todayTrain(t, c)

			// Written back: integer weights, and ONNX Runtime runs it.
			m, err = importer.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := train.Prepare(m); err != nil {
				t.Fatal(err)
			}
			for _, p := range mc.Params {
				if q := m.Param(p.Name); q == nil || q.DType != graph.Float32 {
					t.Fatalf("after Prepare, %s is %+v; want a float32 master copy", p.Name, q)
				}
			}
			a, err := train.Assign(m.Params, nil, train.Hyper{LR: 0.01, Momentum: 0.9}, nil)
			if err != nil {
				t.Fatal(err)
			}
			opt, _ := train.NewOptimizer(train.SGD)
			tr, err := train.NewTrainer(m, train.CrossEntropy, opt, a)
			if err != nil {
				t.Fatal(err)
			}
			labels := fx["y"].Data.([]int64)
			for k := 0; k < 3; k++ {
				if _, err := tr.StepBatch(data.Batch{Inputs: map[string]*tensor.Dense{mc.InputName: x}, Labels: labels, N: len(labels)}, 1); err != nil {
					t.Fatal(err)
				}
			}
			if err := tr.Sync(); err != nil {
				t.Fatal(err)
			}
			tr.Close()
			if _, err := remap.ToInference(m); err != nil {
				t.Fatal(err)
			}
			orig, _ := importer.Load(path)
			for _, init := range orig.Graph.Initializers {
				w := m.Graph.Initializer(init.Name)
				if w == nil || w.DType != init.DType || len(w.Dims) != len(init.Dims) {
					t.Fatalf("written model: initializer %s is %+v, the original's %s %v", init.Name, w, init.DType, init.Dims)
				}
			}
			if len(m.Graph.Nodes) != len(orig.Graph.Nodes) {
				t.Errorf("written model has %d nodes, the original %d", len(m.Graph.Nodes), len(orig.Graph.Nodes))
			}
			b, err := export.Encode(m)
			if err != nil {
				t.Fatal(err)
			}
			outs, err := ort.Run(b, []ort.Tensor{in}, 1)
			if err != nil {
				t.Fatalf("onnxruntime on the written model: %v", err)
			}
			changed := 0.0
			for i, v := range outs[0].Data.([]float32) {
				changed = math.Max(changed, math.Abs(float64(v-want[0].Data.([]float32)[i])))
			}
			t.Logf("written QDQ model runs in onnxruntime; its output moved by up to %.3g with training", changed)
		})
	}
}
