package ops

import (
	"errors"
	"fmt"
	"maps"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph"
)

// registerControl adds If. Loop is not registered: PyTorch's exporters
// write it for Python loops over data-dependent counts (and for some
// recurrent exports at old opsets), which none of the models onnxtune
// fine-tunes use; a model with one fails naming it.
//
// An If whose condition is known when the model is compiled (computed from
// constants and shapes, as in most PyTorch exports: silero-vad's sample
// rate and state checks) is folded: the taken branch is lowered in place,
// reading the values around it, and its gradient is that of the branch.
// Otherwise both branches are lowered and each output selects the taken
// branch's value when the program runs, its gradient going to that branch
// only; this needs the branches to agree on each output's shape and type,
// or the node is refused saying its condition depends on the input.
func registerControl(r *Registry) {
	r.add(OpInfo{Name: "If", Differentiable: true, Lower: lowerIf})
}

// scope is what a node with subgraphs sees of the graph being compiled:
// the values computed so far, by name, and the op registry.
type scope struct {
	env map[string]*Value
	reg *Registry
}

func lowerIf(c *Ctx, in []*Value) ([]*Value, error) {
	if c.outer == nil {
		return nil, errors.New("compiled outside a graph")
	}
	var branches [2]*graph.Graph
	for i, name := range []string{"then_branch", "else_branch"} {
		a := c.Node.Attr(name)
		if a == nil || a.G == nil {
			return nil, fmt.Errorf("attribute %s: want a graph", name)
		}
		branches[i] = a.G
	}
	cond := in[0]
	if cond == nil || cond.Size() != 1 {
		n := 0
		if cond != nil {
			n = cond.Size()
		}
		return nil, fmt.Errorf("the condition has %d elements, want one boolean (a model that decides per example runs at batch 1 only)", n)
	}
	if cond.IsConst() {
		taken, err := truth(cond.Const)
		if err != nil {
			return nil, fmt.Errorf("condition: %w", err)
		}
		g := branches[1]
		if taken {
			g = branches[0]
		}
		return c.lowerBranch(g)
	}
	then, err := c.lowerBranch(branches[0])
	if err != nil {
		return nil, err
	}
	els, err := c.lowerBranch(branches[1])
	if err != nil {
		return nil, err
	}
	if len(then) != len(els) {
		return nil, fmt.Errorf("the branches give %d and %d outputs", len(then), len(els))
	}
	outs := make([]*Value, len(then))
	for i := range then {
		t, e := then[i], els[i]
		if t.DType != e.DType || fmt.Sprint(t.Shape) != fmt.Sprint(e.Shape) {
			return nil, fmt.Errorf("the condition depends on the input, and the branches give output %d as %v and %v: only an If whose condition is known when the model is compiled, or whose branches agree, is supported", i, t, e)
		}
		s := Spec{Name: "IfSelect", Shape: t.Shape, DType: t.DType, Fwd: ifSelect}
		if t.DType.IsFloat() {
			s.WRT = []bool{false, true, true}
			s.Grad = ifSelectGrad(t.Shape, t.DType)
		}
		if outs[i], err = c.Apply(s, cond, t, e); err != nil {
			return nil, err
		}
	}
	return outs, nil
}

// truth reads a one-element condition.
func truth(t *tensor.Dense) (bool, error) {
	if b, err := Data[bool](t); err == nil {
		return b[0], nil
	}
	v, err := ConstValue(t)
	if err != nil {
		return false, err
	}
	f, err := v.Float()
	return f != 0, err
}

// ifSelect returns in[1] when the condition in[0] holds, else in[2].
func ifSelect(in []*tensor.Dense) (*tensor.Dense, error) {
	taken, err := truth(in[0])
	if err != nil {
		return nil, err
	}
	if taken {
		return in[1].Clone().(*tensor.Dense), nil
	}
	return in[2].Clone().(*tensor.Dense), nil
}

// ifSelectGrad sends the output's gradient to the taken branch and zeros to
// the other.
func ifSelectGrad(shape []int, dt graph.DType) GradFunc {
	return func(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
		out := G.Nodes{nil}
		for i, taken := range []bool{true, false} {
			n, err := NewNode(grad.Graph(), fmt.Sprintf("%s/Grad%d", output.Name(), i), Spec{Name: "IfSelectGrad", Shape: shape, DType: dt,
				Fwd: func(in []*tensor.Dense) (*tensor.Dense, error) {
					c, err := truth(in[0])
					if err != nil {
						return nil, err
					}
					if c == taken {
						return in[1].Clone().(*tensor.Dense), nil
					}
					return tensor.New(tensor.WithShape(Shape(in[1])...), tensor.Of(in[1].Dtype())), nil
				}}, inputs[0], grad)
			if err != nil {
				return nil, err
			}
			out = append(out, n)
		}
		return out, nil
	}
}

// lowerBranch lowers a subgraph of the node being lowered into the same
// gorgonia graph: the names around it are visible, its own (initializers,
// node outputs) shadow them inside it, and its outputs are returned in
// order.
func (c *Ctx) lowerBranch(g *graph.Graph) ([]*Value, error) {
	env := maps.Clone(c.outer.env)
	inner := &scope{env: env, reg: c.outer.reg}
	for _, t := range g.Initializers {
		d, err := TensorFromIR(t)
		if err != nil {
			return nil, fmt.Errorf("subgraph initializer %q: %w", t.Name, err)
		}
		v, err := ConstValue(d)
		if err != nil {
			return nil, fmt.Errorf("subgraph initializer %q: %w", t.Name, err)
		}
		v.held = true
		env[t.Name] = v
	}
	for _, n := range g.Nodes {
		info, ok := inner.reg.Lookup(n)
		if !ok {
			return nil, fmt.Errorf("node %s: unsupported op %s", n, n.QualifiedOp())
		}
		in, err := nodeInputs(n, env)
		if err != nil {
			return nil, err
		}
		sub := &Ctx{G: c.G, Node: n, Opset: c.Opset, Train: c.Train, EvalBatchNorm: c.EvalBatchNorm, Rand: c.Rand, Updates: c.Updates,
			ConstParams: c.ConstParams, seq: c.seq, maxBytes: c.maxBytes, total: c.total, outer: inner}
		outs, err := lowerNode(info, sub, in)
		var attrErr *AttrError
		if err != nil && !(errors.As(err, &attrErr) && attrErr.Node == n) {
			err = fmt.Errorf("node %s: %w", n, err)
		}
		if err != nil {
			return nil, err
		}
		for i, name := range n.Outputs {
			if name == "" || i >= len(outs) || outs[i] == nil {
				continue
			}
			if err := sub.holdValue(outs[i]); err != nil {
				return nil, err
			}
			env[name] = outs[i]
		}
	}
	outs := make([]*Value, len(g.Outputs))
	for i, o := range g.Outputs {
		v, ok := env[o.Name]
		if !ok {
			return nil, fmt.Errorf("subgraph output %q is not computed", o.Name)
		}
		outs[i] = v
	}
	return outs, nil
}
