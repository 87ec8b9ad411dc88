package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"

	"github.com/onnxtune/onnxtune/internal/npz"
	"github.com/onnxtune/onnxtune/train"
)

var (
	metricsModel = filepath.Join("..", "..", "models", "metrics", "classifier.onnx")
	metricsData  = filepath.Join("..", "..", "models", "metrics", "data.npz")
)

// jsonLines parses every non-empty line of s as a JSON object, failing
// the test on one that is not.
func jsonLines(t *testing.T, what, s string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("%s: line %d is not a JSON object: %q", what, len(out)+1, sc.Text())
		}
		out = append(out, m)
	}
	return out
}

func withMsg(lines []map[string]any, msg string) []map[string]any {
	var out []map[string]any
	for _, l := range lines {
		if l["msg"] == msg {
			out = append(out, l)
		}
	}
	return out
}

// TestJSONLogs: under --log-format json at debug level every line train
// (with and without --val), eval and run write on standard error is JSON,
// the progress and the group table included, and no field fails to format
// (the NaN validation fields of a run without --val did).
func TestJSONLogs(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out.onnx")
	base := []string{"--log-format", "json", "--log-level", "debug"}
	for _, c := range []struct {
		name   string
		args   []string
		groups int // "parameter group" lines
		code   int
	}{
		{"train", []string{"train", metricsModel, "-o", out, "--data", metricsData, "--epochs", "2", "--batch-size", "16", "--group", "2.*:lr=0.1"}, 2, 0},
		{"train --val", []string{"train", metricsModel, "-o", out, "--data", metricsData, "--val", metricsData, "--epochs", "2", "--batch-size", "16"}, 1, 0},
		{"eval", []string{"eval", metricsModel, "--data", metricsData, "--batch-size", "16"}, 0, 0},
		{"run", []string{"run", metricsModel, "--data", metricsData, "--batch-size", "16", "-o", filepath.Join(dir, "p.npz")}, 0, 0},
		{"usage error", []string{"train", metricsModel, "-o", out, "--data", metricsData, "--early-stop", "2"}, 0, exitUsage},
		{"work error", []string{"eval", metricsModel, "--data", filepath.Join(dir, "missing.npz")}, 0, exitError},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := runCLI(append(c.args, base...)...)
			if code != c.code {
				t.Fatalf("exit %d, want %d: %s", code, c.code, stderr)
			}
			lines := jsonLines(t, "stderr", stderr)
			if len(lines) == 0 {
				t.Fatal("nothing on stderr")
			}
			for _, l := range lines {
				if _, ok := l["level"]; !ok {
					t.Errorf("line without a level: %v", l)
				}
			}
			if strings.Contains(stderr, "Failed to format") {
				t.Errorf("a log line failed to format: %s", stderr)
			}
			if got := len(withMsg(lines, "parameter group")); got != c.groups {
				t.Errorf("%d group lines, want %d", got, c.groups)
			}
			switch {
			case c.code != 0:
				last := lines[len(lines)-1]
				if last["level"] != "error" || last["exit"] != float64(c.code) {
					t.Errorf("last line %v, want the error with exit %d", last, c.code)
				}
			case c.name == "train" || c.name == "train --val":
				// Two epochs of four steps: at least the last step of each.
				var steps, val []map[string]any
				for _, l := range withMsg(lines, "progress") {
					if _, ok := l["step"]; ok {
						steps = append(steps, l)
					} else {
						val = append(val, l)
					}
				}
				if len(steps) < 2 || steps[len(steps)-1]["step"] != float64(8) {
					t.Errorf("progress lines %v, want at least 2 ending at step 8", steps)
				}
				// Each epoch's validation: 60 examples in batches of 16,
				// the last line of each saying all.
				if c.name == "train --val" {
					var ends []any
					for _, l := range val {
						if l["validation_examples"] == float64(60) && l["total"] == float64(60) {
							ends = append(ends, l["epoch"])
						}
					}
					if !slices.Equal(ends, []any{float64(1), float64(2)}) {
						t.Errorf("validation progress lines %v, want one of 60 examples for epochs 1 and 2", val)
					}
				} else if len(val) != 0 {
					t.Errorf("progress lines without a step %v", val)
				}
				if d := withMsg(lines, "a default that differs from torch.optim's"); len(d) != 2 {
					t.Errorf("%d notes of defaults, want momentum and weight_decay", len(d))
				}
			default:
				// 60 examples in batches of 16: the last progress line says all.
				if p := withMsg(lines, "progress"); len(p) == 0 || p[len(p)-1]["examples"] != float64(60) {
					t.Errorf("progress lines %v, want one of 60 examples last", p)
				}
			}
		})
	}
}

