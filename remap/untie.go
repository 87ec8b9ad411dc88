package remap

import (
	"fmt"

	"github.com/onnxtune/onnxtune/graph"
)

// Untie gives every parameter its own initializer. PyTorch's exporter stores
// equal tensors once: other names reach it through Identity nodes, or several
// modules read one anonymized initializer. Fine-tuning changes them apart, so
// each becomes a copy under its own name (the Identity's output, or a fresh
// name for a shared anonymized tensor; Rename then gives it its PyTorch name).
// Identity nodes that only served the tie are removed; parameters held in
// Constant nodes are left in them. It returns how many parameters were
// untied; m.Params follows the change (graph.Model.Edit).
func Untie(m *graph.Model) (int, error) {
	if m == nil || m.Graph == nil {
		return 0, fmt.Errorf("remap: untie: nil model")
	}
	untied := 0
	err := m.Edit(func(g *graph.Graph) error {
		var err error
		untied, err = untie(g, m.Params)
		return err
	})
	return untied, err
}

// untie is Untie's change of g, whose parameter table is params.
func untie(g *graph.Graph, params []*graph.Param) (int, error) {
	outputs := make(map[string]bool)
	for _, o := range g.Outputs {
		outputs[o.Name] = true
	}
	names := valueNames(g)
	untied := 0
	dropIdentity := make(map[*graph.Node]bool)
	producers := g.Producers()
	claimed := make(map[string]bool)     // initializers whose first reader keeps them
	claimedView := make(map[string]bool) // initializer and node of recurrent views handled
	for _, p := range params {
		// A tensor under its own parameter's name stays that parameter's;
		// the modules that share it (a dynamo export's equal tensors) get
		// copies.
		if !p.Recovered && p.Value == p.Initializer && p.Name == p.Initializer {
			claimed[p.Initializer] = true
		}
	}
	for _, p := range params {
		if p.Constant {
			// A Constant node holds it, not an initializer: it stays
			// there (LiftConstants makes it one, as training does).
			continue
		}
		src := g.Initializer(p.Initializer)
		if src == nil {
			return untied, fmt.Errorf("remap: parameter %q: initializer %q not found", p.Name, p.Initializer)
		}
		switch {
		case p.Value != p.Initializer:
			// Reached through Identity: the Identity output becomes an
			// initializer of its own.
			id := producers[p.Value]
			if id == nil || id.OpType != "Identity" || outputs[p.Value] {
				continue
			}
			c := src.Clone()
			c.Name = p.Value
			g.Initializers = append(g.Initializers, c)
			dropIdentity[id] = true
			untied++
		case p.Tied && p.Recovered && p.View != nil:
			// A recurrent W, R or B read by several nodes: the node's
			// views share one copy, under a name that is no state_dict
			// name (the views stay views).
			key := p.Initializer + "\x00" + p.Node
			if !claimed[p.Initializer] {
				claimed[p.Initializer], claimedView[key] = true, true
				continue
			}
			if claimedView[key] {
				continue
			}
			claimedView[key] = true
			name := p.Initializer + "::untied"
			for i := 1; names[name]; i++ {
				name = fmt.Sprintf("%s::untied_%d", p.Initializer, i)
			}
			names[name] = true
			if err := giveCopy(g, src, p, name, false); err != nil {
				return untied, err
			}
			untied++
		case p.Tied && p.Recovered:
			// One anonymized tensor read by several modules.
			if !claimed[p.Initializer] {
				claimed[p.Initializer] = true
				continue
			}
			name := p.Name
			for i := 1; names[name]; i++ {
				name = fmt.Sprintf("%s_%d", p.Name, i)
			}
			names[name] = true
			if err := giveCopy(g, src, p, name, p.Transposed && graph.IsStateDictName(name)); err != nil {
				return untied, err
			}
			untied++
		}
	}
	if len(dropIdentity) > 0 {
		kept := g.Nodes[:0]
		for _, n := range g.Nodes {
			if !dropIdentity[n] {
				kept = append(kept, n)
			}
		}
		g.Nodes = kept
	}
	dropUnused(g)
	return untied, nil
}

