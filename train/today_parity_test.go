package train_test

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph/ops"
	"github.com/onnxtune/onnxtune/importer"
	"github.com/onnxtune/onnxtune/internal/npz"
	"github.com/onnxtune/onnxtune/internal/ort"
	"github.com/onnxtune/onnxtune/train"
	"github.com/onnxtune/onnxtune/train/data"
)

// The exports of today's PyTorch (models/today, written by
// models/make_today.py with torch 2.14: both exporters, fixed shapes) and
// PyTorch's own results for them. Each test runs the cases listed in
// todayPassing; the cases that do not pass yet are listed, with the error
// each gives, in the report of the change that added this file.

// todayDir is where make_today.py writes.
var todayDir = filepath.Join("..", "models", "today")

// todayPassing lists, per test, the exports (file names without .onnx)
// that pass today. It only grows.
var todayPassing = map[string][]string{
	"params": {
		"lenet_dynamo", "lenet_ts", "mnist_lenet_dynamo", "mnist_lenet_ts",
		"bn_cnn_dynamo_noopt", "bn_cnn_ts_preserve", "bn_tied_dynamo_noopt", "bn_tied_ts_preserve",
		"mlp_bn_dynamo_noopt", "mlp_bn_ts",
		"transformer_dynamo_noopt", "transformer_ts", "transformer_tied_dynamo_noopt", "transformer_tied_ts",
		"scalar_params_dynamo", "scalar_params_ts", "overlap_groups_dynamo", "overlap_groups_ts",
		"transformer_dynamo", "transformer_tied_dynamo",
		"weight_views_dynamo_noopt", // skip read through the exporter's Identity ("clone")
	},
	"run": {
		"lenet_dynamo", "lenet_ts", "mnist_lenet_dynamo", "mnist_lenet_ts",
		"bn_cnn_dynamo", "bn_cnn_dynamo_noopt", "bn_cnn_ts", "bn_cnn_ts_preserve",
		"bn_tied_dynamo", "bn_tied_dynamo_noopt", "bn_tied_ts", "bn_tied_ts_preserve",
		"mlp_bn_dynamo", "mlp_bn_dynamo_noopt", "mlp_bn_ts",
		"transformer_dynamo", "transformer_dynamo_noopt", "transformer_ts",
		"transformer_tied_dynamo", "transformer_tied_dynamo_noopt", "transformer_tied_ts",
		"scalar_params_dynamo", "scalar_params_ts",
		"weight_views_dynamo", "weight_views_dynamo_noopt", "weight_views_ts",
		"overlap_groups_dynamo", "overlap_groups_ts",
	},
	"train": {
		"scalar_params_dynamo", "scalar_params_ts", "overlap_groups_dynamo", "overlap_groups_ts",
		// Exported at batch 2, trained at 5: the trainer makes the batch
		// dynamic (remap.DynamicBatch) first.
		"lenet_dynamo", "lenet_ts", "mnist_lenet_dynamo", "mnist_lenet_ts",
		"bn_cnn_dynamo_noopt", "bn_cnn_ts_preserve", "bn_tied_dynamo_noopt", "bn_tied_ts_preserve",
		"mlp_bn_dynamo_noopt", "mlp_bn_ts",
		"transformer_dynamo", "transformer_dynamo_noopt", "transformer_ts",
		"transformer_tied_dynamo_noopt", "transformer_tied_ts",
		// The dynamo optimizer's shared tensors and dropped zero biases:
		// train.Prepare unties and restores them.
		"transformer_tied_dynamo",
		// Parameters used through views (proj.t(), skip.clone(),
		// gain.unsqueeze(0), flat.view(...), head64.float()), folded by the
		// optimizer: attributed by folded_from, trained in the file's
		// layout.
		"weight_views_dynamo",
		// A float64 parameter (head64): stepped in float32 and widened back.
		"weight_views_dynamo_noopt",
	},
}

// todayManifest is models/today/manifest.json.
type todayManifest struct {
	Versions map[string]string `json:"versions"`
	Models   []todayModel      `json:"models"`
}

