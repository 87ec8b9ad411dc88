package train

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
	"github.com/onnxtune/onnxtune/train/data"
)

// scheduleCase is one case of models/schedules/cases.json
// (models/make_schedules.py).
type scheduleCase struct {
	Schedule    string  `json:"schedule"`
	Unit        string  `json:"unit"`
	Warmup      int64   `json:"warmup"`
	WarmupRatio float64 `json:"warmup_ratio"`
	Epochs      int     `json:"epochs"`
	Steps       int64   `json:"steps"`
	Optimizer   string  `json:"optimizer"`
	Error       string  `json:"error"`
	Total       int64   `json:"total"`
	// WarmupPositions is nil for onecycle (its warmup is pct_start).
	WarmupPositions *int64               `json:"warmup_positions"`
	LRs             [][]float64          `json:"lrs"`
	Momentum        []float64            `json:"momentum"`
	Weights         map[string][]float64 `json:"weights"`
}

func (c scheduleCase) String() string {
	s := fmt.Sprintf("%s/%s/warmup%d/ratio%g/%s", c.Schedule, c.Unit, c.Warmup, c.WarmupRatio, c.Optimizer)
	if c.Steps > 0 {
		return fmt.Sprintf("%s/steps%d", s, c.Steps)
	}
	return fmt.Sprintf("%s/epochs%d", s, c.Epochs)
}

// schedule is the case's Schedule as the command line builds it.
func (c scheduleCase) schedule(t *testing.T) Schedule {
	t.Helper()
	s, err := ParseSchedule(c.Schedule)
	if err != nil {
		t.Fatal(err)
	}
	s.Unit, s.Warmup, s.WarmupRatio = c.Unit, c.Warmup, c.WarmupRatio
	return s
}

type scheduleFixture struct {
	LRs   map[string]float64 `json:"lrs"`
	Batch int                `json:"batch"`
	Cases []scheduleCase     `json:"cases"`
}

func readScheduleFixture(t *testing.T) scheduleFixture {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "models", "schedules", "cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f scheduleFixture
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Cases) < 60 {
		t.Fatalf("%d cases", len(f.Cases))
	}
	return f
}

// scheduleGroups are the fixture's two groups: fc.weight at the default
// rate, fc.bias in a group of its own.
func scheduleGroups(f scheduleFixture) (Hyper, []GroupSpec) {
	return Hyper{LR: f.LRs["fc.weight"], Momentum: 0.9},
		[]GroupSpec{{Pattern: "fc.bias", Set: map[string]float64{"lr": f.LRs["fc.bias"]}}}
}

