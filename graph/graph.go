package graph

import (
	"fmt"
	"strings"
)

// Initializer returns the initializer named name, or nil.
func (g *Graph) Initializer(name string) *Tensor {
	for _, t := range g.Initializers {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// Input returns the graph input named name, or nil.
func (g *Graph) Input(name string) *ValueInfo {
	for _, v := range g.Inputs {
		if v.Name == name {
			return v
		}
	}
	return nil
}

// Node returns the node named name, or nil.
func (g *Graph) Node(name string) *Node {
	for _, n := range g.Nodes {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// Producers maps each node output to the node that computes it.
func (g *Graph) Producers() map[string]*Node {
	m := make(map[string]*Node, len(g.Nodes))
	for _, n := range g.Nodes {
		for _, o := range n.Outputs {
			if o != "" {
				m[o] = n
			}
		}
	}
	return m
}

// Use is one place a value is read: node Node, input position Index.
type Use struct {
	Node  *Node
	Index int
}

// Consumers maps each value name to the node inputs that read it, in node
// order. Reads from subgraphs (If, Loop bodies) count as reads by the node
// that owns the subgraph, at index -1.
func (g *Graph) Consumers() map[string][]Use {
	m := make(map[string][]Use)
	for _, n := range g.Nodes {
		for i, in := range n.Inputs {
			if in != "" {
				m[in] = append(m[in], Use{n, i})
			}
		}
		for _, a := range n.Attrs {
			for _, sg := range a.subgraphs() {
				for name := range sg.outerReads() {
					m[name] = append(m[name], Use{n, -1})
				}
			}
		}
	}
	return m
}

func (a *Attribute) subgraphs() []*Graph {
	var gs []*Graph
	if a.G != nil {
		gs = append(gs, a.G)
	}
	return append(gs, a.Graphs...)
}

// outerReads lists the names a graph reads that it does not define itself:
// its nodes' inputs, its subgraphs' reads and its outputs.
func (g *Graph) outerReads() map[string]bool {
	defined := make(map[string]bool)
	for _, v := range g.Inputs {
		defined[v.Name] = true
	}
	for _, t := range g.Initializers {
		defined[t.Name] = true
	}
	reads := make(map[string]bool)
	for _, n := range g.Nodes {
		for _, in := range n.Inputs {
			if in != "" && !defined[in] {
				reads[in] = true
			}
		}
		for _, a := range n.Attrs {
			for _, sg := range a.subgraphs() {
				for name := range sg.outerReads() {
					if !defined[name] {
						reads[name] = true
					}
				}
			}
		}
		for _, o := range n.Outputs {
			defined[o] = true
		}
	}
	for _, o := range g.Outputs {
		if !defined[o.Name] {
			reads[o.Name] = true // a value of the scope around, given as it is
		}
	}
	return reads
}

// RenameValue renames value old to new in g: its definition (initializer,
// input, output, value_info, node output) and every read, in subgraphs too
// (which may read outer values). It does not check that new is free.
func (g *Graph) RenameValue(old, new string) {
	for _, t := range g.Initializers {
		if t.Name == old {
			t.Name = new
		}
	}
	for _, list := range [][]*ValueInfo{g.Inputs, g.Outputs, g.ValueInfo} {
		for _, v := range list {
			if v.Name == old {
				v.Name = new
			}
		}
	}
	for _, n := range g.Nodes {
		for i, in := range n.Inputs {
			if in == old {
				n.Inputs[i] = new
			}
		}
		for i, o := range n.Outputs {
			if o == old {
				n.Outputs[i] = new
			}
		}
		for _, a := range n.Attrs {
			for _, sg := range a.subgraphs() {
				sg.RenameValue(old, new)
			}
		}
	}
}

// OpCounts returns how many nodes of each op type the graph has (domain
// prefixed for other domains than ai.onnx, e.g. "com.microsoft.Gelu").
func (g *Graph) OpCounts() map[string]int {
	c := make(map[string]int)
	for _, n := range g.Nodes {
		c[n.QualifiedOp()]++
	}
	return c
}

// QualifiedOp is the op type, prefixed with its domain unless that is ai.onnx.
func (n *Node) QualifiedOp() string {
	if n.Domain == "" || n.Domain == "ai.onnx" {
		return n.OpType
	}
	return n.Domain + "." + n.OpType
}

// Attr returns the attribute named name, or nil.
func (n *Node) Attr(name string) *Attribute {
	for _, a := range n.Attrs {
		if a.Name == name {
			return a
		}
	}
	return nil
}

// AttrInt returns an int attribute, or def when absent.
func (n *Node) AttrInt(name string, def int64) int64 {
	if a := n.Attr(name); a != nil {
		return a.I
	}
	return def
}

// String names the node for messages: its name and op, e.g.
// `"/fc3/Gemm" (Gemm)`.
func (n *Node) String() string {
	if n.Name == "" {
		return fmt.Sprintf("(%s -> %s)", n.OpType, strings.Join(n.Outputs, ","))
	}
	return fmt.Sprintf("%q (%s)", n.Name, n.OpType)
}

// CycleError reports nodes that cannot be put in topological order.
type CycleError struct {
	Nodes []string // names (or op types) of the nodes on or after a cycle
}

func (e *CycleError) Error() string {
	const max = 5
	list := e.Nodes
	more := ""
	if len(list) > max {
		more = fmt.Sprintf(" and %d more", len(list)-max)
		list = list[:max]
	}
	return fmt.Sprintf("graph has a cycle through %s%s", strings.Join(list, ", "), more)
}

// SortTopological orders g.Nodes so that every node comes after the nodes it
// reads from, keeping the existing order where it already is one. Names that
// no node produces (graph inputs, initializers, outer-scope values) are taken
// as given. It returns a *CycleError if there is a cycle.
func (g *Graph) SortTopological() error {
	prod := make(map[string]int, len(g.Nodes))
	for i, n := range g.Nodes {
		for _, o := range n.Outputs {
			if o != "" {
				prod[o] = i
			}
		}
	}
	deps := make([][]int, len(g.Nodes))
	for i, n := range g.Nodes {
		seen := make(map[int]bool)
		add := func(name string) {
			if j, ok := prod[name]; ok && !seen[j] {
				seen[j] = true
				deps[i] = append(deps[i], j)
			}
		}
		for _, in := range n.Inputs {
			add(in)
		}
		for _, a := range n.Attrs {
			for _, sg := range a.subgraphs() {
				for name := range sg.outerReads() {
					add(name)
				}
			}
		}
	}
	// Kahn's algorithm, always taking the lowest ready index to keep order.
	indeg := make([]int, len(g.Nodes))
	users := make([][]int, len(g.Nodes))
	for i, ds := range deps {
		indeg[i] = len(ds)
		for _, j := range ds {
			users[j] = append(users[j], i)
		}
	}
	ready := &intHeap{}
	for i, d := range indeg {
		if d == 0 {
			ready.push(i)
		}
	}
	order := make([]*Node, 0, len(g.Nodes))
	for ready.len() > 0 {
		i := ready.pop()
		order = append(order, g.Nodes[i])
		for _, u := range users[i] {
			indeg[u]--
			if indeg[u] == 0 {
				ready.push(u)
			}
		}
	}
	if len(order) != len(g.Nodes) {
		var stuck []string
		for i, d := range indeg {
			if d > 0 {
				stuck = append(stuck, g.Nodes[i].String())
			}
		}
		return &CycleError{Nodes: stuck}
	}
	g.Nodes = order
	return nil
}

// intHeap is a small min-heap of ints.
type intHeap struct{ a []int }

func (h *intHeap) len() int { return len(h.a) }
func (h *intHeap) push(v int) {
	h.a = append(h.a, v)
	for i := len(h.a) - 1; i > 0; {
		p := (i - 1) / 2
		if h.a[p] <= h.a[i] {
			break
		}
		h.a[p], h.a[i] = h.a[i], h.a[p]
		i = p
	}
}
func (h *intHeap) pop() int {
	v := h.a[0]
	last := len(h.a) - 1
	h.a[0] = h.a[last]
	h.a = h.a[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(h.a) && h.a[l] < h.a[m] {
			m = l
		}
		if r < len(h.a) && h.a[r] < h.a[m] {
			m = r
		}
		if m == i {
			break
		}
		h.a[m], h.a[i] = h.a[i], h.a[m]
		i = m
	}
	return v
}