// TestTrainRecords: --metrics writes a line per step (each group's rate
// by name) and per epoch (training means and the validation's metrics),
// --json the epoch lines as they end and a last line, --plot four PNGs
// that are pictures (size, and not blank); the epoch lines of --metrics
// and --json agree, and eval of the written model (--save-best val_loss)
// gives the best epoch's validation metrics exactly.
func TestTrainRecords(t *testing.T) {
	dir := t.TempDir()
	out, mfile, plots := filepath.Join(dir, "out.onnx"), filepath.Join(dir, "m.jsonl"), filepath.Join(dir, "plots")
	code, stdout, stderr := runCLI("train", metricsModel, "-o", out, "--data", metricsData, "--val", metricsData,
		"--epochs", "6", "--batch-size", "16", "--lr", "1", "--group", "2.*:lr=0.5", "--save-best", "val_loss",
		"--metrics", mfile, "--plot", plots, "--json", "--log-level", "error")
	if code != 0 {
		t.Fatalf("train: exit %d: %s", code, stderr)
	}
	b, err := os.ReadFile(mfile)
	if err != nil {
		t.Fatal(err)
	}
	recs := jsonLines(t, "--metrics", string(b))
	var steps, epochs []map[string]any
	for _, r := range recs {
		switch r["type"] {
		case "step":
			steps = append(steps, r)
		case "epoch":
			epochs = append(epochs, r)
		default:
			t.Fatalf("line of type %v", r["type"])
		}
	}
	if len(steps) != 24 || len(epochs) != 6 {
		t.Fatalf("%d step and %d epoch lines, want 24 and 6", len(steps), len(epochs))
	}
	for i, s := range steps {
		lr, _ := s["lr"].(map[string]any)
		if s["step"] != float64(i+1) || s["epoch"] != float64(i/4+1) || s["batch"] != float64(i%4+1) ||
			len(lr) != 2 || lr["default"] != 1.0 || lr["2.*"] != 0.5 {
			t.Fatalf("step line %d: %v", i+1, s)
		}
	}
	// The --json lines: the epoch lines as --metrics has them, without
	// "type" (and "seconds" measured apart), then the summary.
	jl := jsonLines(t, "stdout", stdout)
	if len(jl) != 7 {
		t.Fatalf("%d lines on stdout, want 6 epochs and a summary", len(jl))
	}
	best, bestLoss := 0, 0.0
	for i, e := range epochs {
		j := jl[i]
		for _, k := range []string{"epoch", "step", "loss", "accuracy", "val_loss", "val_accuracy", "val_top5", "val_macro_f1", "best"} {
			if _, ok := e[k]; !ok || !jsonEqual(e[k], j[k]) {
				t.Errorf("epoch %d: %s %v in --metrics, %v in --json", i+1, k, e[k], j[k])
			}
		}
		for _, k := range []string{"val_precision", "val_recall", "val_f1", "val_support", "val_confusion"} {
			if !jsonEqual(e[k], j[k]) || e[k] == nil {
				t.Errorf("epoch %d: %s %v in --metrics, %v in --json", i+1, k, e[k], j[k])
			}
		}
		if v := e["val_loss"].(float64); best == 0 || v < bestLoss {
			best, bestLoss = i+1, v
		}
		if e["best"] != (best == i+1) {
			t.Errorf("epoch %d: best %v", i+1, e["best"])
		}
	}
	sum := jl[6]
	if sum["steps"] != float64(24) || sum["best_epoch"] != float64(best) || sum["best_value"] != bestLoss || sum["output"] != out {
		t.Errorf("summary %v, want best epoch %d (%v)", sum, best, bestLoss)
	}
	if best == 6 {
		t.Fatalf("the best epoch is the last: the test shows nothing")
	}
	// The written model is the best epoch's: eval gives its metrics.
	code, evalOut, stderr := runCLI("eval", "--json", out, "--data", metricsData, "--batch-size", "16")
	if code != 0 {
		t.Fatalf("eval: exit %d: %s", code, stderr)
	}
	var ev map[string]any
	if err := json.Unmarshal([]byte(evalOut), &ev); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"loss", "accuracy", "top5", "macro_f1", "precision", "recall", "f1", "support", "confusion"} {
		if !jsonEqual(ev[k], epochs[best-1]["val_"+k]) {
			t.Errorf("eval of the written model: %s %v, epoch %d's %v", k, ev[k], best, epochs[best-1]["val_"+k])
		}
	}
	for _, p := range []struct {
		name string
		w, h int
	}{{"loss.png", 576, 384}, {"lr.png", 576, 384}, {"val.png", 576, 384}, {"confusion.png", 576, 576}} {
		checkPicture(t, filepath.Join(plots, p.name), p.w, p.h)
	}
}

