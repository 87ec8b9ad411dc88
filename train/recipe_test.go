package train

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/importer"
	"github.com/onnxtune/onnxtune/internal/npz"
	"github.com/onnxtune/onnxtune/train/data"
)

// The step options (StepOptions) against PyTorch: models/make_recipe.py
// trains the same models on the same batches with clip_grad_norm_,
// accumulation, class weights, timm's ModelEmaV2 and BatchNorm modules in
// eval mode, and records the state_dict after each optimizer step. The
// settings below repeat the script's (inputs, not results).

var recipeDir = filepath.Join("..", "models", "recipe")

// recipeTol is the bound on the weights after three steps.
const recipeTol = 1e-5

// recipeCase is one of make_recipe.py's train(...) calls.
type recipeCase struct {
	name   string // its case name in expected.npz
	model  string // cnn or mlp
	data   string // its .npz file
	batch  int
	opt    Algorithm
	opts   StepOptions
	smooth float64
	freeze []string
	want   string // the case whose numbers the run must give (name when "")
	ema    bool   // compare the EMA copy (WriteEMA) as well
}

func recipeCases() []recipeCase {
	w := []float64{0.5, 2.0, 1.5}
	return []recipeCase{
		{name: "clip_sgd", model: "cnn", opts: StepOptions{ClipGrad: 0.1}},
		{name: "clip_adamw", model: "cnn", opt: AdamW, opts: StepOptions{ClipGrad: 0.1}},
		{name: "accum", model: "mlp", opts: StepOptions{GradAccum: 2}},
		// The measure: 16 x 2 accumulated against one batch of 32.
		{name: "accum_vs_batch32", model: "mlp", opts: StepOptions{GradAccum: 2}, want: "batch32"},
		{name: "batch32", model: "mlp", batch: 32},
		{name: "accum_adamw_vs_batch32", model: "mlp", opt: AdamW, opts: StepOptions{GradAccum: 2, ClipGrad: 0.2}, want: "batch32_adamw"},
		{name: "accum_tail", model: "mlp", data: "mlp_tail", opts: StepOptions{GradAccum: 2}},
		{name: "weights", model: "cnn", opts: StepOptions{ClassWeights: w}},
		{name: "weights_smooth", model: "cnn", opts: StepOptions{ClassWeights: w}, smooth: 0.1},
		{name: "balanced", model: "cnn", opt: AdamW}, // weights from BalancedWeights
		{name: "ema_sgd", model: "cnn", opts: StepOptions{EMA: 0.9}, ema: true},
		{name: "ema_adamw", model: "cnn", opt: AdamW, opts: StepOptions{EMA: 0.75}, ema: true},
		{name: "freeze_bn", model: "cnn", opts: StepOptions{FreezeBN: true}, freeze: []string{"conv1.*", "bn1.*"}},
	}
}

// config is the run make_recipe.py's loop does: two groups (the head at lr
// 0.1), SGD momentum 0.9 or AdamW, weight decay 1e-4, batches in file order.
func (c recipeCase) config(steps int64) Config {
	opt := c.opt
	if opt == "" {
		opt = SGD
	}
	head := "fc.*"
	if c.model == "mlp" {
		head = "out.*"
	}
	def := Hyper{LR: 0.01, Momentum: 0.9, WeightDecay: 1e-4}
	if opt == AdamW {
		def = Hyper{LR: 0.001, WeightDecay: 1e-4}
	}
	return Config{Steps: steps, Optimizer: opt, Defaults: def, Loss: CrossEntropy, Smoothing: c.smooth,
		Groups: []GroupSpec{{Pattern: head, Set: map[string]float64{"lr": 0.1}}}, Freeze: c.freeze, StepOptions: c.opts}
}

