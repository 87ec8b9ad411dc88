package main

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/importer"
	"github.com/onnxtune/onnxtune/internal/npz"
	"github.com/onnxtune/onnxtune/internal/ort"
)

// models/states (models/make_states.py, torch 2.14): an LSTM fed its
// initial states h0 and c0 [2, batch, 8], the batch on axis 1.
func statesDir() string { return filepath.Join("..", "..", "models", "states") }

var statesInputs = []string{"x", "h0", "c0"}

// TestStatesRun: run takes x [N, 4, 5] and h0, c0 [2, N, 8] from one .npz
// file and cuts all three along their own batch axis, at any --batch-size;
// its outputs (logits [N, 3], hn [2, N, 8], joined along axis 1) are
// PyTorch's and ONNX Runtime's; eval gives PyTorch's loss and accuracy.
func TestStatesRun(t *testing.T) {
	dataPath := filepath.Join(statesDir(), "lstm.data.npz")
	in, err := npz.Read(dataPath)
	if err != nil {
		t.Fatal(err)
	}
	exp, err := npz.Read(filepath.Join(statesDir(), "lstm.expected.npz"))
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range []string{"lstm_ts.onnx", "lstm_dynamo.onnx"} {
		t.Run(file, func(t *testing.T) {
			model := filepath.Join(statesDir(), file)
			outs, err := ort.RunFile(model, ortTensors(in, statesInputs), 2)
			if err != nil {
				t.Fatal(err)
			}
			for _, bs := range []string{"7", "3", "1"} {
				out := filepath.Join(t.TempDir(), "out.npz")
				if code, _, stderr := runCLI("run", model, "--data", dataPath, "--batch-size", bs, "--all-outputs", "-o", out); code != exitOK {
					t.Fatalf("run --batch-size %s: exit %d, %s", bs, code, stderr)
				}
				res, err := npz.Read(out)
				if err != nil {
					t.Fatal(err)
				}
				for i, name := range []string{"logits", "hn"} {
					got := res[name].Data.([]float32)
					dt, do := maxDiff(t, got, exp[name].Data.([]float32)), maxDiff(t, got, outs[i].Data.([]float32))
					if dt > 1e-5 || do > 1e-5 {
						t.Errorf("batch %s: %s differs from PyTorch's by %.3g, from ONNX Runtime's by %.3g", bs, name, dt, do)
					}
					t.Logf("batch %s: %s %v, largest difference to PyTorch %.3g, to ONNX Runtime %.3g", bs, name, res[name].Shape, dt, do)
				}
			}
			code, stdout, stderr := runCLI("eval", "--json", model, "--data", dataPath, "--batch-size", "3")
			if code != exitOK {
				t.Fatalf("eval: exit %d, %s", code, stderr)
			}
			var ev evalResult
			if err := json.Unmarshal([]byte(stdout), &ev); err != nil {
				t.Fatal(err)
			}
			wantLoss, wantAcc := exp["loss"].Data.([]float64)[0], exp["accuracy"].Data.([]float64)[0]
			if math.Abs(ev.Loss-wantLoss) > 1e-5 || ev.Accuracy != wantAcc || ev.N != 7 {
				t.Errorf("eval: loss %.7f accuracy %v n %d; PyTorch: loss %.7f accuracy %v", ev.Loss, ev.Accuracy, ev.N, wantLoss, wantAcc)
			}
		})
	}
}

