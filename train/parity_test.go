package train

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/graph/ops"
	"github.com/onnxtune/onnxtune/importer"
	"github.com/onnxtune/onnxtune/internal/npz"
	"github.com/onnxtune/onnxtune/train/data"
)

// trainCase is one entry of models/train/cases.json, written by
// models/make_train_fixtures.py with PyTorch.
type trainCase struct {
	Name   string `json:"name"`
	File   string `json:"file"`
	ONNX   string `json:"onnx"`
	Groups []struct {
		LR     *float64 `json:"lr"`
		Params []string `json:"params"`
	} `json:"groups"`
	Frozen    []string `json:"frozen"`
	Steps     int      `json:"steps"`
	Saved     []int    `json:"saved_steps"`
	Optimizer struct {
		Type        string    `json:"type"`
		LR          float64   `json:"lr"`
		Momentum    float64   `json:"momentum"`
		Dampening   float64   `json:"dampening"`
		Nesterov    bool      `json:"nesterov"`
		WeightDecay float64   `json:"weight_decay"`
		Betas       []float64 `json:"betas"`
		Eps         float64   `json:"eps"`
	} `json:"optimizer"`
	Schedule *struct {
		Type        string  `json:"type"`
		StepSize    int     `json:"step_size"`
		Gamma       float64 `json:"gamma"`
		TMax        int     `json:"T_max"`
		StartFactor float64 `json:"start_factor"`
		TotalIters  int     `json:"total_iters"`
	} `json:"schedule"`
	Loss struct {
		Smoothing float64 `json:"label_smoothing"`
	} `json:"loss"`
	// Models of several inputs (models/multi/train): the arrays of the
	// case's file that feed the model, by graph input name (else x).
	Inputs []string `json:"inputs"`
	// With Data, the steps are the batches of an epoch of that file (as
	// the Loader cuts it: BatchSize examples, in file order unless
	// Shuffle) instead of one fixed batch.
	Data      string `json:"data"`
	BatchSize int    `json:"batch_size"`
	Shuffle   bool   `json:"shuffle"`
}

// TestPyTorchParity runs each case's steps on its fixed batch and compares
// every parameter and BatchNorm running statistic with PyTorch's after the
// saved steps: within 1e-5 absolute, and the change from the starting value
// within 1% of PyTorch's change (so that small updates are checked too).
// Frozen parameters must stay bit-identical. The learning rates the
// schedule gives must equal PyTorch's.
//
// models/multi/train holds the cases of models with several inputs
// (models/make_multi_input.py): an int64 text classifier with an attention
// mask, an image with a float64 feature vector and a 0-d scale, a sequence
// with a bool mask and int32 segment ids; each on a fixed batch, and over
// an epoch of its data file read by the Loader.
func TestPyTorchParity(t *testing.T) {
	for _, dir := range []string{filepath.Join("..", "models", "train"), filepath.Join("..", "models", "multi", "train")} {
		b, err := os.ReadFile(filepath.Join(dir, "cases.json"))
		if err != nil {
			t.Fatal(err)
		}
		var cases []trainCase
		if err := json.Unmarshal(b, &cases); err != nil {
			t.Fatal(err)
		}
		for _, c := range cases {
			t.Run(c.Name, func(t *testing.T) { parityCase(t, dir, c) })
		}
	}
}

// parityBatches returns the batches of case c: its fixed batch c.Steps
// times (the arrays c.Inputs, or x, and y of the case's file fx), or the
// batches of an epoch of c.Data.
func parityBatches(t *testing.T, dir string, c trainCase, m *graph.Model, fx map[string]npz.Array) []data.Batch {
	t.Helper()
	if c.Data == "" {
		names := c.Inputs
		if names == nil {
			names = []string{"x"}
		}
		b := data.Batch{Inputs: map[string]*tensor.Dense{}, Labels: fx["y"].Data.([]int64), N: fx["y"].Shape[0]}
		for _, name := range names {
			a := fx[name]
			b.Inputs[name] = denseOf(t, a)
		}
		return slices.Repeat([]data.Batch{b}, c.Steps)
	}
	inputs, err := data.InputsOf(m)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := data.Open(filepath.Join(dir, "..", c.Data), data.Options{}.ForInputs(inputs))
	if err != nil {
		t.Fatal(err)
	}
	l, err := data.NewLoader(ds, c.BatchSize, c.Shuffle, 0)
	if err != nil {
		t.Fatal(err)
	}
	var bs []data.Batch
	for b, err := range l.Epoch(0) {
		if err != nil {
			t.Fatal(err)
		}
		bs = append(bs, b)
	}
	if len(bs) != c.Steps {
		t.Fatalf("%d batches, PyTorch made %d steps", len(bs), c.Steps)
	}
	return bs
}

// torchLayout returns the values v of parameter p in PyTorch's layout: a
// weight the export stores transposed (MatMul) is transposed back.
func torchLayout(p *graph.Param, v []float32) []float32 {
	if p == nil || !p.Transposed || len(p.Shape) != 2 {
		return v
	}
	rows, cols := int(p.Shape[0]), int(p.Shape[1]) // PyTorch's shape
	out := make([]float32, len(v))
	for i := range rows {
		for j := range cols {
			out[i*cols+j] = v[j*rows+i]
		}
	}
	return out
}

