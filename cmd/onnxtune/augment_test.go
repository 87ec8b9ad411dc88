package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/onnxtune/onnxtune/export"
	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/importer"
	"github.com/onnxtune/onnxtune/internal/npz"
	"github.com/onnxtune/onnxtune/train/data"
)

// The fixtures of models/make_augment.py: an image folder of mixed sizes,
// a small classifier, ONNX Runtime's predictions on torchvision-prepared
// tensors and PyTorch's weights after three steps on flipped images.
var (
	augDir        = filepath.Join("..", "..", "models", "augment")
	augFolder     = filepath.Join(augDir, "folder")
	augClassifier = filepath.Join(augDir, "classifier.onnx")
)

type ortResult struct {
	Size        int     `json:"size"`
	CropPct     float64 `json:"crop_pct"`
	Predictions []int   `json:"predictions"`
	Accuracy    float64 `json:"accuracy"`
}

func readORT(t *testing.T) ortResult {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(augDir, "ort.json"))
	if err != nil {
		t.Fatalf("%v (regenerate with .venv/bin/python models/make_augment.py)", err)
	}
	var r ortResult
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Predictions) == 0 {
		t.Fatal("ort.json has no predictions")
	}
	return r
}

// cliJSON runs the CLI, wants exit 0 and decodes its stdout into v.
func cliJSON(t *testing.T, v any, args ...string) {
	t.Helper()
	code, stdout, stderr := runCLI(append(args, "--log-level", "error")...)
	if code != exitOK {
		t.Fatalf("onnxtune %s: exit %d, stderr %q", strings.Join(args, " "), code, stderr)
	}
	if err := json.Unmarshal([]byte(stdout), v); err != nil {
		t.Fatalf("onnxtune %s: %v in %q", strings.Join(args, " "), err, stdout)
	}
}

type evalJSON struct {
	Accuracy float64 `json:"accuracy"`
	N        int     `json:"n"`
}

type runJSON struct {
	Predictions []int    `json:"predictions"`
	Names       []string `json:"predicted_names"`
}

