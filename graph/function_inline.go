package graph

import (
	"fmt"
	"strconv"
	"strings"
)

// DefaultMaxInlined bounds how many nodes inlining may add to a graph. A
// function called many times, nested a few levels deep, multiplies: a
// 2 KB file whose 20 functions each call the next twice would expand to a
// million nodes. Each inlined node costs about 1 KiB and a few
// microseconds (measured: 2^17 nodes in 0.6 s, 105 MiB allocated), so the
// bound keeps a hostile file under a few hundred MiB and seconds. An
// export inlines to about the nodes of the same model exported without
// functions (PyTorch wraps modules, each called once, and small library
// functions), far fewer for any model onnxtune trains. Library users can
// raise it with InlinedWith.
const DefaultMaxInlined = 1 << 18

// InlineError reports a model whose function calls cannot be inlined: a
// function calling itself, a call to a function the model does not define,
// a body that reads a name it does not define, too many nodes in all.
type InlineError struct {
	Node     string // the call in the main graph, as Node.String gives it
	Function string // the function concerned, as Function.String gives it
	Reason   string
}

func (e *InlineError) Error() string {
	s := "local function " + e.Function + ": " + e.Reason
	if e.Node != "" {
		s = "node " + e.Node + ": " + s
	}
	return oneLine.Replace(s) // names come from the file
}

var oneLine = strings.NewReplacer("\n", `\n`, "\r", `\r`)

// Inlined returns the graph the engine runs: m.Graph where every node that
// calls a local function (LocalFunctions) is replaced by the function's
// body, recursively (calls in bodies, calls in subgraphs). Each call's
// formal inputs and outputs are bound to the call's own (an omitted input
// is ""); the body's other values and its nodes get fresh names, unique in
// the graph, made from the call node's name and the body's names
// ("/fc0/Call/node_MatMul_0"), so errors still lead to the call; attribute
// references (ref_attr_name) take the call's attribute or the function's
// default, and are dropped when neither gives one. Body nodes run at the
// model's opset: ONNX asks a function's imports to give its ops the same
// definitions as the model's.
//
// A model without local functions gets m.Graph itself. Otherwise the result
// is a new Graph that shares the nodes, attributes, tensors and value infos
// m.Graph keeps: read it, do not change it. It fails with an *InlineError
// when a function calls itself, directly or not, when a node in a domain
// of local functions calls one the model lacks, when a body is not well
// formed, or when inlining would add more than DefaultMaxInlined nodes
// (counted before anything is built).
func (m *Model) Inlined() (*Graph, error) {
	g, _, err := m.inline(DefaultMaxInlined)
	return g, err
}

// InlinedWith is Inlined with a bound of max added nodes (<= 0:
// DefaultMaxInlined).
func (m *Model) InlinedWith(max int) (*Graph, error) {
	if max <= 0 {
		max = DefaultMaxInlined
	}
	g, _, err := m.inline(max)
	return g, err
}

