package ops

import (
	G "gorgonia.org/gorgonia"
)

// Grad builds the gradients of loss (a scalar node) with respect to wrt,
// as gorgonia.Grad does, except that a node of wrt that the loss does not
// reach through differentiable inputs gets a nil gradient instead of failing
// the whole call with "Non Differentiable WRTs": a parameter that only
// another output reads, or none, has no gradient (as PyTorch leaves its
// .grad None). A panic inside gorgonia becomes an error.
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
	gs, err := G.Grad(loss, keep...)
	if err != nil {
		return nil, machineError(err)
	}
	for k, i := range at {
		grads[i] = gs[k]
	}
	return grads, nil
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
