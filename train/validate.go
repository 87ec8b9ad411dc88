package train

import (
	"fmt"
	"maps"
	"math"
	"path"
	"slices"
	"strconv"
	"strings"
)

// SettingError reports a setting of Config that training cannot use: a
// value PyTorch refuses (Reason is then torch's own message, such as
// "Invalid learning rate: -1.0"), an unknown name, or a pattern that matches
// no parameter. It is about the settings, not the model or the data.
type SettingError struct {
	Group string // pattern of the group the value comes from, or ""
	// Param names the setting refused, when one is: a hyperparameter of
	// the table (HyperParams: "lr", "beta1") or "label_smoothing".
	Param  string
	Reason string
}

func (e *SettingError) Error() string {
	if e.Group != "" {
		return fmt.Sprintf("group %q: %s", e.Group, e.Reason)
	}
	return e.Reason
}

func settingErr(format string, args ...any) *SettingError {
	return &SettingError{Reason: fmt.Sprintf(format, args...)}
}

// Validate checks cfg before any work as PyTorch 1.13 checks the same
// settings (torch.optim's constructors, nn.CrossEntropyLoss, the LR
// schedulers), and also refuses NaN and infinities, which PyTorch lets
// through to the weights. Only the hyperparameters the optimizer uses are
// checked. Errors are *SettingError.
func (c Config) Validate() error {
	switch {
	case c.Steps < 0:
		return settingErr("steps %d: want 0 or more", c.Steps)
	case c.Epochs < 0 || c.Steps == 0 && c.Epochs < 1:
		return settingErr("epochs %d: want 1 or more (or steps)", c.Epochs)
	}
	if _, err := NewOptimizer(c.Optimizer); err != nil {
		return err
	}
	switch c.Loss {
	case CrossEntropy, "":
		// nn.CrossEntropyLoss (aten cross_entropy_loss).
		if !(c.Smoothing >= 0 && c.Smoothing <= 1) {
			return &SettingError{Param: "label_smoothing", Reason: fmt.Sprintf("label_smoothing must be between 0.0 and 1.0. Got: %s", cppFloat(c.Smoothing))}
		}
	case MSE:
	default:
		return settingErr("unknown loss %q: want cross-entropy or mse", c.Loss)
	}
	defaults := c.Defaults.resolve(c.Optimizer)
	if err := defaults.check(c.Optimizer); err != nil {
		return err
	}
	for _, g := range c.Groups {
		if _, err := path.Match(g.Pattern, ""); err != nil || g.Pattern == "" {
			return settingErr("group %q: bad pattern", g.Pattern)
		}
		for _, k := range slices.Sorted(maps.Keys(g.Set)) {
			p, ok := LookupHyper(k)
			if !ok {
				return &SettingError{Group: g.Pattern, Reason: fmt.Sprintf("unknown setting %q: want one of %s", k, hyperNames())}
			}
			if err := p.ReadBy(c.Optimizer); err != "" {
				return &SettingError{Group: g.Pattern, Reason: err}
			}
		}
		if err := g.apply(defaults).check(c.Optimizer); err != nil {
			err.Group = g.Pattern
			return err
		}
	}
	for _, f := range c.Freeze {
		if _, err := path.Match(f, ""); err != nil || f == "" {
			return settingErr("--freeze %q: bad pattern", f)
		}
	}
	if err := c.StepOptions.check(c.Loss); err != nil {
		return err
	}
	if err := c.checkBest(); err != nil {
		return err
	}
	return c.Schedule.check()
}

// checkBest checks the watched metric and the patience.
func (c Config) checkBest() error {
	var names []string
	for _, m := range WatchedMetrics() {
		names = append(names, string(m))
	}
	switch {
	case c.Best != "" && !c.Best.valid():
		return settingErr("unknown metric %q: want one of %s", c.Best, strings.Join(names, ", "))
	case c.Best != "" && c.Best != ValLoss && c.Loss == MSE:
		return settingErr("metric %s needs class labels: with mse only val_loss", c.Best)
	case c.Patience < 0:
		return settingErr("early stop after %d epochs: want 1 or more", c.Patience)
	case c.Patience > 0 && c.Best == "":
		return settingErr("early stopping needs a metric to watch")
	}
	return nil
}

// check refuses schedules that cannot run at any length: unknown kinds and
// units, StepLR's settings, negative warmups, a warmup given both as steps
// and as a ratio, and LinearLR's start_factor outside (0, 1].
func (s Schedule) check() error {
	switch s.Kind {
	case "", ScheduleConstant, ScheduleLinear, ScheduleCosine, ScheduleOneCycle:
	case ScheduleStep:
		if s.StepEvery < 1 || !(s.Gamma > 0) || !finite(s.Gamma) {
			return settingErr("schedule step:%d:%s: want step:E:G with E >= 1 and a finite G > 0", s.StepEvery, pyFloat(s.Gamma))
		}
	default:
		return unknownSchedule(s.Kind)
	}
	switch s.Unit {
	case "", UnitStep, UnitEpoch:
	default:
		return settingErr("unknown schedule unit %q: want step or epoch", s.Unit)
	}
	switch {
	case s.Warmup < 0:
		return settingErr("warmup %d: want 0 or more steps", s.Warmup)
	case !(s.WarmupRatio >= 0 && s.WarmupRatio < 1):
		return settingErr("warmup ratio %s: want 0 or more and less than 1", pyFloat(s.WarmupRatio))
	case s.Warmup > 0 && s.WarmupRatio > 0:
		return settingErr("warmup of %d steps and warmup ratio %s: give one of them", s.Warmup, pyFloat(s.WarmupRatio))
	case s.Kind == ScheduleOneCycle && s.WarmupFrom != 0:
		return settingErr("onecycle starts at max_lr/25: a warmup start factor does not apply")
	}
	if s.WarmupFrom != 0 && !(s.WarmupFrom > 0 && s.WarmupFrom <= 1) {
		// torch.optim.lr_scheduler.LinearLR
		return settingErr("Starting multiplicative factor expected to be greater than 0 and less or equal to 1.")
	}
	return nil
}

// nonFinite names NaN and the infinities as Python and C++ print them
// ("nan", "inf", "-inf"); ok is false for a finite v.
func nonFinite(v float64) (s string, ok bool) {
	switch {
	case math.IsNaN(v):
		return "nan", true
	case math.IsInf(v, 1):
		return "inf", true
	case math.IsInf(v, -1):
		return "-inf", true
	}
	return "", false
}

// pyFloat formats v as Python's repr does ("-1.0", "1.5", "1e-08", "nan",
// "inf"), so that messages read as PyTorch's.
func pyFloat(v float64) string {
	if s, ok := nonFinite(v); ok {
		return s
	}
	e := strconv.FormatFloat(v, 'e', -1, 64)
	exp, _ := strconv.Atoi(e[strings.IndexByte(e, 'e')+1:])
	if v != 0 && (exp < -4 || exp >= 16) {
		return e
	}
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if !strings.ContainsAny(s, ".") {
		s += ".0"
	}
	return s
}

// cppFloat formats v as C++'s ostream does by default (%g, 6 digits), as
// ATen's messages show numbers.
func cppFloat(v float64) string {
	if s, ok := nonFinite(v); ok {
		return s
	}
	return strconv.FormatFloat(v, 'g', 6, 64)
}
