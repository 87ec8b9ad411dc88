package train

import (
	"slices"

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

// viewOf returns a copy of the elements of v in all, a tensor's values.
func viewOf(v *graph.ParamView, all []float32) []float32 {
	out := make([]float32, v.Len())
	graph.Gather(v, out, all)
	return out
}

// update runs the optimizer on parameter name with gradient g of its
// whole tensor.
func (t *Trainer) update(name string, g []float32, h Hyper) error {
	p := t.byName[name]
	w, _ := ops.Data[float32](t.weights[p.Initializer])
	if p.View == nil {
		return t.Opt.Update(name, w, g, h)
	}
	pw := viewOf(p.View, w)
	if err := t.Opt.Update(name, pw, viewOf(p.View, g), h); err != nil {
		return err
	}
	graph.Scatter(p.View, w, pw)
	return nil
}

// values returns a copy of the tensor's values, in the parameter's
// layout.
func (w namedTensor) values() []float32 {
	all, _ := ops.Data[float32](w.t)
	if w.view != nil {
		return viewOf(w.view, all)
	}
	return slices.Clone(all)
}

// set writes the parameter's values, in its layout.
func (w namedTensor) set(v []float32) {
	all, _ := ops.Data[float32](w.t)
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
