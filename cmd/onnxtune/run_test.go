package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/onnxtune/onnxtune/export"
	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/importer"
	"github.com/onnxtune/onnxtune/internal/npz"
)

// TestRunNoOutput: a model whose graph declares no output (the ONNX checker
// and ONNX Runtime load one) gives run nothing to compute: it exits 1 in
// one line, as eval and train do, instead of printing an empty table,
// "predictions": null and writing an empty -o archive.
func TestRunNoOutput(t *testing.T) {
	dir := t.TempDir()
	m, err := importer.Load(metricsModel)
	if err != nil {
		t.Fatal(err)
	}
	m.Graph.Outputs = nil
	model := filepath.Join(dir, "noout.onnx")
	if err := export.WriteFile(model, m); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.npz")
	for _, extra := range [][]string{nil, {"--json"}, {"-o", out}} {
		code, stdout, stderr := runCLI(append([]string{"run", model, "--data", metricsData}, extra...)...)
		want := "onnxtune: " + model + ": the model has no output\n"
		if code != exitError || stderr != want || stdout != "" {
			t.Errorf("run %v: exit %d, stdout %q, stderr %q; want exit %d and %q", extra, code, stdout, stderr, exitError, want)
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("-o: %v, want no file written", err)
	}
}

// TestRunNotClassifier: a model whose first output is not float32
// [batch, classes] (a 3-D state [2, batch, 8]; ArgMax's int64 [batch])
// runs: run prints the output shapes and says why there are no
// predictions, -o writes the array, and --json has "predictions": [], not
// null. It printed an empty predictions table and "predictions": null.
func TestRunNotClassifier(t *testing.T) {
	dir := t.TempDir()
	lstm, err := importer.Load(filepath.Join(statesDir(), "lstm_ts.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	// hn [2, batch, 8] first, logits second.
	lstm.Graph.Outputs[0], lstm.Graph.Outputs[1] = lstm.Graph.Outputs[1], lstm.Graph.Outputs[0]
	cls, err := importer.Load(metricsModel)
	if err != nil {
		t.Fatal(err)
	}
	// The class indices of ArgMax(logits, axis 1) as the one output.
	logits := cls.Graph.Outputs[0].Name
	cls.Graph.Nodes = append(cls.Graph.Nodes, &graph.Node{Name: "argmax", OpType: "ArgMax", Inputs: []string{logits},
		Outputs: []string{"class"}, Attrs: []*graph.Attribute{{Name: "axis", Type: graph.AttrInt, I: 1}, {Name: "keepdims", Type: graph.AttrInt, I: 0}}})
	cls.Graph.Outputs = []*graph.ValueInfo{{Name: "class", Type: &graph.Type{Kind: graph.TypeTensor, Elem: graph.Int64,
		Shape: &graph.Shape{Dims: []graph.Dim{{Param: "batch", HasParam: true}}}}}}
	for _, c := range []struct {
		name  string
		m     *graph.Model
		data  string
		first string // the first output's graph name
		dtype string
	}{
		{"3-D", lstm, filepath.Join(statesDir(), "lstm.data.npz"), "hn", "float32"},
		{"1-D", cls, metricsData, "class", "int64"},
	} {
		t.Run(c.name, func(t *testing.T) {
			data, err := npz.Read(c.data)
			if err != nil {
				t.Fatal(err)
			}
			// The declared shape, with the examples of y for the batch.
			var shape []int
			_, dims, _ := c.m.Graph.Outputs[0].TensorShape()
			for _, d := range dims {
				if d.HasValue {
					shape = append(shape, int(d.Value))
				} else {
					shape = append(shape, data["y"].Shape[0])
				}
			}
			model := filepath.Join(dir, c.name+".onnx")
			if err := export.WriteFile(model, c.m); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(dir, c.name+".npz")
			code, stdout, stderr := runCLI("run", model, "--data", c.data, "-o", out, "--log-level", "warn")
			if code != exitOK || stderr != "" {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			res, err := npz.Read(out)
			if err != nil {
				t.Fatal(err)
			}
			if got := res["logits"].Shape; !slices.Equal(got, shape) {
				t.Errorf("-o: logits %v, want %v", got, shape)
			}
			want := fmt.Sprintf("logits  %v\nwrote   %s\n\nno predictions: they need a first output of float32 class scores [batch, classes]; %q is %s %v\n",
				shape, out, c.first, c.dtype, shape)
			if stdout != want {
				t.Errorf("stdout %q, want %q", stdout, want)
			}
			code, stdout, stderr = runCLI("run", "--json", model, "--data", c.data, "--log-level", "warn")
			if code != exitOK || stderr != "" {
				t.Fatalf("--json: exit %d, stderr %q", code, stderr)
			}
			var got map[string]any
			if err := json.Unmarshal([]byte(stdout), &got); err != nil {
				t.Fatalf("--json: %v: %s", err, stdout)
			}
			if p, ok := got["predictions"].([]any); !ok || len(p) != 0 {
				t.Errorf("--json: predictions %#v, want []", got["predictions"])
			}
			if s, _ := got["outputs"].(map[string]any)["logits"].([]any); len(s) != len(shape) {
				t.Errorf("--json: outputs %v, want logits %v", got["outputs"], shape)
			}
		})
	}
}

// TestNaNPredictions: run's predictions and eval's accuracy and confusion
// matrix take the class torch.argmax takes from scores with NaN (the first
// NaN, as the largest) and infinities (models/make_nan_argmax.py); they
// skipped NaNs.
func TestNaNPredictions(t *testing.T) {
	dir := filepath.Join("..", "..", "models", "nan_argmax")
	model, dataPath := filepath.Join(dir, "scores.onnx"), filepath.Join(dir, "data.npz")
	in, err := npz.Read(dataPath)
	if err != nil {
		t.Fatal(err)
	}
	exp, err := npz.Read(filepath.Join(dir, "expected.npz"))
	if err != nil {
		t.Fatal(err)
	}
	y, want := in["y"].Data.([]int64), exp["argmax"].Data.([]int64)
	k := in["x"].Shape[1]
	code, stdout, stderr := runCLI("run", "--json", model, "--data", dataPath, "--batch-size", "16", "--log-level", "warn")
	if code != exitOK {
		t.Fatalf("run: exit %d: %s", code, stderr)
	}
	var res struct{ Predictions []int64 }
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Predictions, want) {
		t.Errorf("run: predictions\n%v\ntorch.argmax\n%v", res.Predictions, want)
	}
	code, stdout, stderr = runCLI("eval", "--json", model, "--data", dataPath, "--batch-size", "16", "--log-level", "warn")
	if code != exitOK {
		t.Fatalf("eval: exit %d: %s", code, stderr)
	}
	var ev evalOutput
	if err := json.Unmarshal([]byte(stdout), &ev); err != nil {
		t.Fatal(err)
	}
	confusion := make([][]int, k)
	for c := range confusion {
		confusion[c] = make([]int, k)
	}
	correct := 0
	for i, p := range want {
		confusion[y[i]][p]++
		if p == y[i] {
			correct++
		}
	}
	if ev.Correct != correct || jsonString(t, ev.Confusion) != jsonString(t, confusion) {
		t.Errorf("eval: %d correct, confusion %v; by torch.argmax %d, %v", ev.Correct, ev.Confusion, correct, confusion)
	}
}

// TestRunAllOutputsLogitsName: with --all-outputs, a later graph output
// named "logits" would take the name run gives the first output (-o writes
// the first as logits): run refuses the model in one line before it runs,
// writing nothing. It wrote the second output as logits, the first only
// under its own name, and printed "logits" twice, the first output's name
// not at all. Without --all-outputs the first output is logits, as
// documented.
func TestRunAllOutputsLogitsName(t *testing.T) {
	dir := t.TempDir()
	m, err := importer.Load(metricsModel)
	if err != nil {
		t.Fatal(err)
	}
	// neg = -logits first, logits second.
	logits := m.Graph.Outputs[0]
	m.Graph.Nodes = append(m.Graph.Nodes, &graph.Node{Name: "neg", OpType: "Neg", Inputs: []string{logits.Name}, Outputs: []string{"neg"}})
	neg := *logits
	neg.Name = "neg"
	m.Graph.Outputs = []*graph.ValueInfo{&neg, logits}
	model := filepath.Join(dir, "two.onnx")
	if err := export.WriteFile(model, m); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.npz")
	for _, extra := range [][]string{{"-o", out}, {"--json"}, nil} {
		code, stdout, stderr := runCLI(append([]string{"run", model, "--data", metricsData, "--all-outputs"}, extra...)...)
		want := "onnxtune: --all-outputs: the model's output 1 is named \"logits\", the name run gives its first output (\"neg\"); run without --all-outputs\n"
		if code != exitError || stdout != "" || stderr != want {
			t.Errorf("--all-outputs %v: exit %d, stdout %.200q, stderr %q; want exit %d and %q", extra, code, stdout, stderr, exitError, want)
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("-o: %v, want no file written", err)
	}
	code, _, stderr := runCLI("run", model, "--data", metricsData, "-o", out, "--log-level", "warn")
	if code != exitOK || stderr != "" {
		t.Fatalf("without --all-outputs: exit %d, stderr %q", code, stderr)
	}
	orig := filepath.Join(dir, "orig.npz")
	if code, _, stderr := runCLI("run", metricsModel, "--data", metricsData, "-o", orig, "--log-level", "warn"); code != exitOK {
		t.Fatalf("the model as exported: exit %d, stderr %q", code, stderr)
	}
	got, err := npz.Read(out)
	if err != nil {
		t.Fatal(err)
	}
	want, err := npz.Read(orig)
	if err != nil {
		t.Fatal(err)
	}
	// The first output, neg, is logits: the exported model's logits negated.
	g, w := got["logits"].Data.([]float32), want["logits"].Data.([]float32)
	if len(got) != 1 || len(g) != len(w) || len(w) == 0 {
		t.Fatalf("-o: arrays %v, want logits of %d values", got, len(w))
	}
	for i := range w {
		if g[i] != -w[i] {
			t.Fatalf("-o: logits[%d] = %v, want -%v (the first output)", i, g[i], w[i])
		}
	}
}

// TestRunAllOutputsJSONNames: with --all-outputs, --json names every
// output OUT.npz holds: the first as logits and under its graph name.
func TestRunAllOutputsJSONNames(t *testing.T) {
	dir := t.TempDir()
	m, err := importer.Load(metricsModel)
	if err != nil {
		t.Fatal(err)
	}
	// scores = the logits under another name first, neg = -scores second.
	logits := m.Graph.Outputs[0]
	m.Graph.Nodes = append(m.Graph.Nodes,
		&graph.Node{Name: "scores", OpType: "Identity", Inputs: []string{logits.Name}, Outputs: []string{"scores"}},
		&graph.Node{Name: "neg", OpType: "Neg", Inputs: []string{logits.Name}, Outputs: []string{"neg"}})
	first, neg := *logits, *logits
	first.Name, neg.Name = "scores", "neg"
	m.Graph.Outputs = []*graph.ValueInfo{&first, &neg}
	model := filepath.Join(dir, "two.onnx")
	if err := export.WriteFile(model, m); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.npz")
	code, stdout, stderr := runCLI("run", model, "--data", metricsData, "--all-outputs", "--json", "-o", out, "--log-level", "warn")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var res struct{ Outputs map[string][]int }
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("%v: %q", err, stdout)
	}
	arrays, err := npz.Read(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Outputs) != len(arrays) || len(arrays) != 3 {
		t.Fatalf("--json outputs %v, OUT.npz has %d arrays; want logits, %q and neg in both", res.Outputs, len(arrays), first.Name)
	}
	for name, a := range arrays {
		if fmt.Sprint(res.Outputs[name]) != fmt.Sprint(a.Shape) {
			t.Errorf("%s: --json shape %v, OUT.npz %v", name, res.Outputs[name], a.Shape)
		}
	}
}
