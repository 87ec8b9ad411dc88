package ops

import (
	"fmt"
	"hash"
	"hash/fnv"
	"time"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph"
)

// Kernel computes an op's output from its inputs. Kernels are the project's
// own: the same function runs inside the gorgonia machine and, on constants,
// at compile time. A kernel must not change its inputs.
type Kernel func(in []*tensor.Dense) (*tensor.Dense, error)

// GradFunc builds, symbolically, the gradients of an op's inputs from the
// gradient of its output: one node per input (nil where DiffWRT is false).
type GradFunc func(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error)

// kernelOp adapts a Kernel to gorgonia's Op (and SDOp when it has a
// gradient). Types and shapes are concrete: a model is compiled for one set
// of input shapes.
type kernelOp struct {
	name  string // op label, e.g. "Conv" or "ConvGradInput"
	key   string // unique per use, so gorgonia never merges two ops
	in    []hm.Type
	out   hm.Type
	shape tensor.Shape
	dt    tensor.Dtype
	fwd   Kernel
	into  IntoKernel    // when set, Do computes into dst
	dst   *tensor.Dense // the output buffer kept across runs (with into)
	clear bool          // dst is shared (ShareBuffers): zero it before into
	// overwrites: into writes every element of dst (Spec.Overwrites), so
	// a shared dst is not zeroed.
	overwrites bool
	grad       GradFunc
	wrt        []bool
	part       *flatPart // the output is a copy of part of another's (markFlat)
	// node is the IR node the kernel computes or differentiates (nil
	// for nodes built outside Compile), named in its errors.
	node *graph.Node
}

var (
	_ G.Op   = (*kernelOp)(nil)
	_ G.SDOp = (*kernelOp)(nil)
)

func (o *kernelOp) Arity() int { return len(o.in) }

func (o *kernelOp) Type() hm.Type {
	if len(o.in) == 0 {
		return o.out
	}
	ts := append(append([]hm.Type{}, o.in...), o.out)
	return hm.NewFnType(ts...)
}

func (o *kernelOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return o.shape.Clone(), nil }

func (o *kernelOp) Do(vals ...G.Value) (v G.Value, err error) {
	// The tape machine runs ops on its own goroutine: a panic in a kernel
	// must become an error here, or it would end the process.
	defer func() {
		if r := recover(); r != nil {
			v, err = nil, o.fail(fmt.Errorf("%v", r))
		}
	}()
	in := make([]*tensor.Dense, len(vals))
	for i, v := range vals {
		d, err := asDense(v)
		if err != nil {
			return nil, o.fail(fmt.Errorf("input %d: %w", i, err))
		}
		in[i] = d
	}
	if len(o.shape) > 0 && o.shape.TotalSize() == 0 {
		// No element to compute (a batch of 0): kernels index their arrays'
		// last element, which is not there.
		return tensor.New(tensor.WithShape(o.shape...), tensor.Of(o.dt)), nil
	}
	var t0 time.Time
	prof := profiling.Load()
	if prof != nil {
		t0 = time.Now()
	}
	var out *tensor.Dense
	if o.into != nil {
		if o.dst == nil {
			o.dst = tensor.New(tensor.WithShape(o.shape...), tensor.Of(o.dt))
		}
		if o.clear {
			o.dst.Zero()
		}
		if err = o.into(in, o.dst); err == nil {
			out = o.dst
		}
	} else {
		out, err = o.fwd(in)
	}
	if prof != nil {
		prof.add(o.name, time.Since(t0))
	}
	if err != nil {
		return nil, o.fail(err)
	}
	if len(o.shape) == 0 {
		return scalarValue(out)
	}
	return out, nil
}

func (o *kernelOp) ReturnsPtr() bool      { return false }
func (o *kernelOp) CallsExtern() bool     { return false }
func (o *kernelOp) OverwritesInput() int  { return -1 }
func (o *kernelOp) WriteHash(h hash.Hash) { fmt.Fprintf(h, "%s|%s", o.name, o.key) }
func (o *kernelOp) Hashcode() uint32 {
	h := fnv.New32a()
	o.WriteHash(h)
	return h.Sum32()
}
func (o *kernelOp) String() string { return o.name + "[" + o.key + "]" }

func (o *kernelOp) DiffWRT(n int) []bool {
	if o.grad == nil {
		return make([]bool, n)
	}
	return o.wrt
}