// inline is Inlined; the inliner it returns (nil when nothing was inlined)
// tells where each node of a body came from.
func (m *Model) inline(max int) (*Graph, *inliner, error) {
	if m.Graph == nil || len(m.LocalFunctions) == 0 {
		return m.Graph, nil, nil
	}
	in := &inliner{
		funcs:    make(map[funcKey]*Function, len(m.LocalFunctions)),
		domains:  make(map[string]bool),
		values:   make(map[string]bool),
		nodes:    make(map[string]bool),
		prefixes: make(map[string]bool),
		origin:   make(map[*Node]*Node),
		source:   make(map[*Node]*Node),
		sizes:    make(map[*Function]int),
		visiting: make(map[*Function]bool),
		max:      max,
	}
	for _, f := range m.LocalFunctions {
		if f == nil {
			continue
		}
		k := keyOf(f.Domain, f.Name, f.Overload)
		if _, dup := in.funcs[k]; dup {
			return nil, nil, &InlineError{Function: f.String(), Reason: "defined twice"}
		}
		in.funcs[k] = f
		in.domains[k.domain] = true
	}
	if !in.calls(m.Graph) {
		return m.Graph, nil, nil
	}
	// Count first: a blow-up fails here, before anything is built.
	total := 0
	var count func(g *Graph, owner *Node) error
	count = func(g *Graph, owner *Node) error {
		for _, n := range g.Nodes {
			top := owner
			if top == nil {
				top = n
			}
			f, err := in.callee(n)
			if err != nil {
				return withNode(err, top)
			}
			if f != nil {
				s, err := in.size(f, nil)
				if err != nil {
					return withNode(err, top)
				}
				if total += s; total > max {
					return &InlineError{Node: top.String(), Function: f.String(),
						Reason: fmt.Sprintf("calls would expand the graph by more than %d nodes", max)}
				}
			}
			for _, a := range n.Attrs {
				for _, sg := range a.subgraphs() {
					if err := count(sg, top); err != nil {
						return err
					}
				}
			}
		}
		return nil
	}
	if err := count(m.Graph, nil); err != nil {
		return nil, nil, err
	}
	// Room for what the count says is coming, so the maps do not grow
	// step by step.
	in.values = make(map[string]bool, 2*(total+len(m.Graph.Nodes)))
	in.nodes = make(map[string]bool, total+len(m.Graph.Nodes))
	in.origin = make(map[*Node]*Node, total)
	in.source = make(map[*Node]*Node, total)
	in.names(m.Graph)
	g, err := in.top(m.Graph, nil)
	if err != nil {
		return nil, nil, err
	}
	return g, in, nil
}

// withNode names the main-graph node top in an *InlineError that names none.
func withNode(err error, top *Node) error {
	if e, ok := err.(*InlineError); ok && e.Node == "" {
		c := *e
		c.Node = top.String()
		return &c
	}
	return err
}

// standardDomains hold ops, never local functions, even when a model
// declares a function in one of them.
var standardDomains = map[string]bool{"": true, "ai.onnx.ml": true, "com.microsoft": true,
	"ai.onnx.preview.training": true, "ai.onnx.training": true}

type inliner struct {
	funcs    map[funcKey]*Function
	domains  map[string]bool   // domains local functions are declared in
	values   map[string]bool   // value names in use
	nodes    map[string]bool   // node names in use
	prefixes map[string]bool   // name prefixes given to calls
	origin   map[*Node]*Node   // node of a body -> the main-graph node whose call it came from
	source   map[*Node]*Node   // node of a body -> the function's node it copies
	sizes    map[*Function]int // nodes a call adds, at most max+1
	visiting map[*Function]bool
	added    int // nodes added so far
	max      int
	extraVI  []*ValueInfo // value infos of inlined bodies, renamed
}

// callee returns the local function n calls, nil for an op, or an error
// for a call to a function the model does not define.
func (in *inliner) callee(n *Node) (*Function, error) {
	k := keyOf(n.Domain, n.OpType, n.Overload)
	if f, ok := in.funcs[k]; ok {
		return f, nil
	}
	if in.domains[k.domain] && !standardDomains[k.domain] {
		q := n.QualifiedOp()
		if n.Overload != "" {
			q += ":" + n.Overload
		}
		return nil, &InlineError{Function: q, Reason: "the model defines no such function"}
	}
	return nil, nil
}

// calls reports whether g or its subgraphs call a local function.
func (in *inliner) calls(g *Graph) bool {
	for _, n := range g.Nodes {
		if in.funcs[keyOf(n.Domain, n.OpType, n.Overload)] != nil {
			return true
		}
		if _, err := in.callee(n); err != nil {
			return true // reported by the count
		}
		if in.callsBelow(n) {
			return true
		}
	}
	return false
}

// callsBelow reports whether a subgraph of n calls a local function.
func (in *inliner) callsBelow(n *Node) bool {
	for _, a := range n.Attrs {
		for _, sg := range a.subgraphs() {
			if in.calls(sg) {
				return true
			}
		}
	}
	return false
}

