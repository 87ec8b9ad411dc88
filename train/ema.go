package train

import (
	"fmt"
	"slices"
)

// emaCopy is an exponential moving average of a trainer's weights, as
// timm.utils.ModelEmaV2: a copy of every float parameter and buffer (the
// state_dict's floating values) taken when training starts, then after
// every optimizer step ema = decay*ema + (1-decay)*value, in float32 as
// PyTorch computes it (each product rounded, then the sum).
type emaCopy struct {
	decay float64
	vals  [][]float32 // in Trainer.tensors order, in each parameter's layout
}

func newEMA(t *Trainer, decay float64) *emaCopy {
	e := &emaCopy{decay: decay, vals: make([][]float32, len(t.tensors))}
	for i, w := range t.tensors {
		e.vals[i] = w.values()
	}
	return e
}

// update folds the trainer's current values into the average.
func (e *emaCopy) update(t *Trainer) {
	a, b := float32(e.decay), float32(1-e.decay)
	for i, w := range t.tensors {
		cur := w.current()
		ema := e.vals[i]
		for j, m := range cur {
			ema[j] = float32(a*ema[j]) + float32(b*m)
		}
	}
}

// swap exchanges the average with the trainer's values (twice restores
// both, bit for bit).
func (e *emaCopy) swap(t *Trainer) {
	for i, w := range t.tensors {
		cur := w.values()
		w.set(e.vals[i])
		e.vals[i] = cur
	}
}

// set replaces the average (a checkpoint's), checking the sizes.
func (e *emaCopy) set(t *Trainer, get func(name string) []float32) error {
	for i, w := range t.tensors {
		v := get(w.name)
		if len(v) != w.size() {
			return fmt.Errorf("EMA of %q: %d values, want %d", w.name, len(v), w.size())
		}
		e.vals[i] = slices.Clone(v)
	}
	return nil
}

// current returns the tensor's values in the parameter's layout: its own
// slice for a whole float32 tensor, else a copy.
func (w namedTensor) current() []float32 {
	if w.view == nil {
		if v, _, err := floats(w.t); err == nil {
			return v
		}
	}
	return w.values()
}