// TestSaveBestEarlyStop: --save-best writes the weights of the best
// epoch: the same file a run of just that many epochs writes; --early-stop
// N stops N epochs after it.
func TestSaveBestEarlyStop(t *testing.T) {
	dir := t.TempDir()
	args := func(out string, epochs string, more ...string) []string {
		return append([]string{"train", metricsModel, "-o", out, "--data", metricsData, "--val", metricsData,
			"--epochs", epochs, "--batch-size", "16", "--lr", "1", "--json", "--log-level", "error"}, more...)
	}
	bestOut, shortOut := filepath.Join(dir, "best.onnx"), filepath.Join(dir, "short.onnx")
	code, stdout, stderr := runCLI(args(bestOut, "10", "--save-best", "val_loss", "--early-stop", "3")...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := jsonLines(t, "stdout", stdout)
	sum := lines[len(lines)-1]
	best := int(sum["best_epoch"].(float64))
	if best < 1 || best >= 7 {
		t.Fatalf("best epoch %d: want one early enough to stop before epoch 10", best)
	}
	if len(lines)-1 != best+3 || sum["early_stopped"] != true || sum["steps"] != float64(4*(best+3)) {
		t.Errorf("%d epochs (%v), want %d: best epoch %d and 3 more", len(lines)-1, sum, best+3, best)
	}
	code, _, stderr = runCLI(args(shortOut, string(rune('0'+best)))...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	a, _ := os.ReadFile(bestOut)
	b, _ := os.ReadFile(shortOut)
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Errorf("--save-best wrote %d bytes that differ from the %d of a %d-epoch run", len(a), len(b), best)
	}
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--early-stop", "2"}, "--early-stop needs --save-best"},
		{[]string{"--save-best", "val_auc"}, `invalid --save-best "val_auc"`},
		{[]string{"--save-best", "val_loss", "--early-stop", "-1"}, "invalid --early-stop -1"},
	} {
		code, _, stderr := runCLI(args(filepath.Join(dir, "x.onnx"), "2", c.args...)...)
		if code != exitUsage || !strings.Contains(stderr, c.msg) {
			t.Errorf("%v: exit %d %q, want 2 and %q", c.args, code, stderr, c.msg)
		}
	}
	code, _, stderr = runCLI("train", metricsModel, "-o", filepath.Join(dir, "x.onnx"), "--data", metricsData, "--save-best", "val_loss")
	if code != exitUsage || !strings.Contains(stderr, "--save-best needs --val") {
		t.Errorf("--save-best without --val: exit %d %q", code, stderr)
	}
}

// TestMetricsResume: a run stopped at an epoch's end and resumed with
// --metrics FILE writes FILE as an uninterrupted run does (the times
// aside): the lines from before the resume are kept.
func TestMetricsResume(t *testing.T) {
	dir := t.TempDir()
	ck := filepath.Join(dir, "ck")
	args := func(mfile, epochs string, more ...string) []string {
		return append([]string{"train", metricsModel, "-o", filepath.Join(dir, "o.onnx"), "--data", metricsData, "--val", metricsData,
			"--epochs", epochs, "--batch-size", "16", "--lr", "0.1", "--metrics", mfile, "--log-level", "error"}, more...)
	}
	whole, parts := filepath.Join(dir, "whole.jsonl"), filepath.Join(dir, "parts.jsonl")
	for _, a := range [][]string{args(whole, "3"), args(parts, "2", "--checkpoint", ck), args(parts, "3", "--checkpoint", ck, "--resume")} {
		if code, _, stderr := runCLI(a...); code != 0 {
			t.Fatalf("%v: exit %d: %s", a, code, stderr)
		}
	}
	read := func(path string) []map[string]any {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		lines := jsonLines(t, path, string(b))
		for _, l := range lines {
			delete(l, "seconds")
		}
		return lines
	}
	w, p := read(whole), read(parts)
	if len(w) != 15 || !jsonEqual(w, p) {
		t.Errorf("resumed --metrics has %d lines, uninterrupted %d (want 15), or they differ", len(p), len(w))
	}
}