// size returns how many nodes one call of f adds (saturating at max+1):
// its body with every call in it counted as its callee's size, plus the
// Identity nodes that forward an input to an output. path lists the
// functions being counted, to report a cycle.
func (in *inliner) size(f *Function, path []*Function) (int, error) {
	if s, ok := in.sizes[f]; ok {
		return s, nil
	}
	if in.visiting[f] {
		chain := make([]string, 0, len(path)+1)
		start := 0
		for i, p := range path {
			if p == f {
				start = i
			}
		}
		for _, p := range path[start:] {
			chain = append(chain, p.String())
		}
		chain = append(chain, f.String())
		return 0, &InlineError{Function: f.String(), Reason: "calls itself (" + strings.Join(chain, " -> ") + ")"}
	}
	in.visiting[f] = true
	defer delete(in.visiting, f)
	path = append(path, f)
	add := func(a, b int) int {
		if a+b > in.max {
			return in.max + 1
		}
		return a + b
	}
	var nodes func(ns []*Node) (int, error)
	nodes = func(ns []*Node) (int, error) {
		s := 0
		for _, n := range ns {
			if n == nil {
				return 0, &InlineError{Function: f.String(), Reason: "its body has an empty node"}
			}
			c, err := in.callee(n)
			if err != nil {
				return 0, err
			}
			if c == nil {
				s = add(s, 1)
			} else {
				cs, err := in.size(c, path)
				if err != nil {
					return 0, err
				}
				s = add(s, cs)
			}
			for _, a := range n.Attrs {
				for _, sg := range a.subgraphs() {
					gs, err := nodes(sg.Nodes)
					if err != nil {
						return 0, err
					}
					s = add(s, gs)
				}
			}
		}
		return s, nil
	}
	s, err := nodes(f.Nodes)
	if err != nil {
		return 0, err
	}
	// Identity nodes: an output that is an input, or an earlier output.
	seen := make(map[string]bool, len(f.Inputs)+len(f.Outputs))
	for _, v := range f.Inputs {
		seen[v] = true
	}
	for _, o := range f.Outputs {
		if seen[o] {
			s = add(s, 1)
		}
		seen[o] = true
	}
	in.sizes[f] = s
	return s, nil
}

// names records every value and node name of g and its subgraphs as taken.
func (in *inliner) names(g *Graph) {
	for _, list := range [][]*ValueInfo{g.Inputs, g.Outputs, g.ValueInfo} {
		for _, v := range list {
			in.values[v.Name] = true
		}
	}
	for _, t := range g.Initializers {
		in.values[t.Name] = true
	}
	for _, n := range g.Nodes {
		in.nodes[n.Name] = true
		for _, v := range n.Inputs {
			in.values[v] = true
		}
		for _, v := range n.Outputs {
			in.values[v] = true
		}
		for _, a := range n.Attrs {
			for _, sg := range a.subgraphs() {
				in.names(sg)
			}
		}
	}
}

// join names a body's node or value inside a call: "/layer.0/Dense" and
// "/dense/Gemm" give "/layer.0/Dense/dense/Gemm".
func join(prefix, name string) string {
	return prefix + "/" + strings.TrimPrefix(name, "/")
}

// unique returns base, or base with the first free "_N" suffix, and takes it.
func unique(taken map[string]bool, base string) string {
	name := base
	for i := 1; taken[name]; i++ {
		name = base + "_" + strconv.Itoa(i)
	}
	taken[name] = true
	return name
}

