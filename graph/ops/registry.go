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

// OpInfo describes one ai.onnx op: all the engine and graph surgery know
// of it, declared together in the op's file (one value per op, given to
// Registry.add by the file's register function).
type OpInfo struct {
	Name string
	// Lower is the forward: it builds the op's kernels (Ctx.Apply), whose
	// Spec.Grad and Spec.WRT are its gradient. It reads the node's
	// attributes with Ctx.attrs (ONNX defaults, typed, errors naming the
	// node).
	Lower LowerFunc
	// Differentiable tells whether gradients flow through the op's float
	// inputs (docs/ops.md lists it).
	Differentiable bool
	// FusesRelu says the op honours Ctx.FuseRelu: a Relu that is the only
	// reader of its single output runs inside it (see reluFusions).
	FusesRelu bool
	// Inference, when set, rewrites a node of a training-mode export into
	// its inference form (see InferenceRewrite); nil means the node is the
	// same in both.
	Inference InferenceRewrite
	// Params declares the inputs that hold PyTorch parameters (a Conv's
	// weight and bias, say). Package graph names the parameter table from
	// these declarations, through graph/paramslots_gen.go, which
	// "go generate ./graph" writes from them.
	Params []graph.ParamSlot
	// Constants lists the float inputs the op needs to know when the model
	// is compiled (Resize's roi and scales, Clip's bounds): a tensor read
	// only there is never a parameter, whatever its name (graph.ConstantInput,
	// generated like Params).
	Constants []int
}

// InferenceRewrite is an op's part of converting a training-mode export
// into the inference model it stands for. Given the node and read (whether
// the graph, a node or a graph output, reads a value), it checks and
// returns either an error (the conversion is refused: nothing may change),
// or nil when the node has nothing to change, or apply, which changes the
// node in place and returns the values it stopped reading (the caller
// removes what produced them if nothing else reads them). The caller checks
// every node before applying any: all-or-nothing.
type InferenceRewrite func(n *graph.Node, read func(value string) bool) (apply func() (detached []string), err error)

// Registry maps ai.onnx op types to their descriptors. Build one with
// NewRegistry; it holds no global state.
type Registry struct {
	ops map[string]OpInfo
}

// NewRegistry returns a registry with every op onnxtune supports: one
// register function per op file, each adding its ops' descriptors.
func NewRegistry() *Registry {
	r := &Registry{ops: make(map[string]OpInfo)}
	registerMath(r)        // math.go: Add, Sub, Mul, Div, Relu
	registerElementwise(r) // elementwise.go: unary math, variadic, comparisons, logic, Where, Cast
	registerActivations(r) // activation.go: Sigmoid, Tanh, ..., Clip, Softmax
	registerReductions(r)  // reduce.go: Reduce*
	registerMatrix(r)      // matmul.go: Gemm, MatMul
	registerConv(r)        // conv.go: Conv, ConvTranspose
	registerPool(r)        // pool.go: MaxPool, AveragePool, global pools
	registerNorm(r)        // norm.go: BatchNormalization, LayerNormalization
	registerDropout(r)     // dropout.go: Dropout
	registerShape(r)       // shape.go: Reshape, Flatten, Squeeze, Transpose, Expand, Tile, Shape, ...
	registerIndex(r)       // index.go: Concat, Split, Slice, Gather, Pad
	registerConstant(r)    // constant.go: Constant, ConstantOfShape, Range
	registerRecurrent(r)   // recurrent.go: LSTM, GRU, RNN
	registerResize(r)      // resize.go: Resize, Upsample
	registerControl(r)     // control.go: If, Loop
	registerQuant(r)       // quant.go: QuantizeLinear, DequantizeLinear
	registerMore(r)        // more.go: further ops of today's PyTorch exports
	registerGroupNorm(r)   // norm_group.go: InstanceNormalization, GroupNormalization
	registerEinsum(r)      // einsum.go: Einsum
	registerMoreUnary(r)   // more_unary.go: Softsign, Celu, ThresholdedRelu, Shrink, Sign, Round
	registerMoreSelect(r)  // more_select.go: Trilu, ArgMax, ArgMin
	return r
}

// weightBias is the Params of ops whose inputs 1 and 2 are a module's weight
// and bias (Conv, LayerNormalization, ...).
var weightBias = []graph.ParamSlot{{Input: 1, Suffix: "weight"}, {Input: 2, Suffix: "bias"}}

// add registers an op's descriptor.
func (r *Registry) add(o OpInfo) {
	if _, dup := r.ops[o.Name]; dup {
		panic("ops: " + o.Name + " registered twice")
	}
	r.ops[o.Name] = o
}

// Lookup returns the op registered for an IR node.
func (r *Registry) Lookup(n *graph.Node) (OpInfo, bool) {
	if n.Domain != "" && n.Domain != "ai.onnx" {
		return OpInfo{}, false
	}
	o, ok := r.ops[n.OpType]
	return o, ok
}

// Inference returns the inference rewrite of node n's op, or nil (an op
// not registered, or one that is the same in both forms).
func (r *Registry) Inference(n *graph.Node) InferenceRewrite {
	o, _ := r.Lookup(n)
	return o.Inference
}

// removeAttr deletes a node's attribute.
func removeAttr(n *graph.Node, name string) {
	kept := n.Attrs[:0]
	for _, a := range n.Attrs {
		if a.Name != name {
			kept = append(kept, a)
		}
	}
	n.Attrs = kept
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

// CheckModel is Check on m's inlined graph (m.Inlined), where calls of
// local functions are replaced by their bodies: the ops the engine would
// run. A model whose calls cannot be inlined fails with the
// *graph.InlineError.
func (r *Registry) CheckModel(m *graph.Model) error {
	g, err := m.Inlined()
	if err != nil {
		return err
	}
	return r.Check(g)
}

// Check returns an *UnsupportedError naming every op of g (and its
// subgraphs) the registry lacks, or nil. A node calling a local function
// counts as an op the registry lacks: check a model with CheckModel.
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
