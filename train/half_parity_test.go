package train_test

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/export"
	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/graph/ops"
	"github.com/onnxtune/onnxtune/importer"
	"github.com/onnxtune/onnxtune/internal/npz"
	"github.com/onnxtune/onnxtune/internal/ort"
	"github.com/onnxtune/onnxtune/train"
	"github.com/onnxtune/onnxtune/train/data"
)

// The half-precision fixtures of models/make_half.py: float16 and bfloat16
// models, and PyTorch's three SGD steps on each, once with the parameters in
// their half type (as PyTorch trains a .half() module) and once in float32
// from the same values.
var halfDir = filepath.Join("..", "models", "half")

type halfFixture struct {
	LR       float64 `json:"lr"`
	Momentum float64 `json:"momentum"`
	Models   []struct {
		Name  string `json:"name"`
		DType string `json:"dtype"`
		Files []struct {
			File  string `json:"file"`
			Input string `json:"input"`
			ORT   bool   `json:"ort"`
		} `json:"files"`
	} `json:"models"`
}

// TestHalfTrainParity trains each half-precision file three SGD steps with
// float32 master weights (the engine computes with their values rounded to
// the file's type) and compares the masters after each step with
// PyTorch's half-precision run. The criterion: within what
// PyTorch's own half run differs from its float32 run at that step (the
// largest difference over the parameters, read from the fixture), plus half
// a unit in the last place of the half type at each value (PyTorch's half
// values are rounded, the masters are not). The
// trained model is written back: its initializers keep their types, hold the
// masters rounded to nearest, and ONNX Runtime runs the file (bfloat16
// aside: its CPU provider has no bfloat16 Gemm).
func TestHalfTrainParity(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(halfDir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var fx halfFixture
	if err := json.Unmarshal(b, &fx); err != nil {
		t.Fatal(err)
	}
	for _, mod := range fx.Models {
		arrays, err := npz.Read(filepath.Join(halfDir, mod.Name+".npz"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range mod.Files {
			t.Run(f.File, func(t *testing.T) {
				halfTrain(t, fx, arrays, f.File, f.Input, f.ORT)
			})
		}
	}
}

func halfTrain(t *testing.T, fx halfFixture, arrays map[string]npz.Array, file, input string, runsInORT bool) {
	m, err := importer.Load(filepath.Join(halfDir, file))
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]graph.DType{}
	for _, init := range m.Graph.Initializers {
		types[init.Name] = init.DType
	}
	if err := train.Prepare(m); err != nil {
		t.Fatal(err)
	}
	a, err := train.Assign(m.Params, nil, train.Hyper{LR: fx.LR, Momentum: fx.Momentum}, nil)
	if err != nil {
		t.Fatal(err)
	}
	opt, err := train.NewOptimizer(train.SGD)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := train.NewTrainer(m, train.CrossEntropy, opt, a)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	xa := arrays["x"]
	x := ops.Dense(xa.Shape, xa.Data.([]float32))
	y := arrays["y"].Data.([]int64)
	name := ops.InputNames(m)[0]
	half, f32 := arrays["half/loss"].Data.([]float32), arrays["f32/loss"].Data.([]float32)
	for k := 1; k <= len(half); k++ {
		res, err := tr.StepBatch(data.Batch{Inputs: map[string]*tensor.Dense{name: x}, Labels: y, N: len(y)}, 1)
		if err != nil {
			t.Fatalf("step %d: %v", k, err)
		}
		if d, tol := math.Abs(res.Loss-float64(half[k-1])), halfLossTol(half[k-1], f32[k-1]); d > tol {
			t.Errorf("step %d: loss %.6f, PyTorch's half run %.6f (float32 run %.6f): differs by %.3g, over %.3g", k, res.Loss, half[k-1], f32[k-1], d, tol)
		}
		gap, worst, worst32, at := 0.0, 0.0, 0.0, ""
		type elem struct {
			got, half float64
			name      string
		}
		var elems []elem
		for _, key := range halfKeys(arrays, fmt.Sprintf("half/step%d/", k)) {
			pname := strings.TrimPrefix(key, fmt.Sprintf("half/step%d/", k))
			got, ok := tr.Values(pname)
			if !ok {
				t.Errorf("after step %d: %s is not in the trainer", k, pname)
				continue
			}
			if p := m.Param(pname); p != nil && p.Transposed && len(p.Shape) == 2 {
				got = todayTranspose(got, int(p.Shape[1]), int(p.Shape[0]))
			}
			h := todayFloats(arrays[key].Data)
			w := todayFloats(arrays[fmt.Sprintf("f32/step%d/%s", k, pname)].Data)
			for i := range h {
				gap = math.Max(gap, math.Abs(h[i]-w[i]))
				if d := math.Abs(float64(got[i]) - h[i]); d > worst {
					worst, at = d, pname
				}
				elems = append(elems, elem{float64(got[i]), h[i], pname})
				worst32 = math.Max(worst32, math.Abs(float64(got[i])-w[i]))
			}
		}
		t.Logf("after step %d: loss %.5f (PyTorch half %.5f, float32 %.5f); largest difference from PyTorch's half run %.3g (%s), from its float32 run %.3g; half vs float32 in PyTorch %.3g",
			k, res.Loss, half[k-1], f32[k-1], worst, at, worst32, gap)
		for _, e := range elems {
			dt := graph.Float32
			if p := m.Param(e.name); p != nil {
				dt = types[p.Initializer]
			}
			if tol := gap + halfULP(e.half, dt)/2; math.Abs(e.got-e.half) > tol {
				t.Errorf("after step %d: %s differs from PyTorch's half run by %.3g, over %.3g: what PyTorch's half and float32 runs differ by (%.3g) and half a %s ulp", k, e.name, math.Abs(e.got-e.half), tol, gap, dt)
				break
			}
		}
	}
	if err := tr.Sync(); err != nil {
		t.Fatal(err)
	}
	for _, init := range m.Graph.Initializers {
		want, ok := types[init.Name]
		if !ok {
			continue
		}
		if init.DType != want {
			t.Errorf("initializer %s is %s after training, was %s", init.Name, init.DType, want)
		}
	}
	for _, p := range m.Params {
		init := m.Graph.Initializer(p.Initializer)
		master, _ := tr.Values(p.Name)
		stored, err := ops.TensorFromIR(init)
		if err != nil {
			t.Fatal(err)
		}
		v, _ := ops.Data[float32](stored)
		for i := range v {
			if r := halfRound(master[i], init.DType); v[i] != r {
				t.Fatalf("%s[%d] written as %v, its master %v rounds to %v", p.Name, i, v[i], master[i], r)
			}
		}
	}
	out := filepath.Join(t.TempDir(), "trained.onnx")
	if err := export.WriteFile(out, m); err != nil {
		t.Fatal(err)
	}
	if !runsInORT {
		return
	}
	if _, err := ort.LibraryPath(); err != nil {
		t.Skip(err)
	}
	feed := ort.Tensor{Name: name, Shape: []int64{}, Data: xa.Data}
	for _, d := range xa.Shape {
		feed.Shape = append(feed.Shape, int64(d))
	}
	if input == "FLOAT16" {
		h := make([]graph.F16, len(xa.Data.([]float32)))
		for i, v := range xa.Data.([]float32) {
			h[i] = graph.F16FromFloat32(v)
		}
		feed.Data = h
	}
	outs, err := ort.RunFile(out, []ort.Tensor{feed}, 1)
	if err != nil {
		t.Fatalf("ONNX Runtime on the trained model: %v", err)
	}
	r, err := ops.NewRunner(m, ops.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	mine, err := r.Run(map[string]*tensor.Dense{name: x})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := ops.Data[float32](mine[0])
	want := halfORTFloats(outs[0].Data)
	var d, mag float64
	for i := range want {
		d = math.Max(d, math.Abs(float64(got[i])-want[i]))
		mag = math.Max(mag, math.Abs(want[i]))
	}
	t.Logf("trained model: ONNX Runtime runs it; the engine's output differs from its by %.3g of the largest output", d/mag)
	if d > 1e-3*mag {
		t.Errorf("trained model: the engine's output differs from ONNX Runtime's by %.3g of the largest output, over 1e-3", d/mag)
	}
}

// halfULP is the spacing of type d's values at v's magnitude.
func halfULP(v float64, d graph.DType) float64 {
	bits := 10
	if d == graph.BFloat16 {
		bits = 7
	}
	_, e := math.Frexp(math.Max(math.Abs(v), 1.0/(1<<14)))
	return math.Ldexp(1, e-1-bits)
}

// halfLossTol is the loss tolerance: what PyTorch's half and float32 runs
// differ by, plus one float16 ulp of the loss (PyTorch rounds its half loss).
func halfLossTol(half, f32 float32) float64 {
	_, e := math.Frexp(math.Abs(float64(half)))
	return math.Abs(float64(half)-float64(f32)) + math.Ldexp(1, e-11)
}

func halfKeys(arrays map[string]npz.Array, prefix string) []string {
	var keys []string
	for k := range arrays {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

func halfRound(v float32, d graph.DType) float32 {
	switch d {
	case graph.Float16:
		return graph.F16FromFloat32(v).Float32()
	case graph.BFloat16:
		return graph.BF16FromFloat32(v).Float32()
	}
	return v
}

// halfORTFloats widens ONNX Runtime's float32 or float16 output.
func halfORTFloats(d any) []float64 {
	if h, ok := d.([]graph.F16); ok {
		out := make([]float64, len(h))
		for i, v := range h {
			out[i] = float64(v.Float32())
		}
		return out
	}
	return todayFloats(d)
}