// TestScheduleFactorsPyTorch: for every schedule, unit and warmup form,
// each group's rate (its base times Factor at the step's position) equals
// the rate PyTorch's scheduler gave that step within 1e-7, onecycle's
// momentum too, and the warmup lasts as long as the Trainer's; where
// PyTorch raises (OneCycleLR dividing by zero), Resolve refuses.
func TestScheduleFactorsPyTorch(t *testing.T) {
	f := readScheduleFixture(t)
	worst, compared := 0.0, 0
	for _, c := range f.Cases {
		t.Run(c.String(), func(t *testing.T) {
			nb := 7
			steps := c.Steps
			if steps == 0 {
				steps = int64(c.Epochs * nb)
			}
			epochs := int((steps-1)/int64(nb) + 1)
			s, err := c.schedule(t).Resolve(c.schedule(t).length(epochs, nb, c.Steps))
			if c.Error != "" {
				var se *SettingError
				if !errors.As(err, &se) {
					t.Fatalf("PyTorch raised %q; Resolve: %v, want a *SettingError", c.Error, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Total != c.Total {
				t.Fatalf("total %d, PyTorch %d", s.Total, c.Total)
			}
			if c.WarmupPositions != nil && s.WarmupPositions() != *c.WarmupPositions {
				t.Errorf("warmup of %d positions, the Trainer's %d", s.WarmupPositions(), *c.WarmupPositions)
			}
			if int64(len(c.LRs)) != steps {
				t.Fatalf("%d rates for %d steps", len(c.LRs), steps)
			}
			bases := []float64{f.LRs["fc.weight"], f.LRs["fc.bias"]}
			for k, want := range c.LRs {
				at := s.position(k/nb, int64(k))
				for g, base := range bases {
					d := math.Abs(base*s.Factor(at) - want[g])
					worst = math.Max(worst, d)
					compared++
					if d > 1e-7 {
						t.Errorf("step %d group %d: lr %.10g, PyTorch %.10g", k+1, g, base*s.Factor(at), want[g])
					}
				}
				m, ok := s.Momentum(at)
				switch {
				case ok != (c.Momentum != nil):
					t.Fatalf("momentum set %v, PyTorch cycles it %v", ok, c.Momentum != nil)
				case ok && math.Abs(m-c.Momentum[k]) > 1e-7:
					t.Errorf("step %d: momentum %.10g, PyTorch %.10g", k+1, m, c.Momentum[k])
				}
			}
		})
	}
	t.Logf("%d rates: largest difference to PyTorch %.3g", compared, worst)
}

// scheduleSource serves models/schedules/data.npz in batches, in file
// order, the same every epoch.
type scheduleSource struct {
	x  []float32
	y  []int64
	bs int
}

func (s *scheduleSource) Batches() int { return (len(s.y) + s.bs - 1) / s.bs }

func (s *scheduleSource) Batch(_, i int) (data.Batch, error) {
	lo, hi := i*s.bs, min((i+1)*s.bs, len(s.y))
	x := append([]float32(nil), s.x[lo*4:hi*4]...)
	return data.Batch{Inputs: map[string]*tensor.Dense{"x": ops.Dense([]int{hi - lo, 4}, x)},
		Labels: append([]int64(nil), s.y[lo:hi]...), N: hi - lo}, nil
}

func scheduleModel(t *testing.T) (*graph.Model, *scheduleSource) {
	t.Helper()
	dir := filepath.Join("..", "models", "schedules")
	m, err := importer.Load(filepath.Join(dir, "linear.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := npz.Read(filepath.Join(dir, "data.npz"))
	if err != nil {
		t.Fatal(err)
	}
	return m, &scheduleSource{x: d["x"].Data.([]float32), y: d["y"].Data.([]int64), bs: 3}
}

// paramValues returns a parameter's values in PyTorch's layout.
func paramValues(t *testing.T, m *graph.Model, name string) []float32 {
	t.Helper()
	p := m.Param(name)
	if p == nil {
		t.Fatalf("no parameter %q", name)
	}
	for _, init := range m.Graph.Initializers {
		if init.Name == p.Initializer {
			v, err := init.Float32s()
			if err != nil {
				t.Fatal(err)
			}
			return torchLayout(p, v)
		}
	}
	t.Fatalf("%s: no initializer %q", name, p.Initializer)
	return nil
}

// TestScheduleRunPyTorch: train.Run over the fixture's tiny model steps
// the schedule as PyTorch does: the rates OnStep reports equal PyTorch's
// within 1e-7 at every step, and the weights after the run (SGD with
// momentum 0.9, or onecycle's cycled momentum; Adam with onecycle's cycled
// beta1) equal PyTorch's within 1e-5. Cases PyTorch refuses are refused
// before any step.
func TestScheduleRunPyTorch(t *testing.T) {
	f := readScheduleFixture(t)
	worstLR, worstW := 0.0, 0.0
	for _, c := range f.Cases {
		t.Run(c.String(), func(t *testing.T) {
			m, src := scheduleModel(t)
			h, groups := scheduleGroups(f)
			cfg := Config{Epochs: c.Epochs, Steps: c.Steps, Optimizer: Algorithm(c.Optimizer), Defaults: h,
				Groups: groups, Schedule: c.schedule(t), Loss: CrossEntropy}
			var got [][]float64
			cfg.OnStep = func(s StepInfo) { got = append(got, s.LR) }
			_, err := Run(context.Background(), m, src, nil, cfg)
			if c.Error != "" {
				var se *SettingError
				if !errors.As(err, &se) || len(got) != 0 {
					t.Fatalf("PyTorch raised %q; Run: %v after %d steps, want a *SettingError before any", c.Error, err, len(got))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(c.LRs) {
				t.Fatalf("%d steps, PyTorch %d", len(got), len(c.LRs))
			}
			for k, want := range c.LRs {
				for g := range want {
					d := math.Abs(got[k][g] - want[g])
					worstLR = math.Max(worstLR, d)
					if d > 1e-7 {
						t.Errorf("step %d group %d: lr %.10g, PyTorch %.10g", k+1, g, got[k][g], want[g])
					}
				}
			}
			for name, want := range c.Weights {
				v := paramValues(t, m, name)
				for i, w := range want {
					d := math.Abs(float64(v[i]) - w)
					worstW = math.Max(worstW, d)
					if d > 1e-5 {
						t.Fatalf("%s[%d] = %g after %d steps, PyTorch %g", name, i, v[i], len(got), w)
					}
				}
			}
		})
	}
	t.Logf("largest difference to PyTorch: rates %.3g, weights %.3g", worstLR, worstW)
}

// TestResumeSchedules: a run stopped in the middle of an epoch and resumed
// ends bit for bit where an uninterrupted one ends, with schedules that
// span the run in both units, and onecycle cycling the momentum of SGD
// without momentum of its own (its momentum buffers come from the cycle).
func TestResumeSchedules(t *testing.T) {
	src := newMLPSource(44, 8)
	cases := []struct {
		name  string
		algo  Algorithm
		sched Schedule
	}{
		{"onecycle sgd no momentum", SGD, Schedule{Kind: ScheduleOneCycle}},
		{"onecycle adam warmup", Adam, Schedule{Kind: ScheduleOneCycle, Warmup: 4}},
		{"cosine ratio", SGD, Schedule{Kind: ScheduleCosine, WarmupRatio: 0.2}},
		{"linear epochs", SGD, Schedule{Kind: ScheduleLinear, Unit: UnitEpoch, Warmup: 1}},
		{"step warmup", Adam, Schedule{Kind: ScheduleStep, StepEvery: 3, Gamma: 0.5, Warmup: 2}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{Epochs: 3, Optimizer: tc.algo, Defaults: Hyper{LR: 0.05},
				Groups: []GroupSpec{{Pattern: "fc2.*", Set: map[string]float64{"lr": 0.1}}}, Loss: CrossEntropy, Seed: 3,
				Schedule: tc.sched}
			whole := mlpDropout(t)
			var lrs []float64
			cfg.OnStep = func(s StepInfo) { lrs = append(lrs, s.LR[0]) }
			if _, err := Run(context.Background(), whole, src, nil, cfg); err != nil {
				t.Fatal(err)
			}
			if lrs[0] == lrs[len(lrs)-1] {
				t.Fatalf("the rate did not move: %v", lrs)
			}
			dir := interrupted(t, src, cfg)
			cfg.Checkpoint, cfg.Resume = dir, true
			var after []float64
			cfg.OnStep = func(s StepInfo) { after = append(after, s.LR[0]) }
			resumed := mlpDropout(t)
			if _, err := Run(context.Background(), resumed, src, nil, cfg); err != nil {
				t.Fatal(err)
			}
			sameWeights(t, whole, resumed)
			if len(after) != len(lrs)-8 || after[0] != lrs[8] {
				t.Errorf("resumed rates %v, want %v", after, lrs[8:])
			}
		})
	}
}

// TestScheduleRefusals: settings that no schedule can run are refused by
// Validate, and those that cannot run over the run's length by Run, before
// any step.
func TestScheduleRefusals(t *testing.T) {
	cases := []struct {
		name  string
		sched Schedule
		want  string
	}{
		{"both warmups", Schedule{Kind: ScheduleLinear, Warmup: 2, WarmupRatio: 0.1}, "warmup of 2 steps and warmup ratio 0.1: give one of them"},
		{"ratio one", Schedule{Kind: ScheduleLinear, WarmupRatio: 1}, "warmup ratio 1.0: want 0 or more and less than 1"},
		{"ratio nan", Schedule{Kind: ScheduleLinear, WarmupRatio: math.NaN()}, "warmup ratio nan"},
		{"unit", Schedule{Kind: ScheduleCosine, Unit: "batch"}, `unknown schedule unit "batch"`},
		{"kind", Schedule{Kind: "exponential"}, `unknown schedule "exponential"`},
		{"onecycle start factor", Schedule{Kind: ScheduleOneCycle, Warmup: 2, WarmupFrom: 0.5}, "onecycle starts at max_lr/25"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := Config{Epochs: 1, Optimizer: SGD, Schedule: tc.sched}.Validate()
			var se *SettingError
			if !errors.As(err, &se) || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("Validate: %v, want %q", err, tc.want)
			}
		})
	}
	if _, err := (Schedule{Kind: ScheduleOneCycle, Total: 5}).Resolve(7); err == nil ||
		!strings.HasSuffix(err.Error(), "Tried to step 7 times. The specified number of total steps is 5") {
		t.Errorf("onecycle over 5 steps of a run of 7: %v", err)
	}
	// 7 steps: a warmup of 8 is a pct_start above 1 (OneCycleLR refuses
	// it); one of 7 ends the first phase at the last step.
	for warmup, want := range map[int64]string{8: "Expected float between 0 and 1 pct_start, but got 1.1428571428571428",
		7: "a phase of no length"} {
		m, src := scheduleModel(t)
		cfg := Config{Epochs: 1, Optimizer: SGD, Defaults: Hyper{LR: 0.1}, Loss: CrossEntropy,
			Schedule: Schedule{Kind: ScheduleOneCycle, Warmup: warmup}}
		steps := 0
		cfg.OnStep = func(StepInfo) { steps++ }
		_, err := Run(context.Background(), m, src, nil, cfg)
		var se *SettingError
		if !errors.As(err, &se) || !strings.Contains(err.Error(), want) || steps != 0 {
			t.Errorf("warmup %d: %v after %d steps, want %q", warmup, err, steps, want)
		}
	}
}
