package train

import (
	"fmt"
	"math"
	"strings"
)

// Hyper holds a parameter group's settings, PyTorch's names in Go. Their
// names as users and files spell them (flags, --group keys, config keys,
// checkpoints) come from one table, HyperParams.
type Hyper struct {
	LR          float64
	Momentum    float64
	Dampening   float64
	Nesterov    bool
	WeightDecay float64
	Beta1       float64
	Beta2       float64
	Eps         float64
}

// HyperParam is one row of the hyperparameter table: everything the
// project knows about a setting of torch.optim, in one place.
type HyperParam struct {
	// Name is PyTorch's name (the constructor argument, "weight_decay";
	// Adam's betas are beta1 and beta2). It is the --group key, the key of
	// the checkpoint's settings and, with '-' for '_', the flag and the
	// --config key.
	Name string
	// Default is the command line's default, and for Adam's betas and eps
	// also the value a zero stands for (PyTorch's defaults).
	Default float64
	// Bool marks a switch (nesterov): 0 is false, anything else true.
	Bool bool
	// Usage is the flag's help text.
	Usage string
	// Optimizers lists the optimizers whose update reads the setting.
	Optimizers []Algorithm
	// Unset, when not 0, makes zero stand for Default (PyTorch's): the rows
	// sharing an Unset number take their defaults when all of them are zero
	// (Adam's betas as a pair, its eps alone).
	Unset int

	get   func(*Hyper) *float64 // nil for a switch
	check func(h Hyper) string  // PyTorch's message when it refuses h, else ""
	// torch holds torch.optim's defaults where they differ from Default
	// (by optimizer).
	torch map[Algorithm]float64
}

// TorchDefault returns torch.optim's default for the setting under a
// (the constructor's), and whether it differs from Default: SGD's
// momentum (0 there, 0.9 here) and weight_decay (0 for SGD and Adam,
// 0.01 for AdamW; 1e-4 here).
func (p HyperParam) TorchDefault(a Algorithm) (float64, bool) {
	if v, ok := p.torch[a]; ok && v != p.Default {
		return v, true
	}
	return p.Default, false
}

// Flag is the name of the setting's flag and --config key.
func (p HyperParam) Flag() string { return strings.ReplaceAll(p.Name, "_", "-") }

// UsedBy reports whether a's update reads the setting.
func (p HyperParam) UsedBy(a Algorithm) bool {
	for _, b := range p.Optimizers {
		if a == b {
			return true
		}
	}
	return false
}

// ReadBy returns "" when a's update reads the setting, else why it
// cannot be given: "beta1 is not a setting of sgd (it reads lr, ...)".
// A setting given for an optimizer that does not read it would be
// dropped without a word; torch.optim's constructors refuse it.
func (p HyperParam) ReadBy(a Algorithm) string {
	if p.UsedBy(a) {
		return ""
	}
	var names []string
	for _, q := range hyperParams {
		if q.UsedBy(a) {
			names = append(names, q.Name)
		}
	}
	return fmt.Sprintf("%s is not a setting of %s (it reads %s)", p.Name, a, strings.Join(names, ", "))
}

// Get returns the setting's value in h (a switch as 0 or 1).
func (p HyperParam) Get(h Hyper) float64 {
	if p.Bool {
		if h.Nesterov {
			return 1
		}
		return 0
	}
	return *p.get(&h)
}

// Set sets the setting in h to v (a switch to v != 0).
func (p HyperParam) Set(h *Hyper, v float64) {
	if p.Bool {
		h.Nesterov = v != 0
		return
	}
	*p.get(h) = v
}

var (
	allOptimizers = []Algorithm{SGD, Adam, AdamW}
	sgdOnly       = []Algorithm{SGD}
	adams         = []Algorithm{Adam, AdamW}
)

