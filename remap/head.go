package remap

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/onnxtune/onnxtune/graph"
)

// ErrNotLinear reports a layer ReplaceHead cannot replace: no such
// parameter, or not the weight of a Gemm or MatMul.
var ErrNotLinear = errors.New("not a linear layer")

// ReplaceHead replaces the linear layer at module path layer ("fc",
// "classifier.1": the prefix of its parameter names) with a fresh one of
// classes outputs, as model.fc = nn.Linear(in_features, classes) does in
// PyTorch. The layer is a Gemm, or a MatMul followed by an Add of the bias
// (Linear on 3-D input); its bias is optional.
//
// The new tensors are initialized as nn.Linear initializes itself:
// kaiming_uniform_(a=sqrt(5)) on the weight, which is U(-1/sqrt(in),
// 1/sqrt(in)), and the bias from the same distribution, drawn (weight first,
// in PyTorch's layout, then bias) from a Go random source seeded with seed:
// the same seed gives the same tensors, not PyTorch's numbers.
//
// The parameters keep their PyTorch names (fc.weight, fc.bias) with the new
// shapes; initializers keep their names unless another parameter shared
// them (then the layer gets its own, named after the parameter). The
// declared shapes of the values computed from the layer (value_info and
// graph outputs, such as logits [batch, 1000]) get classes as their last
// dim where it was the old number of outputs. Node names, opsets, every
// other node and tensor are kept. A layer whose outputs a later node
// reads with a weight of the layer's width (a BatchNorm after it, the next
// Linear) is refused naming that node: the model could not run. Errors
// wrap ErrNotLinear when the layer is not a linear layer; new tensors larger than graph.DefaultMaxBytes are
// refused with a *graph.LimitError before they are allocated
// (ReplaceHeadWith sets the limit); m is unchanged on error.
func ReplaceHead(m *graph.Model, layer string, classes int, seed int64) error {
	return ReplaceHeadWith(m, layer, classes, HeadOptions{Seed: seed})
}

// HeadOptions are the settings of ReplaceHeadWith.
type HeadOptions struct {
	// Seed seeds the new layer's initialization.
	Seed int64
	// MaxBytes bounds the new weight and bias together (classes comes from
	// a user, in_features from a file); zero or less means graph.DefaultMaxBytes.
	MaxBytes int64
}

// ReplaceHeadWith is ReplaceHead with options: the seed, and the limit on
// the bytes of the new tensors, checked before anything is allocated
// (errors are then a *graph.LimitError naming the layer's parameters).
func ReplaceHeadWith(m *graph.Model, layer string, classes int, opts HeadOptions) error {
	seed := opts.Seed
	if classes < 1 {
		return fmt.Errorf("remap: replace head %q: %d classes: want 1 or more", layer, classes)
	}
	if m == nil || m.Graph == nil {
		return fmt.Errorf("remap: replace head %q: nil model", layer)
	}
	if _, err := LiftConstants(m); err != nil {
		return err
	}
	h, err := findLinear(m, layer)
	if err != nil {
		return fmt.Errorf("remap: replace head %q: %w", layer, err)
	}
	if err := sizedAfter(m.Graph, h); err != nil {
		return fmt.Errorf("remap: replace head %q: %w", layer, err)
	}
	in := h.w.Shape[1]
	out := int64(classes)
	if in > 0 && out > math.MaxInt32/in {
		return fmt.Errorf("remap: replace head %q: %d x %d weight: more than 2^31 values", layer, out, in)
	}
	// The size of the new tensors, before any is allocated.
	size := int64(h.w.DType.Bits() / 8)
	what := fmt.Sprintf("%s %s[%d,%d]", h.w.Name, h.w.DType, out, in)
	elems := out * in
	if h.b != nil {
		what += fmt.Sprintf(" and %s %s[%d]", h.b.Name, h.b.DType, out)
		elems += out
	}
	if err := graph.CheckBytes(what, elems, size, opts.MaxBytes); err != nil {
		return fmt.Errorf("remap: replace head %q: %w", layer, err)
	}
	bound := 0.0
	if in > 0 {
		bound = 1 / math.Sqrt(float64(in))
	}
	r := rand.New(rand.NewPCG(uint64(seed), 0))
	uniform := func(dt graph.DType, n int64) []byte {
		return encodeFloats(dt, int(n), func() float64 { return (2*r.Float64() - 1) * bound })
	}
	wDims := []int64{out, in}
	wRaw := uniform(h.w.DType, out*in)
	if h.w.Transposed {
		t := &graph.Tensor{Name: h.w.Name, DType: h.w.DType, Dims: wDims, Raw: wRaw}
		if wRaw, err = transpose(t); err != nil {
			return fmt.Errorf("remap: replace head %q: %w", layer, err)
		}
		wDims = []int64{in, out}
	}
	var bRaw []byte
	if h.b != nil {
		bRaw = uniform(h.b.DType, out)
	}

	// Nothing has changed so far: from here on nothing fails.
	return m.Edit(func(g *graph.Graph) error {
		var orphans []string
		if v := setTensor(g, h.w, h.node, h.wIndex, wDims, wRaw); v != "" {
			orphans = append(orphans, v)
		}
		if h.b != nil {
			if v := setTensor(g, h.b, h.biasNode, h.bIndex, []int64{out}, bRaw); v != "" {
				orphans = append(orphans, v)
			}
		}
		fixDeclared(g, h.node.Outputs, h.oldOut, out)
		removeDead(g, orphans) // the ties the new tensors left behind
		return nil
	})
}

