package main

import (
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/importer"
	"github.com/onnxtune/onnxtune/internal/npz"
	"github.com/onnxtune/onnxtune/internal/ort"
)

// The models of several inputs of models/multi (models/make_multi_input.py,
// PyTorch 1.13): their graph inputs in order.
var multiModels = []struct {
	name   string
	inputs []string
}{
	{"text", []string{"input_ids", "attention_mask"}},      // int64 ids and mask
	{"image_feat", []string{"image", "features", "scale"}}, // float32 image, float64 features, 0-d float32
	{"masked_seq", []string{"x", "mask", "segment"}},       // float32, bool, int32
}

func multiDir() string { return filepath.Join("..", "..", "models", "multi") }

// ortTensors returns the arrays names of a as ONNX Runtime's inputs.
func ortTensors(a map[string]npz.Array, names []string) []ort.Tensor {
	var ts []ort.Tensor
	for _, name := range names {
		shape := make([]int64, len(a[name].Shape))
		for i, d := range a[name].Shape {
			shape[i] = int64(d)
		}
		ts = append(ts, ort.Tensor{Name: name, Shape: shape, Data: a[name].Data})
	}
	return ts
}

// maxDiff returns the largest absolute difference of two float32 slices of
// one length.
func maxDiff(t *testing.T, got, want []float32) float64 {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d values, want %d", len(got), len(want))
	}
	d := 0.0
	for i := range want {
		d = math.Max(d, math.Abs(float64(got[i])-float64(want[i])))
	}
	return d
}

// TestMultiInputRun: run feeds every input of the models from the arrays of
// their names (int64 ids and masks, a float64 vector, a 0-d scale, a bool
// mask, int32 ids) and gives PyTorch's eval outputs and ONNX Runtime's,
// at any --batch-size; eval gives PyTorch's cross-entropy and accuracy.
func TestMultiInputRun(t *testing.T) {
	for _, mm := range multiModels {
		t.Run(mm.name, func(t *testing.T) {
			model := filepath.Join(multiDir(), mm.name+".onnx")
			dataPath := filepath.Join(multiDir(), mm.name+".data.npz")
			in, err := npz.Read(dataPath)
			if err != nil {
				t.Fatal(err)
			}
			exp, err := npz.Read(filepath.Join(multiDir(), mm.name+".expected.npz"))
			if err != nil {
				t.Fatal(err)
			}
			want := exp["logits"].Data.([]float32)
			outs, err := ort.RunFile(model, ortTensors(in, mm.inputs), 1)
			if err != nil {
				t.Fatal(err)
			}
			onnxruntime := outs[0].Data.([]float32)
			for _, bs := range []string{"64", "3", "1"} {
				out := filepath.Join(t.TempDir(), "out.npz")
				code, stdout, stderr := runCLI("run", model, "--data", dataPath, "--batch-size", bs, "-o", out)
				if code != exitOK {
					t.Fatalf("run --batch-size %s: exit %d, %s", bs, code, stderr)
				}
				if !strings.Contains(stdout, fmt.Sprintf("logits  %v", exp["logits"].Shape)) {
					t.Errorf("run printed %q, want the shape %v", stdout, exp["logits"].Shape)
				}
				res, err := npz.Read(out)
				if err != nil {
					t.Fatal(err)
				}
				got := res["logits"].Data.([]float32)
				dt, do := maxDiff(t, got, want), maxDiff(t, got, onnxruntime)
				if dt > 1e-5 || do > 1e-5 {
					t.Errorf("batch %s: logits differ from PyTorch's by %.3g, from ONNX Runtime's by %.3g", bs, dt, do)
				}
				t.Logf("batch %s: largest difference to PyTorch %.3g, to ONNX Runtime %.3g", bs, dt, do)
			}
			code, stdout, stderr := runCLI("eval", "--json", model, "--data", dataPath, "--batch-size", "4")
			if code != exitOK {
				t.Fatalf("eval: exit %d, %s", code, stderr)
			}
			var ev evalResult
			if err := json.Unmarshal([]byte(stdout), &ev); err != nil {
				t.Fatal(err)
			}
			wantLoss, wantAcc := exp["loss"].Data.([]float64)[0], exp["accuracy"].Data.([]float64)[0]
			if math.Abs(ev.Loss-wantLoss) > 1e-5 || ev.Accuracy != wantAcc || ev.N != exp["logits"].Shape[0] {
				t.Errorf("eval: loss %.7f accuracy %v n %d; PyTorch: loss %.7f accuracy %v", ev.Loss, ev.Accuracy, ev.N, wantLoss, wantAcc)
			}
		})
	}
}

