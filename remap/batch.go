package remap

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/graph/ops"
)

// BatchOptions are the settings of DynamicBatch.
type BatchOptions struct {
	// Dim names the symbolic leading dimension; "" means "batch".
	Dim string
	// ProveAt is the other batch size the rewrite is proved at; 0 means
	// 2*B+1 for a model exported at batch B.
	ProveAt int
	// MaxBytes bounds what the proof computes at once
	// (ops.Options.MaxBytes): its runs go span by span, a few dozen nodes
	// at a time, and each span at ProveAt needs the most. A span over it
	// is an error wrapping a *graph.LimitError, not ErrBatchPinned.
	MaxBytes int64
}

// BatchReport says what DynamicBatch did.
type BatchReport struct {
	Batch    int64    // the batch the model was exported with; 0 when no input had a fixed one
	Inputs   []string // inputs whose leading dimension became symbolic
	Rewrites []string // one line per rewritten node: "node /x/Reshape: shape [2 1176] -> [-1 1176]"
	Declared int      // outputs and value_info entries whose leading dimension became symbolic
	ProvedAt []int    // the batch sizes at which outputs were compared
}

// ErrBatchPinned is wrapped by DynamicBatch's errors when the rewritten
// model does not compute each example independently of the batch size.
var ErrBatchPinned = errors.New("the batch size is pinned")

// DynamicBatch makes a model whose inputs have a fixed leading (batch)
// dimension run at any batch size, as both PyTorch exporters write models
// unless asked otherwise. It makes that dimension symbolic on the inputs and
// rewrites the constants that carry it: a Reshape target's first entry
// becomes -1 (or 0, copying the input's, when another entry is -1); the
// first entry of an Expand, ConstantOfShape or Tile shape becomes the
// input's batch computed in the graph (Shape, Slice, Mul, Concat); a Slice
// that took the whole leading dimension takes it whatever its size.
//
// Then it proves the rewrite numerically: the rewritten model runs at the
// exported batch B and at another batch N on inputs whose examples repeat
// those at B, and every output of every node that carries the batch must
// give each example the same values (relative 1e-5) as at B, and every
// other value must be equal. Where that fails, the error names the first
// node whose output differs (wrapping ErrBatchPinned) and nothing changes.
// On success the outputs' and value_info's leading dimensions that follow
// the batch become symbolic too, and m.Params follows (graph.Model.Edit).
// A model with no fixed batch is left as it is (Batch 0 in the report).
func DynamicBatch(m *graph.Model, opts BatchOptions) (*BatchReport, error) {
	if m == nil || m.Graph == nil {
		return nil, errors.New("remap: dynamic batch: nil model")
	}
	if opts.ProveAt < 0 {
		return nil, fmt.Errorf("remap: dynamic batch: ProveAt %d: want a batch size of 1 or more (or 0 for 2B+1)", opts.ProveAt)
	}
	dim := opts.Dim
	if dim == "" {
		dim = "batch"
	}
	g := m.Graph
	rep := &BatchReport{}
	var fixed []*graph.ValueInfo
	axes := inputAxes(g, ops.InputNames(m))
	for _, name := range ops.InputNames(m) {
		in := inputInfo(g, name)
		_, dims, ok := in.TensorShape()
		if !ok {
			return nil, fmt.Errorf("remap: dynamic batch: input %q has no tensor type", name)
		}
		a := axes[name]
		if len(dims) <= a {
			continue // a scalar: not batched
		}
		if !dims[a].HasValue {
			// An input with a symbolic batch dimension: the batch is
			// already free (fixed dimensions elsewhere are not it).
			return &BatchReport{}, nil
		}
		if rep.Batch != 0 && dims[a].Value != rep.Batch {
			return nil, fmt.Errorf("remap: dynamic batch: inputs disagree on the batch: %q has %d, %q has %d", fixed[0].Name, rep.Batch, name, dims[a].Value)
		}
		rep.Batch = dims[a].Value
		fixed = append(fixed, in)
	}
	if rep.Batch == 0 {
		return rep, nil
	}
	b := rep.Batch
	if b < 1 || b > 1<<20 {
		return nil, fmt.Errorf("remap: dynamic batch: input %q has a leading dimension of %d", fixed[0].Name, b)
	}
	n := opts.ProveAt
	if n <= 0 {
		n = int(2*b + 1)
	}
	if int64(n) == b {
		return nil, fmt.Errorf("remap: dynamic batch: the proof needs a batch other than %d", b)
	}

	// Where the batch flows, from a run of the model as exported.
	inputsB, err := proofInputs(m, axes, int(b), int(b), setX)
	if err != nil {
		return nil, fmt.Errorf("remap: dynamic batch: %w", err)
	}
	err = ops.NewRegistry().CheckModel(m)
	if ue := (*ops.UnsupportedError)(nil); errors.As(err, &ue) {
		return nil, err // the engine lacks an op: nothing to do with the batch
	}
	var shapes map[string][]int
	var atB map[string]*tensor.Dense
	plan := exportedSpans(g)
	if err == nil { // else a function does not inline: the model does not run
		shapes, atB, err = exportedRun(plan, m, inputsB, opts.MaxBytes)
	}
	if err != nil {
		return nil, fmt.Errorf("remap: dynamic batch: the model as exported does not run at batch %d: %w", b, err)
	}
	for k, v := range inputsB {
		shapes[k] = ops.Shape(v)
	}
	var names []string
	for _, in := range fixed {
		names = append(names, in.Name)
	}

	// The rewrite, on a copy: nothing of m changes until it is proved.
	c := copyGraph(g)
	for _, in := range fixed {
		nv := copyInfo(in)
		_, dims, _ := nv.TensorShape()
		dims[axes[in.Name]] = graph.Dim{Param: dim, HasParam: true}
		replaceInfo(c.Inputs, nv)
		rep.Inputs = append(rep.Inputs, in.Name)
	}
	folded := foldedInts(g, names, atB)
	scalars := foldedScalars(g, names, atB)
	rw := &batchRewriter{m: m, g: c, b: int(b), opset: opsetOf(m), shapes: shapes,
		tags: batchAxes(g, names, axes, shapes, int(b), folded), params: make(map[string]bool), folded: folded, scalars: scalars}
	for _, p := range m.Params {
		rw.params[p.Initializer] = true
	}
	if err := rw.rewrite(); err != nil {
		return nil, fmt.Errorf("remap: dynamic batch: %w", err)
	}
	rep.Rewrites = rw.done
	removeDead(c, rw.replaced)

	// The proof.
	cm := *m
	cm.Graph = c
	shapesB, shapesN, err := proveBatch(m, &cm, plan, axes, inputsB, rw.tags, int(b), n, opts.MaxBytes)
	if err != nil {
		return nil, fmt.Errorf("remap: dynamic batch: %w", err)
	}
	rep.ProvedAt = []int{int(b), n}
	for _, list := range [][]*graph.ValueInfo{c.Outputs, c.ValueInfo} {
		for i, v := range list {
			_, dims, ok := v.TensorShape()
			sb, sn := shapesB[v.Name], shapesN[v.Name]
			if !ok || len(sb) == 0 || len(sb) != len(sn) || len(dims) != len(sb) {
				continue
			}
			var nv *graph.ValueInfo
			for k := range sb {
				if sb[k] == sn[k] || !dims[k].HasValue {
					continue
				}
				if nv == nil {
					nv = copyInfo(v)
				}
				_, nd, _ := nv.TensorShape()
				nd[k] = graph.Dim{Param: dim, HasParam: true}
				if sb[k] != int(b) {
					nd[k] = graph.Dim{} // a multiple of the batch: unnamed
				}
			}
			if nv != nil {
				list[i] = nv
				rep.Declared++
			}
		}
	}
	return rep, m.Edit(func(g *graph.Graph) error {
		*g = *c
		return nil
	})
}

