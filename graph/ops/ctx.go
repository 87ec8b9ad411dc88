package ops

import (
	"fmt"
	"math/rand"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph"
)

// Ctx is what a lowering function gets: the graph being built, the IR node,
// the opset it is read under, and the mode.
type Ctx struct {
	G     *G.ExprGraph
	Node  *graph.Node
	Opset int64 // version of the node's domain imported by the model
	Train bool  // training semantics: BatchNorm batch statistics, Dropout active
	// EvalBatchNorm is Options.EvalBatchNorm.
	EvalBatchNorm map[string]bool
	Rand          *rand.Rand
	// Updates collects side effects of a training step that are not
	// gradients, such as BatchNorm running statistics (see Update).
	Updates *[]Update
	// FuseRelu asks the op to apply Relu to its output (only for ops whose
	// OpInfo.FusesRelu is set: Conv, BatchNormalization and same-shape Add
	// honour it, see reluFusions).
	FuseRelu bool
	// ReluFused is set by an op that honoured FuseRelu (or the request of
	// fuseClip).
	ReluFused bool
	// ConstParams says the parameters' values are fixed for the program's
	// life (inference without Options.Params): ops may prepare them once
	// (Conv packs its weights for the GEMM).
	ConstParams bool

	// fuseClip asks the op to apply a Clip with constant bounds, of type
	// fuseClipType, to its output (Conv and BatchNormalization honour it
	// for an output of that type, see clip_fused.go).
	fuseClip     *clipEpi
	fuseClipType graph.DType
	// expand links a Conv with the other of an expansion and depthwise
	// pair run as one (conv_expand.go).
	expand *convExpand
	// uses counts the nodes reading each value of the graph (valueUses;
	// nil outside Compile's main graph): a fusion into the one reader of a
	// value checks it.
	uses map[string]int

	seq      *int
	maxBytes int64       // Options.MaxBytes (see limit)
	total    *int64      // bytes of the values the program holds so far (see hold)
	attr     *attrReader // see attrs
	outer    *scope      // the graph around the node, for subgraphs (see control.go)
}

// Update is a value a training step writes back to an initializer after the
// machine runs (BatchNorm's running mean and variance).
type Update struct {
	Initializer string
	Node        *G.Node // its new value
}

// Spec describes one kernel application.
type Spec struct {
	Name  string      // label for errors and gorgonia's graph
	Shape []int       // output shape
	DType graph.DType // output element type
	Fwd   Kernel
	// Into, when set, computes the output into a buffer the op keeps from
	// one run to the next (Fwd may then be nil: it is derived from Into).
	// Hot kernels use it so a training step does not allocate and fault in
	// fresh memory for every activation and gradient.
	Into IntoKernel
	// Overwrites says Into writes every element of its output whatever
	// the buffer held (NaNs included), so that a buffer ShareBuffers hands
	// on to it from another value needs no clearing first.
	Overwrites bool
	Grad       GradFunc // nil: not differentiable
	WRT        []bool   // which inputs Grad gives gradients for
	// NoFold keeps the op in the graph even when every input is constant
	// (random ops).
	NoFold bool
}

// Apply applies a kernel to values: at compile time when every input is
// constant, else as a node of the graph.
func (c *Ctx) Apply(s Spec, in ...*Value) (*Value, error) {
	if err := c.checkShape(s.Name+" output", s.Shape, s.DType); err != nil {
		return nil, err
	}
	fold := !s.NoFold
	for _, v := range in {
		if !v.IsConst() {
			fold = false
		}
	}
	if err := c.hold(s.Shape, s.DType, !fold); err != nil {
		return nil, err
	}
	if fold {
		ts := make([]*tensor.Dense, len(in))
		for i, v := range in {
			ts[i] = v.Const
		}
		out, err := foldKernel(s.kernel(), ts)
		if err != nil {
			if s.Name == c.Node.OpType {
				return nil, err // Compile names the node
			}
			return nil, fmt.Errorf("%s: %w", s.Name, err)
		}
		v, err := ConstValue(out)
		if v != nil {
			v.held = true
		}
		return v, err
	}
	nodes := make(G.Nodes, len(in))
	for i, v := range in {
		n, err := c.NodeOf(v)
		if err != nil {
			return nil, err
		}
		nodes[i] = n
	}
	*c.seq++
	n, err := newNode(c.G, fmt.Sprintf("%s#%d", c.Node.Name, *c.seq), s, c.Node, nodes...)
	if err != nil {
		return nil, err
	}
	return &Value{Node: n, Shape: s.Shape, DType: s.DType, held: true}, nil
}

