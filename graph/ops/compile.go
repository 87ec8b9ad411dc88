package ops

import (
	"errors"
	"fmt"
	"math/rand"
	"reflect"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph"
)

// Options control Compile.
type Options struct {
	// Train compiles training semantics: BatchNormalization normalizes with
	// batch statistics and reports running-statistics updates, Dropout
	// drops. Otherwise inference semantics.
	Train bool
	// EvalBatchNorm lists BatchNormalization nodes, by the initializer of
	// their running mean (input 3), that a training program runs as in
	// inference: normalized with the running statistics, which stay as
	// they are (PyTorch's .eval() on those modules; train's --freeze-bn).
	EvalBatchNorm map[string]bool
	// Seed seeds the random source of Dropout.
	Seed int64
	// Rand, when set, is the random source of Dropout instead of one seeded
	// with Seed: programs given the same Rand draw from one stream (a
	// trainer's programs for several batch sizes), whose state the caller
	// can save and restore. A Program reads it only while it runs.
	Rand *rand.Rand
	// Registry is the op set; nil means NewRegistry().
	Registry *Registry
	// Params, when set, gives the values of parameter initializers (by
	// initializer name): the compiled program reads these tensors, so
	// programs compiled for several batch sizes share one set of weights
	// that a trainer updates in place. Without Params, an inference
	// program treats its parameters as constants and may prepare them once
	// (Conv packs its weights for the GEMM at compile time).
	Params map[string]*tensor.Dense
	// Constants gives graph inputs whose values are known when the model is
	// compiled (shapes, axes, indices fed as inputs): they become constants
	// and fold like initializers, and Run does not take them.
	Constants map[string]*tensor.Dense
	// MaxBytes bounds each tensor whose size the engine derives from the
	// model (an op's output shape from attributes, constant shape inputs
	// or pads, and the tables and buffers built from them): Compile fails
	// with an error wrapping a *graph.LimitError, naming the node, before
	// allocating more. It bounds the total as well: the values the program
	// computes (every op's output, folded or not; in training each float
	// one counts twice, for its gradient) must add up to no more than
	// MaxBytes, or Compile fails with a *graph.LimitError whose At names
	// the node where the total crossed it. Zero or less means
	// graph.DefaultMaxBytes.
	MaxBytes int64
}

// Program is a model compiled for one set of input shapes and one mode.
//
// A Program is not safe for concurrent use: its machine, the values bound
// to its input nodes and its kernels' output and scratch buffers are reused
// by every run, so run it from one goroutine at a time (Runner keeps a
// program per running goroutine). Programs compiled separately share
// nothing but what Options.Params gives them.
type Program struct {
	Graph   *G.ExprGraph
	Inputs  map[string]*G.Node // graph inputs, by name
	Params  map[string]*G.Node // float initializers of the parameter table, by initializer name
	Outputs []*Value           // graph outputs, in order
	Names   []string           // graph output names
	Updates []Update           // training-mode side effects (BatchNorm running statistics)
	// Bytes is the total counted against Options.MaxBytes: the values the
	// program computes (and, in training, their gradients).
	Bytes int64
	// Types are the graph outputs' element types in the model: an
	// output's Value.DType, but float16 or bfloat16 for one of that type
	// (held as float32 values of the type; see half.go).
	Types []graph.DType

	machine G.VM
}

// ErrShape reports inputs whose shapes do not fit the model.
var ErrShape = errors.New("input shape")

