package export_test

import (
	"bytes"
	"encoding/json"
	"math/rand"
	"os"
	"path/filepath"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/export"
	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/graph/ops"
	"github.com/onnxtune/onnxtune/importer"
	"github.com/onnxtune/onnxtune/internal/ort"
	"github.com/onnxtune/onnxtune/internal/testmodels"
)

// functionModel is a model with local functions and, when make_functions.py
// recorded one, PyTorch's SGD run on it.
type functionModel struct {
	name string
	path func(t *testing.T) string
	sgd  string // JSON with PyTorch's input and state_dict after the steps
}

func functionModels() []functionModel {
	return []functionModel{
		{name: "helper", path: func(*testing.T) string { return "../graph/testdata/functions.onnx" }},
		{name: "torch_modules_as_functions", path: func(*testing.T) string { return "../graph/testdata/functions_torch.onnx" },
			sgd: "../graph/testdata/functions_torch.state_dict.json"},
		{name: "fpgai_mlp_dynamo24_funcs", path: func(t *testing.T) string {
			models, err := testmodels.ModelsDir()
			if err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(filepath.Dir(models), "..", "shared", "realworld", "fpgai_mlp_dynamo24_funcs.onnx")
			if _, err := os.Stat(p); err != nil {
				t.Skipf("fpgai_mlp_dynamo24_funcs.onnx is absent (the real-world files live in ../shared/realworld beside the repository): %v", err)
			}
			return p
		}},
	}
}

// sgdRef is what make_functions.py recorded of torch.optim.SGD.
type sgdRef struct {
	SGD struct {
		LR    float64 `json:"lr"`
		Steps int     `json:"steps"`
		X     struct {
			Shape  []int     `json:"shape"`
			Values []float32 `json:"values"`
		} `json:"x"`
		StateDict map[string]struct {
			Values []float64 `json:"values"`
		} `json:"state_dict"`
	} `json:"sgd"`
}

// sgdSteps trains m's trainable parameters in the engine: steps of plain
// SGD (p -= lr*grad) on mean(output0**2) for input x, as torch.optim.SGD
// does, and writes the new values into the model's initializers. It
// returns how many parameters the loss reached.
func sgdSteps(t *testing.T, m *graph.Model, input string, x *tensor.Dense, lr float32, steps int) int {
	t.Helper()
	weights := make(map[string]*tensor.Dense)
	var names []string
	for _, p := range m.Params {
		init := m.Graph.Initializer(p.Initializer)
		if !p.Role.Trainable() || init.DType != graph.Float32 {
			continue
		}
		d, err := ops.TensorFromIR(init)
		if err != nil {
			t.Fatal(err)
		}
		weights[init.Name] = d
		names = append(names, init.Name)
	}
	prog, err := ops.Compile(m, map[string][]int{input: ops.Shape(x)}, ops.Options{Train: true, Params: weights})
	if err != nil {
		t.Fatal(err)
	}
	loss := G.Must(G.Mean(G.Must(G.Square(prog.Outputs[0].Node))))
	var wrt G.Nodes
	for _, n := range names {
		wrt = append(wrt, prog.Params[n])
	}
	grads, err := ops.Grad(loss, wrt)
	if err != nil {
		t.Fatal(err)
	}
	reached := 0
	for _, g := range grads {
		if g != nil {
			reached++
		}
	}
	vm := G.NewTapeMachine(prog.Graph)
	defer vm.Close()
	for s := 0; s < steps; s++ {
		if err := G.Let(prog.Inputs[input], x); err != nil {
			t.Fatal(err)
		}
		if err := ops.RunAll(vm); err != nil {
			t.Fatal(err)
		}
		for i, n := range names {
			if grads[i] == nil {
				continue // PyTorch leaves a parameter without .grad as it is
			}
			gd, err := ops.Data[float32](grads[i].Value().(*tensor.Dense))
			if err != nil {
				t.Fatal(err)
			}
			w, _ := ops.Data[float32](weights[n])
			for j := range w {
				w[j] -= lr * gd[j]
			}
		}
		vm.Reset()
	}
	for _, n := range names {
		w, _ := ops.Data[float32](weights[n])
		m.Graph.Initializer(n).Raw = graph.Encode(w)
	}
	return reached
}