// TestEvalPrintsMetrics: eval's table holds scikit-learn's figures
// (models/metrics/expected.json) at the precision printed, and --plot
// writes the confusion matrix.
func TestEvalPrintsMetrics(t *testing.T) {
	dir := t.TempDir()
	plots := filepath.Join(dir, "p", "q")
	code, stdout, stderr := runCLI("eval", metricsModel, "--data", metricsData, "--plot", plots)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	want := readFixtureJSON(t)["classifier"].(map[string]any)
	num := func(v any, i int) float64 { return v.([]any)[i].(float64) }
	n := int(want["n"].(float64))
	acc := want["accuracy"].(float64)
	for _, line := range []string{
		fmt.Sprintf("accuracy  %.4f  (%d of %d)", acc, int(math.Round(acc*float64(n))), n),
		fmt.Sprintf("top-5     %.4f", want["top5"].(float64)),
		fmt.Sprintf("loss      %.6f  (mean cross-entropy)", want["loss"].(float64)),
		fmt.Sprintf("macro F1  %.4f", want["macro_f1"].(float64)),
	} {
		if !strings.Contains(stdout, line+"\n") {
			t.Errorf("no line %q in:\n%s", line, stdout)
		}
	}
	classes := len(want["support"].([]any))
	rows := map[string][][]string{} // "class" and "confusion" rows by the class in column 0
	part := ""
	for _, l := range strings.Split(stdout, "\n") {
		f := strings.Fields(l)
		switch {
		case len(f) > 0 && f[0] == "CLASS":
			part = "class"
		case len(f) > 0 && f[0] == "confusion":
			part = ""
		case len(f) > 0 && f[0] == "true\\pred":
			part = "confusion"
		case part != "" && len(f) > 0:
			rows[part] = append(rows[part], f)
		}
	}
	if len(rows["class"]) != classes || len(rows["confusion"]) != classes {
		t.Fatalf("%d class rows and %d confusion rows, want %d:\n%s", len(rows["class"]), len(rows["confusion"]), classes, stdout)
	}
	for c := range classes {
		r := rows["class"][c]
		got := fmt.Sprintf("%s %s %s %s %s", r[0], r[1], r[2], r[3], r[4])
		exp := fmt.Sprintf("%d %.4f %.4f %.4f %d", c, num(want["precision"], c), num(want["recall"], c), num(want["f1"], c), int(num(want["support"], c)))
		if got != exp {
			t.Errorf("class row %q, want %q", got, exp)
		}
		cm := want["confusion"].([]any)[c]
		for j := range classes {
			if r := rows["confusion"][c]; r[j+1] != fmt.Sprint(int(num(cm, j))) {
				t.Errorf("confusion row %d: %v, want %v", c, r, cm)
				break
			}
		}
	}
	checkPicture(t, filepath.Join(plots, "confusion.png"), 576, 576)
	// --plot into a file that is not a folder: refused before any work.
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runCLI("eval", metricsModel, "--data", metricsData, "--plot", file); code != exitError || !strings.Contains(stderr, "not a folder") {
		t.Errorf("--plot FILE: exit %d %q", code, stderr)
	}
}

