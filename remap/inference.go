package export

import (
	"fmt"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/remap"
)

// ToInference turns a training-mode export into the inference model it
// stands for: BatchNormalization nodes keep only their first output (so they
// use running statistics) and lose training_mode; Dropout nodes lose their
// training_mode input (so they pass values through). Constants that only fed
// what was removed go too. It returns how many nodes changed and refreshes
// m.Params. A model already in inference form is left as it is.
func ToInference(m *graph.Model) (int, error) {
	g := m.Graph
	used := g.Consumers()
	outputs := make(map[string]bool)
	for _, o := range g.Outputs {
		outputs[o.Name] = true
	}
	var detached []string
	changed := 0
	for _, n := range g.Nodes {
		switch n.OpType {
		case "BatchNormalization":
			c := false
			if len(n.Outputs) > 1 {
				for _, o := range n.Outputs[1:] {
					if o != "" && (len(used[o]) > 0 || outputs[o]) {
						return changed, fmt.Errorf("%w: node %s: its running statistics output %q is read by the graph", ErrModel, n, o)
					}
				}
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
	return changed, remap.Recover(m)
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
// them: initializers, and nodes (then, in turn, what only they read).
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