// Models with local functions train: the weights passed into function
// calls get gradients through the inlined bodies, two SGD steps change
// them (as PyTorch's do, where make_functions.py recorded PyTorch's run),
// and the written model, the original graph and functions with the new
// initializers, runs in ONNX Runtime as in the engine.
func TestFunctionsTrainAndWrite(t *testing.T) {
	for _, fm := range functionModels() {
		t.Run(fm.name, func(t *testing.T) {
			path := fm.path(t)
			orig, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			m, err := importer.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			input := ops.InputNames(m)[0]
			_, dims, _ := m.Graph.Input(input).TensorShape()
			shape := make([]int, len(dims))
			for i, d := range dims {
				shape[i] = 4 // symbolic dims: batch 4
				if d.HasValue {
					shape[i] = int(d.Value)
				}
			}
			var ref sgdRef
			var x []float32
			if fm.sgd != "" {
				b, err := os.ReadFile(fm.sgd)
				if err != nil {
					t.Fatal(err)
				}
				if err := json.Unmarshal(b, &ref); err != nil {
					t.Fatal(err)
				}
				shape, x = ref.SGD.X.Shape, ref.SGD.X.Values
			} else {
				ref.SGD.LR, ref.SGD.Steps = 0.1, 2
				rng := rand.New(rand.NewSource(5))
				n := 1
				for _, d := range shape {
					n *= d
				}
				x = make([]float32, n)
				for i := range x {
					x[i] = float32(rng.NormFloat64())
				}
			}
			before := make(map[string][]byte)
			for _, t := range m.Graph.Initializers {
				before[t.Name] = append([]byte(nil), t.Raw...)
			}
			reached := sgdSteps(t, m, input, ops.Dense(shape, x), float32(ref.SGD.LR), ref.SGD.Steps)
			changed := 0
			for _, p := range m.Params {
				if !bytes.Equal(before[p.Initializer], m.Graph.Initializer(p.Initializer).Raw) {
					changed++
				}
			}
			t.Logf("%d of %d parameters reached by the loss, %d changed", reached, len(m.Params), changed)
			if reached == 0 || changed != reached {
				t.Errorf("%d parameters reached by the loss, %d changed", reached, changed)
			}
			if fm.sgd != "" {
				if len(ref.SGD.StateDict) != len(m.Params) {
					t.Fatalf("PyTorch's state_dict has %d tensors, the table %d", len(ref.SGD.StateDict), len(m.Params))
				}
				worst := 0.0
				for name, want := range ref.SGD.StateDict {
					p := m.Param(name)
					if p == nil {
						t.Fatalf("%s is not a parameter", name)
					}
					got := pytorchLayout(t, m, p)
					for i := range got {
						d := float64(got[i]) - want.Values[i]
						if d < 0 {
							d = -d
						}
						worst = max(worst, d)
					}
				}
				t.Logf("after %d SGD steps: max |diff| vs PyTorch %.3g", ref.SGD.Steps, worst)
				if worst > 1e-5 {
					t.Errorf("weights after %d SGD steps differ from PyTorch's by %.3g (tolerance 1e-5)", ref.SGD.Steps, worst)
				}
			}

			out, err := export.Encode(m)
			if err != nil {
				t.Fatal(err)
			}
			back, err := importer.Decode(out, importer.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(back.Functions) != len(m.Functions) {
				t.Fatalf("%d functions written, %d read", len(back.Functions), len(m.Functions))
			}
			for i := range back.Functions {
				if !bytes.Equal(back.Functions[i], m.Functions[i]) {
					t.Errorf("function %s changed on writing", m.LocalFunctions[i])
				}
			}
			if bytes.Equal(out, orig) {
				t.Error("the written model is the file read")
			}
			// ONNX Runtime runs the written model as the engine runs the
			// trained one.
			in := ort.Tensor{Name: input, Shape: make([]int64, len(shape)), Data: x}
			for i, d := range shape {
				in.Shape[i] = int64(d)
			}
			want := runORT(t, out, in)
			r, err := ops.NewRunner(m, ops.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			got, err := r.Run(map[string]*tensor.Dense{input: ops.Dense(shape, x)})
			if err != nil {
				t.Fatal(err)
			}
			y, _ := ops.Data[float32](got[0])
			diff, scale := testmodels.MaxAbsDiff(y, want)
			t.Logf("written model: max |diff| engine vs onnxruntime %.3g, largest output %.3g", diff, scale)
			if diff > 1e-5*scale {
				t.Errorf("written model: engine and onnxruntime differ by %.3g (largest output %.3g)", diff, scale)
			}
			if old := runORT(t, orig, in); bitsEqual(old, want) {
				t.Error("onnxruntime gives the same outputs before and after training")
			}
		})
	}
}

// pytorchLayout returns p's values in PyTorch's layout.
func pytorchLayout(t *testing.T, m *graph.Model, p *graph.Param) []float32 {
	t.Helper()
	init := m.Graph.Initializer(p.Initializer)
	v, err := graph.Decode[float32](init.Raw)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Transposed {
		return v
	}
	r, c := int(init.Dims[0]), int(init.Dims[1])
	out := make([]float32, len(v))
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			out[j*r+i] = v[i*c+j]
		}
	}
	return out
}

// A model with local functions comes back byte-identical.
func TestFunctionsRoundTrip(t *testing.T) {
	for _, fm := range functionModels() {
		t.Run(fm.name, func(t *testing.T) {
			path := fm.path(t)
			orig, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			m, err := importer.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			out, err := export.Encode(m)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(orig, out) {
				assertSameProto(t, orig, out)
				t.Error("bytes differ")
			}
		})
	}
}