// FixedBatch returns the batch size a model's inputs fix: the dimension
// they all declare as the same number on their batch axis (BatchAxis). It
// is 0 when one declares it symbolic (the batch is free already), when they
// disagree (that axis is not the batch), or when no input has one.
func FixedBatch(m *graph.Model) int64 {
	if m == nil || m.Graph == nil {
		return 0
	}
	var b int64
	axes := inputAxes(m.Graph, ops.InputNames(m))
	for _, name := range ops.InputNames(m) {
		_, dims, ok := inputInfo(m.Graph, name).TensorShape()
		a := axes[name]
		switch {
		case !ok || len(dims) <= a:
			continue
		case !dims[a].HasValue:
			return 0
		case b != 0 && dims[a].Value != b:
			return 0
		}
		b = dims[a].Value
	}
	return b
}

// BatchAxis returns the axis of graph input name that holds the batch: 0,
// unless a recurrent op reads the input where it declares the batch on
// another axis (an LSTM, GRU or RNN of layout 0 reads a sequence-first X
// [S, B, I], its batch on axis 1), through Transposes and ops that keep
// every axis.
func BatchAxis(m *graph.Model, name string) int {
	if m == nil || m.Graph == nil {
		return 0
	}
	return inputAxes(m.Graph, []string{name})[name]
}

// batchRewriter rewrites the constants of g that carry the batch b, with
// every value's shape at b and where the batch is in it (batchAxes).
type batchRewriter struct {
	m        *graph.Model
	g        *graph.Graph
	b        int
	opset    int64
	shapes   map[string][]int
	tags     map[string]batchTag
	params   map[string]bool    // initializers of the parameter table
	folded   map[string][]int64 // 1-D int64 values that no graph input reaches, as computed
	scalars  map[string]int64   // 0-d int64 values that no graph input reaches, as computed
	dims     map[string]string
	fresh    map[string]bool
	cur      map[*graph.Node]*graph.Node
	done     []string
	replaced []string // values nodes stopped reading
}

// broadcasting ops: an operand of size 1 along the batch axis is enough.
var broadcasting = map[string]bool{
	"Add": true, "Sub": true, "Mul": true, "Div": true, "Pow": true, "Where": true, "Max": true, "Min": true,
	"Sum": true, "Mean": true, "Equal": true, "Less": true, "Greater": true, "LessOrEqual": true,
	"GreaterOrEqual": true, "And": true, "Or": true, "Xor": true, "Mod": true, "BitShift": true, "PRelu": true,
}

func (r *batchRewriter) rewrite() error {
	producers := r.g.Producers()
	r.cur = make(map[*graph.Node]*graph.Node)
	for _, n := range append([]*graph.Node(nil), r.g.Nodes...) {
		if n.Domain != "" && n.Domain != "ai.onnx" {
			continue
		}
		switch n.OpType {
		case "Reshape":
			r.reshape(n, producers)
		case "Expand", "ConstantOfShape":
			if err := r.expand(n, producers); err != nil {
				return err
			}
		case "Tile":
			if err := r.tile(n, producers); err != nil {
				return err
			}
		case "Resize":
			if err := r.resizeSizes(n, producers); err != nil {
				return err
			}
		case "Range":
			if err := r.rangeBatch(n); err != nil {
				return err
			}
		case "Slice":
			r.slice(n, producers)
		case "Gather":
			if err := r.stridedGather(n, producers); err != nil {
				return err
			}
		case "LSTM", "GRU", "RNN":
			if err := r.recurrentState(n, producers); err != nil {
				return err
			}
		}
		if err := r.constOperands(n, producers); err != nil {
			return err
		}
	}
	return nil
}

// reshape: a Reshape of a value that carries the batch gets the target
// its output has at batch b, with -1 where the batch is.
func (r *batchRewriter) reshape(n *graph.Node, producers map[string]*graph.Node) {
	if r.opset < 5 || len(n.Inputs) < 2 || len(n.Outputs) == 0 {
		return
	}
	in, ok := r.tags[n.Inputs[0]]
	out, ok2 := r.tags[n.Outputs[0]]
	vals, ok3 := r.ints(producers, n.Inputs[1])
	shape := r.shapes[n.Outputs[0]]
	if !ok || !ok2 || !ok3 || len(vals) != len(shape) || in.Axis < 0 {
		return
	}
	if v := vals[out.Axis]; v == -1 || v == 0 && in.Axis == out.Axis && in.Major == out.Major && n.AttrInt("allowzero", 0) == 0 {
		return // the batch taken from the input already ([0 0 -1], [-1 16])
	}
	nv := make([]int64, len(shape))
	for i, d := range shape {
		if d == 0 {
			return // allowzero's zeros: left as they are
		}
		nv[i] = int64(d)
	}
	nv[out.Axis] = -1
	if slices.Equal(vals, nv) {
		return
	}
	r.setInput(n, 1, r.constant(n.Name+"/shape", nv))
	if n.AttrInt("allowzero", 0) != 0 {
		// No entry is 0 now: allowzero changes nothing; dropped so that
		// runtimes before opset 14 read the node the same.
		r.dropAttr(n, "allowzero")
	}
	r.done = append(r.done, fmt.Sprintf("node %s: shape %v -> %v", n.Name, vals, nv))
}

// expand: an Expand target or a ConstantOfShape shape whose first entry is
// the batch gets it computed from the input's shape, unless the expanded
// value already carries the batch there (then 1, so that it broadcasts).
func (r *batchRewriter) expand(n *graph.Node, producers map[string]*graph.Node) error {
	idx := 1
	if n.OpType == "ConstantOfShape" {
		idx = 0
	}
	if idx >= len(n.Inputs) || len(n.Outputs) == 0 {
		return nil
	}
	vals, ok := r.ints(producers, n.Inputs[idx])
	if !ok || len(vals) == 0 {
		return nil
	}
	if n.OpType == "ConstantOfShape" && len(vals) == 1 {
		if _, ok := r.folded[n.Outputs[0]]; ok {
			// A 1-D integer value of constants only: a shape being
			// computed (TorchScript's Where(Equal(shape, -1), ones,
			// shape)), whose length is a rank, not the batch. The
			// shapes it gives are rewritten where they are read.
			return nil
		}
	}
	if n.OpType == "Expand" {
		if in, ok := r.tags[n.Inputs[0]]; ok {
			k := len(vals) - len(r.shapes[n.Inputs[0]]) + in.Axis
			if k >= 0 && k < len(vals) && vals[k] > 1 {
				nv := append([]int64(nil), vals...)
				nv[k] = 1
				r.setInput(n, 1, r.constant(n.Name+"/shape", nv))
				r.done = append(r.done, fmt.Sprintf("node %s: shape %v -> %v", n.Name, vals, nv))
			}
			return nil
		}
	}
	if r.b < 2 {
		return nil
	}
	// The axis that meets the batch where the value is read beside one that
	// carries it (broadcasting from the right: nn.RNN's refolded first
	// step [1, B, H] added to [B, H]), else the first when it is the batch.
	k := r.alignedAxis(n.Outputs[0], len(vals))
	if k < 0 && vals[0] == int64(r.b) && r.meetsBatch(n.Outputs[0], len(vals)) {
		k = 0
	}
	if k < 0 || vals[k] != int64(r.b) {
		return nil
	}
	v, err := r.withBatch(n, vals, k)
	if err != nil {
		return err
	}
	r.setInput(n, idx, v)
	r.done = append(r.done, fmt.Sprintf("node %s: shape %v -> batch at %d", n.Name, vals, k))
	return nil
}

