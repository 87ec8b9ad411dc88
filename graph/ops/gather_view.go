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

// An nn.Embedding followed by a batch-first LSTM exports as a Gather of
// the table's rows by the ids [B, T] and a Transpose of the rows to [T,
// B, D]: forward a copy of the rows and a copy of them permuted, backward
// the permuted copy of their gradient before the scatter-add into the
// table's. A Transpose of a Gather's rows (axis 0, the last axis kept in
// place) is one Gather that puts each row where the Transpose would
// (gatherRowsInto); its gradient reads each row from there, in the
// indices' order, so the sums are the same.

// gatherRows is a float Gather along axis 0 (Value.gatherOf).
type gatherRows struct {
	data, idx *Value
	h         embeddingHint
}

// transposeOfGather lowers the Transpose by perm of x, a Gather's rows,
// into shape out as one Gather when perm keeps the rows whole; nil
// otherwise.
func transposeOfGather(c *Ctx, x *Value, perm, out []int) (*Value, error) {
	g := x.gatherOf
	r := len(perm)
	if !fuseGatherPerm || g == nil || r < 2 || perm[r-1] != r-1 || g.data.Rank() != 2 || g.idx.Rank() != r-1 {
		return nil, nil
	}
	// rowOf[k]: the output row of index k (row-major in the ids' shape).
	ids := g.idx.Shape
	ost := rowStrides(out[:r-1])
	rowOf := make([]int, sizeOf(ids))
	at := make([]int, len(ids))
	for k := range rowOf {
		q := 0
		for j := range r - 1 {
			q += at[perm[j]] * ost[j]
		}
		rowOf[k] = q
		for d := len(ids) - 1; d >= 0; d-- {
			if at[d]++; at[d] < ids[d] {
				break
			}
			at[d] = 0
		}
	}
	ds := append([]int{}, g.data.Shape...)
	h := g.h
	s := Spec{Name: "Gather", Shape: out, DType: x.DType, Into: gatherRowsInto(0, ds, rowOf), Overwrites: true,
		WRT: []bool{true, false}}
	s.Grad = func(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
		// The rows' gradient read where a copy took it from (an LSTM's
		// d X in its backward's buffer), when it is one.
		src, from := grad, -1
		if flatReads {
			if src, from, _ = flatSource(grad, 0, sizeOf(out)); src == grad {
				from = -1
			}
		}
		n, err := NewNode(grad.Graph(), output.Name()+"/grad", Spec{Name: "GatherGrad", Shape: ds,
			DType: DTypeOf(inputs[0]), Into: gatherGradRowsInto(0, ds, h, rowOf, from), Overwrites: true}, src, inputs[1])
		return G.Nodes{n, nil}, err
	}
	return c.Apply(s, g.data, g.idx)
}

// readOnce says the node's one output is read by one node (not a graph
// output): a fusion into that reader leaves no other gradient term to
// add in another order.
func (c *Ctx) readOnce() bool {
	return len(c.Node.Outputs) == 1 && c.uses[c.Node.Outputs[0]] == 1
}
