package ops

import (
	"fmt"
	"sort"
	"strings"

	"github.com/onnxtune/onnxtune/graph"
)

// LowerFunc lowers one IR node: it gets the node's input values (nil for an
// omitted optional input) and returns one value per output (nil for an output
// it does not compute, which must then be unused).
type LowerFunc func(c *Ctx, in []*Value) ([]*Value, error)

// OpInfo is a registered op.
type OpInfo struct {
	Name  string
	Lower LowerFunc
	// Differentiable tells whether gradients flow through the op's float
	// inputs (docs/ops.md lists it).
	Differentiable bool
}

// Registry maps ai.onnx op types to their lowering. Build one with
// NewRegistry; it holds no global state.
type Registry struct {
	ops map[string]OpInfo
}

// NewRegistry returns a registry with every op onnxtune supports.
func NewRegistry() *Registry {
	r := &Registry{ops: make(map[string]OpInfo)}
	registerMath(r)
	registerConv(r)
	registerShape(r)
	registerMatrix(r)
	registerNorm(r)
	return r
}

func (r *Registry) add(name string, diff bool, f LowerFunc) {
	r.ops[name] = OpInfo{Name: name, Lower: f, Differentiable: diff}
}

// Lookup returns the op registered for an IR node.
func (r *Registry) Lookup(n *graph.Node) (OpInfo, bool) {
	if n.Domain != "" && n.Domain != "ai.onnx" {
		return OpInfo{}, false
	}
	o, ok := r.ops[n.OpType]
	return o, ok
}

// Ops lists the registered ops, sorted by name.
func (r *Registry) Ops() []OpInfo {
	out := make([]OpInfo, 0, len(r.ops))
	for _, o := range r.ops {
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// UnsupportedError lists every op of a model the registry lacks, with the
// nodes that use it.
type UnsupportedError struct {
	Ops map[string][]string // qualified op -> node names
}

func (e *UnsupportedError) Error() string {
	names := make([]string, 0, len(e.Ops))
	for op := range e.Ops {
		names = append(names, op)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, op := range names {
		nodes := e.Ops[op]
		shown := nodes
		more := ""
		if len(shown) > 3 {
			shown, more = shown[:3], fmt.Sprintf(" and %d more", len(nodes)-3)
		}
		parts[i] = fmt.Sprintf("%s (%s%s)", op, strings.Join(quote(shown), ", "), more)
	}
	return fmt.Sprintf("unsupported ops: %s", strings.Join(parts, "; "))
}

func quote(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}

// Check returns an *UnsupportedError naming every op of g (and its
// subgraphs) the registry lacks, or nil.
func (r *Registry) Check(g *graph.Graph) error {
	missing := make(map[string][]string)
	var walk func(g *graph.Graph)
	walk = func(g *graph.Graph) {
		for _, n := range g.Nodes {
			if _, ok := r.Lookup(n); !ok {
				name := n.Name
				if name == "" {
					name = strings.Join(n.Outputs, ",")
				}
				missing[n.QualifiedOp()] = append(missing[n.QualifiedOp()], name)
			}
			for _, a := range n.Attrs {
				if a.G != nil {
					walk(a.G)
				}
				for _, sg := range a.Graphs {
					walk(sg)
				}
			}
		}
	}
	walk(g)
	if len(missing) > 0 {
		return &UnsupportedError{Ops: missing}
	}
	return nil
}