// alignedAxis returns the axis of a value of the given rank (not itself
// carrying the batch) that lines up with the batch axis of another input of
// a broadcasting op that reads it, or -1.
func (r *batchRewriter) alignedAxis(v string, rank int) int {
	for _, u := range r.g.Consumers()[v] {
		if !broadcasting[u.Node.OpType] {
			continue
		}
		for i, w := range u.Node.Inputs {
			t, ok := r.tags[w]
			if i == u.Index || !ok {
				continue
			}
			if k := t.Axis - (len(r.shapes[w]) - rank); k >= 0 && k < rank {
				return k
			}
		}
	}
	return -1
}

// meetsBatch reports whether a value made for the exported batch on its
// first axis may stand for the batch: not when every node reads it where
// the op takes a parameter (a GroupNorm's groups equal to the batch, fed
// to InstanceNormalization as its scale: a size, not the batch).
func (r *batchRewriter) meetsBatch(v string, _ int) bool {
	producers := r.g.Producers()
	uses := r.g.Consumers()[v]
	for _, u := range uses {
		if _, ok := graph.SlotOf(u.Node, u.Index, producers); !ok {
			return true
		}
	}
	return len(uses) == 0
}

// rangeBatch: torch.arange(x.size(0)) folded to Range(0, B, 1) (a batch
// index, as Hugging Face's attention masks build one) counts to the batch
// computed from the input's shape.
func (r *batchRewriter) rangeBatch(n *graph.Node) error {
	if r.b < 2 || len(n.Inputs) != 3 || r.opset < 11 {
		return nil
	}
	start, ok1 := r.scalars[n.Inputs[0]]
	limit, ok2 := r.scalars[n.Inputs[1]]
	delta, ok3 := r.scalars[n.Inputs[2]]
	if !ok1 || !ok2 || !ok3 || start != 0 || delta != 1 || limit != int64(r.b) {
		return nil
	}
	batch, err := r.batchDim()
	if err != nil {
		return err
	}
	scalar := r.name(n.Name + "/limit")
	r.insertBefore(n, &graph.Node{Name: scalar, OpType: "Reshape", Outputs: []string{scalar},
		Inputs: []string{batch, r.constant(scalar+"/shape", []int64{})}})
	r.setInput(n, 1, scalar)
	r.done = append(r.done, fmt.Sprintf("node %s: Range(0, %d) -> Range(0, batch)", n.Name, limit))
	return nil
}

// resizeSizes: a Resize given the full output sizes (opset 11+: input 3)
// whose entry on the batch axis is the exported batch takes it from the
// input's shape.
func (r *batchRewriter) resizeSizes(n *graph.Node, producers map[string]*graph.Node) error {
	if len(n.Inputs) < 4 || n.Inputs[3] == "" {
		return nil
	}
	in, ok := r.tags[n.Inputs[0]]
	vals, ok2 := r.ints(producers, n.Inputs[3])
	if !ok || !ok2 || in.Axis >= len(vals) || in.Major != 1 || vals[in.Axis] != int64(r.b) || len(vals) != len(r.shapes[n.Inputs[0]]) {
		return nil
	}
	v, err := r.withBatch(n, vals, in.Axis)
	if err != nil {
		return err
	}
	r.setInput(n, 3, v)
	r.done = append(r.done, fmt.Sprintf("node %s: sizes %v -> batch at %d", n.Name, vals, in.Axis))
	return nil
}

// tile: a Tile that repeats a value of one example b times along its
// first axis (x.repeat(B, 1, 1) of a parameter) repeats it by the batch
// computed from the input's shape.
func (r *batchRewriter) tile(n *graph.Node, producers map[string]*graph.Node) error {
	if r.b < 2 || len(n.Inputs) < 2 || len(n.Outputs) == 0 {
		return nil
	}
	if _, tagged := r.tags[n.Inputs[0]]; tagged {
		return nil // it already carries the batch
	}
	vals, ok := r.ints(producers, n.Inputs[1])
	in := r.shapes[n.Inputs[0]]
	if !ok || len(vals) == 0 || len(in) == 0 || vals[0] != int64(r.b) || in[0] != 1 {
		return nil
	}
	v, err := r.withBatch(n, vals, 0)
	if err != nil {
		return err
	}
	r.setInput(n, 1, v)
	r.done = append(r.done, fmt.Sprintf("node %s: repeats %v -> [batch %s]", n.Name, vals, joinInts(vals[1:])))
	return nil
}

// slice: a Slice that took the whole batch axis takes it whatever its size
// (opset 10+, where starts and ends are inputs).
func (r *batchRewriter) slice(n *graph.Node, producers map[string]*graph.Node) {
	in, ok := r.tags[n.Inputs[0]]
	if !ok || r.opset < 10 || len(n.Inputs) < 3 || r.b < 2 {
		// At an exported batch of 1, [0:1] may be "every example" or "the
		// first": left as it is (the proof refuses the second).
		return
	}
	starts, ok1 := r.ints(producers, n.Inputs[1])
	ends, ok2 := r.ints(producers, n.Inputs[2])
	if !ok1 || !ok2 || len(starts) != len(ends) {
		return
	}
	rank := int64(len(r.shapes[n.Inputs[0]]))
	axes := make([]int64, len(starts))
	for k := range axes {
		axes[k] = int64(k)
	}
	if len(n.Inputs) > 3 && n.Inputs[3] != "" {
		a, ok := r.ints(producers, n.Inputs[3])
		if !ok || len(a) != len(starts) {
			return
		}
		axes = a
	}
	var steps []int64
	if len(n.Inputs) > 4 && n.Inputs[4] != "" {
		var ok bool
		if steps, ok = r.ints(producers, n.Inputs[4]); !ok || len(steps) != len(starts) {
			return
		}
	}
	dim := int64(r.shapes[n.Inputs[0]][in.Axis])
	for k, a := range axes {
		if a < 0 {
			a += rank
		}
		if int(a) != in.Axis || starts[k] != 0 || ends[k] < dim || (steps != nil && steps[k] != 1) || ends[k] == math.MaxInt64 {
			continue
		}
		ne := append([]int64(nil), ends...)
		ne[k] = math.MaxInt64
		r.setInput(n, 2, r.constant(n.Name+"/ends", ne))
		r.done = append(r.done, fmt.Sprintf("node %s: ends %v -> %v", n.Name, ends, ne))
		return
	}
}