// Compile lowers m to a gorgonia graph for inputs of the given shapes (by
// graph input name). It compiles the inlined graph (m.Inlined: calls of
// local functions replaced by their bodies), first checking every op, and
// reports all unsupported ones in one *UnsupportedError before compiling
// anything.
func Compile(m *graph.Model, shapes map[string][]int, opts Options) (p *Program, err error) {
	defer recoverTo(&err)
	if m == nil || m.Graph == nil {
		return nil, errors.New("no model (nil, or without a graph)")
	}
	reg := opts.Registry
	if reg == nil {
		reg = NewRegistry()
	}
	g, err := m.Inlined()
	if err != nil {
		return nil, err
	}
	if err := reg.Check(g); err != nil {
		return nil, err
	}
	opset, _ := m.OpsetVersion("")
	eg := G.NewGraph()
	p = &Program{Graph: eg, Inputs: make(map[string]*G.Node), Params: make(map[string]*G.Node)}
	env := make(map[string]*Value)
	params := make(map[string]bool)
	seq := 0
	var total int64           // see Ctx.hold
	halves := make(halfTypes) // see half.go
	entry := func(name string) *Ctx {
		return &Ctx{G: eg, Node: &graph.Node{Name: name, OpType: "Cast"}, Opset: opset, seq: &seq, maxBytes: opts.MaxBytes, total: &total}
	}
	for _, prm := range m.Params {
		params[prm.Initializer] = true
	}
	for _, t := range g.Initializers {
		d, err := TensorFromIR(t)
		if err != nil {
			return nil, fmt.Errorf("initializer %q: %w", t.Name, err)
		}
		v, err := ConstValue(d)
		if err != nil {
			return nil, fmt.Errorf("initializer %q: %w", t.Name, err)
		}
		if params[t.Name] && t.DType.IsFloat() {
			if shared, ok := opts.Params[t.Name]; ok {
				if shared == nil {
					return nil, fmt.Errorf("initializer %q: Options.Params gives no tensor (nil)", t.Name)
				}
				if !sameShape(shared.Shape(), v.Shape) || shared.Dtype() != d.Dtype() {
					return nil, fmt.Errorf("initializer %q: given value %v %v, the model has %v %v", t.Name, shared.Dtype(), shared.Shape(), d.Dtype(), v.Shape)
				}
				d = shared
			}
			n, err := constNode(eg, t.Name, d)
			if err != nil {
				return nil, fmt.Errorf("initializer %q: %w", t.Name, err)
			}
			v = &Value{Node: n, Shape: v.Shape, DType: v.DType}
			p.Params[t.Name] = n
			if isHalf(t.DType) && (opts.Train || opts.Params != nil) {
				// The tensor is a float32 master copy: compute with its value in the file's type.
				if v, err = roundHalf(entry(t.Name), v, t.DType); err != nil {
					return nil, fmt.Errorf("initializer %q: %w", t.Name, err)
				}
			}
		}
		v.held = true // the model's own tensors, bounded by its file
		env[t.Name] = v
		if isHalf(t.DType) {
			halves[t.Name] = t.DType
		}
	}
	for _, in := range g.Inputs {
		if _, isInit := env[in.Name]; isInit {
			continue
		}
		if t, ok := opts.Constants[in.Name]; ok {
			if t == nil {
				return nil, fmt.Errorf("graph input %q: Options.Constants gives no tensor (nil)", in.Name)
			}
			v, err := ConstValue(t)
			if err != nil {
				return nil, fmt.Errorf("graph input %q: %w", in.Name, err)
			}
			v.held = true
			if dt, _, ok := in.TensorShape(); ok && isHalf(dt) {
				// A float32 tensor given for a half input: its values in that type.
				if v, err = roundHalf(entry(in.Name), v, dt); err != nil {
					return nil, fmt.Errorf("graph input %q: %w", in.Name, err)
				}
				halves[in.Name] = dt
			}
			env[in.Name] = v
			continue
		}
		dt, dims, ok := in.TensorShape()
		if !ok {
			return nil, fmt.Errorf("graph input %q has no tensor type", in.Name)
		}
		shape, ok := shapes[in.Name]
		if !ok {
			return nil, fmt.Errorf("%w: no shape given for graph input %q", ErrShape, in.Name)
		}
		if len(shape) != len(dims) {
			return nil, fmt.Errorf("%w: input %q has rank %d, the model wants %d (%s)", ErrShape, in.Name, len(shape), len(dims), dimString(dims))
		}
		for i, d := range dims {
			if d.HasValue && int(d.Value) != shape[i] {
				return nil, fmt.Errorf("%w: input %q has shape %v, the model wants %s", ErrShape, in.Name, shape, dimString(dims))
			}
		}
		tdt, err := tensorDtype(computeType(dt))
		if err != nil {
			return nil, fmt.Errorf("graph input %q: %w", in.Name, err)
		}
		var n *G.Node
		if len(shape) == 0 {
			n = G.NewScalar(eg, tdt, G.WithName(in.Name))
		} else {
			n = G.NewTensor(eg, tdt, len(shape), G.WithName(in.Name), G.WithShape(shape...))
		}
		p.Inputs[in.Name] = n
		env[in.Name] = &Value{Node: n, Shape: shape, DType: computeType(dt), held: true}
		if isHalf(dt) {
			// A float32 tensor given for a half input: its values in that type.
			if env[in.Name], err = roundHalf(entry(in.Name), env[in.Name], dt); err != nil {
				return nil, fmt.Errorf("graph input %q: %w", in.Name, err)
			}
			halves[in.Name] = dt
		}
	}
	rng := opts.Rand
	if rng == nil {
		rng = rand.New(rand.NewSource(opts.Seed))
	}
	fused := reluFusions(g, reg)
	var expand map[*graph.Node]*convExpand
	if !opts.Train {
		expand = expandFusions(g, fused)
	}
	var constants map[string]*graph.Tensor
	applied := make(map[*graph.Node]bool)
	silu := siluFusions(g)
	uses := valueUses(g)
	for _, n := range g.Nodes {
		if silu[n] == n && applied[n] {
			continue // a Mul its Sigmoid computed (as SiLU, bound to its output)
		}
		info, _ := reg.Lookup(n)
		in, err := nodeInputs(n, env)
		if err != nil {
			return nil, err
		}
		c := &Ctx{G: eg, Node: n, Opset: opset, Train: opts.Train, EvalBatchNorm: opts.EvalBatchNorm, Rand: rng, Updates: &p.Updates, seq: &seq,
			maxBytes: opts.MaxBytes, total: &total, ConstParams: !opts.Train && opts.Params == nil, outer: &scope{env: env, reg: reg},
			expand: expand[n], uses: uses}
		var outs []*Value
		bind := n // the node whose outputs outs are
		if m := silu[n]; m != nil && m != n && halves[n.Inputs[0]] == graph.Undefined {
			// A Sigmoid and the Mul of its input and output: one kernel.
			outs, err = lowerSiLU(c, in[0])
			applied[m], bind = true, m
		} else if r := fused[n]; r == n && applied[n] {
			// A Relu that its producer applied already.
			outs = in[:1]
		} else {
			if r != nil && r != n {
				if r.QualifiedOp() == "Clip" {
					if constants == nil {
						constants = graphConstants(g)
					}
					lo, hi, dt, _ := fusedClipBounds(r, constants)
					c.fuseClip, c.fuseClipType = &clipEpi{lo: lo, hi: hi}, dt
				} else {
					c.FuseRelu = true
				}
			}
			outs, err = lowerNode(info, c, in)
			if c.ReluFused {
				applied[r] = true
			}
		}
		var attrErr *AttrError
		if errors.As(err, &attrErr) && attrErr.Node == n {
			return nil, err // it names the node
		}
		var limitErr *graph.LimitError
		if errors.As(err, &limitErr) && limitErr.At != "" {
			return nil, err // the program's total, at this node
		}
		if err == nil && bind == n {
			outs, err = halves.lowered(c, n, in, outs)
		}
		if err != nil {
			return nil, fmt.Errorf("node %s: %w", n, err)
		}
		for i, name := range bind.Outputs {
			if name == "" || i >= len(outs) || outs[i] == nil {
				continue
			}
			// Values a lowering made without Apply (Shape, Constant, a
			// Dropout mask) count here.
			if err := c.holdValue(outs[i]); err != nil {
				return nil, err
			}
			env[name] = outs[i]
		}
	}
	for _, o := range g.Outputs {
		v, ok := env[o.Name]
		if !ok {
			return nil, fmt.Errorf("graph output %q is not computed", o.Name)
		}
		if dt, _, ok := o.TensorShape(); ok && isHalf(dt) && halves[o.Name] != dt {
			// An output declared in a half type that the graph did not make one.
			if v, err = roundHalf(entry(o.Name), v, dt); err != nil {
				return nil, fmt.Errorf("graph output %q: %w", o.Name, err)
			}
		}
		typ := v.DType
		if dt, _, ok := o.TensorShape(); ok && isHalf(dt) {
			typ = dt
		} else if d, ok := halves[o.Name]; ok && typ == graph.Float32 {
			typ = d
		}
		p.Outputs = append(p.Outputs, v)
		p.Names = append(p.Names, o.Name)
		p.Types = append(p.Types, typ)
	}
	p.Bytes = total
	return p, nil
}

