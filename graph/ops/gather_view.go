package ops

import G "gorgonia.org/gorgonia"

// A classifier on an LSTM's last step (x = lstm(x)[:, -1] of a
// batch-first model) exports as a Transpose of the LSTM's Y to batch
// first and a Gather of one index on the time axis. As separate ops that
// is a copy of the whole Y forward, and backward the Gather's gradient (Y
// sized, zeros but one step) permuted back by the Transpose's. A Gather
// of constant indices (a scalar or a list) of a Transpose's output is one
// view of the Transpose's input instead: its forward gathers the few
// elements it keeps, its gradient scatter-adds them into a cleared buffer
// (viewBackInto), each element with the terms of the Gather's gradient
// in their order (an index repeated in the list adds its rows in the
// list's order in both), so the bits are the same.

// fuseGatherPerm turns the fusion on (tests compare it with the separate
// ops).
var fuseGatherPerm = true

// gatherOfPerm lowers a Gather along ax of data by the constant indices
// idx into shape out as one view of the value data permutes, when data is
// a Transpose's output and idx a scalar or a list; nil otherwise.
func gatherOfPerm(c *Ctx, data, idx *Value, ax int, out []int) (*Value, error) {
	p := data.permOf
	if !fuseGatherPerm || p == nil || !idx.IsConst() || idx.Rank() > 1 || !data.DType.IsFloat() {
		return nil, nil
	}
	at, err := gatherIndices(idx.Const, data.Shape[ax])
	if err != nil {
		return nil, err
	}
	var off [][]int
	for d, t := range p.v.off {
		switch {
		case d != ax:
			off = append(off, t)
		case idx.Rank() == 1:
			axis := make([]int, len(at))
			for k, i := range at {
				axis[k] = t[i]
			}
			off = append(off, axis)
		}
	}
	if idx.Rank() == 0 {
		if len(off) == 0 {
			return nil, nil // a scalar of a vector
		}
		// The dropped axis's offset, added to the first axis left.
		first := make([]int, len(off[0]))
		for k, o := range off[0] {
			first[k] = o + p.v.off[ax][at[0]]
		}
		off[0] = first
	}
	v := newViewMap(p.src.Shape, out, off)
	s := Spec{Name: "Gather", Shape: out, DType: data.DType, Fwd: viewKernel(v, 0),
		Into: viewInto(v), Overwrites: true, WRT: []bool{true}}
	s.Grad = func(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
		n, err := NewNode(grad.Graph(), output.Name()+"/grad", Spec{Name: "GatherGrad", Shape: v.in,
			DType: DTypeOf(inputs[0]), Into: viewBackInto(v), Overwrites: true}, grad)
		return G.Nodes{n}, err
	}
	return c.Apply(s, p.src)
}