// constOperands: a constant operand that holds the same slice once per
// example of the exported batch (a folded torch.zeros(x.size(0), ...), an
// expanded class token) becomes that one slice: broadcast by elementwise
// ops, expanded to the batch computed in the graph for Concat.
//
// Also the data an Expand broadcasts (a zeros state expanded to the batch
// computed from the input's shape) and the data GatherElements reads with
// batched indices (expanded to the batch).
func (r *batchRewriter) constOperands(n *graph.Node, producers map[string]*graph.Node) error {
	only := -1 // the one operand that may be rewritten, or -1 for any
	switch {
	case len(n.Outputs) == 0:
		return nil
	case n.OpType == "Expand" || n.OpType == "GatherElements":
		only = 0
	case !broadcasting[n.OpType] && n.OpType != "Concat":
		return nil
	}
	src := -1
	for i, v := range n.Inputs {
		if _, ok := r.tags[v]; ok && v != "" {
			src = i
			break
		}
	}
	out, ok := r.tags[n.Outputs[0]]
	if !ok || src < 0 && n.OpType != "Expand" {
		return nil
	}
	rankOut := len(r.shapes[n.Outputs[0]])
	for i, v := range n.Inputs {
		if i == src || v == "" || r.params[v] || only >= 0 && i != only {
			continue
		}
		if _, tagged := r.tags[v]; tagged {
			continue
		}
		t := r.g.Initializer(v)
		if t == nil {
			if p := producers[v]; p != nil && p.OpType == "Constant" {
				if a := p.Attr("value"); a != nil && a.T != nil {
					t = a.T
				}
			}
		}
		if t == nil {
			continue
		}
		k := out.Axis - (rankOut - len(t.Dims))
		if k < 0 || k >= len(t.Dims) || t.Dims[k] < 2 || t.Dims[k] != int64(r.shapes[n.Outputs[0]][out.Axis]) {
			continue
		}
		one, ok := firstSlice(t, k)
		if !ok {
			continue // the examples differ: not a per-example constant
		}
		one.Name = r.name(v + "/one")
		r.g.Initializers = append(r.g.Initializers, one)
		value := one.Name
		if n.OpType == "Concat" || n.OpType == "GatherElements" {
			shape := append([]int64(nil), t.Dims...)
			dimv, err := r.withBatch(n, shape, k)
			if err != nil {
				return err
			}
			exp := r.name(v + "/expanded")
			r.insertBefore(n, &graph.Node{Name: exp, OpType: "Expand", Inputs: []string{one.Name, dimv}, Outputs: []string{exp}})
			value = exp
		}
		r.setInput(n, i, value)
		r.done = append(r.done, fmt.Sprintf("node %s: constant %s %v -> one example's slice", n.Name, v, t.Dims))
	}
	return nil
}

// firstSlice returns t's first slice along axis k (kept as a dimension of
// 1) when every slice along k equals it.
func firstSlice(t *graph.Tensor, k int) (*graph.Tensor, bool) {
	if len(t.Raw) == 0 || t.DType.Bits() < 8 {
		return nil, false
	}
	size := t.DType.Bits() / 8
	inner := size
	for _, d := range t.Dims[k+1:] {
		inner *= int(d)
	}
	outer := 1
	for _, d := range t.Dims[:k] {
		outer *= int(d)
	}
	n := int(t.Dims[k])
	if len(t.Raw) != outer*n*inner {
		return nil, false
	}
	raw := make([]byte, 0, outer*inner)
	for o := 0; o < outer; o++ {
		block := t.Raw[o*n*inner : (o+1)*n*inner]
		first := block[:inner]
		for j := 1; j < n; j++ {
			if string(block[j*inner:(j+1)*inner]) != string(first) {
				return nil, false
			}
		}
		raw = append(raw, first...)
	}
	dims := append([]int64(nil), t.Dims...)
	dims[k] = 1
	return &graph.Tensor{DType: t.DType, Dims: dims, Raw: raw}, true
}

// withBatch returns a value holding shape with entry k replaced by the
// batch, computed from a graph input's shape, for node n to read.
func (r *batchRewriter) withBatch(n *graph.Node, shape []int64, k int) (string, error) {
	batch, err := r.batchDim()
	if err != nil {
		return "", err
	}
	parts := []string{}
	if k > 0 {
		parts = append(parts, r.constant(n.Name+"/before", shape[:k]))
	}
	parts = append(parts, batch)
	if k+1 < len(shape) {
		parts = append(parts, r.constant(n.Name+"/after", shape[k+1:]))
	}
	if len(parts) == 1 {
		return batch, nil
	}
	out := r.name(n.Name + "/shape")
	r.insertBefore(n, &graph.Node{Name: out, OpType: "Concat", Inputs: parts, Outputs: []string{out},
		Attrs: []*graph.Attribute{{Name: "axis", Type: graph.AttrInt, I: 0}}})
	return out, nil
}

// batchDim returns the value [batch] (1-D int64), made once from the first
// graph input that carries the batch on axis 0.
func (r *batchRewriter) batchDim() (string, error) {
	if v := r.dims["batch"]; v != "" {
		return v, nil
	}
	source, axis := "", int64(0)
	for _, name := range ops.InputNames(r.m) {
		if t, ok := r.tags[name]; ok && t.Major == 1 {
			source, axis = name, int64(t.Axis)
			break
		}
	}
	if source == "" {
		return "", errors.New("no input carries the batch")
	}
	shape := r.name(source + "/batch/Shape")
	batch := r.name(source + "/batch")
	nodes := []*graph.Node{{Name: shape, OpType: "Shape", Inputs: []string{source}, Outputs: []string{shape}}}
	if r.opset >= 10 {
		nodes = append(nodes, &graph.Node{Name: batch, OpType: "Slice", Outputs: []string{batch},
			Inputs: []string{shape, r.constant(batch+"/start", []int64{axis}), r.constant(batch+"/end", []int64{axis + 1})}})
	} else {
		nodes = append(nodes, &graph.Node{Name: batch, OpType: "Slice", Inputs: []string{shape}, Outputs: []string{batch},
			Attrs: []*graph.Attribute{
				{Name: "starts", Type: graph.AttrInts, Ints: []int64{axis}},
				{Name: "ends", Type: graph.AttrInts, Ints: []int64{axis + 1}},
			}})
	}
	r.g.Nodes = append(nodes, r.g.Nodes...)
	if r.dims == nil {
		r.dims = make(map[string]string)
	}
	r.dims["batch"] = batch
	return batch, nil
}

// insertBefore puts x just before node n (n's other inputs are computed by
// then).
func (r *batchRewriter) insertBefore(n *graph.Node, x *graph.Node) {
	at := r.current(n)
	for i, y := range r.g.Nodes {
		if y == at {
			r.g.Nodes = append(r.g.Nodes[:i], append([]*graph.Node{x}, r.g.Nodes[i:]...)...)
			return
		}
	}
}

// current returns the node that stands for n now (a copy once changed).
func (r *batchRewriter) current(n *graph.Node) *graph.Node {
	if c := r.cur[n]; c != nil {
		return c
	}
	return n
}

