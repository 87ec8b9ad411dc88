package train

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onnxtune/onnxtune/graph/ops"
	"github.com/onnxtune/onnxtune/importer"
	"github.com/onnxtune/onnxtune/internal/npz"
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
}

// TestPyTorchParity runs each case's steps on its fixed batch and compares
// every parameter and BatchNorm running statistic with PyTorch's after the
// saved steps: within 1e-5 absolute, and the change from the starting value
// within 1% of PyTorch's change (so that small updates are checked too).
// Frozen parameters must stay bit-identical. The learning rates the
// schedule gives must equal PyTorch's.
func TestPyTorchParity(t *testing.T) {
	dir := filepath.Join("..", "models", "train")
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

func parityCase(t *testing.T, dir string, c trainCase) {
	fx, err := npz.Read(filepath.Join(dir, c.File))
	if err != nil {
		t.Fatal(err)
	}
	m, err := importer.Load(filepath.Join("..", "models", c.ONNX))
	if err != nil {
		t.Fatal(err)
	}
	start := make(map[string][]float32)
	for _, p := range m.Params {
		if v, err := m.Graph.Initializer(p.Initializer).Float32s(); err == nil {
			start[p.Name] = v
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
			sched = Schedule{Kind: "cosine", TMax: s.TMax}
		case "LinearLR":
			sched = Schedule{Warmup: s.TotalIters, WarmupFrom: s.StartFactor}
		default:
			t.Fatalf("schedule %s", s.Type)
		}
	}
	x := fx["x"]
	losses := fx["loss"].Data.([]float32)
	lrs, _ := fx["lrs"].Data.([]float64)
	for k := 0; k < c.Steps; k++ {
		// The fixtures step the scheduler after every optimizer step: a
		// step is one scheduler epoch.
		factor := sched.Factor(k, int64(k))
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
		res, err := tr.Step(ops.Dense(x.Shape, x.Data.([]float32)), fx["y"].Data.([]int64), nil, factor)
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