type todayModel struct {
	Name        string `json:"name"`
	ExportBatch int    `json:"export_batch"`
	TrainBatch  int    `json:"train_batch"`
	InputName   string `json:"input_name"`
	Expected    string `json:"expected"`
	Numel       int64  `json:"numel"`
	StateDict   []struct {
		Name  string  `json:"name"`
		Shape []int64 `json:"shape"`
		Kind  string  `json:"kind"` // parameter or buffer
	} `json:"state_dict"`
	Exports  []todayExport `json:"exports"`
	Training struct {
		File   string       `json:"file"`
		Groups []todayGroup `json:"groups"`
		// Optimizer is torch.optim's settings when not make_today.py's
		// SGD (models/arch: AdamW); Frozen lists parameters with
		// requires_grad=False.
		Optimizer *todayOptimizer `json:"optimizer"`
		Frozen    []string        `json:"frozen"`
	} `json:"training"`
}

// todayOptimizer is an optimizer of a training reference other than SGD.
type todayOptimizer struct {
	Type        string    `json:"type"`
	LR          float64   `json:"lr"`
	Betas       []float64 `json:"betas"`
	Eps         float64   `json:"eps"`
	WeightDecay float64   `json:"weight_decay"`
}

type todayExport struct {
	File         string   `json:"file"`
	Exporter     string   `json:"exporter"`
	Lost         []string `json:"lost"`
	TrainingCase *string  `json:"training_case"`
}

// todayGroup is a parameter group as PyTorch had it: the default group
// first (no pattern), then one per --group glob, with the parameters
// onnxtune's first-match rule gives it.
type todayGroup struct {
	Pattern     string   `json:"pattern"`
	Params      []string `json:"params"`
	LR          *float64 `json:"lr"`
	WeightDecay *float64 `json:"weight_decay"`
}

// todayCase is one export of one model, in the folder dir.
type todayCase struct {
	model *todayModel
	exp   todayExport
	dir   string
}

func (c todayCase) name() string { return strings.TrimSuffix(c.exp.File, ".onnx") }
func (c todayCase) path() string { return filepath.Join(c.dir, c.exp.File) }

// todayCases reads models/today's manifest and returns its exports by name.
func todayCases(t *testing.T) map[string]todayCase { return todayCasesIn(t, todayDir) }

// todayCasesIn reads dir's manifest (models/today's schema) and returns its
// exports by name.
func todayCasesIn(t *testing.T, dir string) map[string]todayCase {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m todayManifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	cases := make(map[string]todayCase)
	for i := range m.Models {
		for _, e := range m.Models[i].Exports {
			c := todayCase{&m.Models[i], e, dir}
			cases[c.name()] = c
		}
	}
	return cases
}

// runToday runs check on each named export of models/today as a subtest.
func runToday(t *testing.T, names []string, check func(*testing.T, todayCase)) {
	runCases(t, todayDir, names, check)
}

// runCases runs check on each named export of dir as a subtest.
func runCases(t *testing.T, dir string, names []string, check func(*testing.T, todayCase)) {
	cases := todayCasesIn(t, dir)
	for _, name := range names {
		c, ok := cases[name]
		if !ok {
			t.Errorf("%s: not in %s", name, filepath.Join(dir, "manifest.json"))
			continue
		}
		t.Run(name, func(t *testing.T) { check(t, c) })
	}
}

func TestTodayParamTable(t *testing.T)    { runToday(t, todayPassing["params"], todayParamTable) }
func TestTodayRunMatchesORT(t *testing.T) { runToday(t, todayPassing["run"], todayRun) }
func TestTodayTrainParity(t *testing.T)   { runToday(t, todayPassing["train"], todayTrain) }