func (o *kernelOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	if o.grad == nil {
		return nil, fmt.Errorf("%s is not differentiable", o.name)
	}
	gs, err := o.grad(inputs, output, grad)
	if err == nil && o.node != nil {
		stop := map[*G.Node]bool{output: true, grad: true}
		for _, n := range inputs {
			stop[n] = true
		}
		labelNodes(gs, o.node, stop)
	}
	return gs, err
}

// labelNodes marks the kernels that compute nodes, and those they read that
// carry no IR node yet (a gradient function's intermediate nodes), as
// computing node; it stops at the nodes of stop.
func labelNodes(nodes G.Nodes, node *graph.Node, stop map[*G.Node]bool) {
	for _, n := range nodes {
		if n == nil || stop[n] {
			continue
		}
		stop[n] = true
		k, ok := n.Op().(*kernelOp)
		if !ok || k.node != nil {
			continue
		}
		k.node = node
		labelNodes(childrenOf(n), node, stop)
	}
}

// fail wraps a kernel's error in a *RunError naming the kernel and its node.
func (o *kernelOp) fail(err error) error {
	return &RunError{Node: o.node, Kernel: o.name, Err: err}
}

// RunError reports a kernel that failed while a program ran, or while
// Compile folded constants: the IR node it computes (or differentiates) and
// the kernel's own message, e.g. `node "/Gather" (Gather): index 7 out of
// range [-5, 5)`.
type RunError struct {
	Node   *graph.Node // nil when the kernel belongs to no IR node
	Kernel string      // the kernel's name: the op type, or e.g. "SliceGrad"
	Err    error
}

func (e *RunError) Error() string {
	msg := e.Err.Error()
	if e.Node == nil || e.Kernel != e.Node.OpType {
		msg = e.Kernel + ": " + msg
	}
	if e.Node == nil {
		return msg
	}
	return "node " + e.Node.String() + ": " + msg
}

func (e *RunError) Unwrap() error { return e.Err }

// RunAll runs a machine over a graph of this package's kernels (a
// Program's, or a training step's with its gradients) and returns, when a
// kernel fails, its *RunError alone: gorgonia's "PC n. Failed to execute
// instruction" wrapping and its dump of the instruction are dropped. A
// panic inside gorgonia becomes an error.
func RunAll(vm G.VM) (err error) {
	defer recoverTo(&err)
	return machineError(vm.RunAll())
}

// machineError finds the *RunError in an error of gorgonia's machine, or
// else reduces it to its innermost cause, prefixed with the failing node.
func machineError(err error) error {
	if err == nil {
		return nil
	}
	var at *G.Node
	cause := err
	for e := err; e != nil; {
		if re, ok := e.(*RunError); ok {
			return re
		}
		if c, ok := e.(interface{ Node() *G.Node }); ok && at == nil {
			at = c.Node()
		}
		cause = e
		switch u := e.(type) {
		case interface{ Unwrap() error }:
			e = u.Unwrap()
		case interface{ Err() error }:
			e = u.Err()
		default:
			e = nil
		}
	}
	if at != nil {
		if k, ok := at.Op().(*kernelOp); ok {
			return k.fail(cause)
		}
		return fmt.Errorf("%s: %w", at.Name(), cause)
	}
	return cause
}

// asDense turns a gorgonia value into a dense tensor (scalars become rank 0).
func asDense(v G.Value) (*tensor.Dense, error) {
	switch t := v.(type) {
	case *tensor.Dense:
		return t, nil
	case *G.F32, *G.F64, *G.I64, *G.I32, *G.B, *G.U8:
		return tensor.New(tensor.FromScalar(t.Data())), nil
	}
	return nil, fmt.Errorf("unsupported value %T", v)
}

// scalarValue turns a one-element tensor into gorgonia's scalar value, which
// is what a node of scalar type holds.
func scalarValue(t *tensor.Dense) (G.Value, error) {
	if t.Size() != 1 {
		return nil, fmt.Errorf("scalar output has %d elements", t.Size())
	}
	switch x := t.Get(0).(type) {
	case float32:
		return G.NewF32(x), nil
	case float64:
		return G.NewF64(x), nil
	case int64:
		return G.NewI64(x), nil
	case int32:
		return G.NewI32(x), nil
	case uint8:
		return G.NewU8(x), nil
	case bool:
		return G.NewB(x), nil
	}
	return nil, fmt.Errorf("scalars of type %v are not supported by the engine (only float32, float64, int64, int32, uint8 and bool)", t.Dtype())
}

// typeOf is gorgonia's type for a value of the given rank and element type.
func typeOf(rank int, dt tensor.Dtype) hm.Type {
	if rank == 0 {
		return dt
	}
	return G.TensorType{Dims: rank, Of: dt}
}