// setInput points input idx of node n at value v, on a copy of the node
// (the original graph shares its nodes until the rewrite is proved).
func (r *batchRewriter) setInput(n *graph.Node, idx int, v string) {
	nn := r.copyNode(n)
	r.replaced = append(r.replaced, nn.Inputs[idx])
	nn.Inputs[idx] = v
}

// dropAttr removes an attribute of node n, on a copy.
func (r *batchRewriter) dropAttr(n *graph.Node, name string) {
	nn := r.copyNode(n)
	var kept []*graph.Attribute
	for _, a := range nn.Attrs {
		if a.Name != name {
			kept = append(kept, a)
		}
	}
	nn.Attrs = kept
}

// copyNode puts a copy of n in its place once and returns it.
func (r *batchRewriter) copyNode(n *graph.Node) *graph.Node {
	if c := r.cur[n]; c != nil {
		return c
	}
	nn := *n
	nn.Inputs = append([]string(nil), n.Inputs...)
	nn.Attrs = append([]*graph.Attribute(nil), n.Attrs...)
	for k, x := range r.g.Nodes {
		if x == n {
			r.g.Nodes[k] = &nn
		}
	}
	r.cur[n] = &nn
	return &nn
}

// constant adds a 1-D int64 initializer and returns its name.
func (r *batchRewriter) constant(base string, v []int64) string {
	name := r.name(base)
	t := &graph.Tensor{Name: name, DType: graph.Int64, Dims: []int64{int64(len(v))}}
	raw := make([]byte, 8*len(v))
	for i, x := range v {
		for k := 0; k < 8; k++ {
			raw[8*i+k] = byte(uint64(x) >> (8 * k))
		}
	}
	t.Raw = raw
	r.g.Initializers = append(r.g.Initializers, t)
	return name
}

// name returns a value or node name not yet used in the graph, and marks
// it as the rewriter's.
func (r *batchRewriter) name(base string) string {
	if r.fresh == nil {
		r.fresh = make(map[string]bool)
	}
	used := valueNames(r.g)
	for _, n := range r.g.Nodes {
		used[n.Name] = true
	}
	name := base
	for k := 1; used[name] || r.fresh[name]; k++ {
		name = fmt.Sprintf("%s_%d", base, k)
	}
	r.fresh[name] = true
	return name
}

func joinInts(v []int64) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, " ")
}

// ints reads a 1-D int64 value that does not depend on the graph's inputs:
// a constant, or a value computed from constants only (a shape that the
// TorchScript exporter computes with ConstantOfShape, Equal and Where).
func (r *batchRewriter) ints(producers map[string]*graph.Node, name string) ([]int64, bool) {
	if v, ok := constInts(r.g, producers, name); ok {
		return v, true
	}
	v, ok := r.folded[name]
	return v, ok
}

// foldedInts returns the 1-D int64 node outputs that no graph input
// reaches, with their values at the exported batch.
func foldedInts(g *graph.Graph, inputs []string, values map[string]*tensor.Dense) map[string][]int64 {
	reached := make(map[string]bool)
	for _, in := range inputs {
		reached[in] = true
	}
	out := make(map[string][]int64)
	for _, n := range g.Nodes {
		dyn := len(n.Attrs) > 0 && hasGraphAttr(n)
		for _, v := range n.Inputs {
			if reached[v] {
				dyn = true
			}
		}
		for _, o := range n.Outputs {
			if dyn {
				reached[o] = true
				continue
			}
			if t := values[o]; t != nil && len(ops.Shape(t)) == 1 {
				if v, err := ops.Data[int64](t); err == nil {
					out[o] = append([]int64(nil), v...)
				}
			}
		}
	}
	return out
}

// foldedScalars returns the 0-d int64 node outputs that no graph input
// reaches, with their values at the exported batch (a Range's bounds).
func foldedScalars(g *graph.Graph, inputs []string, values map[string]*tensor.Dense) map[string]int64 {
	reached := make(map[string]bool)
	for _, in := range inputs {
		reached[in] = true
	}
	out := make(map[string]int64)
	for _, n := range g.Nodes {
		dyn := hasGraphAttr(n)
		for _, v := range n.Inputs {
			dyn = dyn || reached[v]
		}
		for _, o := range n.Outputs {
			if dyn {
				reached[o] = true
				continue
			}
			if t := values[o]; t != nil && len(ops.Shape(t)) == 0 {
				if v, err := ops.Data[int64](t); err == nil && len(v) == 1 {
					out[o] = v[0]
				}
			}
		}
	}
	return out
}

// hasGraphAttr reports a node with a subgraph (If, Loop, Scan), which may
// read outer values: its outputs are not taken for constants.
func hasGraphAttr(n *graph.Node) bool {
	for _, a := range n.Attrs {
		if a.G != nil || len(a.Graphs) > 0 {
			return true
		}
	}
	return false
}

// constInts reads a 1-D int64 constant: an initializer or a Constant node's
// value.
func constInts(g *graph.Graph, producers map[string]*graph.Node, name string) ([]int64, bool) {
	if name == "" {
		return nil, false
	}
	if t := g.Initializer(name); t != nil {
		if t.DType != graph.Int64 || len(t.Dims) != 1 {
			return nil, false
		}
		v, err := t.Int64s()
		return v, err == nil
	}
	p := producers[name]
	if p == nil || p.OpType != "Constant" {
		return nil, false
	}
	for _, a := range p.Attrs {
		switch {
		case a.Name == "value" && a.T != nil && a.T.DType == graph.Int64 && len(a.T.Dims) == 1:
			v, err := a.T.Int64s()
			return v, err == nil
		case a.Name == "value_ints":
			return append([]int64(nil), a.Ints...), true
		}
	}
	return nil, false
}

func opsetOf(m *graph.Model) int64 {
	v, _ := m.OpsetVersion("")
	return v
}

func inputInfo(g *graph.Graph, name string) *graph.ValueInfo {
	for _, in := range g.Inputs {
		if in.Name == name {
			return in
		}
	}
	return nil
}

// copyGraph copies g's lists so that the rewrite can replace entries
// without touching g; nodes, tensors and declarations it changes are
// copied where it changes them.
func copyGraph(g *graph.Graph) *graph.Graph {
	c := *g
	c.Nodes = append([]*graph.Node(nil), g.Nodes...)
	c.Initializers = append([]*graph.Tensor(nil), g.Initializers...)
	c.Inputs = append([]*graph.ValueInfo(nil), g.Inputs...)
	c.Outputs = append([]*graph.ValueInfo(nil), g.Outputs...)
	c.ValueInfo = append([]*graph.ValueInfo(nil), g.ValueInfo...)
	return &c
}

// copyInfo copies a declaration deeply enough to change its dims.
func copyInfo(v *graph.ValueInfo) *graph.ValueInfo {
	c := *v
	if v.Type != nil {
		t := *v.Type
		if v.Type.Shape != nil {
			s := *v.Type.Shape
			s.Dims = append([]graph.Dim(nil), v.Type.Shape.Dims...)
			t.Shape = &s
		}
		c.Type = &t
	}
	return &c
}

func replaceInfo(list []*graph.ValueInfo, v *graph.ValueInfo) {
	for i, x := range list {
		if x.Name == v.Name {
			list[i] = v
		}
	}
}

