package ops

import (
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// ShareBuffers lets the kernels of sub, the graph a tape machine is about
// to run (G.NewTapeMachine(sub)), compute into shared output buffers: a
// kernel that keeps its output buffer across runs (one with an IntoKernel)
// is given the buffer of an earlier value of the same element type and
// size whose last reader has run. The machine runs sub's nodes in the
// reverse of G.Sort's order, which gives each value its last reader.
//
// It is conservative where it cannot see inside an op: the output of an
// op that is not such a kernel (gorgonia's own ops, kernels returning a
// new tensor) may be a view of its inputs, so those inputs live as long as
// that output; a kernel whose value lives while a gorgonia op of its size
// and type holds one gets a buffer of its own (gorgonia's ops may write
// into the previous value of their register); the values of keep (read
// after the run) and values no node of sub reads are never shared. A
// buffer that served another value is cleared before each run of its
// next kernel, as a new one would be, unless that kernel overwrites every
// element (Spec.Overwrites). It returns the number of bytes the plan
// saves.
//
// Call it once, before the machine first runs.
func ShareBuffers(sub *G.ExprGraph, keep G.Nodes) (saved int64, err error) {
	defer recoverTo(&err)
	order, err := G.Sort(sub)
	if err != nil {
		return 0, err
	}
	for i, j := 0, len(order)-1; i < j; i, j = i+1, j-1 {
		order[i], order[j] = order[j], order[i]
	}
	const forever = int(^uint(0) >> 1)
	pos := make(map[*G.Node]int, len(order))
	last := make(map[*G.Node]int, len(order))
	for i, n := range order {
		pos[n] = i
		last[n] = -1
	}
	for _, n := range keep {
		last[n] = forever
	}
	type sizeKey struct {
		dt    tensor.Dtype
		elems int
	}
	native := make(map[sizeKey][]*G.Node)
	// Union-find over nodes: a group is a set of values that may share
	// memory; it lives until the last reader of any of them.
	parent := make(map[*G.Node]*G.Node, len(order))
	var find func(n *G.Node) *G.Node
	find = func(n *G.Node) *G.Node {
		p, ok := parent[n]
		if !ok || p == n {
			return n
		}
		r := find(p)
		parent[n] = r
		return r
	}
	union := func(a, b *G.Node) {
		if ra, rb := find(a), find(b); ra != rb {
			parent[ra] = rb
		}
	}
	for i, n := range order {
		children := childrenOf(n)
		for _, c := range children {
			if _, in := pos[c]; in && last[c] < i {
				last[c] = i
			}
		}
		if n.Op() == nil {
			continue
		}
		if k, ok := n.Op().(*kernelOp); ok && k.into != nil {
			continue
		}
		if _, ok := n.Op().(*kernelOp); !ok && !n.IsScalar() {
			key := sizeKey{n.Dtype(), n.Shape().TotalSize()}
			native[key] = append(native[key], n)
		}
		for _, c := range children {
			union(c, n)
		}
	}
	end := make(map[*G.Node]int)
	for _, n := range order {
		l := last[n]
		if l < 0 { // read by nothing here: a root, or kept by the caller
			l = forever
		}
		if r := find(n); l > end[r] {
			end[r] = l
		}
	}
	// Within a run, gorgonia's own ops may write into the previous value
	// of their register: any dead buffer of their size. A buffer handed
	// on from a dead value is safe for a kernel only when no such op of
	// its size holds a value while the kernel's value lives.
	overlapsNative := func(key sizeKey, def, until int) bool {
		for _, x := range native[key] {
			if pos[x] <= until && def <= end[find(x)] {
				return true
			}
		}
		return false
	}
	type slot struct {
		buf   *tensor.Dense
		until int
	}
	free := make(map[sizeKey][]*slot)
	for i, n := range order {
		k, ok := n.Op().(*kernelOp)
		if !ok || k.into == nil || k.dst != nil || len(k.shape) == 0 {
			continue
		}
		key := sizeKey{k.dt, k.shape.TotalSize()}
		until := end[find(n)]
		var s *slot
		for _, c := range free[key] {
			if c.until < i && !overlapsNative(key, i, until) {
				s = c
				break
			}
		}
		if s == nil {
			s = &slot{buf: tensor.New(tensor.WithShape(key.elems), tensor.Of(key.dt)), until: -1}
			free[key] = append(free[key], s)
		} else {
			k.clear = !k.overwrites
			saved += int64(key.elems) * int64(key.dt.Size())
		}
		s.until = until
		k.dst = tensor.New(tensor.WithShape(k.shape...), tensor.WithBacking(s.buf.Data()))
	}
	return saved, nil
}