// TestStatesTrain: train cuts x, h0 and c0 into the batches PyTorch's
// epoch took (--batch-size 3 --shuffle=false: 3, 3, 1) and writes the
// weights its SGD reaches (models/states/lstm_epoch.npz), in PyTorch's
// layout through the LSTM's views.
func TestStatesTrain(t *testing.T) {
	dataPath := filepath.Join(statesDir(), "lstm.data.npz")
	ref, err := npz.Read(filepath.Join(statesDir(), "lstm_epoch.npz"))
	if err != nil {
		t.Fatal(err)
	}
	steps := len(ref["loss"].Data.([]float32))
	for _, file := range []string{"lstm_ts.onnx", "lstm_dynamo.onnx"} {
		t.Run(file, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out.onnx")
			code, _, stderr := runCLI("train", filepath.Join(statesDir(), file), "-o", out, "--data", dataPath, "--batch-size", "3",
				"--shuffle=false", "--lr", "0.05", "--momentum", "0.9", "--weight-decay", "0", "--log-level", "error")
			if code != exitOK {
				t.Fatalf("train: exit %d, %s", code, stderr)
			}
			m, err := importer.Load(out)
			if err != nil {
				t.Fatal(err)
			}
			prefix := fmt.Sprintf("step%d/", steps)
			worst, n := 0.0, 0
			for key, a := range ref {
				name, ok := strings.CutPrefix(key, prefix)
				if !ok {
					continue
				}
				got := paramValues(t, m, name)
				d := maxDiff(t, got, a.Data.([]float32))
				if d > 1e-5 {
					t.Errorf("%s: differs from PyTorch's by up to %.3g after %d steps", name, d, steps)
				}
				worst = math.Max(worst, d)
				n++
			}
			if n != 10 {
				t.Fatalf("%d parameters compared, want the LSTM's 8 and the head's 2", n)
			}
			t.Logf("%d parameters after an epoch of %d steps: largest difference to PyTorch %.3g", n, steps, worst)
		})
	}
}

// paramValues returns parameter name of m in PyTorch's layout: through its
// view of the initializer (an LSTM's weight_ih_l0 in W), transposed back
// when the export stores it transposed.
func paramValues(t *testing.T, m *graph.Model, name string) []float32 {
	t.Helper()
	p := m.Param(name)
	if p == nil {
		t.Fatalf("%s: not in the written model", name)
	}
	v, err := m.Graph.Initializer(p.Initializer).Float32s()
	if err != nil {
		t.Fatal(err)
	}
	if p.View != nil {
		dst := make([]float32, p.View.Len())
		graph.Gather(p.View, dst, v)
		return dst
	}
	return torchLayout(p, v)
}

// TestStatesFixedExport: an export of fixed shapes (x [3, 4, 5], h0 and c0
// [2, 3, 8]) has its batch of 3 on axis 1 of the states, the only axis of
// that size: run in batches of 3 gives PyTorch's outputs.
func TestStatesFixedExport(t *testing.T) {
	in, err := npz.Read(filepath.Join(statesDir(), "lstm.data.npz"))
	if err != nil {
		t.Fatal(err)
	}
	exp, err := npz.Read(filepath.Join(statesDir(), "lstm.expected.npz"))
	if err != nil {
		t.Fatal(err)
	}
	// The first 6 examples: two batches of 3.
	six := map[string]npz.Array{
		"x":  {Shape: []int{6, 4, 5}, Data: in["x"].Data.([]float32)[:6*20]},
		"h0": firstAlong1(in["h0"], 6),
		"c0": firstAlong1(in["c0"], 6),
	}
	dataPath := filepath.Join(t.TempDir(), "six.npz")
	if err := npz.Write(dataPath, six); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out.npz")
	if code, _, stderr := runCLI("run", filepath.Join(statesDir(), "lstm_fixed_ts.onnx"), "--data", dataPath, "--batch-size", "3", "--all-outputs", "-o", out); code != exitOK {
		t.Fatalf("run: exit %d, %s", code, stderr)
	}
	res, err := npz.Read(out)
	if err != nil {
		t.Fatal(err)
	}
	want := exp["logits"].Data.([]float32)[:6*3]
	if d := maxDiff(t, res["logits"].Data.([]float32), want); d > 1e-5 {
		t.Errorf("logits differ from PyTorch's by %.3g", d)
	}
	if d := maxDiff(t, res["hn"].Data.([]float32), firstAlong1(exp["hn"], 6).Data.([]float32)); d > 1e-5 {
		t.Errorf("hn differs from PyTorch's by %.3g", d)
	}
}

// firstAlong1 returns the first n examples of a [2, N, H] float32 array.
func firstAlong1(a npz.Array, n int) npz.Array {
	v := a.Data.([]float32)
	l, N, h := a.Shape[0], a.Shape[1], a.Shape[2]
	var out []float32
	for i := range l {
		out = append(out, v[i*N*h:(i*N+n)*h]...)
	}
	return npz.Array{Shape: []int{l, n, h}, Data: out}
}