// exportedRun runs m as exported on inputs, span by span, and returns
// every value's shape and the values that may be folded constants (0-d and
// 1-D int64 ones: foldedInts, foldedScalars).
func exportedRun(plan *spanPlan, m *graph.Model, inputs map[string]*tensor.Dense, maxBytes int64) (map[string][]int, map[string]*tensor.Dense, error) {
	shapes := make(map[string][]int)
	small := make(map[string]*tensor.Dense)
	run := newSpanRun(plan, m, inputs, maxBytes)
	for range plan.spans {
		got, _, err := run.run()
		if err != nil {
			return nil, nil, err
		}
		for k, v := range got {
			shapes[k] = ops.Shape(v)
			if v.Dtype() == tensor.Int64 && len(shapes[k]) <= 1 {
				small[k] = v
			}
		}
	}
	return shapes, small, nil
}

// proveBatch runs the model as exported (orig, whose spans plan holds) at
// b and the rewritten model at b and at n, span by span together (see
// spanRun), on inputs whose examples at n repeat those at b, and compares
// each node output of the rewritten model with the model's as exported at
// b and across the batches. It returns each value's shape at b and at n,
// or an error naming the first node whose output breaks the rule.
func proveBatch(orig, rewritten *graph.Model, plan *spanPlan, axes map[string]int, inputsB map[string]*tensor.Dense, tags map[string]batchTag, b, n int, maxBytes int64) (map[string][]int, map[string][]int, error) {
	isOutput := make(map[string]bool)
	for _, o := range rewritten.Graph.Outputs {
		isOutput[o.Name] = true
	}
	// Examples at n: the b of inputsB, then others (see mixed), so that a
	// node mixing examples (a mean, a max or a flip over the batch) shows
	// at once, whatever b is.
	inputsY, err := proofInputs(orig, axes, b, b, setY)
	if err != nil {
		return nil, nil, err
	}
	inputsN, err := proofInputs(orig, axes, b, n, mixed(b))
	if err != nil {
		return nil, nil, err
	}
	rplan := rewrittenSpans(plan, rewritten.Graph)
	pr := &spanProof{rewritten: rewritten.Graph, isOutput: isOutput, tags: tags, b: b, n: n,
		shapesB: make(map[string][]int), shapesN: make(map[string][]int)}
	err = pr.prove(newSpanRun(plan, orig, inputsB, maxBytes), newSpanRun(rplan, rewritten, inputsB, maxBytes),
		newSpanRun(rplan, rewritten, inputsY, maxBytes), newSpanRun(rplan, rewritten, inputsN, maxBytes))
	if err != nil {
		return nil, nil, err
	}
	return pr.shapesB, pr.shapesN, nil
}

// spanProof is the comparison of proveBatch's four runs.
type spanProof struct {
	rewritten        *graph.Graph
	isOutput         map[string]bool
	tags             map[string]batchTag
	b, n             int
	shapesB, shapesN map[string][]int
}

// prove advances the runs of the model as exported at b (w) and of the
// rewritten model at b (x), at b on other examples (y) and at n together
// through the rest of their spans, comparing each span's values. A
// rewritten run that fails in a span of several nodes (but for want of
// memory) goes over that span again a node at a time, so that the error
// names the first node that breaks the rule, the failing one or one
// before it, wherever the spans are cut.
func (pr *spanProof) prove(w, x, y, n *spanRun) error {
	b := pr.b
	for w.next < len(w.plan.spans) {
		k := w.next
		saved := []*spanRun{w.snapshot(), x.snapshot(), y.snapshot(), n.snapshot()}
		finer := func(err error, at int) error {
			if le := (*graph.LimitError)(nil); errors.As(err, &le) || len(w.plan.spans[k]) < 2 {
				return proofError(at, err)
			}
			wp := w.plan.split(k)
			xp := rewrittenSpans(wp, pr.rewritten)
			saved[0].plan = wp
			for _, r := range saved[1:] {
				r.plan = xp
			}
			return pr.prove(saved[0], saved[1], saved[2], saved[3])
		}
		want, _, err := w.run()
		if err != nil {
			return fmt.Errorf("the model as exported does not run at batch %d: %w", b, err)
		}
		atB, order, err := x.run()
		if err != nil {
			return finer(err, b)
		}
		atY, _, err := y.run()
		if err != nil {
			return finer(err, b)
		}
		atN, _, err := n.run()
		if err != nil {
			return finer(err, pr.n)
		}
		for _, v := range order {
			x, y := atB[v.value], atN[v.value]
			if x == nil || y == nil {
				continue
			}
			pr.shapesB[v.value], pr.shapesN[v.value] = ops.Shape(x), ops.Shape(y)
			if w := want[v.value]; w != nil && !closeEnough(w, x) {
				return fmt.Errorf("%w: node %s computes %q differently at batch %d after the rewrite", ErrBatchPinned, v.node, v.value, b)
			}
			major := 1
			if t, ok := pr.tags[v.value]; ok {
				major = t.Major
			}
			if why := perExample(x, atY[v.value], y, b, pr.n, major, !pr.isOutput[v.value]); why != "" {
				return fmt.Errorf("%w: node %s (%s): output %q %s", ErrBatchPinned, v.node, v.op, v.value, why)
			}
		}
	}
	return nil
}

// proofError is the error of a proof's run at batch n: a run that would
// need more memory than allowed says so (the batch is not shown pinned),
// any other failure means the rewritten model does not run at n.
func proofError(n int, err error) error {
	if le := (*graph.LimitError)(nil); errors.As(err, &le) {
		return fmt.Errorf("cannot run the proof at batch %d: %w", n, err)
	}
	return fmt.Errorf("%w: at batch %d: %w", ErrBatchPinned, n, err)
}

type producedValue struct{ value, node, op string }

// exampleOf says which example goes to place e of a batch: example idx of
// set (0 or 1), two sets of b examples drawn from different seeds.
type exampleOf func(e int) (set, idx int)

func setX(e int) (int, int) { return 0, e }
func setY(e int) (int, int) { return 1, e }

// mixed places set X's b examples first, then set Y's, over and over: X,
// Y, Y, ... (no palindrome, so that a flip over the batch shows too).
func mixed(b int) exampleOf {
	return func(e int) (int, int) {
		if e < b {
			return 0, e
		}
		return 1, (e - b) % b
	}
}

