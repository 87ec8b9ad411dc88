package ops

import G "gorgonia.org/gorgonia"

// An exported LSTM or GRU reorders its weights' gate blocks (PyTorch's
// i, f, g, o into ONNX's i, o, f, c) with three Slices of each weight and a
// Concat of them. As separate ops that is two copies forward, and backward
// a copy out of the Concat's gradient for each part, a weight-sized tensor
// for each Slice's gradient (zeros but its part) and their sum: for the
// sequence benchmark's LSTM, 34 nodes a step and about 5 ms of work on one
// core. A Concat whose inputs are all Slices of the same value, along the
// Concat's axis, with the same ranges on every other axis and no element
// taken twice, is one view of that value instead: its forward a gather,
// its gradient a scatter-add into a cleared buffer (viewBackInto). Each
// element's value and gradient keep their bits: every gradient element is
// its single term added to zero, as in the sum of the Slices' gradients.

// sliceView is a Slice's input and its view map (Value.sliceOf).
type sliceView struct {
	src *Value
	v   *viewMap
}

// fuseSliceConcat turns the fusion on (tests compare it with the separate
// ops).
var fuseSliceConcat = true

// concatSlices lowers a Concat along ax into shape out of xs as one view
// of the value xs all slice, when it can (ok); the Slices' own nodes are
// then left for nothing to read.
func concatSlices(c *Ctx, ax int, out []int, xs []*Value) (y *Value, ok bool, err error) {
	if !fuseSliceConcat || len(xs) < 2 || xs[0].sliceOf == nil {
		return nil, false, nil
	}
	s0 := xs[0].sliceOf
	off := make([][]int, len(out))
	var axis []int
	seen := make(map[int]bool)
	for _, x := range xs {
		s := x.sliceOf
		if s == nil || s.src != s0.src || len(s.v.off) != len(out) {
			return nil, false, nil
		}
		for d := range off {
			if d != ax && !sameInts(s.v.off[d], s0.v.off[d]) {
				return nil, false, nil
			}
		}
		for _, o := range s.v.off[ax] {
			if o < 0 || seen[o] {
				return nil, false, nil
			}
			seen[o] = true
		}
		axis = append(axis, s.v.off[ax]...)
	}
	for d := range off {
		off[d] = s0.v.off[d]
	}
	off[ax] = axis
	v := newViewMap(s0.src.Shape, out, off)
	if !s0.src.DType.IsFloat() {
		y, err = applyView(c, "Concat", s0.src, v, 0, nil)
		return y, true, err
	}
	// A float view gathers into a kept buffer (the separate ops made two
	// new tensors a run).
	s := Spec{Name: "Concat", Shape: out, DType: s0.src.DType, Fwd: viewKernel(v, 0),
		Into: viewInto(v), Overwrites: true, WRT: []bool{true}}
	s.Grad = func(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
		// The gradient read where a copy took it from (an LSTM's W or R
		// part of its backward's buffer), when it is one.
		src, from := grad, -1
		if flatReads {
			if src, from, _ = flatSource(grad, 0, sizeOf(out)); src == grad {
				from = -1
			}
		}
		n, err := NewNode(grad.Graph(), output.Name()+"/grad", Spec{Name: "ConcatGrad", Shape: v.in,
			DType: DTypeOf(inputs[0]), Into: viewBackIntoAt(v, from), Overwrites: true}, src)
		return G.Nodes{n}, err
	}
	y, err = c.Apply(s, s0.src)
	return y, true, err
}