// TestStatesDataErrors: a state array of the wrong count of examples or
// sizes is one line naming the input with its declared shape, exit 1.
func TestStatesDataErrors(t *testing.T) {
	in, err := npz.Read(filepath.Join(statesDir(), "lstm.data.npz"))
	if err != nil {
		t.Fatal(err)
	}
	model := filepath.Join(statesDir(), "lstm_ts.onnx")
	for _, tc := range []struct {
		name string
		h0   npz.Array
		want string
	}{
		{"examples", firstAlong1(in["h0"], 6),
			`array h0 has 6 examples along axis 1, where the model's input "h0" float32 [2, batch, 8] has its batch (shape [2 6 8]), x has 7`},
		{"batch first", npz.Array{Shape: []int{7, 2, 8}, Data: in["h0"].Data},
			`h0 has shape [7 2 8], the model's input "h0" is float32 [2, batch, 8] (the examples along axis 1)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			arrays := map[string]npz.Array{}
			for k, v := range in {
				arrays[k] = v
			}
			arrays["h0"] = tc.h0
			path := filepath.Join(t.TempDir(), "bad.npz")
			if err := npz.Write(path, arrays); err != nil {
				t.Fatal(err)
			}
			for _, args := range [][]string{
				{"run", model, "--data", path},
				{"eval", model, "--data", path},
				{"train", model, "--data", path, "-o", filepath.Join(t.TempDir(), "out.onnx")},
			} {
				code, _, stderr := runCLI(args...)
				line := strings.TrimSuffix(stderr, "\n")
				if code != exitError || strings.Contains(line, "\n") || !strings.Contains(line, tc.want) || !strings.Contains(line, path) {
					t.Errorf("%s: exit %d, stderr %q;\nwant exit 1 and one line naming %s with %q", args[0], code, stderr, path, tc.want)
				}
			}
		})
	}
}

// TestSileroVAD: the real silero VAD (input [batch, 512], state [2, batch,
// 128], sr 0-d) runs at --batch-size 1 and 3 from one .npz file with state
// [2, N, 128], its outputs (output [N, 1], stateN [2, N, 128]) those of
// ONNX Runtime on the whole arrays.
func TestSileroVAD(t *testing.T) {
	model := filepath.Join("..", "..", "..", "shared", "realworld", "silero_vad_16k_op15.onnx")
	if _, err := os.Stat(model); err != nil {
		t.Skipf("%s absent (../shared/realworld is read at test time, never copied): %v", model, err)
	}
	const n = 3
	rng := rand.New(rand.NewSource(16000))
	audio := make([]float32, n*512)
	state := make([]float32, 2*n*128)
	for i := range audio {
		audio[i] = float32(0.1 * rng.NormFloat64())
	}
	for i := range state {
		state[i] = float32(0.1 * rng.NormFloat64())
	}
	arrays := map[string]npz.Array{
		"input": {Shape: []int{n, 512}, Data: audio},
		"state": {Shape: []int{2, n, 128}, Data: state},
		"sr":    {Shape: []int{}, Data: []int64{16000}},
	}
	dataPath := filepath.Join(t.TempDir(), "vad.npz")
	if err := npz.Write(dataPath, arrays); err != nil {
		t.Fatal(err)
	}
	want, err := ort.RunFile(model, ortTensors(arrays, []string{"input", "state", "sr"}), 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, bs := range []string{"1", "3"} {
		out := filepath.Join(t.TempDir(), "out.npz")
		if code, _, stderr := runCLI("run", model, "--data", dataPath, "--batch-size", bs, "--all-outputs", "-o", out); code != exitOK {
			t.Fatalf("run --batch-size %s: exit %d, %s", bs, code, stderr)
		}
		res, err := npz.Read(out)
		if err != nil {
			t.Fatal(err)
		}
		for i, name := range []string{"output", "stateN"} {
			got, w := res[name].Data.([]float32), want[i].Data.([]float32)
			d, scale := maxDiff(t, got, w), 0.0
			for _, v := range w {
				scale = math.Max(scale, math.Abs(float64(v)))
			}
			if d > 1e-4*scale {
				t.Errorf("batch %s: %s %v differs from ONNX Runtime's by %.3g (largest value %.3g)", bs, name, res[name].Shape, d, scale)
			}
			t.Logf("batch %s: %s %v, largest difference to ONNX Runtime %.3g (%.3g of its largest value)", bs, name, res[name].Shape, d, d/scale)
		}
	}
}
