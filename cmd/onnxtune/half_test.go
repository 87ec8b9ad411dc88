package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/graph/ops"
	"github.com/onnxtune/onnxtune/importer"
	"github.com/onnxtune/onnxtune/internal/npz"
	"github.com/onnxtune/onnxtune/remap"
	"github.com/onnxtune/onnxtune/train"
	"github.com/onnxtune/onnxtune/train/data"
)

// models/half (models/make_half.py): models of a float16 or bfloat16 input
// "input" [4, ...], x their input batch (float32 holding values of the
// input's type) and y labels.
var halfModels = []struct{ file, fixture string }{
	{"mlp16_ts.onnx", "mlp16.npz"}, {"mlp16_dynamo.onnx", "mlp16.npz"},
	{"cnn16_ts.onnx", "cnn16.npz"}, {"cnn16_dynamo.onnx", "cnn16.npz"},
	{"mlpbf16_ts.onnx", "mlpbf16.npz"}, {"mlpbf16_dynamo.onnx", "mlpbf16.npz"},
}

func halfDir() string { return filepath.Join("..", "..", "models", "half") }

// TestHalfInputData: run, eval and train feed a float16 or bfloat16 input
// from an .npz file of float16 values (float16 models), or of float32 or
// float64 values that the data rounds to the input's type; the outputs are
// those of the library given the float32 tensor (which the engine rounds on
// entry), the loss and accuracy eval's, and three SGD steps write the
// model the library's Trainer reaches, for every file.
func TestHalfInputData(t *testing.T) {
	for _, hm := range halfModels {
		t.Run(hm.file, func(t *testing.T) {
			model := filepath.Join(halfDir(), hm.file)
			fx, err := npz.Read(filepath.Join(halfDir(), hm.fixture))
			if err != nil {
				t.Fatal(err)
			}
			x := fx["x"].Data.([]float32)
			m, err := importer.Load(model)
			if err != nil {
				t.Fatal(err)
			}
			dt, _, _ := m.Graph.Inputs[0].TensorShape()
			// Values between those of the half type: the data rounds them.
			off := make([]float32, len(x))
			for i, v := range x {
				off[i] = v * (1 + 1.0/3000)
			}
			cases := map[string]struct {
				a   any
				lib []float32 // the float32 tensor the library is given
			}{
				"float32": {off, off},
				"float64": {widen64(off), off},
			}
			if dt == graph.Float16 {
				h := make([]graph.F16, len(x))
				for i, v := range x {
					h[i] = graph.F16FromFloat32(v)
					if h[i].Float32() != v {
						t.Fatalf("x[%d] = %g is no float16 value", i, v)
					}
				}
				cases["float16"] = struct {
					a   any
					lib []float32
				}{h, x}
			}
			dir := t.TempDir()
			var trained []byte
			for kind, c := range cases {
				dataPath := filepath.Join(dir, kind+".npz")
				if err := npz.Write(dataPath, map[string]npz.Array{"x": {Shape: fx["x"].Shape, Data: c.a}, "y": fx["y"]}); err != nil {
					t.Fatal(err)
				}
				want := libraryLogits(t, model, fx["x"].Shape, c.lib)
				out := filepath.Join(dir, kind+".out.npz")
				if code, _, stderr := runCLI("run", model, "--data", dataPath, "-o", out); code != exitOK {
					t.Fatalf("%s: run: exit %d, %s", kind, code, stderr)
				}
				res, err := npz.Read(out)
				if err != nil {
					t.Fatal(err)
				}
				if d := maxDiff(t, res["logits"].Data.([]float32), want); d != 0 {
					t.Errorf("%s: run's logits differ from the library's by %.3g", kind, d)
				}
				code, stdout, stderr := runCLI("eval", "--json", model, "--data", dataPath)
				if code != exitOK {
					t.Fatalf("%s: eval: exit %d, %s", kind, code, stderr)
				}
				var ev evalResult
				if err := json.Unmarshal([]byte(stdout), &ev); err != nil {
					t.Fatal(err)
				}
				loss, correct, err := train.ScoreLogits(want, fx["y"].Data.([]int64))
				if err != nil {
					t.Fatal(err)
				}
				if math.Abs(ev.Loss-loss/4) > 1e-12 || ev.Accuracy != float64(correct)/4 {
					t.Errorf("%s: eval loss %v accuracy %v, the library's logits give %v and %d of 4", kind, ev.Loss, ev.Accuracy, loss/4, correct)
				}
				tuned := filepath.Join(dir, kind+".onnx")
				if code, _, stderr := runCLI("train", model, "-o", tuned, "--data", dataPath, "--epochs", "3", "--batch-size", "4",
					"--shuffle=false", "--lr", "0.1", "--momentum", "0.9", "--weight-decay", "1e-4", "--log-level", "error"); code != exitOK {
					t.Fatalf("%s: train: exit %d, %s", kind, code, stderr)
				}
				checkLibraryTraining(t, model, tuned, fx["x"].Shape, c.lib, fx["y"].Data.([]int64))
				if kind == "float32" {
					if trained, err = os.ReadFile(tuned); err != nil {
						t.Fatal(err)
					}
				}
			}
			// float64 values rounded as their float32 are: the same training.
			b, err := os.ReadFile(filepath.Join(dir, "float64.onnx"))
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != string(trained) {
				t.Error("training from float64 and from float32 arrays of the same values wrote different models")
			}
		})
	}
}

