package train

import (
	"fmt"
	"math"
	"runtime"

	"github.com/onnxtune/onnxtune/internal/gemm"
)

// Hyper holds a parameter group's settings, PyTorch's names in Go.
type Hyper struct {
	LR          float64 `json:"lr" yaml:"lr"`
	Momentum    float64 `json:"momentum" yaml:"momentum"`
	Dampening   float64 `json:"dampening" yaml:"dampening"`
	Nesterov    bool    `json:"nesterov" yaml:"nesterov"`
	WeightDecay float64 `json:"weight_decay" yaml:"weight_decay"`
	Beta1       float64 `json:"beta1" yaml:"beta1"`
	Beta2       float64 `json:"beta2" yaml:"beta2"`
	Eps         float64 `json:"eps" yaml:"eps"`
}

// Algorithm names an optimizer.
type Algorithm string

// Optimizers.
const (
	SGD   Algorithm = "sgd"
	Adam  Algorithm = "adam"
	AdamW Algorithm = "adamw"
)

// Optimizer applies PyTorch's update rules to parameters held as float32
// slices, keeping its state per parameter name. It is the project's own
// code: gorgonia supplies gradients, not updates.
type Optimizer struct {
	Algo Algorithm
	// State per parameter name: SGD momentum buffer ("momentum_buffer"),
	// Adam's "exp_avg" and "exp_avg_sq", and Adam's step count.
	Buffers map[string]map[string][]float32
	Steps   map[string]int64
}

// NewOptimizer returns an optimizer with empty state.
func NewOptimizer(a Algorithm) (*Optimizer, error) {
	switch a {
	case SGD, Adam, AdamW:
	default:
		return nil, settingErr("unknown optimizer %q: want sgd, adam or adamw", a)
	}
	return &Optimizer{Algo: a, Buffers: make(map[string]map[string][]float32), Steps: make(map[string]int64)}, nil
}

func (o *Optimizer) buf(name, key string, n int) ([]float32, bool) {
	m := o.Buffers[name]
	if m == nil {
		m = make(map[string][]float32)
		o.Buffers[name] = m
	}
	b, ok := m[key]
	if !ok {
		b = make([]float32, n)
		m[key] = b
	}
	return b, ok
}

// Update changes p in place from its gradient g with the group settings h,
// exactly as torch.optim's single-tensor implementations (PyTorch 1.13) do,
// in float32.
func (o *Optimizer) Update(name string, p, g []float32, h Hyper) error {
	if len(p) != len(g) {
		return fmt.Errorf("parameter %q: %d values, %d gradients", name, len(p), len(g))
	}
	switch o.Algo {
	case SGD:
		o.sgd(name, p, g, h)
	case Adam, AdamW:
		o.adam(name, p, g, h, o.Algo == AdamW)
	}
	return nil
}

// sgd: d = g + wd*p; b = d on the first step, else b = m*b + (1-dampening)*d;
// d = d + m*b with Nesterov, else d = b; p = p - lr*d.
func (o *Optimizer) sgd(name string, p, g []float32, h Hyper) {
	wd, m, lr := float32(h.WeightDecay), float32(h.Momentum), float32(h.LR)
	damp := float32(1 - h.Dampening)
	var b []float32
	first := false
	if h.Momentum != 0 {
		var had bool
		b, had = o.buf(name, "momentum_buffer", len(p))
		first = !had
	}
	parallelChunks(len(p), func(lo, hi int) {
		p, g := p[lo:hi], g[lo:hi]
		if b != nil && !first && !h.Nesterov && wd != 0 {
			// The common case (momentum after the first step) without
			// branches in the loop; the same operations as below.
			b := b[lo:hi]
			for i := range p {
				d := g[i] + wd*p[i]
				b[i] = m*b[i] + damp*d
				p[i] -= lr * b[i]
			}
			return
		}
		var bb []float32
		if b != nil {
			bb = b[lo:hi]
		}
		for i := range p {
			d := g[i]
			if wd != 0 {
				d += wd * p[i]
			}
			if bb != nil {
				if first {
					bb[i] = d
				} else {
					bb[i] = m*bb[i] + damp*d
				}
				if h.Nesterov {
					d += m * bb[i]
				} else {
					d = bb[i]
				}
			}
			p[i] -= lr * d
		}
	})
	o.Steps[name]++
}

// parallelChunks runs f over [0, n) in GOMAXPROCS chunks when n is large
// enough to pay for the goroutines. Updates are elementwise, so the split
// does not change any result.
func parallelChunks(n int, f func(lo, hi int)) {
	workers := min(runtime.GOMAXPROCS(0), n/(1<<15))
	if workers <= 1 {
		f(0, n)
		return
	}
	step := (n + workers - 1) / workers
	gemm.Parallel((n+step-1)/step, func(i int) {
		lo := i * step
		f(lo, min(lo+step, n))
	})
}

// adam follows torch.optim.Adam / AdamW (amsgrad off).
func (o *Optimizer) adam(name string, p, g []float32, h Hyper, decoupled bool) {
	b1, b2, eps := h.adamDefaults()
	o.Steps[name]++
	t := float64(o.Steps[name])
	ma, _ := o.buf(name, "exp_avg", len(p))
	va, _ := o.buf(name, "exp_avg_sq", len(p))
	lr, wd := float32(h.LR), float32(h.WeightDecay)
	bc1 := 1 - math.Pow(b1, t)
	bc2 := 1 - math.Pow(b2, t)
	stepSize := float32(h.LR / bc1)
	bc2sqrt := float32(math.Sqrt(bc2))
	fb1, fb2 := float32(b1), float32(b2)
	if decoupled && wd != 0 {
		k := 1 - lr*wd
		for i := range p {
			p[i] *= k
		}
	}
	for i := range p {
		d := g[i]
		if !decoupled && wd != 0 {
			d += wd * p[i]
		}
		ma[i] = ma[i]*fb1 + (1-fb1)*d
		va[i] = va[i]*fb2 + (1-fb2)*d*d
		denom := float32(math.Sqrt(float64(va[i])))/bc2sqrt + float32(eps)
		p[i] -= stepSize * ma[i] / denom
	}
}