// TestEvalFolderMatchesORT: on an image folder of mixed sizes, eval, run
// and train --val with --image-size and --crop-pct give the accuracy and
// the predictions ONNX Runtime gives on torchvision's Resize + CenterCrop +
// Normalize of the same images.
func TestEvalFolderMatchesORT(t *testing.T) {
	ort := readORT(t)
	flags := []string{"--data", augFolder, "--image-size", "7", "--crop-pct", "0.875", "--json"}
	var ev evalJSON
	cliJSON(t, &ev, append([]string{"eval", augClassifier}, flags...)...)
	if ev.Accuracy != ort.Accuracy || ev.N != len(ort.Predictions) {
		t.Errorf("eval: accuracy %v over %d, ONNX Runtime's %v over %d", ev.Accuracy, ev.N, ort.Accuracy, len(ort.Predictions))
	}
	var rn runJSON
	cliJSON(t, &rn, append([]string{"run", augClassifier}, flags...)...)
	if !slices.Equal(rn.Predictions, ort.Predictions) {
		t.Errorf("run: predictions %v, ONNX Runtime's %v", rn.Predictions, ort.Predictions)
	}
	if rn.Names != nil {
		t.Errorf("a model without class names: predicted_names %v", rn.Names)
	}
	// train --val reads the folder the same way: at learning rate 0 the
	// validation accuracy is ONNX Runtime's too.
	// (--json: a JSON line per epoch, then the summary.)
	args := append([]string{"train", augClassifier, "-o", filepath.Join(t.TempDir(), "out.onnx"),
		"--val", augFolder, "--lr", "0", "--momentum", "0", "--weight-decay", "0", "--epochs", "1", "--log-level", "error"}, flags...)
	code, stdout, stderr := runCLI(args...)
	if code != exitOK {
		t.Fatalf("onnxtune %s: exit %d, stderr %q", strings.Join(args, " "), code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	var epoch struct {
		Epoch  int      `json:"epoch"`
		ValAcc *float64 `json:"val_accuracy"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &epoch); err != nil || len(lines) != 2 {
		t.Fatalf("train --json: %v in %q, want an epoch line and the summary", err, stdout)
	}
	if epoch.Epoch != 1 || epoch.ValAcc == nil || *epoch.ValAcc != ort.Accuracy {
		t.Errorf("train --val: epoch line %q, want validation accuracy %v", lines[0], ort.Accuracy)
	}
}

// TestHFlipTrainingMatchesPyTorch: three SGD steps with --hflip 1 give
// PyTorch's weights after three steps on the flipped images, within 1e-5.
func TestHFlipTrainingMatchesPyTorch(t *testing.T) {
	want, err := npz.Read(filepath.Join(augDir, "hflip_sgd.npz"))
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out.onnx")
	train := func(extra ...string) {
		args := append([]string{"train", augClassifier, "-o", out, "--data", augFolder, "--image-size", "7",
			"--batch-size", "8", "--steps", "3", "--shuffle=false", "--lr", "0.1", "--momentum", "0.9",
			"--weight-decay", "1e-4", "--log-level", "error"}, extra...)
		if code, _, stderr := runCLI(args...); code != exitOK {
			t.Fatalf("train: exit %d, stderr %q", code, stderr)
		}
	}
	diff := func() float64 {
		m, err := importer.Load(out)
		if err != nil {
			t.Fatal(err)
		}
		worst := 0.0
		for name, arr := range want {
			init := m.Graph.Initializer(name)
			if init == nil {
				t.Fatalf("no initializer %q", name)
			}
			got, err := init.Float32s()
			if err != nil {
				t.Fatal(err)
			}
			w := arr.Data.([]float32)
			if len(got) != len(w) {
				t.Fatalf("%s: %d values, PyTorch's %d", name, len(got), len(w))
			}
			for k := range w {
				worst = max(worst, math.Abs(float64(got[k])-float64(w[k])))
			}
		}
		return worst
	}
	train("--hflip", "1")
	d := diff()
	t.Logf("--hflip 1: largest difference from PyTorch after 3 steps %.3g", d)
	if d > 1e-5 {
		t.Errorf("--hflip 1: largest difference %.3g, want at most 1e-5", d)
	}
	// The same run without the flip is far from it: the test sees flips.
	train()
	if d := diff(); d < 1e-4 {
		t.Errorf("without --hflip: largest difference %.3g from the flipped run's weights", d)
	}
}

// TestMetadataRoundTrip: train writes the folder's class names and its
// evaluation preprocessing into the model; eval and run read them as
// defaults (a folder of mixed sizes needs no flags); flags win.
func TestMetadataRoundTrip(t *testing.T) {
	ort := readORT(t)
	dir := t.TempDir()

	// train writes them.
	trained := filepath.Join(dir, "trained.onnx")
	code, _, stderr := runCLI("train", augClassifier, "-o", trained, "--data", augFolder, "--image-size", "7",
		"--crop-pct", "0.875", "--steps", "1", "--log-level", "error")
	if code != exitOK {
		t.Fatalf("train: exit %d, stderr %q", code, stderr)
	}
	m, err := importer.Load(trained)
	if err != nil {
		t.Fatal(err)
	}
	classes, pre, err := data.ReadMetadata(m)
	if err != nil {
		t.Fatal(err)
	}
	wantPre := data.Preprocess{Size: [2]int{7, 7}, Resize: "center_crop", CropPct: 0.875, Interpolation: "bilinear",
		Mean: []float64{0.485, 0.456, 0.406}, Std: []float64{0.229, 0.224, 0.225}}
	if !slices.Equal(classes, []string{"cat", "dog", "eel"}) || pre == nil || !samePre(*pre, wantPre) {
		t.Errorf("trained model: class names %q, preprocessing %+v; want the folder's and %+v", classes, pre, wantPre)
	}
	// --class-names win over the folder's.
	named := filepath.Join(dir, "named.onnx")
	code, _, stderr = runCLI("train", augClassifier, "-o", named, "--data", augFolder, "--image-size", "7",
		"--class-names", "a,b,c", "--steps", "1", "--log-level", "error")
	if code != exitOK {
		t.Fatalf("train --class-names: exit %d, stderr %q", code, stderr)
	}
	if m, err := importer.Load(named); err != nil {
		t.Fatal(err)
	} else if c, _, _ := data.ReadMetadata(m); !slices.Equal(c, []string{"a", "b", "c"}) {
		t.Errorf("--class-names a,b,c: metadata names %q", c)
	}
	if code, _, stderr := runCLI("train", augClassifier, "-o", named, "--data", augFolder, "--image-size", "7",
		"--class-names", "a,b", "--steps", "1"); code != exitUsage || !strings.Contains(stderr, "--class-names") {
		t.Errorf("two names for three classes: exit %d, stderr %q", code, stderr)
	}

	// The classifier of the fixtures with ORT's preprocessing in its
	// metadata: eval and run need no flags to give ORT's numbers.
	m, err = importer.Load(augClassifier)
	if err != nil {
		t.Fatal(err)
	}
	if err := data.SetMetadata(m, []string{"cat", "dog", "eel"}, &wantPre); err != nil {
		t.Fatal(err)
	}
	described := filepath.Join(dir, "described.onnx")
	if err := export.WriteFile(described, m); err != nil {
		t.Fatal(err)
	}
	var ev evalJSON
	cliJSON(t, &ev, "eval", described, "--data", augFolder, "--json")
	if ev.Accuracy != ort.Accuracy {
		t.Errorf("eval without flags: accuracy %v, ONNX Runtime's %v", ev.Accuracy, ort.Accuracy)
	}
	var rn runJSON
	cliJSON(t, &rn, "run", described, "--data", augFolder, "--json")
	if !slices.Equal(rn.Predictions, ort.Predictions) {
		t.Errorf("run without flags: predictions %v, ONNX Runtime's %v", rn.Predictions, ort.Predictions)
	}
	if len(rn.Names) != len(rn.Predictions) {
		t.Fatalf("run: %d names for %d predictions", len(rn.Names), len(rn.Predictions))
	}
	for i, p := range rn.Predictions {
		if rn.Names[i] != []string{"cat", "dog", "eel"}[p] {
			t.Errorf("example %d: class %d named %q", i, p, rn.Names[i])
		}
	}
	code, stdout, _ := runCLI("run", described, "--data", augFolder, "--log-level", "error")
	if code != exitOK || !strings.Contains(stdout, "class") || !strings.Contains(stdout, rn.Names[0]) {
		t.Errorf("run's table: exit %d, no class names in %q", code, stdout)
	}

	// Flags win: --crop-pct 1 gives what the model without metadata gives
	// with it, which is not the metadata's result.
	var over, plain runJSON
	cliJSON(t, &over, "run", described, "--data", augFolder, "--crop-pct", "1", "--class-names", "x,y,z", "--json")
	cliJSON(t, &plain, "run", augClassifier, "--data", augFolder, "--image-size", "7", "--crop-pct", "1", "--json")
	if !slices.Equal(over.Predictions, plain.Predictions) {
		t.Errorf("--crop-pct 1 over the metadata: predictions %v, want %v", over.Predictions, plain.Predictions)
	}
	if slices.Equal(over.Predictions, ort.Predictions) {
		t.Errorf("crop 1 and crop 0.875 predict alike: the test cannot tell the flag from the metadata")
	}
	if len(over.Names) == 0 || !slices.Contains([]string{"x", "y", "z"}, over.Names[0]) {
		t.Errorf("--class-names x,y,z: names %v", over.Names)
	}

	// replace-head drops the names of the old classes, or writes new ones.
	head := filepath.Join(dir, "head.onnx")
	for _, tc := range []struct {
		args []string
		want []string
	}{{nil, nil}, {[]string{"--class-names", "p,q"}, []string{"p", "q"}}} {
		args := append([]string{"replace-head", described, "--layer", "fc", "--classes", "2", "-o", head}, tc.args...)
		if code, _, stderr := runCLI(args...); code != exitOK {
			t.Fatalf("replace-head %v: exit %d, stderr %q", tc.args, code, stderr)
		}
		m, err := importer.Load(head)
		if err != nil {
			t.Fatal(err)
		}
		c, p, _ := data.ReadMetadata(m)
		if !slices.Equal(c, tc.want) || p == nil {
			t.Errorf("replace-head %v: names %q, preprocessing %v; want %q and the preprocessing kept", tc.args, c, p, tc.want)
		}
	}
}

func samePre(a, b data.Preprocess) bool {
	return a.Size == b.Size && a.Resize == b.Resize && a.CropPct == b.CropPct && a.Interpolation == b.Interpolation &&
		slices.Equal(a.Mean, b.Mean) && slices.Equal(a.Std, b.Std) && a.Grayscale == b.Grayscale
}

// TestAugmentResume: with augmentation, a run stopped after its first
// epoch and resumed from its checkpoint writes the weights of the
// uninterrupted run, bit for bit; a resume under other augmentation
// settings is refused.
func TestAugmentResume(t *testing.T) {
	dir := t.TempDir()
	aug := []string{"--data", augFolder, "--image-size", "7", "--scale", "0.3,1", "--hflip", "0.5",
		"--color-jitter", "0.4", "--batch-size", "8", "--seed", "5", "--lr", "0.05", "--log-level", "error"}
	train := func(out string, extra ...string) {
		t.Helper()
		args := append(append([]string{"train", augClassifier, "-o", out}, aug...), extra...)
		if code, _, stderr := runCLI(args...); code != exitOK {
			t.Fatalf("train %v: exit %d, stderr %q", extra, code, stderr)
		}
	}
	whole, first, resumed := filepath.Join(dir, "whole.onnx"), filepath.Join(dir, "first.onnx"), filepath.Join(dir, "resumed.onnx")
	ck := filepath.Join(dir, "ck")
	train(whole, "--epochs", "3")
	train(first, "--epochs", "1", "--checkpoint", ck)
	train(resumed, "--epochs", "3", "--checkpoint", ck, "--resume")
	weights := func(path string) map[string][]float32 {
		m, err := importer.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string][]float32{}
		for _, name := range []string{"conv.weight", "conv.bias", "fc.weight", "fc.bias"} {
			v, err := m.Graph.Initializer(name).Float32s()
			if err != nil {
				t.Fatal(err)
			}
			out[name] = v
		}
		return out
	}
	w, r, f := weights(whole), weights(resumed), weights(first)
	for name := range w {
		if !slices.Equal(w[name], r[name]) {
			t.Errorf("%s: the resumed run differs from the uninterrupted one", name)
		}
		if slices.Equal(w[name], f[name]) {
			t.Errorf("%s: epochs 2 and 3 changed nothing", name)
		}
	}
	args := append(append([]string{"train", augClassifier, "-o", resumed}, aug...), "--epochs", "3", "--checkpoint", ck, "--resume", "--hflip", "0.25")
	code, _, stderr := runCLI(args...)
	if code == exitOK || !strings.Contains(stderr, "hflip=0.25") {
		t.Errorf("resume with another --hflip: exit %d, stderr %q", code, stderr)
	}
}

// TestAugmentConfig: the augmentation and crop flags work from --config.
func TestAugmentConfig(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	yaml := "image-size: 7\ncrop-pct: 0.875\nscale: [0.5, 1]\nratio: [0.75, 1.3333]\nhflip: 0.5\ncolor-jitter: 0.2\nclass-names: [a, b, c]\nsteps: 1\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.onnx")
	if code, _, stderr := runCLI("train", augClassifier, "-o", out, "--data", augFolder, "--config", cfg, "--log-level", "error"); code != exitOK {
		t.Fatalf("train --config: exit %d, stderr %q", code, stderr)
	}
	m, err := importer.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	c, p, err := data.ReadMetadata(m)
	if err != nil || !slices.Equal(c, []string{"a", "b", "c"}) || p == nil || p.CropPct != 0.875 || p.Size != [2]int{7, 7} {
		t.Errorf("from --config: names %q, preprocessing %+v, %v", c, p, err)
	}
}

// TestImageFlagsPerSource: the preprocessing flags apply to the sources
// that are images when --data and --val are of different forms: with an
// image folder and an .npz file (either way round) train runs, and the
// validation it reports (at --lr 0) is eval's of the same source with the
// flags that apply to it; a flag no source uses is still refused, and
// MNIST's refusal of --image-size says that it is not resized.
func TestImageFlagsPerSource(t *testing.T) {
	dir := t.TempDir()
	ev, err := npz.Read(filepath.Join(augDir, "eval.npz"))
	if err != nil {
		t.Fatal(err)
	}
	prepared := filepath.Join(dir, "prepared.npz")
	if err := npz.Write(prepared, map[string]npz.Array{"x": ev["eval_crop875"], "y": ev["y"]}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.onnx")
	valOf := func(args ...string) map[string]any {
		t.Helper()
		code, stdout, stderr := runCLI(append([]string{"train", augClassifier, "-o", out, "--lr", "0", "--json", "--log-level", "error"}, args...)...)
		if code != exitOK {
			t.Fatalf("train %v: exit %d: %s", args, code, stderr)
		}
		return jsonLines(t, "stdout", stdout)[0]
	}
	evalOf := func(args ...string) map[string]any {
		t.Helper()
		code, stdout, stderr := runCLI(append([]string{"eval", augClassifier, "--json"}, args...)...)
		if code != exitOK {
			t.Fatalf("eval %v: exit %d: %s", args, code, stderr)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(stdout), &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	for _, c := range []struct {
		name  string
		train []string
		eval  []string
	}{
		{"folder, npz val", []string{"--data", augFolder, "--val", prepared, "--image-size", "7", "--crop-pct", "0.875"}, []string{"--data", prepared}},
		{"npz, folder val", []string{"--data", prepared, "--val", augFolder, "--image-size", "7", "--crop-pct", "0.875", "--mean", "0.5,0.5,0.5"},
			[]string{"--data", augFolder, "--image-size", "7", "--crop-pct", "0.875", "--mean", "0.5,0.5,0.5"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			v, e := valOf(c.train...), evalOf(c.eval...)
			for _, k := range []string{"loss", "accuracy", "confusion"} {
				if !jsonEqual(v["val_"+k], e[k]) {
					t.Errorf("val_%s %v, eval's %v", k, v["val_"+k], e[k])
				}
			}
		})
	}
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--data", prepared, "--val", prepared, "--image-size", "7"}, "--image-size applies only to image folders"},
		{[]string{"--data", prepared, "--val", augFolder, "--image-size", "7", "--hflip", "0.5"}, "--hflip and --color-jitter apply only to image folders"},
		{[]string{"--data", "mnist:test", "--image-size", "32"}, "MNIST's digits are read as stored, 28x28, not resized"},
	} {
		code, _, stderr := runCLI(append([]string{"train", augClassifier, "-o", out}, c.args...)...)
		if code != exitUsage || !strings.Contains(stderr, c.msg) {
			t.Errorf("%v: exit %d %q, want 2 and %q", c.args, code, stderr, c.msg)
		}
	}
}

// TestCropPctOverflow: a --crop-pct so small that the resize would
// overflow (or pass --max-bytes for any image) is a usage error, exit 2,
// in one line naming the flag, before any image is read.
func TestCropPctOverflow(t *testing.T) {
	for _, pct := range []string{"1e-320", "1e-9"} {
		code, _, stderr := runCLI("eval", augClassifier, "--data", augFolder, "--image-size", "7", "--crop-pct", pct)
		if want := " resizes every image's shorter side to"; code != exitUsage || !strings.HasPrefix(stderr, "onnxtune: --crop-pct 1e-") ||
			!strings.Contains(stderr, want) || strings.Contains(stderr, "-9223372036854775808") {
			t.Errorf("--crop-pct %s: exit %d %q, want 2 and %q", pct, code, stderr, want)
		}
	}
}

// TestInterpolationFlag: --interpolation bicubic (Pillow's filter, checked
// against torchvision in train/data) is written into the model's
// preprocessing by train and read back as eval's default: eval of the
// result gives what --interpolation bicubic gives and not what bilinear
// gives; a filter PIL's resize does not name is a usage error.
func TestInterpolationFlag(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "bicubic.onnx")
	if code, _, stderr := runCLI("train", augClassifier, "-o", out, "--data", augFolder, "--image-size", "7", "--crop-pct", "0.875",
		"--interpolation", "bicubic", "--lr", "0", "--log-level", "error"); code != exitOK {
		t.Fatalf("train: exit %d: %s", code, stderr)
	}
	m, err := importer.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if _, pre, err := data.ReadMetadata(m); err != nil || pre == nil || pre.Interpolation != "bicubic" {
		t.Fatalf("preprocessing %+v (%v), want bicubic", pre, err)
	}
	loss := func(args ...string) any {
		t.Helper()
		code, stdout, stderr := runCLI(append([]string{"eval", out, "--data", augFolder, "--json"}, args...)...)
		var r map[string]any
		if code != exitOK || json.Unmarshal([]byte(stdout), &r) != nil {
			t.Fatalf("eval %v: exit %d: %s", args, code, stderr)
		}
		return r["loss"]
	}
	def, bicubic, bilinear := loss(), loss("--interpolation", "bicubic"), loss("--interpolation", "bilinear")
	if def != bicubic || def == bilinear {
		t.Errorf("eval loss %v by default, %v with bicubic, %v with bilinear: want the default to be bicubic's", def, bicubic, bilinear)
	}
	code, _, stderr := runCLI("eval", out, "--data", augFolder, "--interpolation", "lanczos")
	if code != exitUsage || !strings.Contains(stderr, `--interpolation "lanczos", want bilinear, bicubic or nearest`) {
		t.Errorf("--interpolation lanczos: exit %d %q", code, stderr)
	}
}

// TestMetadataPreprocessErrors: a preprocessing in the model's metadata
// (onnxtune.preprocess) that the data or the model refuses is an error
// naming the metadata's key (exit 1), not a flag the user did not give
// (it said "--std[0] = 0 ... (see 'onnxtune eval --help')", exit 2); the
// flag still overrides it.
func TestMetadataPreprocessErrors(t *testing.T) {
	dir := t.TempDir()
	good := data.Preprocess{Size: [2]int{7, 7}, Resize: "center_crop", CropPct: 0.875, Interpolation: "bilinear",
		Mean: []float64{0.485, 0.456, 0.406}, Std: []float64{0.229, 0.224, 0.225}}
	for _, c := range []struct {
		name  string
		edit  func(p *data.Preprocess)
		want  string // stderr
		fixed []string
	}{
		{"std", func(p *data.Preprocess) { p.Std = []float64{0, 1, 1} },
			"onnxtune: the model's metadata onnxtune.preprocess std[0] = 0, want a positive number (" + augFolder + "; --std overrides it)\n",
			[]string{"--std", "0.5"}},
		{"mean", func(p *data.Preprocess) { p.Mean = []float64{0.5, 0.5} },
			"onnxtune: the model's metadata onnxtune.preprocess mean has 2 values, want 1 or 3 (one per channel) (" + augFolder + "; --mean overrides it)\n",
			[]string{"--mean", "0.5"}},
		{"size", func(p *data.Preprocess) { p.Size = [2]int{9, 9} },
			"onnxtune: data: " + augFolder + ": the model's metadata onnxtune.preprocess size 9x9 (height x width), but the model takes images of 7x7\n",
			[]string{"--image-size", "7"}},
		{"grayscale", func(p *data.Preprocess) { p.Grayscale = true; p.Mean = p.Mean[:1]; p.Std = p.Std[:1] },
			"onnxtune: data: " + augFolder + ": the model's input \"input\" takes 3 channels, the model's metadata onnxtune.preprocess grayscale reads images as 1\n",
			[]string{"--grayscale=false", "--mean", "0.5", "--std", "0.5"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, err := importer.Load(augClassifier)
			if err != nil {
				t.Fatal(err)
			}
			p := good
			p.Mean, p.Std = slices.Clone(good.Mean), slices.Clone(good.Std)
			c.edit(&p)
			if err := data.SetMetadata(m, nil, &p); err != nil {
				t.Fatal(err)
			}
			model := filepath.Join(dir, c.name+".onnx")
			if err := export.WriteFile(model, m); err != nil {
				t.Fatal(err)
			}
			for _, cmd := range []string{"eval", "run"} {
				code, stdout, stderr := runCLI(cmd, model, "--data", augFolder)
				if code != exitError || stdout != "" || stderr != c.want {
					t.Errorf("%s: exit %d, stdout %.100q, stderr %q; want exit %d and %q", cmd, code, stdout, stderr, exitError, c.want)
				}
			}
			if code, _, stderr := runCLI(append([]string{"eval", model, "--data", augFolder, "--log-level", "error"}, c.fixed...)...); code != exitOK {
				t.Errorf("eval %v: exit %d, stderr %q; want 0 (the flags win)", c.fixed, code, stderr)
			}
		})
	}
}

// TestMetadataUnreadableOneLine: metadata that does not parse
// (onnxtune.preprocess of a wrong type) fails eval of an image folder in
// one line; eval also logged it as a warning ending "classes are shown by
// index" first, as if it went on.
func TestMetadataUnreadableOneLine(t *testing.T) {
	m, err := importer.Load(augClassifier)
	if err != nil {
		t.Fatal(err)
	}
	m.Metadata = append(m.Metadata, graph.StringPair{Key: data.MetaPreprocess, Value: `{"size": "x"}`})
	model := filepath.Join(t.TempDir(), "bad.onnx")
	if err := export.WriteFile(model, m); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI("eval", model, "--data", augFolder)
	want := "onnxtune: data: the model's metadata onnxtune.preprocess: json: cannot unmarshal string into Go struct field Preprocess.size of type [2]int\n"
	if code != exitError || stdout != "" || stderr != want {
		t.Errorf("exit %d, stdout %.100q, stderr %q; want exit %d and %q", code, stdout, stderr, exitError, want)
	}
}