// sizedAfter refuses a layer whose outputs a later node reads with a float
// tensor of the layer's width (a BatchNorm1d after it, the next Linear's
// weight): with another number of outputs the model could not run. Only
// float initializers count, the weights; an initializer of one element
// broadcasts.
func sizedAfter(g *graph.Graph, h *linear) error {
	own := map[string]bool{h.w.Initializer: true}
	if h.b != nil {
		own[h.b.Initializer] = true
	}
	reached := make(map[string]bool)
	for _, o := range h.node.Outputs {
		reached[o] = o != ""
	}
	for _, n := range g.Nodes {
		reads := false
		for _, in := range n.Inputs {
			reads = reads || reached[in]
		}
		if !reads || n == h.node {
			continue
		}
		for _, in := range n.Inputs {
			t := g.Initializer(in)
			if t == nil || own[in] || !t.DType.IsFloat() || h.oldOut < 2 || !slices.Contains(t.Dims, h.oldOut) {
				continue
			}
			dims := make([]string, len(t.Dims))
			for i, d := range t.Dims {
				dims[i] = fmt.Sprint(d)
			}
			return fmt.Errorf("node %s, after the layer, reads %s %s[%s], sized for its %d outputs: replace that layer instead, or export the model with it removed",
				n, in, t.DType, strings.Join(dims, ","), h.oldOut)
		}
		for _, o := range n.Outputs {
			if o != "" {
				reached[o] = true
			}
		}
	}
	return nil
}

// linear is a linear layer found by findLinear.
type linear struct {
	w, b           *graph.Param
	node           *graph.Node // Gemm or MatMul
	biasNode       *graph.Node // Gemm or the Add after MatMul
	wIndex, bIndex int
	oldOut         int64
}

// findLinear finds the Gemm or MatMul(+Add) that reads layer.weight (and
// layer.bias).
func findLinear(m *graph.Model, layer string) (*linear, error) {
	w := m.Param(layer + ".weight")
	if w == nil {
		return nil, fmt.Errorf("%w: the model has no parameter %s.weight (onnxtune inspect lists them)", ErrNotLinear, layer)
	}
	if len(w.Shape) != 2 || (w.DType != graph.Float32 && w.DType != graph.Float64) {
		return nil, fmt.Errorf("%w: %s is %s, not a float32 or float64 matrix", ErrNotLinear, w.Name, describe(w))
	}
	if m.Graph.Initializer(w.Initializer) == nil {
		return nil, fmt.Errorf("%s: initializer %q not found", w.Name, w.Initializer)
	}
	consumers := m.Graph.Consumers()
	producers := m.Graph.Producers()
	uses := consumers[w.Value]
	if len(uses) != 1 {
		return nil, fmt.Errorf("%w: %s is read by %d nodes, want 1", ErrNotLinear, w.Name, len(uses))
	}
	// The op's declared parameter slots (graph.SlotOf) say which inputs are
	// a linear map's weight and bias.
	u := uses[0]
	if s, ok := graph.SlotOf(u.Node, u.Index, producers); !ok || !s.Linear || len(u.Node.Outputs) != 1 {
		return nil, fmt.Errorf("%w: %s is input %d of %s, not the weight of a linear map (Gemm, MatMul)", ErrNotLinear, w.Name, u.Index, u.Node)
	}
	h := &linear{w: w, node: u.Node, wIndex: u.Index, oldOut: w.Shape[0]}
	b := m.Param(layer + ".bias")
	if b == nil {
		for i, v := range u.Node.Inputs {
			if s, ok := graph.SlotOf(u.Node, i, producers); ok && s.Suffix == "bias" && v != "" {
				return nil, fmt.Errorf("%w: %s adds %q, which is not %s.bias", ErrNotLinear, u.Node, v, layer)
			}
		}
		return h, nil
	}
	if len(b.Shape) != 1 || b.Shape[0] != h.oldOut || b.DType != w.DType {
		return nil, fmt.Errorf("%w: %s is %s, %s is %s", ErrNotLinear, w.Name, describe(w), b.Name, describe(b))
	}
	if m.Graph.Initializer(b.Initializer) == nil {
		return nil, fmt.Errorf("%s: initializer %q not found", b.Name, b.Initializer)
	}
	buses := consumers[b.Value]
	if len(buses) != 1 {
		return nil, fmt.Errorf("%w: %s is read by %d nodes, want 1", ErrNotLinear, b.Name, len(buses))
	}
	// The bias is a bias slot of the same node (Gemm), or of the node that
	// reads its output beside it (the Add after MatMul).
	bu := buses[0]
	s, ok := graph.SlotOf(bu.Node, bu.Index, producers)
	switch {
	case ok && s.Suffix == "bias" && bu.Node == u.Node:
	case ok && s.Suffix == "bias" && s.Beside == u.Node.OpType && bu.Node.Inputs[1-bu.Index] == u.Node.Outputs[0]:
	default:
		return nil, fmt.Errorf("%w: %s is input %d of %s, not the bias of %s", ErrNotLinear, b.Name, bu.Index, bu.Node, u.Node)
	}
	h.b, h.biasNode, h.bIndex = b, bu.Node, bu.Index
	return h, nil
}

