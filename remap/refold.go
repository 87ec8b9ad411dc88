package remap

import (
	"bytes"

	"github.com/onnxtune/onnxtune/graph"
)

// RefoldConstants undoes a fold of the dynamo exporter's optimizer that
// freezes a parameter: a constant folded from a parameter (and other
// constants) whose values are that parameter broadcast (nn.RNN's first
// step, zeros @ W_hh + b_hh folded to b_hh repeated over the batch) is
// computed from the parameter again, by an Expand. Training then gives the
// parameter that step's gradient, as PyTorch does; the values the model
// computes are the same. It returns how many constants it replaced; m.Params
// follows (graph.Model.Edit).
func RefoldConstants(m *graph.Model) (int, error) {
	if m == nil || m.Graph == nil {
		return 0, nil
	}
	g := m.Graph
	sig := graph.ExportSignature(g)
	if sig == nil {
		return 0, nil
	}
	inTable := make(map[string]bool)
	for _, p := range m.Params {
		inTable[p.Initializer] = true
	}
	type refold struct{ c, p *graph.Tensor }
	var todo []refold
	for _, c := range g.Initializers {
		if inTable[c.Name] || !c.DType.IsFloat() || len(c.Raw) == 0 {
			continue
		}
		for _, f := range graph.FoldedFrom(g, c.Name) {
			p := g.Initializer(f)
			if sig[f] != graph.SigParameter || p == nil || p.DType != c.DType || !broadcastOf(p, c) {
				continue
			}
			todo = append(todo, refold{c, p})
			break
		}
	}
	if len(todo) == 0 {
		return 0, nil
	}
	return len(todo), m.Edit(func(g *graph.Graph) error {
		var nodes []*graph.Node
		drop := make(map[*graph.Tensor]bool)
		for _, r := range todo {
			shape := &graph.Tensor{Name: r.c.Name + "/shape", DType: graph.Int64, Dims: []int64{int64(len(r.c.Dims))}, Raw: graph.Encode(r.c.Dims)}
			g.Initializers = append(g.Initializers, shape)
			nodes = append(nodes, &graph.Node{Name: r.c.Name + "/refold", OpType: "Expand",
				Inputs: []string{r.p.Name, shape.Name}, Outputs: []string{r.c.Name}})
			drop[r.c] = true
		}
		kept := g.Initializers[:0]
		for _, t := range g.Initializers {
			if !drop[t] {
				kept = append(kept, t)
			}
		}
		g.Initializers = kept
		g.Nodes = append(nodes, g.Nodes...)
		return nil
	})
}

// broadcastOf reports whether c holds p broadcast to c's dims (numpy's
// rules, from the right), with more elements than p.
func broadcastOf(p, c *graph.Tensor) bool {
	if len(p.Dims) > len(c.Dims) || len(c.Raw) <= len(p.Raw) {
		return false
	}
	off := len(c.Dims) - len(p.Dims)
	for i, d := range p.Dims {
		if d != 1 && d != c.Dims[off+i] {
			return false
		}
	}
	size := c.DType.Bits() / 8
	if size == 0 {
		return false
	}
	n := len(c.Raw) / size
	idx := make([]int64, len(c.Dims))
	for e := 0; e < n; e++ {
		// The element of p that broadcasts to c's element e.
		pe := int64(0)
		for i, d := range p.Dims {
			k := idx[off+i]
			if d == 1 {
				k = 0
			}
			pe = pe*d + k
		}
		if !bytes.Equal(c.Raw[e*size:(e+1)*size], p.Raw[int(pe)*size:(int(pe)+1)*size]) {
			return false
		}
		for i := len(idx) - 1; i >= 0; i-- {
			if idx[i]++; idx[i] < c.Dims[i] {
				break
			}
			idx[i] = 0
		}
	}
	return true
}