func widen64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// libraryLogits runs model as the library does, on one float32 tensor.
func libraryLogits(t *testing.T, model string, shape []int, x []float32) []float32 {
	t.Helper()
	m, err := importer.Load(model)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := remap.ToInference(m); err != nil {
		t.Fatal(err)
	}
	r, err := ops.NewRunner(m, ops.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	outs, err := r.Run(map[string]*tensor.Dense{"input": ops.Dense(shape, append([]float32(nil), x...))})
	if err != nil {
		t.Fatal(err)
	}
	z, err := ops.Data[float32](outs[0])
	if err != nil {
		t.Fatal(err)
	}
	return z
}

// checkLibraryTraining trains model with the library, three SGD steps on
// the batch x, y, and compares every parameter of the written model tuned
// with the trainer's (rounded to the file's type, as written).
func checkLibraryTraining(t *testing.T, model, tuned string, shape []int, x []float32, y []int64) {
	t.Helper()
	m, err := importer.Load(model)
	if err != nil {
		t.Fatal(err)
	}
	if err := train.Prepare(m); err != nil {
		t.Fatal(err)
	}
	a, err := train.Assign(m.Params, nil, train.Hyper{LR: 0.1, Momentum: 0.9, WeightDecay: 1e-4}, nil)
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
	for k := range 3 {
		b := data.Batch{Inputs: map[string]*tensor.Dense{"input": ops.Dense(shape, append([]float32(nil), x...))}, Labels: y, N: len(y)}
		if _, err := tr.StepBatch(b, 1); err != nil {
			t.Fatalf("library step %d: %v", k+1, err)
		}
	}
	w, err := importer.Load(tuned)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, p := range w.Params {
		init := w.Graph.Initializer(p.Initializer)
		got, err := halfValues(init)
		if err != nil {
			t.Fatal(err)
		}
		lib, ok := tr.Values(p.Name)
		if !ok {
			t.Fatalf("%s: not in the library's trainer", p.Name)
		}
		for i, v := range lib {
			r := v
			switch init.DType {
			case graph.Float16:
				r = graph.F16FromFloat32(v).Float32()
			case graph.BFloat16:
				r = graph.BF16FromFloat32(v).Float32()
			}
			if got[i] != r {
				t.Fatalf("%s[%d]: written %g, the library's trainer %g (%g rounded to %v)", p.Name, i, got[i], r, v, init.DType)
			}
		}
		n++
	}
	if n == 0 {
		t.Fatal("no parameter compared")
	}
}

// TestHalfInputDataErrors: an array that cannot feed a half input is one
// line naming the input, the array's element type and shape, exit 1.
func TestHalfInputDataErrors(t *testing.T) {
	fx, err := npz.Read(filepath.Join(halfDir(), "mlp16.npz"))
	if err != nil {
		t.Fatal(err)
	}
	h := make([]graph.F16, 32)
	for _, tc := range []struct {
		file string
		x    any
		want string
	}{
		{"mlp16_ts.onnx", make([]int64, 32), `x is int64 [4 8], the model's input "input" is float16 [4, 8] (it takes float16, or float32 or float64 rounded to float16)`},
		{"mlpbf16_ts.onnx", h, `x is float16 [4 8], the model's input "input" is bfloat16 [4, 8] (it takes float32 or float64, rounded to bfloat16; numpy has no bfloat16)`},
	} {
		path := filepath.Join(t.TempDir(), "bad.npz")
		if err := npz.Write(path, map[string]npz.Array{"x": {Shape: []int{4, 8}, Data: tc.x}, "y": fx["y"]}); err != nil {
			t.Fatal(err)
		}
		model := filepath.Join(halfDir(), tc.file)
		for _, args := range [][]string{
			{"run", model, "--data", path},
			{"eval", model, "--data", path},
			{"train", model, "--data", path, "-o", filepath.Join(t.TempDir(), "out.onnx")},
		} {
			code, _, stderr := runCLI(args...)
			line := strings.TrimSuffix(stderr, "\n")
			if code != exitError || strings.Contains(line, "\n") || !strings.Contains(line, tc.want) || !strings.Contains(line, path) {
				t.Errorf("%s %s: exit %d, stderr %q;\nwant exit 1 and one line naming %s with %q", args[0], tc.file, code, stderr, path, tc.want)
			}
		}
	}
}

// halfValues returns the values of a float32, float16 or bfloat16 tensor
// as float32 (exactly).
func halfValues(init *graph.Tensor) ([]float32, error) {
	switch init.DType {
	case graph.Float16:
		h, err := graph.Decode[graph.F16](init.Raw)
		out := make([]float32, len(h))
		for i, v := range h {
			out[i] = v.Float32()
		}
		return out, err
	case graph.BFloat16:
		h, err := graph.Decode[graph.BF16](init.Raw)
		out := make([]float32, len(h))
		for i, v := range h {
			out[i] = v.Float32()
		}
		return out, err
	}
	return init.Float32s()
}