// setTensor gives parameter p the values raw with dims, which node reads
// at input idx. When p has its initializer to itself, that initializer
// changes (its name, storage and doc string stay). When p reaches node
// through an Identity of a shared initializer (the exporter's
// de-duplication) and only node reads it, the Identity gives way to an
// initializer of its output's name. Otherwise node's input is pointed at a
// new initializer named after p. Declarations of the name (graph input,
// value_info) get the new dims. It returns the value node read before when
// that may now be unused.
func setTensor(g *graph.Graph, p *graph.Param, node *graph.Node, idx int, dims []int64, raw []byte) string {
	consumers := g.Consumers()
	isOutput := make(map[string]bool)
	for _, o := range g.Outputs {
		isOutput[o.Name] = true
	}
	exclusive := func(v string) bool { return len(consumers[v]) == 1 && !isOutput[v] }
	switch {
	case p.Value == p.Initializer && exclusive(p.Initializer):
		t := g.Initializer(p.Initializer)
		t.Dims, t.Raw = dims, raw
		declare(g, t.Name, dims)
		return ""
	case p.Value != p.Initializer && exclusive(p.Value) && g.Producers()[p.Value] != nil && g.Producers()[p.Value].OpType == "Identity":
		id := g.Producers()[p.Value]
		nodes := g.Nodes[:0]
		for _, n := range g.Nodes {
			if n != id {
				nodes = append(nodes, n)
			}
		}
		g.Nodes = nodes
		g.Initializers = append(g.Initializers, &graph.Tensor{Name: p.Value, DType: p.DType, Dims: dims, Raw: raw})
		declare(g, p.Value, dims)
		return id.Inputs[0]
	}
	names := valueNames(g)
	name := p.Name
	for i := 1; names[name]; i++ {
		name = fmt.Sprintf("%s_%d", p.Name, i)
	}
	g.Initializers = append(g.Initializers, &graph.Tensor{Name: name, DType: p.DType, Dims: dims, Raw: raw})
	node.Inputs[idx] = name
	return p.Value
}

// declare sets the dims of name's declarations (graph input, value_info).
func declare(g *graph.Graph, name string, dims []int64) {
	for _, list := range [][]*graph.ValueInfo{g.Inputs, g.ValueInfo} {
		for _, v := range list {
			if v.Name == name && v.Type != nil && v.Type.Shape != nil {
				v.Type.Shape.Dims = make([]graph.Dim, len(dims))
				for i, d := range dims {
					v.Type.Shape.Dims[i] = graph.Dim{Value: d, HasValue: true}
				}
			}
		}
	}
}

// fixDeclared sets the last dim of the declared shapes of start and of the
// values computed from them to classes, where it is oldOut. Values declared
// with another last dim (an ArgMax's [batch], say) end the walk.
func fixDeclared(g *graph.Graph, start []string, oldOut, classes int64) {
	decl := make(map[string][]*graph.ValueInfo)
	for _, list := range [][]*graph.ValueInfo{g.Outputs, g.ValueInfo} {
		for _, v := range list {
			decl[v.Name] = append(decl[v.Name], v)
		}
	}
	carries := func(name string) bool {
		for _, v := range decl[name] {
			if _, dims, ok := v.TensorShape(); ok {
				if len(dims) == 0 {
					return false
				}
				if d := dims[len(dims)-1]; d.HasValue && d.Value != oldOut {
					return false
				}
			}
		}
		return true
	}
	reached := make(map[string]bool)
	for _, s := range start {
		reached[s] = carries(s)
	}
	for _, n := range g.Nodes {
		reads := false
		for _, in := range n.Inputs {
			reads = reads || reached[in]
		}
		if !reads {
			continue
		}
		for _, o := range n.Outputs {
			if o != "" && carries(o) {
				reached[o] = true
			}
		}
	}
	for name, ok := range reached {
		if !ok {
			continue
		}
		for _, v := range decl[name] {
			if _, dims, ok := v.TensorShape(); ok {
				if d := &dims[len(dims)-1]; d.HasValue && d.Value == oldOut {
					d.Value = classes
				}
			}
		}
	}
}

// encodeFloats packs n values of next, drawn in order, as little-endian
// values of dt (float32 or float64).
func encodeFloats(dt graph.DType, n int, next func() float64) []byte {
	if dt == graph.Float64 {
		return graph.Encode(draw(n, next))
	}
	return graph.Encode(draw(n, func() float32 { return float32(next()) }))
}

func draw[T float32 | float64](n int, next func() T) []T {
	v := make([]T, n)
	for i := range v {
		v[i] = next()
	}
	return v
}