// todayParamTable: the parameter table lists every state_dict entry
// (num_batches_tracked aside, which no exporter writes) under its PyTorch
// name with PyTorch's shape, parameters with a trainable role and buffers
// without; no other tensor has a trainable role; and the trainable
// elements add up to sum(p.numel() for p in model.parameters()). The table
// is the one training uses and inspect prints (train.Prepare: Constant-held
// parameters lifted, shared tensors untied, dropped zero biases restored).
func todayParamTable(t *testing.T, c todayCase) {
	m, err := importer.Load(c.path())
	if err != nil {
		t.Fatal(err)
	}
	if err := train.Prepare(m); err != nil {
		t.Fatal(err)
	}
	want := make(map[string]bool)
	var problems []string
	for _, e := range c.model.StateDict {
		if strings.HasSuffix(e.Name, "num_batches_tracked") {
			continue
		}
		want[e.Name] = true
		p := m.Param(e.Name)
		switch {
		case p == nil:
			problems = append(problems, fmt.Sprintf("%s %v (%s): not in the table", e.Name, e.Shape, e.Kind))
		case !slices.Equal(p.Shape, e.Shape) && !(len(p.Shape) == 0 && len(e.Shape) == 0):
			problems = append(problems, fmt.Sprintf("%s: shape %v, PyTorch %v", e.Name, p.Shape, e.Shape))
		case p.Role.Trainable() != (e.Kind == "parameter"):
			problems = append(problems, fmt.Sprintf("%s: role %s, PyTorch has it as a %s", e.Name, p.Role, e.Kind))
		}
	}
	var n int64
	for _, p := range m.Params {
		if !p.Role.Trainable() {
			continue
		}
		if !want[p.Name] {
			problems = append(problems, fmt.Sprintf("%s %v (initializer %s): trainable, not in PyTorch's state_dict", p.Name, p.Shape, p.Initializer))
		}
		k := int64(1)
		for _, d := range p.Shape {
			k *= d
		}
		n += k
	}
	if n != c.model.Numel {
		problems = append(problems, fmt.Sprintf("%d trainable elements, PyTorch's parameters have %d", n, c.model.Numel))
	}
	if len(problems) > 0 {
		t.Errorf("%d differences from PyTorch's state_dict:\n  %s", len(problems), strings.Join(problems, "\n  "))
	}
}

// todayInput turns a fixture array into the engine's tensor and ONNX
// Runtime's.
func todayInput(t *testing.T, name string, a npz.Array) (*tensor.Dense, ort.Tensor) {
	t.Helper()
	shape := make([]int64, len(a.Shape))
	for i, d := range a.Shape {
		shape[i] = int64(d)
	}
	in := ort.Tensor{Name: name, Shape: shape, Data: a.Data}
	switch d := a.Data.(type) {
	case []float32:
		return ops.Dense(a.Shape, d), in
	case []int64:
		return ops.Dense(a.Shape, d), in
	}
	t.Fatalf("input %s: %T", name, a.Data)
	return nil, in
}

