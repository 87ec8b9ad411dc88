package train

import (
	"slices"

	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/graph/ops"
)

// Parameters that are part of a tensor (graph.Param.View: a recurrent
// op's W, R and B hold several PyTorch tensors, their gates reordered) are
// trained, listed and saved as PyTorch holds them: each step gathers the
// parameter's values and gradient out of the tensors, the optimizer
// updates them under the parameter's name (its state has PyTorch's shape),
// and the new values go back in place. The views of one tensor are
// disjoint, so groups and --freeze by PyTorch name select exactly the
// parameter's elements, and an elementwise optimizer gives what it gives
// on PyTorch's tensors.

// floats returns a tensor's values as float32, the optimizers' type, and
// commit, which writes changes back: for a float32 tensor the slice is the
// tensor's own (commit does nothing); a float64 parameter's values are
// rounded to float32 for the step and widened back, so it trains within
// float32's precision of PyTorch's float64 update.
func floats(t *tensor.Dense) (v []float32, commit func(), err error) {
	if v, err := ops.Data[float32](t); err == nil {
		return v, func() {}, nil
	}
	d, err := ops.Data[float64](t)
	if err != nil {
		return nil, nil, err
	}
	v = make([]float32, len(d))
	for i, x := range d {
		v[i] = float32(x)
	}
	return v, func() {
		for i, x := range v {
			d[i] = float64(x)
		}
	}, nil
}

// viewOf returns a copy of the elements of v in all, a tensor's values.
func viewOf(v *graph.ParamView, all []float32) []float32 {
	out := make([]float32, v.Len())
	graph.Gather(v, out, all)
	return out
}

// update runs the optimizer on parameter name with its gradient g, in
// the parameter's layout (a view's own elements).
func (t *Trainer) update(name string, g []float32, h Hyper) error {
	p := t.byName[name]
	w, commit, err := floats(t.weights[p.Initializer])
	if err != nil {
		return err
	}
	defer commit()
	if p.View == nil {
		return t.Opt.Update(name, w, g, h)
	}
	pw := viewOf(p.View, w)
	if err := t.Opt.Update(name, pw, g, h); err != nil {
		return err
	}
	graph.Scatter(p.View, w, pw)
	return nil
}

// values returns a copy of the tensor's values, in the parameter's
// layout.
func (w namedTensor) values() []float32 {
	all, _, _ := floats(w.t)
	if w.view != nil {
		return viewOf(w.view, all)
	}
	return slices.Clone(all)
}

// set writes the parameter's values, in its layout.
func (w namedTensor) set(v []float32) {
	all, commit, _ := floats(w.t)
	defer commit()
	if w.view != nil {
		graph.Scatter(w.view, all, v)
		return
	}
	copy(all, v)
}

// size is the number of the parameter's elements.
func (w namedTensor) size() int {
	if w.view != nil {
		return int(w.view.Len())
	}
	return w.t.Size()
}

// shape is the shape saved in checkpoints: the tensor's, or for a view
// its number of elements.
func (w namedTensor) shape() []int {
	if w.view != nil {
		return []int{int(w.view.Len())}
	}
	return slices.Clone(w.t.Shape())
}
