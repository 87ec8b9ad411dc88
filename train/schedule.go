package train

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Schedule kinds (Schedule.Kind).
const (
	ScheduleConstant = "constant" // transformers' get_constant_schedule_with_warmup
	ScheduleLinear   = "linear"   // get_linear_schedule_with_warmup
	ScheduleCosine   = "cosine"   // get_cosine_schedule_with_warmup (num_cycles 0.5)
	ScheduleOneCycle = "onecycle" // torch.optim.lr_scheduler.OneCycleLR
	ScheduleStep     = "step"     // warmup, then torch.optim.lr_scheduler.StepLR
)

// Schedule units (Schedule.Unit): what moves the schedule's position.
const (
	UnitStep  = "step"  // every optimizer step (the Trainer's way)
	UnitEpoch = "epoch" // every epoch (a scheduler stepped per epoch)
)

// OneCycleLR's defaults, which the onecycle schedule uses.
const (
	oneCyclePctStart     = 0.3
	oneCycleDiv          = 25.0
	oneCycleFinalDiv     = 1e4
	oneCycleBaseMomentum = 0.85
	oneCycleMaxMomentum  = 0.95
)

// Schedule scales every group's learning rate by a factor of the
// schedule's position, as a PyTorch LambdaLR (or OneCycleLR) built over the
// optimizer does: the position is the count of optimizer steps done
// (UnitStep) or of epochs done (UnitEpoch), and the factor at position p is
// the one used by the step(s) at p.
//
// Warmup comes first: for positions p < W the factor is p/max(1, W) (from
// WarmupFrom when set: WarmupFrom + (1-WarmupFrom)*p/W, LinearLR's
// start_factor), then the schedule runs over the remaining positions
// exactly as transformers computes it: constant 1; linear
// (T-p)/max(1, T-W); cosine 0.5*(1+cos(pi*(p-W)/max(1, T-W))); step
// Gamma^((p-W)/StepEvery) (StepLR started at W, as SequentialLR does). W is
// Warmup, or ceil(WarmupRatio*T) (the Trainer's warmup ratio), and T is
// Total.
//
// onecycle is OneCycleLR with max_lr each group's rate and its defaults
// (anneal cos, div_factor 25, final_div_factor 1e4, three_phase off,
// cycle_momentum on): the warmup sets pct_start (WarmupRatio itself, or
// Warmup/Total; 0.3 without warmup), and momentum (SGD) or beta1 (Adam,
// AdamW) cycles between 0.95 and 0.85 in every group (Momentum).
type Schedule struct {
	Kind      string  // one of the Schedule* kinds; "" is constant
	StepEvery int     // step: positions between decays (StepLR's step_size)
	Gamma     float64 // step: decay factor
	// Unit is UnitStep (also "") or UnitEpoch.
	Unit string
	// Warmup is the count of warmup positions; WarmupRatio the share of
	// Total instead (at most one of them is set).
	Warmup      int64
	WarmupRatio float64
	// WarmupFrom is the factor warmup starts from (0: transformers' 0).
	WarmupFrom float64
	// Total is the count of positions the schedule spans: optimizer steps
	// or epochs. Zero means the run's length (Run sets it: Config.Steps,
	// or Epochs times the batches of an epoch; with UnitEpoch, the
	// epochs).
	Total int64
}

// ParseSchedule parses --schedule: constant (also "" and "none"), linear,
// cosine, onecycle or step:E:G (StepLR: times G every E positions). Errors
// are *SettingError.
func ParseSchedule(s string) (Schedule, error) {
	switch s {
	case "", "none", ScheduleConstant:
		return Schedule{Kind: ScheduleConstant}, nil
	case ScheduleLinear, ScheduleCosine, ScheduleOneCycle:
		return Schedule{Kind: s}, nil
	}
	if strings.HasPrefix(s, "step:") {
		parts := strings.Split(s, ":")
		if len(parts) != 3 {
			return Schedule{}, settingErr("schedule %q: want step:E:G", s)
		}
		n, err1 := strconv.Atoi(parts[1])
		g, err2 := strconv.ParseFloat(parts[2], 64)
		if err1 != nil || err2 != nil || n < 1 || !(g > 0) || math.IsInf(g, 0) {
			return Schedule{}, settingErr("schedule %q: want step:E:G with E >= 1 and a finite G > 0", s)
		}
		return Schedule{Kind: ScheduleStep, StepEvery: n, Gamma: g}, nil
	}
	return Schedule{}, unknownSchedule(s)
}