// proofInputs makes inputs at batch n whose examples come from two sets of
// b (place e holds the example pick(e) names): floats from fixed seeds,
// integers 0 and 1 (valid ids and masks), booleans likewise. Each input
// holds the batch on its axis in axes; inputs whose dimension there is not
// the batch are the same for every batch.
func proofInputs(m *graph.Model, axes map[string]int, b, n int, pick exampleOf) (map[string]*tensor.Dense, error) {
	out := make(map[string]*tensor.Dense)
	for k, name := range ops.InputNames(m) {
		in := inputInfo(m.Graph, name)
		dt, dims, ok := in.TensorShape()
		if !ok {
			return nil, fmt.Errorf("input %q has no tensor type", name)
		}
		a := axes[name]
		shape := make([]int, len(dims))
		per := 1
		batched := false
		for i, d := range dims {
			switch {
			case i == a && d.HasValue && d.Value == int64(b):
				shape[i] = n
				batched = true
				continue
			case d.HasValue && d.Value >= 0:
				shape[i] = int(d.Value)
			default:
				return nil, fmt.Errorf("input %q: dimension %d is %s; the proof needs every dimension but the batch fixed", name, i, dimName(d))
			}
			if err := graph.CheckBytes("proof input "+name, int64(per), int64(max(shape[i], 1)), 0); err != nil {
				return nil, err
			}
			per *= shape[i]
		}
		if !batched {
			// Not batched (its dimension on the batch axis is not the
			// batch): the same at n.
			if err := graph.CheckBytes("proof input "+name, int64(per), 8, 0); err != nil {
				return nil, err
			}
			t, err := fill(dt, shape, -1, 1, uint64(k), setX)
			if err != nil {
				return nil, fmt.Errorf("input %q: %w", name, err)
			}
			out[name] = t
			continue
		}
		if err := graph.CheckBytes("proof input "+name, int64(per)*int64(max(n, b)), 8, 0); err != nil {
			return nil, err
		}
		t, err := fill(dt, shape, a, b, uint64(k), pick)
		if err != nil {
			return nil, fmt.Errorf("input %q: %w", name, err)
		}
		out[name] = t
	}
	return out, nil
}

func dimName(d graph.Dim) string {
	if d.HasParam {
		return fmt.Sprintf("%q", d.Param)
	}
	return "unknown"
}

// fill makes a tensor of shape whose examples along axis (-1: one
// example, the whole tensor) are those pick names, out of two sets of b
// examples.
func fill(dt graph.DType, shape []int, axis, b int, seed uint64, pick exampleOf) (*tensor.Dense, error) {
	size, outer, count, inner := 1, 1, 1, 1
	for i, d := range shape {
		size *= d
		switch {
		case axis < 0 || i > axis:
			inner *= d
		case i < axis:
			outer *= d
		default:
			count = d
		}
	}
	per := outer * inner
	var base [2][]float64
	for set := range base {
		r := rand.New(rand.NewPCG(seed, 77+uint64(set)))
		base[set] = make([]float64, per*b)
		for i := range base[set] {
			base[set][i] = r.NormFloat64()
		}
	}
	at := func(j int) float64 {
		o, e, rest := j/(count*inner), (j/inner)%count, j%inner
		set, idx := pick(e)
		return base[set][idx*per+o*inner+rest]
	}
	one := func(j int) bool { return at(j) > 0 } // ids and masks: 0 or 1
	switch dt {
	case graph.Float32:
		return fillOf(shape, size, func(j int) float32 { return float32(at(j)) }), nil
	case graph.Float64:
		return fillOf(shape, size, at), nil
	case graph.Int64:
		return fillOf(shape, size, func(j int) int64 { return int64(b2i(one(j))) }), nil
	case graph.Int32:
		return fillOf(shape, size, func(j int) int32 { return int32(b2i(one(j))) }), nil
	case graph.Bool:
		return fillOf(shape, size, one), nil
	}
	return nil, fmt.Errorf("the proof cannot make %s inputs", dt)
}

