package ops

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph"
)

// Grad builds the gradients of loss (a scalar node) with respect to wrt,
// as gorgonia.Grad does, except that a node of wrt that the loss does not
// reach through differentiable inputs gets a nil gradient instead of failing
// the whole call with "Non Differentiable WRTs": a parameter that only
// another output reads, or none, has no gradient (as PyTorch leaves its
// .grad None). The gradients of a value several nodes read are summed by
// a GradSum kernel (see backprop), not gorgonia's Add. A panic inside
// gorgonia becomes an error.
func Grad(loss *G.Node, wrt G.Nodes) (grads G.Nodes, err error) {
	defer recoverTo(&err)
	reach := map[*G.Node]bool{loss: true}
	stack := G.Nodes{loss}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		op, ok := n.Op().(G.SDOp)
		if !ok {
			continue // an input, or an op gorgonia cannot differentiate
		}
		children := childrenOf(n)
		diffs := op.DiffWRT(len(children))
		for j, c := range children {
			if j < len(diffs) && diffs[j] && !reach[c] {
				reach[c] = true
				stack = append(stack, c)
			}
		}
	}
	grads = make(G.Nodes, len(wrt))
	var keep G.Nodes
	var at []int
	for i, n := range wrt {
		if reach[n] {
			keep = append(keep, n)
			at = append(at, i)
		}
	}
	if len(keep) == 0 {
		return grads, nil
	}
	gs, err := backprop(loss, keep)
	if err != nil {
		return nil, machineError(err)
	}
	for k, i := range at {
		grads[i] = gs[k]
	}
	return grads, nil
}

// backprop is gorgonia's Backpropagate from a scalar loss (as G.Grad calls
// it), but for the sums of the gradients of a value read by several nodes:
// a GradSum kernel (which computes into a kept buffer and so joins
// ShareBuffers' plan) instead of a chain of gorgonia's Add, which may
// write into its first operand's buffer. The terms are added in the same
// order, left to right, so the sums are gorgonia's bit for bit. The
// gradient of the loss itself is gorgonia's constant one, as in G.Grad.
func backprop(loss *G.Node, wrt G.Nodes) (G.Nodes, error) {
	if !loss.IsScalar() {
		return nil, fmt.Errorf("the loss is not a scalar: %v", loss.Shape())
	}
	g := loss.Graph()
	var one *G.Node
	switch loss.Dtype() {
	case tensor.Float32:
		one = G.NewConstant(float32(1))
	case tensor.Float64:
		one = G.NewConstant(float64(1))
	default:
		return nil, fmt.Errorf("a loss of type %v has no gradient", loss.Dtype())
	}
	one = g.AddNode(one)
	sorted, err := G.Sort(g) // readers before what they read
	if err != nil {
		return nil, err
	}
	diffs := func(n *G.Node, children G.Nodes) []bool {
		if op, ok := n.Op().(G.SDOp); ok {
			return op.DiffWRT(len(children))
		}
		return nil
	}
	// Active: reached from the loss through differentiable inputs, and
	// reaching wrt through them.
	fromLoss := map[*G.Node]bool{loss: true}
	for _, n := range sorted {
		if !fromLoss[n] || n.Op() == nil {
			continue
		}
		children := childrenOf(n)
		d := diffs(n, children)
		for j, c := range children {
			if j < len(d) && d[j] {
				fromLoss[c] = true
			}
		}
	}
	toWRT := make(map[*G.Node]bool, len(wrt))
	for _, n := range wrt {
		toWRT[n] = true
	}
	for i := len(sorted) - 1; i >= 0; i-- {
		n := sorted[i]
		if n.Op() == nil {
			continue
		}
		children := childrenOf(n)
		d := diffs(n, children)
		for j, c := range children {
			if j < len(d) && d[j] && toWRT[c] {
				toWRT[n] = true
				break
			}
		}
	}
	terms := map[*G.Node]G.Nodes{loss: {one}}
	for _, n := range sorted {
		if !fromLoss[n] || !toWRT[n] {
			continue
		}
		ts := terms[n]
		if len(ts) == 0 {
			return nil, fmt.Errorf("no gradient reaches %v", n)
		}
		grad := ts[0]
		if len(ts) > 1 {
			if grad, err = gradSum(n, ts); err != nil {
				return nil, err
			}
			terms[n] = G.Nodes{grad}
		}
		if n.Op() == nil {
			continue
		}
		op, ok := n.Op().(G.SDOp)
		if !ok {
			return nil, fmt.Errorf("%v (%v) has no gradient", n, n.Op())
		}
		children := childrenOf(n)
		cg, err := op.SymDiff(children, n, grad)
		if err != nil {
			return nil, fmt.Errorf("gradient of %v: %w", n, err)
		}
		d := op.DiffWRT(len(children))
		for j, c := range children {
			if j < len(d) && d[j] {
				terms[c] = append(terms[c], cg[j])
			}
		}
	}
	out := make(G.Nodes, len(wrt))
	for i, n := range wrt {
		if len(terms[n]) == 0 {
			return nil, fmt.Errorf("no gradient reaches %v", n)
		}
		out[i] = terms[n][0]
	}
	return out, nil
}

// gradSum adds the gradient terms ts of n, left to right: a GradSum kernel
// for float32 and float64 tensors of n's shape, else gorgonia's Add.
func gradSum(n *G.Node, ts G.Nodes) (*G.Node, error) {
	dt := DTypeOf(n)
	fits := dt == graph.Float32 || dt == graph.Float64
	for _, t := range ts {
		fits = fits && t.Dtype() == n.Dtype() && sameInts(ShapeOf(t), ShapeOf(n))
	}
	if !fits {
		return G.ReduceAdd(ts)
	}
	return NewNode(n.Graph(), fmt.Sprintf("%s/gradsum#%d", n.Name(), n.ID()),
		Spec{Name: "GradSum", Shape: ShapeOf(n), DType: dt, Into: bodiesInto(sumInto[float32], sumInto[float64]), Overwrites: true}, ts...)
}

// sumInto sets y to in[0] + in[1] + ..., added left to right.
func sumInto[T Float](in [][]T, y []T) {
	parallelRange(len(y), len(in), func(lo, hi int) {
		out := y[lo:hi]
		copy(out, in[0][lo:hi])
		for _, x := range in[1:] {
			x = x[lo:hi]
			for i, v := range x {
				out[i] += v
			}
		}
	})
}

// FromInputs reports whether v is computed from at least one of the
// program's graph inputs: false for a constant, a parameter, or a value
// that only they determine (a graph output that is an initializer).
func (p *Program) FromInputs(v *Value) bool {
	if v == nil || v.IsConst() {
		return false
	}
	inputs := make(map[*G.Node]bool, len(p.Inputs))
	for _, n := range p.Inputs {
		inputs[n] = true
	}
	seen := map[*G.Node]bool{v.Node: true}
	stack := G.Nodes{v.Node}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if inputs[n] {
			return true
		}
		for _, c := range childrenOf(n) {
			if !seen[c] {
				seen[c] = true
				stack = append(stack, c)
			}
		}
	}
	return false
}

// childrenOf lists the nodes n reads, in order.
func childrenOf(n *G.Node) G.Nodes {
	var out G.Nodes
	for it := n.Graph().From(n.ID()); it != nil && it.Next(); {
		if c, ok := it.Node().(*G.Node); ok {
			out = append(out, c)
		}
	}
	return out
}
