package train

import (
	"math"
	"strconv"
	"strings"
)

// Schedule scales each group's learning rate as PyTorch's schedulers do,
// stepped once per epoch (StepLR, CosineAnnealingLR), times a linear warmup
// stepped once per optimizer step (LinearLR).
type Schedule struct {
	Kind       string  // "", "step" or "cosine"
	StepEvery  int     // step: epochs between decays
	Gamma      float64 // step: decay factor
	TMax       int     // cosine: epochs to the minimum (eta_min 0)
	Warmup     int     // steps of linear warmup, 0 for none
	WarmupFrom float64 // warmup's start factor (PyTorch's start_factor)
}

// ParseSchedule parses --schedule: "step:EPOCHS:GAMMA" or "cosine" (over
// totalEpochs), or "" for a constant rate. Errors are *SettingError.
func ParseSchedule(s string, totalEpochs int) (Schedule, error) {
	switch {
	case s == "" || s == "none":
		return Schedule{}, nil
	case s == "cosine":
		return Schedule{Kind: "cosine", TMax: max(totalEpochs, 1)}, nil
	case strings.HasPrefix(s, "step:"):
		parts := strings.Split(s, ":")
		if len(parts) != 3 {
			return Schedule{}, settingErr("schedule %q: want step:EPOCHS:GAMMA", s)
		}
		n, err1 := strconv.Atoi(parts[1])
		g, err2 := strconv.ParseFloat(parts[2], 64)
		if err1 != nil || err2 != nil || n < 1 || !(g > 0) || math.IsInf(g, 0) {
			return Schedule{}, settingErr("schedule %q: want step:EPOCHS:GAMMA with EPOCHS >= 1 and a finite GAMMA > 0", s)
		}
		return Schedule{Kind: "step", StepEvery: n, Gamma: g}, nil
	}
	return Schedule{}, settingErr("unknown schedule %q: want step:EPOCHS:GAMMA or cosine", s)
}

// Factor is the multiplier of the base learning rate at the given epoch
// (0-based) and global step (0-based, counting optimizer steps).
func (s Schedule) Factor(epoch int, step int64) float64 {
	f := 1.0
	switch s.Kind {
	case "step":
		f = math.Pow(s.Gamma, float64(epoch/s.StepEvery))
	case "cosine":
		f = (1 + math.Cos(math.Pi*float64(min(epoch, s.TMax))/float64(s.TMax))) / 2
	}
	if s.Warmup > 0 && step < int64(s.Warmup) {
		from := s.WarmupFrom
		if from == 0 {
			from = 1 / float64(s.Warmup)
		}
		f *= from + (1-from)*float64(step)/float64(s.Warmup)
	}
	return f
}