// todayRun: the engine's output at the exported batch is within 1e-5 of
// ONNX Runtime's, relative to the largest output.
func todayRun(t *testing.T, c todayCase) {
	fx, err := npz.Read(filepath.Join(c.dir, c.model.Expected))
	if err != nil {
		t.Fatal(err)
	}
	x, in := todayInput(t, c.model.InputName, fx["x"])
	outs, err := ort.RunFile(c.path(), []ort.Tensor{in}, 2)
	if err != nil {
		t.Fatalf("onnxruntime: %v", err)
	}
	want := outs[0].Data.([]float32)
	m, err := importer.Load(c.path())
	if err != nil {
		t.Fatal(err)
	}
	r, err := ops.NewRunner(m, ops.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := r.Run(map[string]*tensor.Dense{c.model.InputName: x})
	if err != nil {
		t.Fatal(err)
	}
	y, err := ops.Data[float32](got[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(y) != len(want) {
		t.Fatalf("%d outputs, onnxruntime %d", len(y), len(want))
	}
	diff, scale := todayMaxDiff(y, want)
	if diff > 1e-5*scale {
		t.Errorf("engine vs onnxruntime: max |diff| %.3g, largest output %.3g (tolerance 1e-5 of it)", diff, scale)
	}
	torch, _ := todayMaxDiff(y, fx["logits"].Data.([]float32))
	t.Logf("max |diff|: vs onnxruntime %.3g (%.2g relative), vs PyTorch %.3g", diff, diff/scale, torch)
}

func todayMaxDiff(a, b []float32) (diff, scale float64) {
	for i := range b {
		diff = math.Max(diff, math.Abs(float64(a[i])-float64(b[i])))
		scale = math.Max(scale, math.Abs(float64(b[i])))
	}
	return diff, scale
}

// todayTrain: three SGD steps (or the manifest's optimizer) at the
// training batch, with the groups of the case given as onnxtune's --group
// globs and its frozen parameters frozen, end within 1e-5 of PyTorch's
// parameters and running statistics after every step, every value finite;
// the groups hold the parameters PyTorch's had.
//
// One exception, where the fixture records PyTorch's gradients
// (grad<k>/<name>, models/make_arch.py): a parameter whose gradient at step
// k is zero but for rounding, max|g_p| <= todayNoise * max over all
// parameters q of max|g_q| (an attention's key bias, to which softmax is
// invariant; a bias before a BatchNorm in training mode), gets from an
// adaptive optimizer a step of about ±lr whose sign is the rounding noise's,
// in PyTorch as in the engine. From such a step on, the parameter is
// compared only for being finite and within 1e-5 + 2*lr of PyTorch per
// step it had such a gradient (lr: its group's at that step); the test
// logs which parameters the rule covered.
func todayTrain(t *testing.T, c todayCase) {
	if c.exp.TrainingCase == nil {
		t.Fatalf("no training reference: the export does not hold %s", strings.Join(c.exp.Lost, ", "))
	}
	fx, err := npz.Read(filepath.Join(c.dir, c.model.Training.File))
	if err != nil {
		t.Fatal(err)
	}
	m, err := importer.Load(c.path())
	if err != nil {
		t.Fatal(err)
	}
	defaults := train.Hyper{LR: 0.01, Momentum: 0.9, WeightDecay: 1e-4}
	algo := train.SGD
	if o := c.model.Training.Optimizer; o != nil {
		if o.Type != "AdamW" || len(o.Betas) != 2 {
			t.Fatalf("optimizer %+v: want AdamW with two betas", o)
		}
		algo = train.AdamW
		defaults = train.Hyper{LR: o.LR, Beta1: o.Betas[0], Beta2: o.Betas[1], Eps: o.Eps, WeightDecay: o.WeightDecay}
	}
	groups := c.model.Training.Groups
	var specs []train.GroupSpec
	for _, g := range groups[1:] {
		set := map[string]float64{}
		if g.LR != nil {
			set["lr"] = *g.LR
		}
		if g.WeightDecay != nil {
			set["weight_decay"] = *g.WeightDecay
		}
		specs = append(specs, train.GroupSpec{Pattern: g.Pattern, Set: set})
	}
	if err := train.Prepare(m); err != nil {
		t.Fatal(err)
	}
	a, err := train.Assign(m.Params, specs, defaults, c.model.Training.Frozen)
	if err != nil {
		t.Fatal(err)
	}
	for i, g := range a.Groups {
		if i >= len(groups) {
			break
		}
		got, want := slices.Clone(g.Params), slices.Clone(groups[i].Params)
		sort.Strings(got)
		sort.Strings(want)
		if !slices.Equal(got, want) {
			t.Errorf("group %q holds %v, PyTorch's %v", g.Name, got, want)
		}
	}
	opt, err := train.NewOptimizer(algo)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := train.NewTrainer(m, train.CrossEntropy, opt, a)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	x, _ := todayInput(t, c.model.InputName, fx["x"])
	y := fx["y"].Data.([]int64)
	losses := fx["loss"].Data.([]float32)
	noise := make(map[string]float64) // parameter -> 2*lr summed over its steps of rounding-level gradient
	noiseSteps := make(map[string][]string)
	noiseWorst, noiseWorstName := 0.0, ""
	defer func() {
		if len(noiseSteps) == 0 {
			return
		}
		var covered []string
		for name, steps := range noiseSteps {
			covered = append(covered, fmt.Sprintf("%s (step %s)", name, strings.Join(steps, ", ")))
		}
		sort.Strings(covered)
		t.Logf("gradient zero but for rounding in PyTorch (max|g| <= %g of the step's largest), compared for being finite and within 1e-5 + 2*lr per such step: %s; largest difference among them %.3g (%s)",
			todayNoise, strings.Join(covered, "; "), noiseWorst, noiseWorstName)
	}()
	for k := 1; k <= len(losses); k++ {
		res, err := tr.StepBatch(data.Batch{Inputs: map[string]*tensor.Dense{c.model.InputName: x}, Labels: y, N: len(y)}, 1)
		if err != nil {
			t.Fatalf("step %d: %v", k, err)
		}
		for _, name := range todayNoiseSteps(t, fx, k, groups, noise) {
			noiseSteps[name] = append(noiseSteps[name], fmt.Sprint(k))
		}
		if want := float64(losses[k-1]); math.Abs(res.Loss-want) > 1e-5*math.Max(1, math.Abs(want)) {
			t.Errorf("step %d: loss %.8f, PyTorch %.8f", k, res.Loss, want)
		}
		prefix := fmt.Sprintf("step%d/", k)
		worst, worstName := 0.0, ""
		keys := make([]string, 0, len(fx))
		for key := range fx {
			if strings.HasPrefix(key, prefix) {
				keys = append(keys, key)
			}
		}
		sort.Strings(keys)
		for _, key := range keys {
			name := strings.TrimPrefix(key, prefix)
			got, ok := tr.Values(name)
			if !ok {
				t.Errorf("after step %d: %s is not in the trainer", k, name)
				continue
			}
			want := todayFloats(fx[key].Data)
			if len(got) != len(want) {
				t.Errorf("after step %d: %s has %d elements, PyTorch %d", k, name, len(got), len(want))
				continue
			}
			if p := m.Param(name); p != nil && p.Transposed && len(p.Shape) == 2 {
				// The trainer holds the file's layout: the transpose of
				// PyTorch's [rows, cols].
				got = todayTranspose(got, int(p.Shape[1]), int(p.Shape[0]))
			}
			d := 0.0
			finite := true
			for i := range want {
				d = math.Max(d, math.Abs(float64(got[i])-want[i]))
				finite = finite && !math.IsNaN(float64(got[i])) && !math.IsInf(float64(got[i]), 0)
			}
			if !finite {
				t.Errorf("after step %d, %s: not finite", k, name)
				continue
			}
			if tol := noise[name]; tol > 0 {
				if d > noiseWorst || noiseWorstName == "" {
					noiseWorst, noiseWorstName = d, name
				}
				if d > 1e-5+tol {
					t.Errorf("after step %d, %s (gradient zero but for rounding): max |diff| %.3g from PyTorch, beyond 1e-5 + %.3g", k, name, d, tol)
				}
				continue
			}
			if d > worst || worstName == "" {
				worst, worstName = d, name
			}
			if d > 1e-5 {
				t.Errorf("after step %d, %s: max |diff| %.3g from PyTorch", k, name, d)
			}
		}
		t.Logf("after step %d: loss %.6f, largest difference to PyTorch %.3g (%s)", k, res.Loss, worst, worstName)
	}
}

// todayNoise is the rounding level of a gradient, relative to the largest
// of the step: about 8 float32 epsilons. In models/arch, gradients that are
// zero in exact arithmetic are below 3e-8 of the largest and all others
// above 4e-4.
const todayNoise = 1e-6

// todayNoiseSteps finds the parameters whose PyTorch gradient at step k
// (fx's grad<k>/<name>, when recorded) is zero but for rounding, adds
// 2*lr of their group at step k (fx's lrs [steps, groups]) to noise, and
// returns them sorted.
func todayNoiseSteps(t *testing.T, fx map[string]npz.Array, k int, groups []todayGroup, noise map[string]float64) []string {
	t.Helper()
	prefix := fmt.Sprintf("grad%d/", k)
	peak := make(map[string]float64)
	largest := 0.0
	for key, a := range fx {
		name, ok := strings.CutPrefix(key, prefix)
		if !ok {
			continue
		}
		for _, v := range todayFloats(a.Data) {
			peak[name] = math.Max(peak[name], math.Abs(v))
		}
		largest = math.Max(largest, peak[name])
	}
	if len(peak) == 0 {
		return nil
	}
	lrs, ok := fx["lrs"]
	if !ok {
		t.Fatalf("the fixture records gradients but no lrs")
	}
	lr := todayFloats(lrs.Data)
	var covered []string
	for name, g := range peak {
		if g > todayNoise*largest {
			continue
		}
		gi := -1
		for i, grp := range groups {
			if slices.Contains(grp.Params, name) {
				gi = i
			}
		}
		if gi < 0 || len(lr) < k*len(groups) {
			t.Fatalf("step %d: %s has a gradient but no group's learning rate", k, name)
		}
		noise[name] += 2 * lr[(k-1)*len(groups)+gi]
		covered = append(covered, name)
	}
	sort.Strings(covered)
	return covered
}

// todayTranspose returns the transpose of the rows x cols matrix v.
func todayTranspose(v []float32, rows, cols int) []float32 {
	out := make([]float32, len(v))
	for i := 0; i < rows; i++ {
		for j := 0; j < cols; j++ {
			out[j*rows+i] = v[i*cols+j]
		}
	}
	return out
}

// todayFloats widens a float32 or float64 fixture array.
func todayFloats(d any) []float64 {
	switch v := d.(type) {
	case []float32:
		out := make([]float64, len(v))
		for i, f := range v {
			out[i] = float64(f)
		}
		return out
	case []float64:
		return v
	}
	return nil
}