// top returns g (a graph of the model, whose names stay) with its calls
// inlined. owner is the main-graph node g belongs to (nil for the main
// graph).
func (in *inliner) top(g *Graph, owner *Node) (*Graph, error) {
	out := *g
	out.Nodes = make([]*Node, 0, len(g.Nodes))
	for _, n := range g.Nodes {
		origin := owner
		if origin == nil {
			origin = n
		}
		f, err := in.callee(n)
		if err != nil {
			return nil, withNode(err, origin)
		}
		if f != nil {
			if out.Nodes, err = in.call(out.Nodes, n, f, origin); err != nil {
				return nil, withNode(err, origin)
			}
			continue
		}
		nn := n
		if in.callsBelow(n) {
			c := *n
			c.Attrs = make([]*Attribute, len(n.Attrs))
			for i, a := range n.Attrs {
				c.Attrs[i] = a
				if a.G == nil && len(a.Graphs) == 0 {
					continue
				}
				ca := *a
				if a.G != nil {
					if ca.G, err = in.top(a.G, origin); err != nil {
						return nil, err
					}
				}
				ca.Graphs = make([]*Graph, len(a.Graphs))
				for k, sg := range a.Graphs {
					if ca.Graphs[k], err = in.top(sg, origin); err != nil {
						return nil, err
					}
				}
				c.Attrs[i] = &ca
			}
			nn = &c
		}
		out.Nodes = append(out.Nodes, nn)
	}
	if owner == nil {
		out.ValueInfo = append(g.ValueInfo[:len(g.ValueInfo):len(g.ValueInfo)], in.extraVI...)
	}
	if err := out.SortTopological(); err != nil {
		what := "the inlined graph"
		if owner != nil {
			what = "a subgraph of node " + owner.String() + " once inlined"
		}
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return &out, nil
}

// scope maps the names of a function body (or of a subgraph in one) to
// their names in the inlined graph. A body sees only its own names; a
// subgraph also sees the names of the scopes around it.
type scope struct {
	names  map[string]string
	parent *scope
}

func (s *scope) lookup(name string) (string, bool) {
	for ; s != nil; s = s.parent {
		if v, ok := s.names[name]; ok {
			return v, true
		}
	}
	return "", false
}

// frame is one call being inlined.
type frame struct {
	fn     *Function
	call   *Node // the call, in the caller's names, its attributes resolved
	origin *Node // the main-graph node it comes from
	prefix string
}

func (fr *frame) errorf(format string, args ...any) error {
	return &InlineError{Function: fr.fn.String(), Reason: fmt.Sprintf(format, args...)}
}

// call appends to out the body of f for the call node call (in the
// caller's names).
func (in *inliner) call(out []*Node, call *Node, f *Function, origin *Node) ([]*Node, error) {
	base := call.Name
	if base == "" {
		base = f.Name
	}
	fr := &frame{fn: f, call: call, origin: origin, prefix: unique(in.prefixes, base)}
	if len(call.Inputs) > len(f.Inputs) {
		return nil, fr.errorf("called with %d inputs, it takes %d", len(call.Inputs), len(f.Inputs))
	}
	if len(call.Outputs) > len(f.Outputs) {
		return nil, fr.errorf("called with %d outputs, it has %d", len(call.Outputs), len(f.Outputs))
	}
	sc := &scope{names: make(map[string]string, len(f.Inputs)+2*len(f.Nodes))}
	for i, name := range f.Inputs {
		if name == "" {
			return nil, fr.errorf("input %d has no name", i)
		}
		if _, dup := sc.names[name]; dup {
			return nil, fr.errorf("input %q is declared twice", name)
		}
		actual := ""
		if i < len(call.Inputs) {
			actual = call.Inputs[i]
		}
		sc.names[name] = actual
	}
	// What the body defines, then the outputs bound to the call's, then
	// fresh names for the rest.
	defined := make(map[string]bool, len(f.Nodes))
	var order []string
	for _, n := range f.Nodes {
		if n == nil {
			return nil, fr.errorf("its body has an empty node")
		}
		for _, o := range n.Outputs {
			if o == "" {
				continue
			}
			if _, isInput := sc.names[o]; isInput || defined[o] {
				return nil, fr.errorf("node %s defines %q, which is already defined", n, o)
			}
			defined[o] = true
			order = append(order, o)
		}
	}
	type forward struct{ from, to string }
	var forwards []forward
	for j, o := range f.Outputs {
		if j >= len(call.Outputs) || call.Outputs[j] == "" {
			if _, isInput := sc.names[o]; !isInput && !defined[o] {
				return nil, fr.errorf("output %q is not computed by the function", o)
			}
			continue
		}
		_, bound := sc.names[o]
		switch {
		case defined[o] && !bound:
			sc.names[o] = call.Outputs[j]
		case defined[o] || bound:
			forwards = append(forwards, forward{o, call.Outputs[j]})
		default:
			return nil, fr.errorf("output %q is not computed by the function", o)
		}
	}
	for _, o := range order {
		if _, ok := sc.names[o]; !ok {
			sc.names[o] = unique(in.values, join(fr.prefix, o))
		}
	}
	var err error
	for _, n := range f.Nodes {
		if out, err = in.body(out, n, sc, fr); err != nil {
			return nil, err
		}
	}
	for _, fw := range forwards {
		src, _ := sc.lookup(fw.from)
		id := &Node{Name: unique(in.nodes, join(fr.prefix, "Identity")), OpType: "Identity", Inputs: []string{src}, Outputs: []string{fw.to}}
		if out, err = in.add(out, id, nil, fr); err != nil {
			return nil, err
		}
	}
	for _, v := range f.ValueInfo {
		if name, ok := sc.names[v.Name]; ok && name != "" && v.Name != "" {
			c := *v
			c.Name = name
			in.extraVI = append(in.extraVI, &c)
		}
	}
	return out, nil
}

// add appends n, a node of an inlined body copied from src (nil for a
// node inlining made), to out, counting it.
func (in *inliner) add(out []*Node, n, src *Node, fr *frame) ([]*Node, error) {
	if in.added++; in.added > in.max {
		return nil, fr.errorf("calls would expand the graph by more than %d nodes", in.max)
	}
	in.origin[n] = fr.origin
	if src != nil {
		in.source[n] = src
	}
	return append(out, n), nil
}

// body appends to out the nodes that body node n becomes: n renamed, or,
// when n calls a function, that function's body.
func (in *inliner) body(out []*Node, n *Node, sc *scope, fr *frame) ([]*Node, error) {
	nn := *n
	label := n.Name
	if label == "" {
		label = n.OpType
	}
	nn.Name = unique(in.nodes, join(fr.prefix, label))
	nn.Inputs = make([]string, len(n.Inputs))
	for i, v := range n.Inputs {
		if v == "" {
			continue
		}
		name, ok := sc.lookup(v)
		if !ok {
			return nil, fr.errorf("node %s reads %q, which is neither an input of the function nor computed in it", n, v)
		}
		nn.Inputs[i] = name
	}
	nn.Outputs = make([]string, len(n.Outputs))
	for i, v := range n.Outputs {
		if v != "" {
			nn.Outputs[i], _ = sc.lookup(v)
		}
	}
	attrs, err := in.attrs(n, sc, fr)
	if err != nil {
		return nil, err
	}
	nn.Attrs = attrs
	f, err := in.callee(&nn)
	if err != nil {
		return nil, err
	}
	if f != nil {
		return in.call(out, &nn, f, fr.origin)
	}
	return in.add(out, &nn, n, fr)
}

// attrs returns n's attributes with references resolved and subgraphs
// renamed into the inlined graph.
func (in *inliner) attrs(n *Node, sc *scope, fr *frame) ([]*Attribute, error) {
	var out []*Attribute
	for _, a := range n.Attrs {
		if a == nil {
			continue
		}
		if a.RefAttrName != "" {
			v := fr.call.Attr(a.RefAttrName)
			if v == nil {
				v = fr.fn.Default(a.RefAttrName)
			}
			if v == nil {
				continue // neither given nor defaulted: the attribute is absent
			}
			if a.Type != AttrUndefined && v.Type != AttrUndefined && v.Type != a.Type {
				return nil, fr.errorf("node %s: attribute %q refers to %q, a %s, given a %s", n, a.Name, a.RefAttrName, attrTypeName(a.Type), attrTypeName(v.Type))
			}
			c := *v
			c.Name, c.RefAttrName = a.Name, ""
			out = append(out, &c)
			continue
		}
		if a.G == nil && len(a.Graphs) == 0 {
			out = append(out, a)
			continue
		}
		c := *a
		var err error
		if a.G != nil {
			if c.G, err = in.subgraph(a.G, sc, fr); err != nil {
				return nil, err
			}
		}
		c.Graphs = make([]*Graph, len(a.Graphs))
		for i, g := range a.Graphs {
			if c.Graphs[i], err = in.subgraph(g, sc, fr); err != nil {
				return nil, err
			}
		}
		out = append(out, &c)
	}
	return out, nil
}

// subgraph returns g, a subgraph of a body node, renamed into the inlined
// graph, with its calls inlined.
func (in *inliner) subgraph(g *Graph, outer *scope, fr *frame) (*Graph, error) {
	sc := &scope{names: make(map[string]string), parent: outer}
	define := func(name string) error {
		if name == "" {
			return nil
		}
		if _, dup := sc.names[name]; dup {
			return fr.errorf("a subgraph defines %q twice", name)
		}
		sc.names[name] = unique(in.values, join(fr.prefix, name))
		return nil
	}
	out := *g
	out.Inputs = make([]*ValueInfo, len(g.Inputs))
	for i, v := range g.Inputs {
		if err := define(v.Name); err != nil {
			return nil, err
		}
		c := *v
		c.Name = sc.names[v.Name]
		out.Inputs[i] = &c
	}
	out.Initializers = make([]*Tensor, len(g.Initializers))
	for i, t := range g.Initializers {
		if _, isInput := sc.names[t.Name]; !isInput {
			if err := define(t.Name); err != nil {
				return nil, err
			}
		}
		c := *t
		c.Name = sc.names[t.Name]
		out.Initializers[i] = &c
	}
	for _, n := range g.Nodes {
		for _, o := range n.Outputs {
			if err := define(o); err != nil {
				return nil, err
			}
		}
	}
	out.Nodes = nil
	var err error
	for _, n := range g.Nodes {
		if out.Nodes, err = in.body(out.Nodes, n, sc, fr); err != nil {
			return nil, err
		}
	}
	out.Outputs = make([]*ValueInfo, len(g.Outputs))
	for i, v := range g.Outputs {
		name, ok := sc.lookup(v.Name)
		if !ok {
			return nil, fr.errorf("a subgraph's output %q is not computed", v.Name)
		}
		c := *v
		c.Name = name
		out.Outputs[i] = &c
	}
	out.ValueInfo = nil
	for _, v := range g.ValueInfo {
		if name, ok := sc.lookup(v.Name); ok {
			c := *v
			c.Name = name
			out.ValueInfo = append(out.ValueInfo, &c)
		}
	}
	if err := out.SortTopological(); err != nil {
		return nil, fr.errorf("a subgraph: %v", err)
	}
	return &out, nil
}

// attrTypeName is the name ONNX gives an attribute type ("INT", "FLOATS").
func attrTypeName(t AttrType) string {
	names := [...]string{"UNDEFINED", "FLOAT", "INT", "STRING", "TENSOR", "GRAPH", "FLOATS", "INTS",
		"STRINGS", "TENSORS", "GRAPHS", "SPARSE_TENSOR", "SPARSE_TENSORS", "TYPE_PROTO", "TYPE_PROTOS"}
	if t >= 0 && int(t) < len(names) {
		return names[t]
	}
	return "type " + strconv.Itoa(int(t))
}

// throughIdentity returns consumers (of the inlined graph) where a read by
// an Identity node of a body (a function passing a formal input on, or
// renaming it) stands for the reads of that Identity's output.
func (in *inliner) throughIdentity(consumers map[string][]Use) map[string][]Use {
	passes := func(u Use) bool {
		return in.origin[u.Node] != nil && u.Node.OpType == "Identity" && u.Index == 0 && len(u.Node.Outputs) == 1 && u.Node.Outputs[0] != ""
	}
	out := make(map[string][]Use, len(consumers))
	for v, uses := range consumers {
		var list []Use
		seen := make(map[string]bool) // an Identity chain is acyclic in a sorted graph; be sure
		queue := uses
		for len(queue) > 0 {
			u := queue[0]
			queue = queue[1:]
			if !passes(u) {
				list = append(list, u)
				continue
			}
			if o := u.Node.Outputs[0]; !seen[o] {
				seen[o] = true
				queue = append(queue, consumers[o]...)
			}
		}
		out[v] = list
	}
	return out
}