func (c recipeCase) source(t testing.TB) *data.Loader {
	t.Helper()
	name := c.data
	if name == "" {
		name = c.model + "_data"
	}
	ds, err := data.OpenNPZ(filepath.Join(recipeDir, name+".npz"))
	if err != nil {
		t.Fatal(err)
	}
	batch := c.batch
	if batch == 0 {
		batch = 16
	}
	l, err := data.NewLoader(ds, batch, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func loadRecipe(t testing.TB, model string) *graph.Model {
	t.Helper()
	m, err := importer.Load(filepath.Join(recipeDir, model+".onnx"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// worstDiff compares every float state_dict entry of m with
// expected.npz's prefix/NAME and returns the largest difference and where.
func worstDiff(t testing.TB, m *graph.Model, ref map[string]npz.Array, prefix string) (float64, string) {
	t.Helper()
	worst, at, seen := 0.0, "", 0
	for _, p := range m.Params {
		want, ok := ref[prefix+p.Name]
		if !ok {
			continue
		}
		seen++
		got, err := m.Graph.Initializer(p.Initializer).Float32s()
		if err != nil {
			t.Fatal(err)
		}
		if p.Transposed {
			got = transposed2(got, int(p.Shape[0]), int(p.Shape[1]))
		}
		wv := want.Data.([]float32)
		if len(got) != len(wv) {
			t.Fatalf("%s: %d values, PyTorch %d", p.Name, len(got), len(wv))
		}
		for i, w := range wv {
			if d := math.Abs(float64(got[i] - w)); d > worst || math.IsNaN(d) {
				worst, at = d, fmt.Sprintf("%s[%d] = %g, PyTorch %g", p.Name, i, got[i], w)
			}
		}
	}
	if seen == 0 {
		t.Fatalf("no entry %s* in expected.npz", prefix)
	}
	return worst, at
}

// TestRecipeParity runs each case through Run for 1 and 3 steps and
// compares every parameter and running statistic with PyTorch's.
func TestRecipeParity(t *testing.T) {
	ref, err := npz.Read(filepath.Join(recipeDir, "expected.npz"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range recipeCases() {
		t.Run(c.name, func(t *testing.T) {
			want := c.want
			if want == "" {
				want = c.name
			}
			if c.name == "balanced" {
				src := c.source(t)
				var labels []int64
				for i := range src.Batches() {
					b, err := src.Batch(0, i)
					if err != nil {
						t.Fatal(err)
					}
					labels = append(labels, b.Labels...)
				}
				w, err := BalancedWeights(labels, 3)
				if err != nil {
					t.Fatal(err)
				}
				for i, v := range ref["balanced/weights"].Data.([]float64) {
					if math.Abs(w[i]-v) > 1e-15 {
						t.Fatalf("balanced weights %v, sklearn's rule in numpy %v", w, ref["balanced/weights"].Data)
					}
				}
				c.opts.ClassWeights = w
			}
			for _, steps := range []int64{1, 3} {
				tags := []string{"step"}
				if c.ema {
					tags = append(tags, "ema")
				}
				for _, tag := range tags {
					m := loadRecipe(t, c.model)
					cfg := c.config(steps)
					cfg.WriteEMA = tag == "ema"
					res, err := Run(context.Background(), m, c.source(t), nil, cfg)
					if err != nil {
						t.Fatal(err)
					}
					if res.Steps != steps {
						t.Fatalf("%d steps, want %d", res.Steps, steps)
					}
					d, at := worstDiff(t, m, ref, fmt.Sprintf("%s/%s%d/", want, tag, steps))
					if d > recipeTol {
						t.Errorf("%s after %d steps: off by %.3g at %s", tag, steps, d, at)
					}
					t.Logf("%s after %d steps: within %.3g of PyTorch", tag, steps, d)
				}
			}
		})
	}
}

// TestRecipeOptionsMatter: each option changes the result (the parity
// above is not met by a run that ignores it): the same run without it is
// further from PyTorch's numbers than the tolerance.
func TestRecipeOptionsMatter(t *testing.T) {
	ref, err := npz.Read(filepath.Join(recipeDir, "expected.npz"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range recipeCases() {
		if c.name == "balanced" || c.want != "" || c.name == "batch32" {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			c.opts = StepOptions{}
			c.smooth = 0
			m := loadRecipe(t, c.model)
			if _, err := Run(context.Background(), m, c.source(t), nil, c.config(3)); err != nil {
				t.Fatal(err)
			}
			tag := "step"
			if c.ema {
				tag = "ema"
			}
			if d, _ := worstDiff(t, m, ref, fmt.Sprintf("%s/%s3/", c.name, tag)); d <= 10*recipeTol {
				t.Errorf("without the option the weights are still within %.3g of PyTorch's", d)
			}
		})
	}
}

// TestRecipeResume: a run with every option, stopped after its first
// epoch and resumed from the checkpoint, ends bit for bit where an
// uninterrupted run does (EMA copy included); other options are refused.
func TestRecipeResume(t *testing.T) {
	c := recipeCase{name: "resume", model: "mlp", data: "mlp_tail", opt: AdamW,
		opts: StepOptions{GradAccum: 2, ClipGrad: 0.5, EMA: 0.8, WriteEMA: true, ClassWeights: []float64{1, 2, 0.5, 1}}}
	cfg := c.config(0)
	cfg.Epochs = 3
	whole := loadRecipe(t, "mlp")
	if _, err := Run(context.Background(), whole, c.source(t), nil, cfg); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg.Checkpoint = dir
	cfg.Epochs = 1
	if _, err := Run(context.Background(), loadRecipe(t, "mlp"), c.source(t), nil, cfg); err != nil {
		t.Fatal(err)
	}
	// Stopped in the middle of the second epoch: at a step boundary.
	ctx, cancel := context.WithCancel(context.Background())
	cfg.Epochs, cfg.Resume = 3, true
	stop := cfg
	stop.OnStep = func(s StepInfo) {
		if s.Step == 4 {
			cancel()
		}
	}
	res, err := Run(ctx, loadRecipe(t, "mlp"), c.source(t), nil, stop)
	if err != nil || !res.Stopped || res.Steps != 4 {
		t.Fatalf("stopped run: %+v, %v", res, err)
	}
	resumed := loadRecipe(t, "mlp")
	if _, err := Run(context.Background(), resumed, c.source(t), nil, cfg); err != nil {
		t.Fatal(err)
	}
	for _, p := range whole.Params {
		a, _ := whole.Graph.Initializer(p.Initializer).Float32s()
		b, _ := resumed.Graph.Initializer(p.Initializer).Float32s()
		for i := range a {
			if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
				t.Fatalf("%s[%d]: %g uninterrupted, %g resumed", p.Name, i, a[i], b[i])
			}
		}
	}
	for _, tc := range []struct {
		name string
		edit func(*StepOptions)
		msg  string
	}{
		{"clip", func(o *StepOptions) { o.ClipGrad = 1 }, "clip_grad is 0.5 there, 1 here"},
		{"accum", func(o *StepOptions) { o.GradAccum = 1 }, "grad_accum is 2 there, 1 here"},
		{"ema", func(o *StepOptions) { o.EMA = 0.9 }, "model_ema is 0.8 there, 0.9 here"},
		{"write-ema", func(o *StepOptions) { o.WriteEMA = false }, "write_ema is true there, false here"},
		{"weights", func(o *StepOptions) { o.ClassWeights = nil }, "class_weights is 1,2,0.5,1 there,  here"},
		{"freeze-bn", func(o *StepOptions) { o.FreezeBN = true }, "freeze_bn is false there, true here"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			other := cfg
			tc.edit(&other.StepOptions)
			_, err := Run(context.Background(), loadRecipe(t, "mlp"), c.source(t), nil, other)
			if err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("got %v, want %q", err, tc.msg)
			}
		})
	}
}

// TestStepOptionsRefused: values with no meaning are *SettingError before
// any work, and a count of class weights that is not the model's classes
// names that count.
func TestStepOptionsRefused(t *testing.T) {
	for _, tc := range []struct {
		opts StepOptions
		loss Loss
		msg  string
	}{
		{StepOptions{ClipGrad: -1}, "", "clip-grad -1.0"},
		{StepOptions{ClipGrad: math.Inf(1)}, "", "clip-grad inf"},
		{StepOptions{GradAccum: -2}, "", "grad-accum -2"},
		{StepOptions{EMA: 1}, "", "model-ema 1.0"},
		{StepOptions{WriteEMA: true}, "", "write-ema needs model-ema"},
		{StepOptions{ClassWeights: []float64{1, -1, 1}}, "", "class weight 1 is -1.0"},
		{StepOptions{ClassWeights: []float64{0, 0, 0}}, "", "all 0"},
		{StepOptions{ClassWeights: []float64{1, 2, 3}}, MSE, "not with loss mse"},
		{StepOptions{ClassWeights: []float64{1, 2}}, "", "2 class weights: the model has 3 classes"},
	} {
		t.Run(tc.msg, func(t *testing.T) {
			c := recipeCase{model: "cnn", opts: tc.opts}
			cfg := c.config(1)
			if tc.loss != "" {
				cfg.Loss = tc.loss
			}
			_, err := Run(context.Background(), loadRecipe(t, "cnn"), c.source(t), nil, cfg)
			var se *SettingError
			if err == nil || !strings.Contains(err.Error(), tc.msg) || !errors.As(err, &se) {
				t.Fatalf("got %v, want a *SettingError with %q", err, tc.msg)
			}
		})
	}
	if _, err := BalancedWeights([]int64{0, 0, 2}, 3); err == nil || !strings.Contains(err.Error(), "class 1 has no training example") {
		t.Fatalf("balanced weights with an empty class: %v", err)
	}
}

// cancelAt is a Source that cancels a context when batch (epoch, batch)
// is asked for.
type cancelAt struct {
	Source
	epoch, batch int
	cancel       func()
}

func (c cancelAt) Batch(e, i int) (data.Batch, error) {
	if e == c.epoch && i == c.batch {
		c.cancel()
	}
	return c.Source.Batch(e, i)
}

// TestRecipeStopInsideGroup: Ctrl-C in the middle of a group of
// accumulated batches ends the group first (the step is taken), and the
// checkpoint, written at the step boundary, resumes bit for bit.
func TestRecipeStopInsideGroup(t *testing.T) {
	c := recipeCase{model: "mlp", data: "mlp_tail", opts: StepOptions{GradAccum: 2, EMA: 0.5}}
	cfg := c.config(0)
	cfg.Epochs = 2
	whole := loadRecipe(t, "mlp")
	if _, err := Run(context.Background(), whole, c.source(t), nil, cfg); err != nil {
		t.Fatal(err)
	}
	cfg.Checkpoint = t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	res, err := Run(ctx, loadRecipe(t, "mlp"), cancelAt{c.source(t), 1, 3, cancel}, nil, cfg)
	// Batch 3 is the second of the group (2, 3): step 5 is taken, then
	// the run stops before batch 4.
	if err != nil || !res.Stopped || res.Steps != 5 {
		t.Fatalf("stopped run: %+v, %v", res, err)
	}
	cfg.Resume = true
	resumed := loadRecipe(t, "mlp")
	res, err = Run(context.Background(), resumed, c.source(t), nil, cfg)
	if err != nil || res.Steps != 6 {
		t.Fatalf("resumed run: %+v, %v", res, err)
	}
	for _, p := range whole.Params {
		a, _ := whole.Graph.Initializer(p.Initializer).Float32s()
		b, _ := resumed.Graph.Initializer(p.Initializer).Float32s()
		for i := range a {
			if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
				t.Fatalf("%s[%d]: %g uninterrupted, %g resumed", p.Name, i, a[i], b[i])
			}
		}
	}
}

// TestRecipeValidatesEMA: with WriteEMA the validator sees the EMA copy
// (PyTorch's, after each epoch's steps), without it the trained weights.
func TestRecipeValidatesEMA(t *testing.T) {
	ref, err := npz.Read(filepath.Join(recipeDir, "expected.npz"))
	if err != nil {
		t.Fatal(err)
	}
	for _, write := range []bool{true, false} {
		c := recipeCase{name: "ema_sgd", model: "cnn", opts: StepOptions{EMA: 0.9, WriteEMA: write}}
		cfg := c.config(0)
		cfg.Epochs = 1 // two batches: two steps
		tag := "step2/"
		if write {
			tag = "ema2/"
		}
		calls := 0
		val := func(m *graph.Model) (*Metrics, error) {
			calls++
			if d, at := worstDiff(t, m, ref, "ema_sgd/"+tag); d > recipeTol {
				t.Errorf("write-ema %v: the validator sees weights %.3g from PyTorch's %s (%s)", write, d, tag, at)
			}
			return &Metrics{}, nil
		}
		m := loadRecipe(t, "cnn")
		if _, err := Run(context.Background(), m, c.source(t), val, cfg); err != nil {
			t.Fatal(err)
		}
		if calls != 1 {
			t.Fatalf("validator called %d times", calls)
		}
	}
}

// TestFrozenBatchNorms: --freeze-bn keeps the BatchNorm layers whose
// weight and bias are both frozen, and only those.
func TestFrozenBatchNorms(t *testing.T) {
	for _, tc := range []struct {
		freeze []string
		want   string
	}{
		{[]string{"conv1.*", "bn1.*"}, "bn1.running_mean"},
		{[]string{"bn1.weight"}, ""}, // its bias still trains
		{[]string{"bn*"}, "bn1.running_mean,bn2.running_mean"},
	} {
		m := loadRecipe(t, "cnn")
		groups, err := Assign(m.Params, nil, Hyper{LR: 0.1}, tc.freeze)
		if err != nil {
			t.Fatal(err)
		}
		opt, _ := NewOptimizer(SGD)
		tr, err := NewTrainer(m, CrossEntropy, opt, groups)
		if err != nil {
			t.Fatal(err)
		}
		tr.FreezeBN = true
		names, err := tr.FrozenBatchNorms()
		if err != nil || strings.Join(names, ",") != tc.want {
			t.Errorf("--freeze %v: %q, %v; want %q", tc.freeze, names, err, tc.want)
		}
		tr.Close()
	}
}