// TestMultiInputTrain: train reads the arrays by name, cuts them into the
// same batches (--batch-size 3 --shuffle=false, the last of one example;
// the 0-d scale goes to every batch) and writes the weights PyTorch's SGD
// reaches over that epoch (models/multi/train/<model>_epoch.npz), which
// ONNX Runtime then runs with the engine's results.
func TestMultiInputTrain(t *testing.T) {
	for _, mm := range multiModels {
		t.Run(mm.name, func(t *testing.T) {
			model := filepath.Join(multiDir(), mm.name+".onnx")
			dataPath := filepath.Join(multiDir(), mm.name+".data.npz")
			ref, err := npz.Read(filepath.Join(multiDir(), "train", mm.name+"_epoch.npz"))
			if err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(t.TempDir(), "out.onnx")
			code, _, stderr := runCLI("train", model, "-o", out, "--data", dataPath, "--batch-size", "3", "--shuffle=false",
				"--lr", "0.01", "--momentum", "0.9", "--weight-decay", "1e-4", "--group", "fc.*:lr=0.05", "--log-level", "error")
			if code != exitOK {
				t.Fatalf("train: exit %d, %s", code, stderr)
			}
			m, err := importer.Load(out)
			if err != nil {
				t.Fatal(err)
			}
			steps := len(ref["loss"].Data.([]float32))
			prefix := fmt.Sprintf("step%d/", steps)
			worst, n := 0.0, 0
			for key, a := range ref {
				name, ok := strings.CutPrefix(key, prefix)
				if !ok {
					continue
				}
				p := m.Param(name)
				if p == nil {
					t.Errorf("%s: not in the written model", name)
					continue
				}
				v, err := m.Graph.Initializer(p.Initializer).Float32s()
				if err != nil {
					t.Fatal(err)
				}
				d := maxDiff(t, torchLayout(p, v), a.Data.([]float32))
				if d > 1e-5 {
					t.Errorf("%s: differs from PyTorch's by up to %.3g after %d steps", name, d, steps)
				}
				worst = math.Max(worst, d)
				n++
			}
			if n == 0 {
				t.Fatal("no parameter compared")
			}
			t.Logf("%d parameters after %d steps: largest difference to PyTorch %.3g", n, steps, worst)

			in, err := npz.Read(dataPath)
			if err != nil {
				t.Fatal(err)
			}
			outs, err := ort.RunFile(out, ortTensors(in, mm.inputs), 1)
			if err != nil {
				t.Fatal(err)
			}
			res := filepath.Join(t.TempDir(), "res.npz")
			if code, _, stderr := runCLI("run", out, "--data", dataPath, "-o", res); code != exitOK {
				t.Fatalf("run of the trained model: exit %d, %s", code, stderr)
			}
			got, err := npz.Read(res)
			if err != nil {
				t.Fatal(err)
			}
			if d := maxDiff(t, got["logits"].Data.([]float32), outs[0].Data.([]float32)); d > 1e-5 {
				t.Errorf("trained model: engine and ONNX Runtime differ by %.3g", d)
			}
		})
	}
}

// torchLayout returns the values v of parameter p in PyTorch's layout: a
// weight the export stores transposed (MatMul) is transposed back.
func torchLayout(p *graph.Param, v []float32) []float32 {
	if !p.Transposed || len(p.Shape) != 2 {
		return v
	}
	rows, cols := int(p.Shape[0]), int(p.Shape[1])
	out := make([]float32, len(v))
	for i := range rows {
		for j := range cols {
			out[i*cols+j] = v[j*rows+i]
		}
	}
	return out
}