// NodeOf returns v as a graph node: for a constant, a new input node with
// its value bound. The constant stays one for its other readers (an
// integer read by Equal and also as CumSum's axis, say).
func (c *Ctx) NodeOf(v *Value) (*G.Node, error) {
	if !v.IsConst() {
		return v.Node, nil
	}
	*c.seq++
	return constNode(c.G, fmt.Sprintf("const#%d", *c.seq), v.Const)
}

func constNode(g *G.ExprGraph, name string, t *tensor.Dense) (n *G.Node, err error) {
	defer recoverTo(&err)
	if t.Dims() == 0 {
		// A float scalar's node shares the tensor's one element, as a
		// tensor's node shares its backing: an optimizer updating a 0-d
		// parameter in place is what the next step reads.
		if d, err := Data[float32](t); err == nil {
			return G.NewScalar(g, t.Dtype(), G.WithName(name), G.WithValue((*G.F32)(&d[0]))), nil
		}
		if d, err := Data[float64](t); err == nil {
			return G.NewScalar(g, t.Dtype(), G.WithName(name), G.WithValue((*G.F64)(&d[0]))), nil
		}
		v, err := scalarValue(t)
		if err != nil {
			return nil, err
		}
		return G.NewScalar(g, t.Dtype(), G.WithName(name), G.WithValue(v)), nil
	}
	return G.NewTensor(g, t.Dtype(), t.Dims(), G.WithName(name), G.WithShape(t.Shape()...), G.WithValue(t)), nil
}

// NewNode applies a kernel to nodes of g. Gradient functions use it to build
// their backward nodes; key must be unique in g.
func NewNode(g *G.ExprGraph, key string, s Spec, in ...*G.Node) (n *G.Node, err error) {
	return newNode(g, key, s, nil, in...)
}

// newNode is NewNode for a kernel that computes node (named in its errors).
func newNode(g *G.ExprGraph, key string, s Spec, node *graph.Node, in ...*G.Node) (n *G.Node, err error) {
	defer recoverTo(&err)
	dt, err := tensorDtype(s.DType)
	if err != nil {
		return nil, err
	}
	op := &kernelOp{name: s.Name, key: key, shape: tensor.Shape(append([]int{}, s.Shape...)),
		out: typeOf(len(s.Shape), dt), dt: dt, fwd: s.kernel(), grad: s.Grad, wrt: s.WRT, node: node}
	if len(s.Shape) > 0 {
		op.into, op.overwrites = s.Into, s.Overwrites
	}
	for _, x := range in {
		op.in = append(op.in, typeOf(x.Dims(), x.Dtype()))
	}
	if s.Grad != nil && len(op.wrt) != len(in) {
		return nil, fmt.Errorf("%s: gradient flags for %d inputs, have %d", s.Name, len(op.wrt), len(in))
	}
	return G.ApplyOp(op, in...)
}

// recoverTo turns a panic inside gorgonia into an error.
func recoverTo(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("gorgonia: %v", r)
	}
}

// ShapeOf returns a node's shape as ints (rank 0 for scalars).
func ShapeOf(n *G.Node) []int {
	if n.IsScalar() {
		return []int{}
	}
	return append([]int{}, n.Shape()...)
}

// DTypeOf returns a node's ONNX element type.
func DTypeOf(n *G.Node) graph.DType {
	d, _ := fromTensorDtype(n.Dtype())
	return d
}

// foldKernel runs a kernel at compile time, turning a panic into an error.
func foldKernel(f Kernel, in []*tensor.Dense) (out *tensor.Dense, err error) {
	defer recoverTo(&err)
	return f(in)
}

// IntoKernel computes an op's output into dst, a tensor of the op's shape
// and element type. dst holds arbitrary values (an earlier run's output): the
// kernel must write every element. Like a Kernel, it must not change its
// inputs.
type IntoKernel func(in []*tensor.Dense, dst *tensor.Dense) error

// kernel returns s.Fwd, or a Kernel that runs s.Into on a new tensor.
func (s *Spec) kernel() Kernel {
	if s.Fwd != nil || s.Into == nil {
		return s.Fwd
	}
	into, shape := s.Into, append([]int{}, s.Shape...)
	dt, err := tensorDtype(s.DType)
	return func(in []*tensor.Dense) (*tensor.Dense, error) {
		if err != nil {
			return nil, err
		}
		dst := tensor.New(tensor.WithShape(shape...), tensor.Of(dt))
		if err := into(in, dst); err != nil {
			return nil, err
		}
		return dst, nil
	}
}