// denseOf returns an npz array as a tensor.
func denseOf(t *testing.T, a npz.Array) *tensor.Dense {
	t.Helper()
	switch v := a.Data.(type) {
	case []float32:
		return ops.Dense(a.Shape, v)
	case []float64:
		return ops.Dense(a.Shape, v)
	case []int64:
		return ops.Dense(a.Shape, v)
	case []int32:
		return ops.Dense(a.Shape, v)
	case []bool:
		return ops.Dense(a.Shape, v)
	}
	t.Fatalf("array of %T", a.Data)
	return nil
}

func parityCase(t *testing.T, dir string, c trainCase) {
	fx, err := npz.Read(filepath.Join(dir, c.File))
	if err != nil {
		t.Fatal(err)
	}
	m, err := importer.Load(filepath.Join(dir, "..", c.ONNX))
	if err != nil {
		t.Fatal(err)
	}
	start := make(map[string][]float32)
	for _, p := range m.Params {
		if v, err := m.Graph.Initializer(p.Initializer).Float32s(); err == nil {
			start[p.Name] = torchLayout(p, v)
		}
	}
	o := c.Optimizer
	h := Hyper{LR: o.LR, Momentum: o.Momentum, Dampening: o.Dampening, Nesterov: o.Nesterov, WeightDecay: o.WeightDecay, Eps: o.Eps}
	if len(o.Betas) == 2 {
		h.Beta1, h.Beta2 = o.Betas[0], o.Betas[1]
	}
	algo := map[string]Algorithm{"SGD": SGD, "Adam": Adam, "AdamW": AdamW}[o.Type]
	var specs []GroupSpec
	for _, g := range c.Groups {
		if g.LR == nil {
			continue // the default group
		}
		for _, name := range g.Params {
			specs = append(specs, GroupSpec{Pattern: name, Set: map[string]float64{"lr": *g.LR}})
		}
	}
	groups, err := Assign(m.Params, specs, h, c.Frozen)
	if err != nil {
		t.Fatal(err)
	}
	opt, err := NewOptimizer(algo)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := NewTrainer(m, CrossEntropy, opt, groups)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	tr.Smoothing = c.Loss.Smoothing
	var sched Schedule
	if s := c.Schedule; s != nil {
		switch s.Type {
		case "StepLR":
			sched = Schedule{Kind: "step", StepEvery: s.StepSize, Gamma: s.Gamma}
		case "CosineAnnealingLR":
			// CosineAnnealingLR stepped T_max times, eta_min 0: the
			// cosine schedule over T_max steps.
			sched = Schedule{Kind: "cosine", Total: int64(s.TMax)}
		case "LinearLR":
			sched = Schedule{Warmup: int64(s.TotalIters), WarmupFrom: s.StartFactor}
		default:
			t.Fatalf("schedule %s", s.Type)
		}
	}
	sched, err = sched.Resolve(int64(c.Steps))
	if err != nil {
		t.Fatal(err)
	}
	batches := parityBatches(t, dir, c, m, fx)
	losses := fx["loss"].Data.([]float32)
	lrs, _ := fx["lrs"].Data.([]float64)
	for k := 0; k < c.Steps; k++ {
		// The fixtures step the scheduler after every optimizer step.
		factor := sched.Factor(int64(k))
		if lrs != nil {
			ng := len(lrs) / c.Steps
			for gi := 0; gi < ng; gi++ {
				want := lrs[k*ng+gi]
				base := o.LR
				if gi > 0 && c.Groups[gi].LR != nil {
					base = *c.Groups[gi].LR
				}
				if got := base * factor; math.Abs(got-want) > 1e-12 {
					t.Errorf("step %d group %d: lr %.12g, PyTorch %.12g", k+1, gi, got, want)
				}
			}
		}
		res, err := tr.StepBatch(batches[k], factor)
		if err != nil {
			t.Fatal(err)
		}
		if d := math.Abs(res.Loss - float64(losses[k])); d > 1e-5*max(1, math.Abs(float64(losses[k]))) {
			t.Errorf("step %d: loss %.8f, PyTorch %.8f", k+1, res.Loss, losses[k])
		}
		prefix := fmt.Sprintf("step%d/", k+1)
		worst := 0.0
		for key, a := range fx {
			if !strings.HasPrefix(key, prefix) {
				continue
			}
			name := strings.TrimPrefix(key, prefix)
			want := a.Data.([]float32)
			got, ok := tr.Values(name)
			if !ok {
				t.Errorf("%s: not in the trainer", name)
				continue
			}
			got = torchLayout(tr.Model.Param(name), got)
			maxErr, maxDelta := 0.0, 0.0
			for i := range want {
				maxErr = math.Max(maxErr, math.Abs(float64(got[i])-float64(want[i])))
				maxDelta = math.Max(maxDelta, math.Abs(float64(want[i])-float64(start[name][i])))
			}
			worst = math.Max(worst, maxErr)
			if maxErr > 1e-5 || maxErr > 0.01*maxDelta+1e-7 {
				t.Errorf("after step %d, %s: max |diff| %.3g (PyTorch moved it by up to %.3g)", k+1, name, maxErr, maxDelta)
			}
		}
		if strings.Contains(fmt.Sprint(c.Saved), fmt.Sprint(k+1)) {
			t.Logf("after step %d: largest difference to PyTorch %.3g", k+1, worst)
		}
	}
	for _, name := range c.Frozen {
		got, _ := tr.Values(name)
		for i, v := range start[name] {
			if got[i] != v {
				t.Fatalf("frozen %s[%d] changed: %v -> %v", name, i, v, got[i])
			}
		}
	}
}