func unknownSchedule(s string) *SettingError {
	return settingErr("unknown schedule %q: want constant, linear, cosine, onecycle or step:E:G", s)
}

// String is the schedule as --schedule spells it.
func (s Schedule) String() string {
	switch s.Kind {
	case "":
		return ScheduleConstant
	case ScheduleStep:
		return fmt.Sprintf("step:%d:%s", s.StepEvery, strconv.FormatFloat(s.Gamma, 'g', -1, 64))
	}
	return s.Kind
}

// unit is the schedule's unit, "" read as UnitStep.
func (s Schedule) unit() string {
	if s.Unit == "" {
		return UnitStep
	}
	return s.Unit
}

// needsTotal reports whether the factors depend on Total.
func (s Schedule) needsTotal() bool {
	switch s.Kind {
	case ScheduleLinear, ScheduleCosine, ScheduleOneCycle:
		return true
	}
	return s.WarmupRatio > 0
}

// WarmupPositions is the count of warmup positions: Warmup, or
// ceil(WarmupRatio*Total) as the Trainer's get_warmup_steps computes it.
func (s Schedule) WarmupPositions() int64 {
	if s.WarmupRatio > 0 {
		return int64(math.Ceil(float64(s.Total) * s.WarmupRatio))
	}
	return s.Warmup
}

// pctStart is onecycle's pct_start.
func (s Schedule) pctStart() float64 {
	switch {
	case s.WarmupRatio > 0:
		return s.WarmupRatio
	case s.Warmup > 0:
		return float64(s.Warmup) / float64(s.Total)
	}
	return oneCyclePctStart
}

// Resolve returns s with Total set to total when it is zero (total is the
// run's length in s's unit), after checking that the schedule can run over
// it (OneCycleLR refuses a pct_start above 1 and steps past its total, and
// divides by zero when its first phase ends at position 0 or its last
// phase has no length).
// Errors are *SettingError.
func (s Schedule) Resolve(total int64) (Schedule, error) {
	if err := s.check(); err != nil {
		return s, err
	}
	if s.Kind == "" {
		s.Kind = ScheduleConstant
	}
	s.Unit = s.unit()
	if s.Total == 0 {
		s.Total = total
	}
	if s.Total < 1 {
		return s, settingErr("schedule over %d %ss: want 1 or more", s.Total, s.Unit)
	}
	if s.Kind == ScheduleOneCycle {
		if total > s.Total {
			// OneCycleLR steps no further than total_steps.
			return s, settingErr("onecycle over %d %ss: Tried to step %d times. The specified number of total steps is %d",
				s.Total, s.Unit, total, s.Total)
		}
		pct := s.pctStart()
		if pct > 1 {
			// torch.optim.lr_scheduler.OneCycleLR
			return s, settingErr("onecycle: warmup of %d %ss over %d: Expected float between 0 and 1 pct_start, but got %s",
				s.Warmup, s.Unit, s.Total, pyFloat(pct))
		}
		end := pct*float64(s.Total) - 1
		if end == 0 || end == float64(s.Total-1) {
			return s, settingErr("onecycle over %d %ss with pct_start %s: a phase of no length (OneCycleLR divides by zero); change the warmup",
				s.Total, s.Unit, pyFloat(pct))
		}
	}
	return s, nil
}