func lowerNode(info OpInfo, c *Ctx, in []*Value) (outs []*Value, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("gorgonia: %v", r)
		}
		if c.attr != nil && c.attr.err != nil {
			outs, err = nil, c.attr.err
		}
	}()
	return info.Lower(c, in)
}

func dimString(dims []graph.Dim) string {
	s := "["
	for i, d := range dims {
		if i > 0 {
			s += ", "
		}
		s += d.String()
	}
	return s + "]"
}

// Run binds inputs, runs the machine once and returns the graph outputs:
// copies that belong to the caller, which later runs do not write into.
// It only reads the inputs, but keeps them bound to the graph until the
// next run.
func (p *Program) Run(inputs map[string]*tensor.Dense) (outs []*tensor.Dense, err error) {
	defer recoverTo(&err)
	if p.machine == nil && len(p.Graph.AllNodes()) > 0 {
		p.machine = G.NewTapeMachine(p.Graph)
	}
	for name, n := range p.Inputs {
		t, ok := inputs[name]
		if !ok {
			return nil, fmt.Errorf("%w: no value for input %q", ErrShape, name)
		}
		if err := checkInput(name, t, n.Dtype()); err != nil {
			return nil, err
		}
		if !sameShape(t.Shape(), ShapeOf(n)) {
			return nil, fmt.Errorf("%w: input %q has shape %v, compiled for %v", ErrShape, name, t.Shape(), ShapeOf(n))
		}
		if t.RequiresIterator() {
			// A view whose elements are not its backing array in order (some
			// channels, a lazy transpose): the kernels read the array.
			t = t.Materialize().(*tensor.Dense)
		}
		var v G.Value = t
		if n.IsScalar() {
			if v, err = scalarValue(t); err != nil {
				return nil, err
			}
		}
		if err := G.Let(n, v); err != nil {
			return nil, err
		}
	}
	if len(p.Graph.AllNodes()) > 0 {
		defer p.machine.Reset()
		if err := RunAll(p.machine); err != nil {
			return nil, err
		}
	}
	for _, o := range p.Outputs {
		if o.IsConst() {
			outs = append(outs, o.Const.Clone().(*tensor.Dense))
			continue
		}
		d, err := asDense(o.Node.Value())
		if err != nil {
			return nil, err
		}
		outs = append(outs, d.Clone().(*tensor.Dense))
	}
	return outs, nil
}

