package remap

import (
	"github.com/onnxtune/onnxtune/graph"
)

// LiftConstants turns the Constant nodes that hold parameters (the table's
// Constant rows: some versions of PyTorch's dynamo exporter store weights
// so, under the state_dict names the program's signature lists) into
// initializers of the same name, which training updates and remapping
// fills. Constant nodes of other exports hold tensors that PyTorch did not
// train (plain tensor attributes, values made in forward) and stay. It
// returns how many it lifted; m.Params follows (graph.Model.Edit).
func LiftConstants(m *graph.Model) (int, error) {
	if m == nil || m.Graph == nil {
		return 0, nil
	}
	want := make(map[string]bool)
	for _, p := range m.Params {
		if p.Constant {
			want[p.Initializer] = true
		}
	}
	lift := make(map[*graph.Node]*graph.Tensor)
	for _, n := range m.Graph.Nodes {
		if n.OpType != "Constant" || len(n.Outputs) != 1 || len(n.Attrs) != 1 || !want[n.Outputs[0]] || n.Attrs[0].T == nil {
			continue
		}
		t := n.Attrs[0].T.Clone()
		t.Name = n.Outputs[0]
		lift[n] = t
	}
	if len(lift) == 0 {
		return 0, nil
	}
	return len(lift), m.Edit(func(g *graph.Graph) error {
		kept := g.Nodes[:0]
		for _, n := range g.Nodes {
			if t, ok := lift[n]; ok {
				g.Initializers = append(g.Initializers, t)
				continue
			}
			kept = append(kept, n)
		}
		g.Nodes = kept
		return nil
	})
}