// Factor is the multiplier of every group's learning rate at position pos
// (0-based) of a resolved schedule (Resolve). For a schedule Resolve did
// not complete (a kind other than constant without Total, a step schedule
// without StepEvery) it is NaN, which Trainer steps refuse.
func (s Schedule) Factor(pos int64) float64 {
	if (s.Kind != "" && s.Kind != ScheduleConstant && s.Total < 1) || (s.Kind == ScheduleStep && s.StepEvery < 1) {
		return math.NaN()
	}
	if s.Kind == ScheduleOneCycle {
		f, _ := s.oneCycle(pos)
		return f
	}
	w := s.WarmupPositions()
	if pos < w {
		if s.WarmupFrom != 0 {
			return s.WarmupFrom + (1-s.WarmupFrom)*float64(pos)/float64(w)
		}
		return float64(pos) / float64(max(1, w))
	}
	switch s.Kind {
	case ScheduleLinear:
		return math.Max(0, float64(s.Total-pos)/float64(max(1, s.Total-w)))
	case ScheduleCosine:
		progress := float64(pos-w) / float64(max(1, s.Total-w))
		return math.Max(0, 0.5*(1+math.Cos(math.Pi*0.5*2*progress)))
	case ScheduleStep:
		return math.Pow(s.Gamma, float64((pos-w)/int64(s.StepEvery)))
	}
	return 1
}

// Momentum is the momentum (SGD) or beta1 (Adam, AdamW) every group takes
// at position pos, and whether the schedule sets it (onecycle).
func (s Schedule) Momentum(pos int64) (float64, bool) {
	if s.Kind != ScheduleOneCycle {
		return 0, false
	}
	_, m := s.oneCycle(pos)
	return m, true
}

// MomentumCycle returns the momentum (SGD) or beta1 (Adam, AdamW) that
// the schedule cycles, OneCycleLR's max_momentum and base_momentum: it
// starts at max, falls to base as the rate rises and comes back; ok is
// false when the schedule cycles none.
func (s Schedule) MomentumCycle() (max, base float64, ok bool) {
	if s.Kind != ScheduleOneCycle {
		return 0, 0, false
	}
	return oneCycleMaxMomentum, oneCycleBaseMomentum, true
}

// CycledHyper returns the name of the hyperparameter that MomentumCycle
// replaces for algo: "momentum" for SGD, "beta1" for Adam and AdamW.
func CycledHyper(algo Algorithm) string {
	if algo == SGD {
		return "momentum"
	}
	return "beta1"
}

// oneCycle is OneCycleLR's get_lr at step pos (three_phase off, anneal
// cos) as factors of max_lr, with the momentum.
func (s Schedule) oneCycle(pos int64) (factor, momentum float64) {
	type phase struct{ end, lr0, lr1, m0, m1 float64 }
	initial := 1 / oneCycleDiv
	phases := [2]phase{
		{s.pctStart()*float64(s.Total) - 1, initial, 1, oneCycleMaxMomentum, oneCycleBaseMomentum},
		{float64(s.Total - 1), 1, initial / oneCycleFinalDiv, oneCycleBaseMomentum, oneCycleMaxMomentum},
	}
	step := float64(pos)
	p, start := phases[1], phases[0].end
	if step <= phases[0].end {
		p, start = phases[0], 0
	}
	pct := (step - start) / (p.end - start)
	return annealCos(p.lr0, p.lr1, pct), annealCos(p.m0, p.m1, pct)
}

// annealCos is OneCycleLR's _annealing_cos.
func annealCos(start, end, pct float64) float64 {
	return end + (start-end)/2*(math.Cos(math.Pi*pct)+1)
}

// withMomentum returns h with the momentum a schedule sets: SGD's momentum,
// or Adam's and AdamW's beta1 (as OneCycleLR sets group["betas"]).
func withMomentum(h Hyper, a Algorithm, m float64) Hyper {
	if a == SGD {
		h.Momentum = m
		return h
	}
	h = h.resolve(a)
	h.Beta1 = m
	return h
}

// length is a run's length in s's unit: its epochs (UnitEpoch), or its
// optimizer steps (steps when set, else epochs of batches each).
func (s Schedule) length(epochs, batches int, steps int64) int64 {
	switch {
	case s.unit() == UnitEpoch:
		return int64(epochs)
	case steps > 0:
		return steps
	}
	return int64(epochs) * int64(batches)
}

// position is the schedule's position at a step of epoch epoch (0-based)
// after steps optimizer steps.
func (s Schedule) position(epoch int, steps int64) int64 {
	if s.unit() == UnitEpoch {
		return int64(epoch)
	}
	return steps
}
