package remap

import (
	"fmt"
	"strings"

	"github.com/onnxtune/onnxtune/graph"
)

// RestoreBiases gives back the zero biases the dynamo exporter's optimizer
// removes as no-ops (a fresh attention's out_proj.bias, say): for each
// parameter the program's signature lists with the name MODULE.bias that
// the file lacks, where the table has MODULE.weight read by a Gemm or Conv
// without a bias input (an input the op declares as a bias slot), that
// node reads a new zero initializer of that name, as PyTorch's module does. PyTorch
// trains that bias; without it the others would train differently. Other
// exports, and biases the exporter folded rather than dropped, are left as
// they are. It returns the names restored; m.Params follows.
func RestoreBiases(m *graph.Model) ([]string, error) {
	if m == nil || m.Graph == nil {
		return nil, nil
	}
	g := m.Graph
	sig := graph.ExportSignature(g)
	if sig == nil {
		return nil, nil
	}
	have := make(map[string]bool, len(m.Params))
	for _, p := range m.Params {
		have[p.Name] = true
	}
	consumers := g.Consumers()
	producers := g.Producers()
	type fix struct {
		node *graph.Node
		idx  int
		t    *graph.Tensor
	}
	var fixes []fix
	for name, kind := range sig {
		if kind != graph.SigParameter || have[name] || !strings.HasSuffix(name, ".bias") {
			continue
		}
		w := m.Param(strings.TrimSuffix(name, "bias") + "weight")
		if w == nil || w.Constant || len(w.Shape) < 2 || !w.DType.IsFloat() {
			continue
		}
		// The node that reads the weight for the bias's module: the one
		// the table names (a tensor shared by modules), the only reader, or
		// the reader whose module scope holds the bias.
		var n *graph.Node
		switch uses := consumers[w.Value]; {
		case w.Node != "":
			n = g.Node(w.Node)
		case len(uses) == 1:
			n = uses[0].Node
		default:
			for _, u := range uses {
				if mod := graph.NodeModulePath(u.Node); mod != "" && strings.HasPrefix(name, mod+".") {
					if n != nil {
						n = nil // two readers in the module: leave it
						break
					}
					n = u.Node
				}
			}
		}
		if n == nil {
			continue
		}
		if (n.OpType != "Gemm" && n.OpType != "Conv") || n.AttrInt("transA", 0) != 0 {
			continue
		}
		if a := n.Attr("beta"); a != nil && a.F != 1 {
			continue
		}
		idx := -1
		for i := 0; i < 3; i++ {
			if s, ok := graph.SlotOf(&graph.Node{OpType: n.OpType, Inputs: make([]string, 3)}, i, producers); ok && s.Suffix == "bias" && s.Beside == "" {
				idx = i
			}
		}
		if idx < 0 || (idx < len(n.Inputs) && n.Inputs[idx] != "") {
			continue
		}
		out := w.Shape[0]
		if out <= 0 || out > 1<<24 {
			continue
		}
		t := &graph.Tensor{Name: name, DType: w.DType, Dims: []int64{out}, Raw: make([]byte, int(out)*w.DType.Bits()/8)}
		fixes = append(fixes, fix{n, idx, t})
	}
	if len(fixes) == 0 {
		return nil, nil
	}
	names := valueNames(g)
	var done []string
	for _, f := range fixes {
		if names[f.t.Name] {
			return nil, fmt.Errorf("remap: restore %s: the graph already has a value of that name", f.t.Name)
		}
		done = append(done, f.t.Name)
	}
	return done, m.Edit(func(g *graph.Graph) error {
		for _, f := range fixes {
			for len(f.node.Inputs) <= f.idx {
				f.node.Inputs = append(f.node.Inputs, "")
			}
			f.node.Inputs[f.idx] = f.t.Name
			g.Initializers = append(g.Initializers, f.t)
		}
		return nil
	})
}
