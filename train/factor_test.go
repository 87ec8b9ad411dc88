package train

import (
	"errors"
	"math"
	"slices"
	"testing"

	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph/ops"
	"github.com/onnxtune/onnxtune/internal/testmodels"
	"github.com/onnxtune/onnxtune/train/data"
)

// TestStepRefusesBadFactor: a learning-rate factor that is NaN, infinite
// or negative is refused as a *SettingError before anything moves; a NaN
// factor used to be taken without an error and wrote NaN into every
// trained weight, so that each later step failed with "loss is not
// finite".
func TestStepRefusesBadFactor(t *testing.T) {
	m := lenet10(t)
	tr := sgdTrainer(t, m, Hyper{LR: 0.01, Momentum: 0.9})
	x, y := testmodels.MNISTTest(t, 4)
	xs := ops.Dense([]int{4, 1, 28, 28}, x)
	before, _ := tr.Values("fc3.weight")
	before = slices.Clone(before)
	for _, f := range []float64{math.NaN(), math.Inf(1), math.Inf(-1), -1} {
		if _, err := tr.Step(xs, y, nil, f); !errors.As(err, new(*SettingError)) {
			t.Errorf("factor %v: error %v, want a *SettingError", f, err)
		}
		if _, err := tr.Accumulate(data.Batch{Inputs: map[string]*tensor.Dense{"input": xs}, Labels: y}, 1); err != nil {
			t.Fatal(err)
		}
		if _, err := tr.Apply(f); !errors.As(err, new(*SettingError)) {
			t.Errorf("Apply(%v): error %v, want a *SettingError", f, err)
		}
	}
	// A gradient scale that is NaN or infinite is refused too: Accumulate
	// took NaN and the next Apply wrote NaN into every weight.
	for _, s := range []float64{math.NaN(), math.Inf(1), -0.5} {
		if _, err := tr.Accumulate(data.Batch{Inputs: map[string]*tensor.Dense{"input": xs}, Labels: y}, s); !errors.As(err, new(*SettingError)) {
			t.Errorf("Accumulate scale %v: error %v, want a *SettingError", s, err)
		}
		if _, err := tr.Apply(1); err == nil {
			t.Errorf("Apply after a refused Accumulate(%v) stepped", s)
		}
	}
	if after, _ := tr.Values("fc3.weight"); !slices.Equal(after, before) {
		t.Error("fc3.weight changed under refused factors")
	}
	res, err := tr.Step(xs, y, nil, 1)
	if err != nil || math.IsNaN(res.Loss) {
		t.Fatalf("step after the refused factors: loss %v, %v", res.Loss, err)
	}
}

// TestFactorUnresolved: Factor of a schedule that was not resolved (no
// Total) or that Resolve refuses is NaN, which a step refuses: a linear or
// cosine schedule used without Resolve gave 0 at every position (a run
// that never moved, without an error), and a step schedule without
// StepEvery panicked with an integer division by zero.
func TestFactorUnresolved(t *testing.T) {
	for _, s := range []Schedule{
		{Kind: ScheduleLinear},
		{Kind: ScheduleCosine, Warmup: 2},
		{Kind: ScheduleStep, Gamma: 0.5},
		{Kind: ScheduleOneCycle},
	} {
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("%v: Factor panicked: %v", s, r)
				}
			}()
			for _, pos := range []int64{0, 3} {
				if f := s.Factor(pos); !math.IsNaN(f) {
					t.Errorf("%v unresolved: Factor(%d) = %v, want NaN", s, pos, f)
				}
			}
		}()
	}
	// What Resolve returns stays as it was.
	s, err := Schedule{Kind: ScheduleLinear, Warmup: 1}.Resolve(4)
	if err != nil {
		t.Fatal(err)
	}
	if f := s.Factor(2); f != 2.0/3 {
		t.Errorf("resolved linear: Factor(2) = %v, want 2/3", f)
	}
	if f := (Schedule{}).Factor(5); f != 1 {
		t.Errorf("constant: Factor(5) = %v, want 1", f)
	}
}