// checkInput returns an error of one line when t, the value given for the
// graph input name, is nil or not of element type want.
func checkInput(name string, t *tensor.Dense, want tensor.Dtype) error {
	if t == nil {
		return fmt.Errorf("input %q has no tensor", name)
	}
	if t.Dtype() != want {
		return fmt.Errorf("input %q is %v, the model wants %v", name, t.Dtype(), want)
	}
	return nil
}

func sameShape(a tensor.Shape, b []int) bool {
	if len(a) != len(b) {
		return a.IsScalar() && len(b) == 0
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Close releases the machine.
func (p *Program) Close() error {
	if p.machine != nil {
		return p.machine.Close()
	}
	return nil
}

// TensorFromIR converts an IR tensor to a dense tensor (float32, float64,
// the integer and boolean types, and float16 and bfloat16 widened to
// float32, the type the engine computes them in: see half.go).
func TensorFromIR(t *graph.Tensor) (*tensor.Dense, error) {
	shape := make([]int, len(t.Dims))
	for i, d := range t.Dims {
		shape[i] = int(d)
	}
	elems, err := graph.NumElements(t.Dims)
	if err != nil {
		return nil, fmt.Errorf("tensor %q: %w", t.Name, err)
	}
	n := int(elems)
	if t.DType.ByteLen(int64(n)) != int64(len(t.Raw)) {
		return nil, fmt.Errorf("tensor %q: %d bytes for %d %s values", t.Name, len(t.Raw), n, t.DType)
	}
	if _, err := tensorDtype(computeType(t.DType)); err != nil {
		return nil, err
	}
	var backing any
	if isHalf(t.DType) {
		backing, err = widenHalf(t.DType, t.Raw)
	} else {
		backing, err = graph.DecodeAs(t.DType, t.Raw)
	}
	if err != nil {
		return nil, fmt.Errorf("tensor %q: %w", t.Name, err)
	}
	if len(shape) == 0 {
		return scalarDense(backing), nil
	}
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(backing)), nil
}

// scalarDense holds the one element of backing, a decoded slice, as a
// scalar tensor.
func scalarDense(backing any) *tensor.Dense {
	v := reflect.ValueOf(backing)
	if v.Kind() != reflect.Slice || v.Len() != 1 {
		return nil
	}
	return tensor.New(tensor.FromScalar(v.Index(0).Interface()))
}

// valueUses counts the nodes reading each value; a graph output counts as
// two readers, so a fusion (which needs a value read once, by the node it
// fuses into) never hides an output.
func valueUses(g *graph.Graph) map[string]int {
	uses := make(map[string]int)
	for _, n := range g.Nodes {
		for _, in := range n.Inputs {
			uses[in]++
		}
	}
	for _, o := range g.Outputs {
		uses[o.Name] += 2
	}
	return uses
}

// reluFusions finds the Relu nodes that can run inside their producer: a
// one-output node of an op whose descriptor says FusesRelu (Conv,
// BatchNormalization, Add) and whose only consumer is the Relu (and whose
// output is not a graph output). Clip nodes with constant bounds
// (fusedClipBounds) are found the same way (Conv and BatchNormalization
// honour them, see clip_fused.go). The map sends the
// producer to its Relu (or Clip) and the Relu to itself. A producer that honours the
// request (an Add only for two same-shape float tensors) computes max(y, 0)
// in its last pass over y, saving the Relu's pass over memory and its
// buffer (as ONNX Runtime's Conv+Relu fusion); in training, the Relu's
// gradient is taken from the fused output. A request not honoured leaves
// the Relu a node of its own.
func reluFusions(g *graph.Graph, reg *Registry) map[*graph.Node]*graph.Node {
	uses := valueUses(g)
	producer := make(map[string]*graph.Node)
	for _, n := range g.Nodes {
		if info, ok := reg.Lookup(n); ok && info.FusesRelu && len(n.Outputs) == 1 {
			producer[n.Outputs[0]] = n
		}
	}
	fused := make(map[*graph.Node]*graph.Node)
	var constants map[string]*graph.Tensor
	for _, n := range g.Nodes {
		switch op := n.QualifiedOp(); {
		case op == "Relu" && len(n.Inputs) == 1 && len(n.Outputs) == 1:
		case op == "Clip" && len(n.Inputs) == 3 && len(n.Outputs) == 1:
			if constants == nil {
				constants = graphConstants(g)
			}
			if _, _, _, ok := fusedClipBounds(n, constants); !ok {
				continue
			}
		default:
			continue
		}
		p := producer[n.Inputs[0]]
		if p == nil || uses[n.Inputs[0]] != 1 {
			continue
		}
		fused[p], fused[n] = n, n
	}
	return fused
}

// nodeInputs returns the values node n reads, from env (nil for an
// omitted optional input).
func nodeInputs(n *graph.Node, env map[string]*Value) ([]*Value, error) {
	in := make([]*Value, len(n.Inputs))
	for i, name := range n.Inputs {
		if name == "" {
			continue
		}
		v, ok := env[name]
		if !ok {
			return nil, fmt.Errorf("node %s: input %q is not computed", n, name)
		}
		in[i] = v
	}
	return in, nil
}