// hyperParams is the table, in the order torch.optim's constructors check
// the settings (SGD: lr, momentum, weight_decay, then nesterov; Adam: lr,
// eps, betas, weight_decay), so that the first refusal is PyTorch's.
var hyperParams = []HyperParam{
	{Name: "lr", Default: 0.001, Usage: "learning rate of parameters no --group matches", Optimizers: allOptimizers,
		get: func(h *Hyper) *float64 { return &h.LR },
		check: func(h Hyper) string {
			return refuse(!(h.LR >= 0) || !finite(h.LR), "Invalid learning rate: %s", h.LR)
		}},
	{Name: "momentum", Default: 0.9, Usage: "SGD momentum (torch.optim.SGD's default is 0)", Optimizers: sgdOnly,
		torch: map[Algorithm]float64{SGD: 0},
		get:   func(h *Hyper) *float64 { return &h.Momentum },
		check: func(h Hyper) string {
			return refuse(!(h.Momentum >= 0) || !finite(h.Momentum), "Invalid momentum value: %s", h.Momentum)
		}},
	{Name: "dampening", Default: 0, Usage: "SGD dampening", Optimizers: sgdOnly,
		get: func(h *Hyper) *float64 { return &h.Dampening },
		check: func(h Hyper) string {
			// PyTorch lets any dampening through; NaN and infinities would
			// reach the weights.
			return refuse(!finite(h.Dampening), "Invalid dampening value: %s", h.Dampening)
		}},
	{Name: "eps", Default: 1e-8, Usage: "Adam epsilon", Optimizers: adams, Unset: 2,
		get: func(h *Hyper) *float64 { return &h.Eps },
		check: func(h Hyper) string {
			return refuse(!(h.Eps >= 0) || !finite(h.Eps), "Invalid epsilon value: %s", h.Eps)
		}},
	{Name: "beta1", Default: 0.9, Usage: "Adam beta1", Optimizers: adams, Unset: 1,
		get: func(h *Hyper) *float64 { return &h.Beta1 },
		check: func(h Hyper) string {
			return refuse(!(h.Beta1 >= 0 && h.Beta1 < 1), "Invalid beta parameter at index 0: %s", h.Beta1)
		}},
	{Name: "beta2", Default: 0.999, Usage: "Adam beta2", Optimizers: adams, Unset: 1,
		get: func(h *Hyper) *float64 { return &h.Beta2 },
		check: func(h Hyper) string {
			return refuse(!(h.Beta2 >= 0 && h.Beta2 < 1), "Invalid beta parameter at index 1: %s", h.Beta2)
		}},
	{Name: "weight_decay", Default: 1e-4, Usage: "weight decay (L2 for SGD and Adam, decoupled for AdamW; torch.optim's default is 0, AdamW's 0.01)", Optimizers: allOptimizers,
		torch: map[Algorithm]float64{SGD: 0, Adam: 0, AdamW: 0.01},
		get:   func(h *Hyper) *float64 { return &h.WeightDecay },
		check: func(h Hyper) string {
			return refuse(!(h.WeightDecay >= 0) || !finite(h.WeightDecay), "Invalid weight_decay value: %s", h.WeightDecay)
		}},
	{Name: "nesterov", Bool: true, Usage: "SGD with Nesterov momentum", Optimizers: sgdOnly,
		check: func(h Hyper) string {
			if h.Nesterov && (h.Momentum <= 0 || h.Dampening != 0) {
				return "Nesterov momentum requires a momentum and zero dampening"
			}
			return ""
		}},
}

// HyperParams returns the hyperparameter table (a copy), in PyTorch's
// checking order.
func HyperParams() []HyperParam { return append([]HyperParam(nil), hyperParams...) }

// LookupHyper returns the row named name (PyTorch's spelling).
func LookupHyper(name string) (HyperParam, bool) {
	for _, p := range hyperParams {
		if p.Name == name {
			return p, true
		}
	}
	return HyperParam{}, false
}

// hyperNames lists the names for messages: "lr, momentum, ...".
func hyperNames() string {
	names := make([]string, len(hyperParams))
	for i, p := range hyperParams {
		names[i] = p.Name
	}
	return strings.Join(names, ", ")
}

// resolve returns h with PyTorch's defaults for the zeros that stand for
// them under a (the rows with an Unset number): Adam's betas when both are
// zero, its eps when zero.
func (h Hyper) resolve(a Algorithm) Hyper {
	set := make(map[int]bool) // Unset numbers with a value that is not zero
	for _, p := range hyperParams {
		if p.Unset != 0 && p.UsedBy(a) && p.Get(h) != 0 {
			set[p.Unset] = true
		}
	}
	for _, p := range hyperParams {
		if p.Unset != 0 && p.UsedBy(a) && !set[p.Unset] {
			p.Set(&h, p.Default)
		}
	}
	return h
}

// check refuses what torch.optim's constructor for a refuses, and NaN or
// infinite values of the settings a uses, with PyTorch's message.
func (h Hyper) check(a Algorithm) *SettingError {
	h = h.resolve(a)
	for _, p := range hyperParams {
		if !p.UsedBy(a) {
			continue
		}
		if msg := p.check(h); msg != "" {
			return &SettingError{Param: p.Name, Reason: msg}
		}
	}
	return nil
}

// values lists the settings of h that a's update reads, by name.
func (h Hyper) values(a Algorithm) map[string]float64 {
	m := make(map[string]float64)
	for _, p := range hyperParams {
		if p.UsedBy(a) {
			m[p.Name] = p.Get(h)
		}
	}
	return m
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// refuse returns format with v as Python prints it when bad, else "".
func refuse(bad bool, format string, v float64) string {
	if !bad {
		return ""
	}
	return strings.Replace(format, "%s", pyFloat(v), 1)
}