// readFixtureJSON reads models/metrics/expected.json.
func readFixtureJSON(t *testing.T) map[string]any {
	b, err := os.ReadFile(filepath.Join("..", "..", "models", "metrics", "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// checkPicture decodes a PNG and checks its size and that it is a
// picture: a good share of pixels that are not the white background, in
// several colours.
func checkPicture(t *testing.T, path string, w, h int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if b := img.Bounds(); b != image.Rect(0, 0, w, h) {
		t.Errorf("%s: %v, want %dx%d", path, b, w, h)
	}
	colors := make(map[[4]uint32]bool)
	ink := 0
	for y := range h {
		for x := range w {
			r, g, b, a := img.At(x, y).RGBA()
			colors[[4]uint32{r, g, b, a}] = true
			if r < 0xf000 || g < 0xf000 || b < 0xf000 {
				ink++
			}
		}
	}
	if share := float64(ink) / float64(w*h); share < 0.02 || len(colors) < 8 {
		t.Errorf("%s: %.1f%% of pixels not white, %d colours: blank?", path, 100*share, len(colors))
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// TestMetricsInterrupted: Ctrl-C keeps --metrics FILE with the lines of
// the steps done; --resume from the mid-epoch checkpoint then ends with
// the lines an uninterrupted run writes (the times aside).
func TestMetricsInterrupted(t *testing.T) {
	dir := t.TempDir()
	ck := filepath.Join(dir, "ck")
	args := func(mfile string, more ...string) []string {
		return append([]string{"train", metricsModel, "-o", filepath.Join(dir, "o.onnx"), "--data", metricsData, "--val", metricsData,
			"--epochs", "3", "--batch-size", "16", "--lr", "0.1", "--metrics", mfile, "--log-level", "error"}, more...)
	}
	whole, parts := filepath.Join(dir, "whole.jsonl"), filepath.Join(dir, "parts.jsonl")
	if code, _, stderr := runCLI(args(whole)...); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	read := func(path string) []map[string]any {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		lines := jsonLines(t, path, string(b))
		for _, l := range lines {
			delete(l, "seconds")
		}
		return lines
	}
	interruptAfter(t, 6)
	code, _, stderr := runCLI(args(parts, "--checkpoint", ck)...)
	if code != exitInterrupted || !strings.Contains(stderr, "interrupted after 6 steps") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	// Steps 1 to 6 and epoch 1 (steps 1 to 4, then its line).
	w, p := read(whole), read(parts)
	if len(p) != 7 || !jsonEqual(w[:7], p) {
		t.Fatalf("interrupted --metrics: %d lines, want the first 7 of the uninterrupted run's", len(p))
	}
	interruptAfter(t, 1<<30)
	if code, _, stderr := runCLI(args(parts, "--checkpoint", ck, "--resume")...); code != 0 {
		t.Fatalf("resume: exit %d: %s", code, stderr)
	}
	if p = read(parts); len(w) != 15 || !jsonEqual(w, p) {
		for i := range min(len(w), len(p)) {
			if !jsonEqual(w[i], p[i]) {
				t.Logf("line %d: %v\n%v", i+1, w[i], p[i])
			}
		}
		t.Errorf("resumed --metrics has %d lines, uninterrupted %d (want 15), or they differ", len(p), len(w))
	}
}

// TestTrainMSEValidation: under --loss mse, --val takes float targets and
// reports its loss alone (--save-best val_loss works; other metrics are
// usage errors), and --plot draws no classifier pictures.
func TestTrainMSEValidation(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join("..", "..", "models", "metrics", "regressor.onnx")
	targets := filepath.Join("..", "..", "models", "metrics", "targets.npz")
	args := []string{"train", model, "-o", filepath.Join(dir, "r.onnx"), "--data", targets, "--val", targets, "--loss", "mse",
		"--epochs", "2", "--batch-size", "16", "--lr", "0.05", "--save-best", "val_loss", "--json", "--plot", filepath.Join(dir, "p"),
		"--log-level", "error"}
	code, stdout, stderr := runCLI(args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := jsonLines(t, "stdout", stdout)
	if len(lines) != 3 {
		t.Fatalf("%d lines, want 3", len(lines))
	}
	for _, l := range lines[:2] {
		if _, ok := l["val_loss"].(float64); !ok || l["val_accuracy"] != nil || l["val_confusion"] != nil {
			t.Errorf("epoch line %v: want val_loss alone", l)
		}
		if _, ok := l["accuracy"]; ok {
			t.Errorf("epoch line %v: an accuracy under mse", l)
		}
	}
	// The text lines leave it out too.
	text := slices.DeleteFunc(slices.Clone(args), func(s string) bool { return s == "--json" })
	if code, stdout, stderr := runCLI(text...); code != 0 || !strings.Contains(stdout, "epoch 1/2  loss ") || strings.Contains(stdout, "accuracy") {
		t.Errorf("text output under mse: exit %d %q %q", code, stdout, stderr)
	}
	for _, p := range []string{"loss.png", "lr.png"} {
		checkPicture(t, filepath.Join(dir, "p", p), 576, 384)
	}
	for _, p := range []string{"val.png", "confusion.png"} {
		if _, err := os.Stat(filepath.Join(dir, "p", p)); err == nil {
			t.Errorf("%s drawn for mse", p)
		}
	}
	args[slices.Index(args, "--save-best")+1] = "val_top5"
	if code, _, stderr := runCLI(args...); code != exitUsage || !strings.Contains(stderr, "with mse only val_loss") {
		t.Errorf("--save-best val_top5 under mse: exit %d %q", code, stderr)
	}
}

// TestNaNValidation: a validation loss of NaN (an input of NaN) does not
// throw the run away: with --metrics, --plot and --json train finishes
// (exit 0), writes the model a run without them writes, the metrics file,
// the JSON lines with null for NaN, and the pictures (the NaN points left
// out); eval --json prints null.
func TestNaNValidation(t *testing.T) {
	dir := t.TempDir()
	d, err := npz.Read(metricsData)
	if err != nil {
		t.Fatal(err)
	}
	x := d["x"]
	xs := slices.Clone(x.Data.([]float32))
	xs[3] = float32(math.NaN())
	x.Data = xs
	vnan := filepath.Join(dir, "vnan.npz")
	if err := npz.Write(vnan, map[string]npz.Array{"x": x, "y": d["y"]}); err != nil {
		t.Fatal(err)
	}
	args := func(out string, more ...string) []string {
		return append([]string{"train", metricsModel, "-o", filepath.Join(dir, out), "--data", metricsData, "--val", vnan,
			"--epochs", "3", "--batch-size", "16", "--lr", "0.1", "--save-best", "val_loss", "--early-stop", "2",
			"--log-level", "error"}, more...)
	}
	code, _, stderr := runCLI(args("plain.onnx")...)
	if code != 0 {
		t.Fatalf("without records: exit %d: %s", code, stderr)
	}
	mfile, plots := filepath.Join(dir, "m.jsonl"), filepath.Join(dir, "plots")
	code, stdout, stderr := runCLI(args("rec.onnx", "--metrics", mfile, "--plot", plots, "--json")...)
	if code != 0 {
		t.Fatalf("with --metrics, --plot, --json: exit %d: %s", code, stderr)
	}
	a, _ := os.ReadFile(filepath.Join(dir, "plain.onnx"))
	b, err := os.ReadFile(filepath.Join(dir, "rec.onnx"))
	if err != nil || !bytes.Equal(a, b) {
		t.Errorf("the model written with the records differs from the one without (%v)", err)
	}
	m, err := os.ReadFile(mfile)
	if err != nil {
		t.Fatal(err)
	}
	for what, s := range map[string]string{"--metrics": string(m), "--json": stdout} {
		epochs := 0
		for _, l := range jsonLines(t, what, s) {
			if l["type"] == "step" || l["output"] != nil {
				continue
			}
			epochs++
			if v, ok := l["val_loss"]; !ok || v != nil {
				t.Errorf("%s: val_loss %v, want null", what, v)
			}
			if _, ok := l["val_accuracy"].(float64); !ok {
				t.Errorf("%s: val_accuracy %v, want a number", what, l["val_accuracy"])
			}
		}
		// No val_loss is better than NaN: early stop after 1 + 2 epochs.
		if epochs != 3 {
			t.Errorf("%s: %d epoch lines, want 3", what, epochs)
		}
	}
	for _, p := range []struct {
		name string
		w, h int
	}{{"loss.png", 576, 384}, {"lr.png", 576, 384}, {"val.png", 576, 384}, {"confusion.png", 576, 576}} {
		checkPicture(t, filepath.Join(plots, p.name), p.w, p.h)
	}
	code, stdout, stderr = runCLI("eval", "--json", metricsModel, "--data", vnan)
	if code != 0 {
		t.Fatalf("eval --json: exit %d: %s", code, stderr)
	}
	var ev map[string]any
	if err := json.Unmarshal([]byte(stdout), &ev); err != nil {
		t.Fatalf("eval --json: %v: %q", err, stdout)
	}
	if v, ok := ev["loss"]; !ok || v != nil || ev["accuracy"] == nil {
		t.Errorf("eval --json: loss %v accuracy %v, want null and a number", v, ev["accuracy"])
	}
}

// TestPlotSkipsNaN: addLines leaves non-finite points out (the axis
// spans the finite ones), and a line with none left does not stop the
// drawing (gonum's plotter refuses NaN points).
func TestPlotSkipsNaN(t *testing.T) {
	p := plot.New()
	nan := math.NaN()
	err := addLines(p, false, "some", plotter.XYs{{X: 1, Y: 1}, {X: 2, Y: nan}, {X: 3, Y: math.Inf(1)}, {X: 4, Y: 2}},
		"none", plotter.XYs{{X: 1, Y: nan}, {X: 2, Y: nan}})
	if err != nil {
		t.Fatal(err)
	}
	if p.Y.Min > 1 || p.Y.Max < 2 || math.IsNaN(p.Y.Min) || math.IsNaN(p.Y.Max) || math.IsInf(p.Y.Max, 0) {
		t.Errorf("y axis %v..%v, want finite around 1..2", p.Y.Min, p.Y.Max)
	}
	if _, err := p.WriterTo(plotWidth, plotHeight, "png"); err != nil {
		t.Errorf("drawing: %v", err)
	}
}

// TestPlotResume: --plot of a run resumed with --metrics draws the whole
// run, from step 1 and epoch 1: its pictures are those of an
// uninterrupted run, byte for byte (the curves before the resume come from
// the --metrics file); without the file a warning says where they start.
func TestPlotResume(t *testing.T) {
	dir := t.TempDir()
	ck := filepath.Join(dir, "ck")
	args := func(plots, epochs string, more ...string) []string {
		return append([]string{"train", metricsModel, "-o", filepath.Join(dir, "o.onnx"), "--data", metricsData, "--val", metricsData,
			"--epochs", epochs, "--batch-size", "16", "--lr", "0.1", "--schedule", "step:3:0.5", "--plot", filepath.Join(dir, plots),
			"--log-level", "warn"}, more...)
	}
	mfile := filepath.Join(dir, "m.jsonl")
	for _, a := range [][]string{args("whole", "3"), args("first", "2", "--checkpoint", ck, "--metrics", mfile),
		args("resumed", "3", "--checkpoint", ck, "--resume", "--metrics", mfile)} {
		if code, _, stderr := runCLI(a...); code != 0 || strings.Contains(stderr, "level=warn") {
			t.Fatalf("%v: exit %d: %s", a, code, stderr)
		}
	}
	for _, name := range trainPlots {
		w, err := os.ReadFile(filepath.Join(dir, "whole", name))
		if err != nil {
			t.Fatal(err)
		}
		r, err := os.ReadFile(filepath.Join(dir, "resumed", name))
		if err != nil || !bytes.Equal(w, r) {
			t.Errorf("%s of the resumed run differs from the uninterrupted run's (%v)", name, err)
		}
	}
	ck2 := filepath.Join(dir, "ck2")
	if code, _, stderr := runCLI(args("first2", "2", "--checkpoint", ck2)...); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	code, _, stderr := runCLI(args("resumed2", "3", "--checkpoint", ck2, "--resume")...)
	if want := "the pictures start at step 9"; code != 0 || !strings.Contains(stderr, want) {
		t.Errorf("resume without --metrics: exit %d %q, want a warning %q", code, stderr, want)
	}
}

// TestConfusionOfWrittenEpoch: under --save-best confusion.png draws the
// best epoch's matrix (the weights written), not the last epoch's; before
// any epoch is best (a NaN metric) and without --save-best, the last.
func TestConfusionOfWrittenEpoch(t *testing.T) {
	epoch := func(i int, best bool) train.EpochInfo {
		return train.EpochInfo{Epoch: i, Best: best, Val: &train.Metrics{Classes: 2, Accuracy: 0.5, Confusion: [][]int{{i, 0}, {0, 1}}}}
	}
	for _, c := range []struct {
		name  string
		best  string
		bests []bool
		want  int // the epoch drawn, from 1
	}{
		{"save-best", "val_loss", []bool{true, true, false, false}, 2},
		{"no best epoch", "val_loss", []bool{false, false, false}, 3},
		{"no save-best", "", []bool{false, false, false}, 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			cv := &curves{best: c.best}
			for i, b := range c.bests {
				cv.epoch(epoch(i, b), int64(i+1))
			}
			if cv.confusionEpoch != c.want || cv.confusion[0][0] != c.want-1 {
				t.Errorf("confusion of epoch %d (%v), want epoch %d's", cv.confusionEpoch, cv.confusion, c.want)
			}
		})
	}
}

// TestPlotAxes: val.png's shares run from 0 to 1; a constant line (an
// all-zero loss with rounding noise) gets an axis around it, not one of
// 1e-13; tick labels of a narrow range differ.
func TestPlotAxes(t *testing.T) {
	xy := func(ys ...float64) plotter.XYs {
		var out plotter.XYs
		for i, y := range ys {
			out = append(out, plotter.XY{X: float64(i + 1), Y: y})
		}
		return out
	}
	for _, c := range []struct {
		name   string
		share  bool
		ys     []float64
		lo, hi float64
	}{
		{"shares", true, []float64{0.6, 1, 1}, 0, 1},
		{"all zero", false, []float64{0, 3.5e-13, -5e-14}, -0.1, 0.1},
		{"constant", false, []float64{2, 2, 2}, 1.8, 2.2},
		{"varying", false, []float64{1, 3}, 0.9, 3.1},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := plot.New()
			if err := addLines(p, c.share, "a", xy(c.ys...)); err != nil {
				t.Fatal(err)
			}
			if math.Abs(p.Y.Max-c.hi) > 1e-9 || math.Abs(p.Y.Min-c.lo) > 1e-9 {
				t.Errorf("y axis %v..%v, want about %v..%v", p.Y.Min, p.Y.Max, c.lo, c.hi)
			}
		})
	}
	seen := map[string]bool{}
	for _, tk := range (distinctTicks{}).Ticks(1.2080, 1.2083) {
		if tk.Label == "" {
			continue
		}
		if seen[tk.Label] {
			t.Errorf("tick label %q twice", tk.Label)
		}
		seen[tk.Label] = true
	}
	if len(seen) < 2 {
		t.Errorf("%d labelled ticks", len(seen))
	}
}

// TestProgressSteps: with --steps, progress counts the steps the run
// takes, not the whole epochs they fall in, and its last line is the last
// step even when the run ends within an epoch: --steps 3 over epochs of
// four steps said "steps": 4 and printed no line for step 3.
func TestProgressSteps(t *testing.T) {
	out := filepath.Join(t.TempDir(), "o.onnx")
	for _, steps := range []string{"3", "6"} {
		code, _, stderr := runCLI("train", metricsModel, "-o", out, "--data", metricsData, "--batch-size", "16",
			"--steps", steps, "--log-format", "json")
		if code != exitOK {
			t.Fatalf("--steps %s: exit %d: %s", steps, code, stderr)
		}
		p := withMsg(jsonLines(t, "stderr", stderr), "progress")
		if len(p) == 0 {
			t.Fatalf("--steps %s: no progress line", steps)
		}
		for _, l := range p {
			if l["steps"] != jsonNum(steps) {
				t.Errorf("--steps %s: progress line %v, want steps %s", steps, l, steps)
			}
		}
		if last := p[len(p)-1]; last["step"] != jsonNum(steps) {
			t.Errorf("--steps %s: last progress line %v, want step %s", steps, last, steps)
		}
	}
}

// jsonNum is the number s as encoding/json decodes it into an any.
func jsonNum(s string) any {
	var v any
	_ = json.Unmarshal([]byte(s), &v)
	return v
}

// TestTextProgress: with text logs and standard error not a terminal (a
// file, a pipe, nohup), train, eval and run log progress lines, the last
// step of every epoch and of the run, and the last of the examples,
// among them; they printed nothing until an epoch ended (train) or the
// work was done (eval, run). train's validation (--val) logs its examples
// too; it ran silent, however large the validation data.
func TestTextProgress(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "o.onnx")
	for _, c := range []struct {
		name string
		args []string
		want []string // among the progress lines, in this order; the last is the last line
	}{
		{"train", []string{"train", metricsModel, "-o", out, "--data", metricsData, "--epochs", "2", "--batch-size", "16"},
			[]string{"progress: epoch 1/2 step 4/8 ", "progress: epoch 2/2 step 8/8 "}},
		{"train --steps", []string{"train", metricsModel, "-o", out, "--data", metricsData, "--steps", "3", "--batch-size", "16"},
			[]string{"progress: epoch 1/1 step 3/3 "}},
		{"train --val", []string{"train", metricsModel, "-o", out, "--data", metricsData, "--val", metricsData, "--epochs", "2", "--batch-size", "16"},
			[]string{"progress: epoch 1/2 step 4/8 ", "progress: epoch 1/2 validation 60/60 examples", "progress: epoch 2/2 step 8/8 ",
				"progress: epoch 2/2 validation 60/60 examples"}},
		{"eval", []string{"eval", metricsModel, "--data", metricsData, "--batch-size", "16"},
			[]string{"progress: 60/60 examples"}},
		{"run", []string{"run", metricsModel, "--data", metricsData, "--batch-size", "16"},
			[]string{"progress: 60/60 examples"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := runCLI(c.args...)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			var lines []string
			for _, l := range strings.Split(stderr, "\n") {
				if _, msg, ok := strings.Cut(l, ` msg="progress: `); ok {
					lines = append(lines, "progress: "+strings.TrimSuffix(msg, `"`))
				}
			}
			if len(lines) == 0 {
				t.Fatalf("no progress line on stderr: %s", stderr)
			}
			i := 0
			for _, l := range lines {
				if i < len(c.want) && strings.HasPrefix(l, c.want[i]) {
					i++
				}
			}
			if i < len(c.want) || !strings.HasPrefix(lines[len(lines)-1], c.want[len(c.want)-1]) {
				t.Errorf("progress lines %q, want among them %q, the last last", lines, c.want)
			}
			if strings.HasPrefix(c.name, "train") && !strings.HasSuffix(lines[0], " samples/s") {
				t.Errorf("progress line %q, want loss, accuracy and samples/s", lines[0])
			}
		})
	}
}