// dropUnused removes initializers nothing reads any more (the sources of
// ties whose every reader now has its own copy). Initializers that are graph
// inputs or outputs stay.
func dropUnused(g *graph.Graph) {
	used := g.Consumers()
	keep := make(map[string]bool)
	for _, v := range g.Inputs {
		keep[v.Name] = true
	}
	for _, v := range g.Outputs {
		keep[v.Name] = true
	}
	kept := g.Initializers[:0]
	for _, t := range g.Initializers {
		if len(used[t.Name]) > 0 || keep[t.Name] {
			kept = append(kept, t)
		}
	}
	g.Initializers = kept
}

// valueNames lists every value name defined in g.
func valueNames(g *graph.Graph) map[string]bool {
	names := make(map[string]bool)
	for _, v := range g.Inputs {
		names[v.Name] = true
	}
	for _, t := range g.Initializers {
		names[t.Name] = true
	}
	for _, n := range g.Nodes {
		for _, o := range n.Outputs {
			names[o] = true
		}
	}
	return names
}

// Rename renames each initializer that holds one recovered parameter to that
// parameter's PyTorch name ("onnx::Conv_193" becomes "conv1.weight"), in every
// place the graph refers to it. Shared initializers are left for Untie, and
// an initializer whose PyTorch name another value of the graph already has
// keeps its own. It returns how many were renamed; m.Params follows the
// change (graph.Model.Edit).
func Rename(m *graph.Model) (int, error) {
	if m == nil || m.Graph == nil {
		return 0, fmt.Errorf("remap: rename: nil model")
	}
	g := m.Graph
	names := valueNames(g)
	type rename struct {
		old, new   string
		transposed bool
	}
	var todo []rename
	for _, p := range m.Params {
		if !p.Recovered || p.Tied || p.Value != p.Initializer || p.Name == p.Initializer || p.View != nil {
			continue // a view is part of its tensor: the tensor keeps its name
		}
		if names[p.Name] {
			// Another value has the name (onnxruntime's QDQ models call
			// a bias's DequantizeLinear output "conv1.bias"): the
			// tensor keeps its own.
			continue
		}
		names[p.Name] = true
		delete(names, p.Initializer)
		todo = append(todo, rename{p.Initializer, p.Name, p.Transposed})
	}
	if len(todo) == 0 {
		return 0, nil
	}
	return len(todo), m.Edit(func(g *graph.Graph) error {
		for _, r := range todo {
			g.RenameValue(r.old, r.new)
			if t := g.Initializer(r.new); t != nil && r.transposed {
				// Under its PyTorch name the tensor would read as PyTorch's
				// layout: say that it holds the transpose.
				t.Metadata = append(t.Metadata, graph.StringPair{Key: graph.StoredKey, Value: graph.StoredTransposed})
			}
		}
		return nil
	})
}

// giveCopy adds a copy of src named name and points p's node at it
// instead of p's value; marked, when its PyTorch name would read as
// PyTorch's layout, as the transpose it holds.
func giveCopy(g *graph.Graph, src *graph.Tensor, p *graph.Param, name string, markTransposed bool) error {
	n := g.Node(p.Node)
	if n == nil {
		return fmt.Errorf("remap: parameter %q: node %q not found", p.Name, p.Node)
	}
	c := src.Clone()
	c.Name = name
	if markTransposed {
		c.Metadata = append(c.Metadata, graph.StringPair{Key: graph.StoredKey, Value: graph.StoredTransposed})
	}
	g.Initializers = append(g.Initializers, c)
	for i, in := range n.Inputs {
		if in == p.Value {
			n.Inputs[i] = name
		}
	}
	return nil
}