// TestMultiInputDataErrors: for run, eval and train, a missing, extra or
// mis-shaped array, or one of another element type, is one line naming the
// input with the element type and shape the model declares, exit 1.
func TestMultiInputDataErrors(t *testing.T) {
	dir := t.TempDir()
	text, err := npz.Read(filepath.Join(multiDir(), "text.data.npz"))
	if err != nil {
		t.Fatal(err)
	}
	seq, err := npz.Read(filepath.Join(multiDir(), "masked_seq.data.npz"))
	if err != nil {
		t.Fatal(err)
	}
	img, err := npz.Read(filepath.Join(multiDir(), "image_feat.data.npz"))
	if err != nil {
		t.Fatal(err)
	}
	// changed returns base with name set to a (removed when a has no
	// data), written to dir/file.
	changed := func(file string, base map[string]npz.Array, name string, a npz.Array) string {
		m := map[string]npz.Array{}
		for k, v := range base {
			m[k] = v
		}
		if a.Data == nil {
			delete(m, name)
		} else {
			m[name] = a
		}
		path := filepath.Join(dir, file)
		if err := npz.Write(path, m); err != nil {
			t.Fatal(err)
		}
		return path
	}
	asFloat := func(a npz.Array) npz.Array {
		var v []float32
		for _, x := range a.Data.([]int64) {
			v = append(v, float32(x))
		}
		return npz.Array{Shape: a.Shape, Data: v}
	}
	const mask = `the model's input "attention_mask" is int64 [batch, sequence]`
	n := text["input_ids"].Shape[0]
	tests := []struct {
		name, model, data, want string
	}{
		{"missing", "text", changed("missing.npz", text, "attention_mask", npz.Array{}),
			`no array attention_mask for the model's input "attention_mask" int64 [batch, sequence] (the archive has [input_ids y])`},
		{"extra", "text", changed("extra.npz", text, "token_type_ids", text["input_ids"]),
			`array token_type_ids feeds no input: the model's inputs are "input_ids" int64 [batch, sequence], "attention_mask" int64 [batch, sequence] (labels go in y)`},
		{"mis-shaped", "text", changed("shape.npz", text, "attention_mask", npz.Array{Shape: []int{n, 5}, Data: make([]int64, n*5)}),
			"attention_mask has shape [7 5], " + mask + ", and input_ids gives sequence = 6"},
		{"rank", "text", changed("rank.npz", text, "attention_mask", npz.Array{Shape: []int{n * 6}, Data: text["attention_mask"].Data}),
			"attention_mask has shape [42], " + mask},
		{"wrong dtype", "text", changed("dtype.npz", text, "attention_mask", asFloat(text["attention_mask"])),
			"attention_mask is float32 [7 6], " + mask},
		{"int64 for bool", "masked_seq", changed("bool.npz", seq, "mask", npz.Array{Shape: seq["mask"].Shape, Data: make([]int64, 42)}),
			`mask is int64 [7 6], the model's input "mask" is bool [batch, 6]`},
		{"fixed size", "masked_seq", changed("fixed.npz", seq, "x", npz.Array{Shape: []int{7, 6, 4}, Data: make([]float32, 7*6*4)}),
			`x has shape [7 6 4], the model's input "x" is float32 [batch, 6, 5]`},
		{"batched scale", "image_feat", changed("scale.npz", img, "scale", npz.Array{Shape: []int{7}, Data: make([]float32, 7)}),
			`scale has shape [7], the model's input "scale" is float32 [] (a 0-d array feeds it, one value for every batch)`},
		{"x for two inputs", "text", filepath.Join("..", "..", "models", "transformer_op13.expected.npz"),
			`no array input_ids for the model's input "input_ids" int64 [batch, sequence] (the archive has [logits x])`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			model := filepath.Join(multiDir(), tc.model+".onnx")
			for _, args := range [][]string{
				{"run", model, "--data", tc.data},
				{"eval", model, "--data", tc.data},
				{"train", model, "--data", tc.data, "-o", filepath.Join(t.TempDir(), "out.onnx")},
				{"train", model, "--data", filepath.Join(multiDir(), tc.model+".data.npz"), "--val", tc.data, "-o", filepath.Join(t.TempDir(), "out.onnx")},
			} {
				code, _, stderr := runCLI(args...)
				line := strings.TrimSuffix(stderr, "\n")
				if code != exitError || strings.Contains(line, "\n") || !strings.Contains(line, tc.want) || !strings.Contains(line, tc.data) {
					t.Errorf("%s: exit %d, stderr %q;\nwant exit 1 and one line naming %s with %q", strings.Join(args[:1], " "), code, stderr, tc.data, tc.want)
				}
			}
		})
	}
	// The same file feeds the three commands when nothing is wrong.
	for _, cmd := range []string{"run", "eval"} {
		if code, _, stderr := runCLI(cmd, filepath.Join(multiDir(), "text.onnx"), "--data", filepath.Join(multiDir(), "text.data.npz")); code != exitOK {
			t.Errorf("%s: exit %d, %s", cmd, code, stderr)
		}
	}
}
