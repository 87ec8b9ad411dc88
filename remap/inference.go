package remap

import (
	"fmt"

	"github.com/onnxtune/onnxtune/graph"
)

// ToInference turns a training-mode export into the inference model it
// stands for: BatchNormalization nodes keep only their first output (so they
// use running statistics) and lose training_mode; Dropout nodes lose their
// training_mode input (so they pass values through). Constants that only fed
// what was removed go too. It returns how many nodes changed; m.Params
// follows the change (graph.Model.Edit). A model already in inference form
// is left as it is. When the graph reads a BatchNormalization's running
// statistics outputs, it is an error and nothing changes.
func ToInference(m *graph.Model) (int, error) {
	g := m.Graph
	if g == nil {
		return 0, fmt.Errorf("remap: to inference: nil model")
	}
	used := g.Consumers()
	outputs := make(map[string]bool)
	for _, o := range g.Outputs {
		outputs[o.Name] = true
	}
	for _, n := range g.Nodes {
		if n.OpType != "BatchNormalization" || len(n.Outputs) < 2 {
			continue
		}
		for _, o := range n.Outputs[1:] {
			if o != "" && (len(used[o]) > 0 || outputs[o]) {
				return 0, fmt.Errorf("remap: to inference: node %s: its running statistics output %q is read by the graph", n, o)
			}
		}
	}
	changed := 0
	err := m.Edit(func(g *graph.Graph) error {
		var detached []string
		for _, n := range g.Nodes {
			switch n.OpType {
			case "BatchNormalization":
				c := false
				if len(n.Outputs) > 1 {
					n.Outputs = n.Outputs[:1]
					c = true
				}
				if a := n.Attr("training_mode"); a != nil {
					removeAttr(n, "training_mode")
					c = true
				}
				if c {
					changed++
				}
			case "Dropout":
				if len(n.Inputs) >= 3 {
					if n.Inputs[2] != "" {
						detached = append(detached, n.Inputs[2])
					}
					n.Inputs = n.Inputs[:2]
					changed++
				}
				if a := n.Attr("is_test"); a != nil && a.I == 0 {
					a.I = 1
					changed++
				}
			}
		}
		removeDead(g, detached)
		return nil
	})
	return changed, err
}

func removeAttr(n *graph.Node, name string) {
	kept := n.Attrs[:0]
	for _, a := range n.Attrs {
		if a.Name != name {
			kept = append(kept, a)
		}
	}
	n.Attrs = kept
}

// removeDead removes what produced the values in names, if nothing else reads
// them: initializers, and nodes (then, in turn, what only they read). Graph
// inputs and outputs stay.
func removeDead(g *graph.Graph, names []string) {
	for len(names) > 0 {
		used := g.Consumers()
		outputs := make(map[string]bool)
		for _, o := range g.Outputs {
			outputs[o.Name] = true
		}
		var next []string
		for _, name := range names {
			if len(used[name]) > 0 || outputs[name] {
				continue
			}
			kept := g.Initializers[:0]
			for _, t := range g.Initializers {
				if t.Name != name || g.Input(name) != nil {
					kept = append(kept, t)
				}
			}
			g.Initializers = kept
			nodes := g.Nodes[:0]
			for _, n := range g.Nodes {
				dead := len(n.Outputs) > 0
				for _, o := range n.Outputs {
					if o != name && (o != "" && (len(used[o]) > 0 || outputs[o])) {
						dead = false
					}
				}
				if dead && contains(n.Outputs, name) {
					next = append(next, n.Inputs...)
					continue
				}
				nodes = append(nodes, n)
			}
			g.Nodes = nodes
		}
		names = next
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