// fillOf makes a tensor of shape whose element j is f(j).
func fillOf[T any](shape []int, size int, f func(j int) T) *tensor.Dense {
	v := make([]T, size)
	for j := range v {
		v[j] = f(j)
	}
	return ops.Dense(shape, v)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// perExample checks a value computed at batch b on the two sets of
// examples (x, xy) and at batch n on the sets mixed (y, see mixed): when
// one of its dimensions follows the batch, each example at n must equal
// the same example at b; otherwise the three must be equal (floats;
// integers that do not follow the batch are shapes and indices, which may
// change). It returns why not, or "".
func perExample(x, xy, y *tensor.Dense, b, n, major int, inner bool) string {
	sx, sy := ops.Shape(x), ops.Shape(y)
	if len(sx) != len(sy) {
		return fmt.Sprintf("has rank %d at batch %d and %d at batch %d", len(sx), b, len(sy), n)
	}
	if xy == nil || !slices.Equal(sx, ops.Shape(xy)) {
		return fmt.Sprintf("has another shape for other examples at batch %d", b)
	}
	xs, err1 := asFloats(x)
	xys, err3 := asFloats(xy)
	ys, err2 := asFloats(y)
	if err1 != nil || err2 != nil || err3 != nil {
		return "" // strings and the like: nothing to compare
	}
	pick := mixed(b)
	// The one axis whose size changed carries the batch: major blocks
	// (batchTag.Major) of the examples, q elements each.
	axis := -1
	for i := range sx {
		if sx[i] != sy[i] {
			if axis >= 0 {
				return fmt.Sprintf("is %v at batch %d and %v at batch %d", sx, b, sy, n)
			}
			axis = i
		}
	}
	if axis >= 0 {
		if major < 1 || sx[axis]%(major*b) != 0 || sy[axis]%(major*n) != 0 || sx[axis]/(major*b) != sy[axis]/(major*n) {
			return fmt.Sprintf("is %v at batch %d and %v at batch %d", sx, b, sy, n)
		}
		if inner && !isFloat(x) {
			// Integers inside the model that follow the batch may count
			// it (torch.arange(B): each example's index); what they
			// select is compared where it is computed.
			return ""
		}
		// Along the axis: major blocks of the batch's examples of q each.
		q := sx[axis] / (major * b)
		inner := 1
		for _, d := range sx[axis+1:] {
			inner *= d
		}
		outerB, outerN := sx[axis]*inner, sy[axis]*inner
		for j := range ys {
			o, rest := j/outerN, j%outerN
			mi, rest := rest/(n*q*inner), rest%(n*q*inner)
			e, r := rest/(q*inner), rest%(q*inner)
			set, idx := pick(e)
			jb := o*outerB + mi*b*q*inner + idx*q*inner + r
			ref := xs
			if set == 1 {
				ref = xys
			}
			if !near(ref[jb], ys[j]) {
				return fmt.Sprintf("differs for example %d at batch %d from the same example at batch %d (%g, %g): it computes across the batch or keeps the exported size", e, n, b, ys[j], ref[jb])
			}
		}
		return ""
	}
	if !isFloat(x) {
		return "" // integers that do not follow the batch are shapes and indices: they may change with it
	}
	for j := range xs {
		if !near(xs[j], xys[j]) {
			return fmt.Sprintf("does not follow the batch yet changes with the examples (%g, %g for others at batch %d): it computes across the batch", xs[j], xys[j], b)
		}
		if !near(xs[j], ys[j]) {
			return fmt.Sprintf("does not follow the batch yet changes with it (%g at batch %d, %g at batch %d)", xs[j], b, ys[j], n)
		}
	}
	return ""
}

func isFloat(t *tensor.Dense) bool {
	dt := t.Dtype()
	return dt == tensor.Float32 || dt == tensor.Float64
}

// closeEnough compares two runs of the same value at the same batch.
func closeEnough(a, b *tensor.Dense) bool {
	if !slices.Equal(ops.Shape(a), ops.Shape(b)) {
		return false
	}
	xs, err1 := asFloats(a)
	ys, err2 := asFloats(b)
	if err1 != nil || err2 != nil {
		return true
	}
	for i := range xs {
		if !near(xs[i], ys[i]) {
			return false
		}
	}
	return true
}

func near(a, b float64) bool {
	if math.IsNaN(a) && math.IsNaN(b) || a == b {
		return true
	}
	return math.Abs(a-b) <= 1e-6+1e-5*math.Max(math.Abs(a), math.Abs(b))
}

// asFloats reads a numeric or boolean tensor as float64s.
func asFloats(t *tensor.Dense) ([]float64, error) {
	if v, err := ops.Data[float64](t); err == nil {
		return v, nil
	}
	for _, f := range []func(*tensor.Dense) ([]float64, bool){widen[float32], widen[int64], widen[int32]} {
		if v, ok := f(t); ok {
			return v, nil
		}
	}
	if v, err := ops.Data[bool](t); err == nil {
		out := make([]float64, len(v))
		for i, x := range v {
			if x {
				out[i] = 1
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("not numeric")
}

// widen reads a tensor of T as float64s.
func widen[T float32 | int64 | int32](t *tensor.Dense) ([]float64, bool) {
	v, err := ops.Data[T](t)
	if err != nil {
		return nil, false
	}
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out, true
}

// recurrentState: an initial state of a recurrent op that is a constant
// holding the same slice once per example along the axis where the op
// declares the batch (the dynamo exporter's folded zeros state [layers*dirs,
// B, H]) becomes that one slice expanded to the batch computed in the graph.
func (r *batchRewriter) recurrentState(n *graph.Node, producers map[string]*graph.Node) error {
	// At an exported batch of 1 as well: the op reads the state's axis x
	// as the batch, so the one slice is every example's state.
	x, _ := recurrentAxis(n)
	if len(n.Inputs) == 0 {
		return nil
	}
	if t, ok := r.tags[n.Inputs[0]]; !ok || t.Axis != x || t.Major != 1 {
		return nil
	}
	for _, i := range []int{5, 6} {
		if i >= len(n.Inputs) || n.Inputs[i] == "" || i == 6 && n.OpType != "LSTM" {
			continue
		}
		v := n.Inputs[i]
		if r.params[v] {
			continue
		}
		if _, tagged := r.tags[v]; tagged {
			continue
		}
		t := r.constTensor(producers, v)
		if t == nil || len(t.Dims) != 3 || t.Dims[x] != int64(r.b) {
			continue
		}
		one, ok := firstSlice(t, x)
		if !ok {
			continue // the examples differ: not a per-example constant
		}
		one.Name = r.name(v + "/one")
		r.g.Initializers = append(r.g.Initializers, one)
		dimv, err := r.withBatch(n, t.Dims, x)
		if err != nil {
			return err
		}
		exp := r.name(v + "/expanded")
		r.insertBefore(n, &graph.Node{Name: exp, OpType: "Expand", Inputs: []string{one.Name, dimv}, Outputs: []string{exp}})
		r.setInput(n, i, exp)
		r.done = append(r.done, fmt.Sprintf("node %s: initial state %s %v -> one example's, expanded to the batch", n.Name, v, t.Dims))
	}
	return nil
}

// constTensor returns the tensor of an initializer or a Constant node's
// value, or nil.
func (r *batchRewriter) constTensor(producers map[string]*graph.Node, v string) *graph.Tensor {
	if t := r.g.Initializer(v); t != nil {
		return t
	}
	if p := producers[v]; p != nil && p.OpType == "Constant" {
		if a := p.Attr("value"); a != nil && a.T != nil {
			return a.T
		}
	}
	return nil
}

// stridedGather: torch's as_strided over a batched value, as the dynamo
// exporter lowers it: a Gather (axis 0) from the value flattened to
// [B*q] with constant indices [B, ...] computed for the exported batch, each
// example's indices those of the first plus its offset e*q, all within one
// example. It becomes a Gather along axis 1 of the value reshaped to
// [-1, q] with the first example's indices: the same elements for each
// example, at any batch.
func (r *batchRewriter) stridedGather(n *graph.Node, producers map[string]*graph.Node) error {
	if r.b < 2 || len(n.Inputs) < 2 || len(n.Outputs) == 0 || n.AttrInt("axis", 0) != 0 {
		return nil
	}
	in, ok := r.tags[n.Inputs[0]]
	data := r.shapes[n.Inputs[0]]
	if !ok || len(data) != 1 || in.Axis != 0 || in.Major != 1 || data[0]%r.b != 0 {
		return nil
	}
	if _, tagged := r.tags[n.Inputs[1]]; tagged {
		return nil
	}
	t := r.constTensor(producers, n.Inputs[1])
	if t == nil {
		return nil
	}
	first, ok := stridedIndices(t, data[0], r.b)
	if !ok {
		return nil
	}
	q := int64(data[0] / r.b)
	dims := append([]int64(nil), t.Dims[1:]...)
	ind := r.name(n.Inputs[1] + "/one")
	raw := make([]byte, 8*len(first))
	for i, x := range first {
		for b := 0; b < 8; b++ {
			raw[8*i+b] = byte(uint64(x) >> (8 * b))
		}
	}
	r.g.Initializers = append(r.g.Initializers, &graph.Tensor{Name: ind, DType: graph.Int64, Dims: dims, Raw: raw})
	flat := r.name(n.Name + "/examples")
	r.insertBefore(n, &graph.Node{Name: flat, OpType: "Reshape", Outputs: []string{flat},
		Inputs: []string{n.Inputs[0], r.constant(n.Name+"/examples_shape", []int64{-1, q})}})
	nn := r.copyNode(n)
	r.replaced = append(r.replaced, nn.Inputs[1])
	nn.Inputs[0], nn.Inputs[1] = flat, ind
	var kept []*graph.Attribute
	for _, a := range nn.Attrs {
		if a.Name != "axis" {
			kept = append(kept, a)
		}
	}
	nn.Attrs = append(kept, &graph.Attribute{Name: "axis", Type: graph.AttrInt, I: 1})
	r.done = append(r.done, fmt.Sprintf("node %s: indices %s %v -> one example's, along axis 1 of [batch %d]", n.Name, n.Inputs[1], t.Dims, q))
	return nil
}

// stridedIndices reads constant indices t [b, ...] into a value of size
// elements holding b examples of size/b each: when each example's indices
// are the first example's plus its offset, and the first's lie within one
// example, it returns the first's (non-negative).
func stridedIndices(t *graph.Tensor, size, b int) ([]int64, bool) {
	if t == nil || b < 2 || size%b != 0 || len(t.Dims) < 1 || t.Dims[0] != int64(b) || t.DType != graph.Int64 {
		return nil, false
	}
	idx, err := t.Int64s()
	if err != nil || len(idx)%b != 0 {
		return nil, false
	}
	q, per := int64(size/b), len(idx)/b
	first := make([]int64, per)
	for k := range first {
		first[k] = idx[k]
		if first[k] < 0 {
			first[k] += int64(size)
		}
		if first[k] < 0 || first[k] >= q {
			return nil, false
		}
	}
	for e := 1; e < b; e++ {
		for k := 0; k < per; k++ {
			x := idx[e*per+k]
			if x < 0 {
				x += int64(size)
			}
			if x != first[k]+int64(e)*q {
				return nil, false
			}
		}
	}
	return first, true
}
