package remap

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/graph/ops"
)

// Quantized models train as PyTorch's quantization-aware training does,
// with float master weights: QuantMasters replaces each weight a QDQ
// model stores as integers (an int8, uint8, int16 or uint16 initializer,
// or Constant, read by DequantizeLinear) by a float initializer holding its
// dequantized value, under its PyTorch name, read through a new
// QuantizeLinear with the same scale and zero point whose output keeps the
// integer tensor's name:
//
//	conv1.weight_quantized (int8) -> DequantizeLinear -> Conv
//	becomes
//	conv1.weight (float32) -> QuantizeLinear -> conv1.weight_quantized -> DequantizeLinear -> Conv
//
// which is the form PyTorch's exporter writes for a fake-quantized weight,
// and which the engine trains as torch.fake_quantize_*_affine (straight-
// through gradient). An int32 bias read by DequantizeLinear (a quantizer's
// bias, at scale input_scale * weight_scale) becomes a float initializer
// under the DequantizeLinear's output name, read directly, as PyTorch's
// QAT modules keep biases float; what it takes to write it back (type,
// scale, zero point, axis, names) is in the initializer's metadata
// (MasterKey). Scales and zero points never change: they are fixed, as
// under PyTorch's QAT with frozen observers.
//
// QuantizeMasters is the reverse, for export: each master weight is
// quantized with its scale and zero point as ONNX Runtime's QuantizeLinear
// does (round half to even, saturation) into the integer initializer its
// QuantizeLinear made, that QuantizeLinear removed; each master bias
// becomes its int32 initializer and DequantizeLinear again. The written
// model is a QDQ model of the original's layout. train.Prepare runs
// QuantMasters; ToInference runs QuantizeMasters.

// MasterKey is the metadata key of a float master copy QuantMasters made:
// MasterQuantize for a weight read through QuantizeLinear, else the JSON
// of the int32 DequantizeLinear it replaced.
const (
	MasterKey      = "onnxtune.master"
	MasterQuantize = "quantize"
)

// masterBias is what an int32 bias's DequantizeLinear was.
type masterBias struct {
	Node      string    `json:"node"`
	Data      string    `json:"data"`
	Scale     []float32 `json:"scale"`
	ScaleDims []int64   `json:"scale_dims"`
	ScaleName string    `json:"scale_name"`
	Zero      []int64   `json:"zero,omitempty"`
	ZeroDims  []int64   `json:"zero_dims,omitempty"`
	ZeroName  string    `json:"zero_name,omitempty"`
	Axis      *int64    `json:"axis,omitempty"`
}

// constTensors returns the values known without running the graph:
// initializers and Constant nodes' tensors, by value name, with the
// Constant nodes.
func constTensors(g *graph.Graph) (map[string]*graph.Tensor, map[string]*graph.Node) {
	vals := make(map[string]*graph.Tensor)
	nodes := make(map[string]*graph.Node)
	for _, t := range g.Initializers {
		vals[t.Name] = t
	}
	for _, n := range g.Nodes {
		if n.OpType == "Constant" && (n.Domain == "" || n.Domain == "ai.onnx") && len(n.Outputs) == 1 && len(n.Attrs) == 1 && n.Attrs[0].Name == "value" && n.Attrs[0].T != nil {
			vals[n.Outputs[0]], nodes[n.Outputs[0]] = n.Attrs[0].T, n
		}
	}
	return vals, nodes
}

// quantInts are the integer types a master copy is made for.
var quantInts = map[graph.DType]bool{graph.Int8: true, graph.Uint8: true, graph.Int16: true, graph.Uint16: true}

// QuantMasters gives every integer weight and int32 bias that a
// DequantizeLinear of the main graph reads a float master copy (see
// above). It returns how many it made; m.Params follows (the new float
// initializers are the parameters). A second call changes nothing.
func QuantMasters(m *graph.Model) (int, error) {
	if m == nil || m.Graph == nil {
		return 0, nil
	}
	g := m.Graph
	vals, constNodes := constTensors(g)
	consumers := g.Consumers()
	producers := g.Producers()
	taken := func(name string) bool {
		_, p := producers[name]
		return vals[name] != nil || p || g.Input(name) != nil
	}
	type plan struct {
		dq     *graph.Node
		master *graph.Tensor
		q      *graph.Node // nil for a bias
		drop   string      // the integer value: initializer or Constant output
	}
	var plans []plan
	used := make(map[string]bool)
	for _, n := range g.Nodes {
		if n.OpType != "DequantizeLinear" || (n.Domain != "" && n.Domain != "ai.onnx") || len(n.Inputs) < 2 || len(n.Outputs) != 1 {
			continue
		}
		data, scale := vals[n.Inputs[0]], vals[n.Inputs[1]]
		var zero *graph.Tensor
		if len(n.Inputs) > 2 && n.Inputs[2] != "" {
			if zero = vals[n.Inputs[2]]; zero == nil {
				continue
			}
		}
		if data == nil || scale == nil || scale.DType != graph.Float32 || len(consumers[n.Inputs[0]]) != 1 || used[n.Inputs[0]] {
			continue
		}
		if !quantInts[data.DType] && data.DType != graph.Int32 {
			continue
		}
		master, err := dequantized(n, data, scale, zero)
		if err != nil {
			return 0, fmt.Errorf("remap: node %s: %w", n, err)
		}
		used[n.Inputs[0]] = true
		if data.DType == graph.Int32 {
			b := masterBias{Node: n.Name, Data: n.Inputs[0], ScaleName: n.Inputs[1], ScaleDims: scale.Dims}
			b.Scale, _ = graph.Values[float32](scale)
			if zero != nil {
				b.ZeroName, b.ZeroDims = n.Inputs[2], zero.Dims
				b.Zero, _ = zero.Int64s()
			}
			if a := n.Attr("axis"); a != nil {
				b.Axis = &a.I
			}
			js, err := json.Marshal(b)
			if err != nil {
				return 0, err
			}
			master.Name = n.Outputs[0]
			master.Metadata = []graph.StringPair{{Key: MasterKey, Value: string(js)}}
			plans = append(plans, plan{dq: n, master: master, drop: n.Inputs[0]})
			continue
		}
		if zero == nil && data.DType != graph.Uint8 {
			continue // QuantizeLinear before opset 21 writes uint8 without a zero point
		}
		name := masterName(n, consumers, producers)
		if name == "" || taken(name) || used[name] {
			name = n.Inputs[0] + "_float"
		}
		used[name] = true
		master.Name = name
		master.Metadata = []graph.StringPair{{Key: MasterKey, Value: MasterQuantize}}
		q := &graph.Node{Name: n.Inputs[0] + "_QuantizeLinear", OpType: "QuantizeLinear", Domain: n.Domain,
			Inputs: append([]string{name}, n.Inputs[1:]...), Outputs: []string{n.Inputs[0]}}
		for _, a := range n.Attrs {
			if a.Name == "axis" || a.Name == "block_size" {
				c := *a
				q.Attrs = append(q.Attrs, &c)
			}
		}
		plans = append(plans, plan{dq: n, master: master, q: q, drop: n.Inputs[0]})
	}
	if len(plans) == 0 {
		return 0, nil
	}
	return len(plans), m.Edit(func(g *graph.Graph) error {
		drop := make(map[string]bool)
		before := make(map[*graph.Node]*graph.Node)
		remove := make(map[*graph.Node]bool)
		for _, p := range plans {
			drop[p.drop] = true
			if c := constNodes[p.drop]; c != nil {
				remove[c] = true
			}
			g.Initializers = append(g.Initializers, p.master)
			if p.q == nil {
				remove[p.dq] = true
			} else {
				before[p.dq] = p.q
			}
		}
		g.Initializers = slices.DeleteFunc(g.Initializers, func(t *graph.Tensor) bool { return drop[t.Name] })
		nodes := make([]*graph.Node, 0, len(g.Nodes)+len(before))
		for _, n := range g.Nodes {
			if q := before[n]; q != nil {
				nodes = append(nodes, q)
			}
			if !remove[n] {
				nodes = append(nodes, n)
			}
		}
		g.Nodes = nodes
		return nil
	})
}

// masterName is the PyTorch name of the weight a DequantizeLinear feeds:
// its reader's module and the slot's suffix (conv1.weight).
func masterName(dq *graph.Node, consumers map[string][]graph.Use, producers map[string]*graph.Node) string {
	uses := consumers[dq.Outputs[0]]
	if len(uses) != 1 {
		return ""
	}
	s, ok := graph.SlotOf(uses[0].Node, uses[0].Index, producers)
	if !ok {
		return ""
	}
	mod := graph.NodeModulePath(uses[0].Node)
	if mod == "" {
		return ""
	}
	return mod + "." + s.Suffix
}

// dequantized computes DequantizeLinear's output for constant inputs, as
// a float32 tensor of data's dims.
func dequantized(n *graph.Node, data, scale, zero *graph.Tensor) (*graph.Tensor, error) {
	x, err := data.Int64s()
	if err != nil {
		return nil, err
	}
	s, err := graph.Values[float32](scale)
	if err != nil {
		return nil, err
	}
	z := make([]int64, len(s))
	if zero != nil {
		if z, err = zero.Int64s(); err != nil {
			return nil, err
		}
	}
	if len(z) != len(s) || len(s) == 0 {
		return nil, fmt.Errorf("scale of %d values, zero point of %d", len(s), len(z))
	}
	axis, err := quantAxis(n, data.Dims, len(s))
	if err != nil {
		return nil, err
	}
	if n.AttrInt("block_size", 0) != 0 {
		return nil, fmt.Errorf("blocked quantization of a weight is not supported")
	}
	at := channelOf(data.Dims, axis, len(s))
	out := make([]float32, len(x))
	for i, v := range x {
		k := at(i)
		out[i] = float32(v-z[k]) * s[k]
	}
	return graph.NewFloat32("", slices.Clone(data.Dims), out)
}

// quantAxis is the axis a scale of n values applies along (-1 per tensor).
func quantAxis(n *graph.Node, dims []int64, size int) (int, error) {
	if size == 1 {
		return -1, nil
	}
	axis := int(n.AttrInt("axis", 1))
	if axis < 0 {
		axis += len(dims)
	}
	if axis < 0 || axis >= len(dims) || dims[axis] != int64(size) {
		return 0, fmt.Errorf("scale of %d values does not fit axis %d of %v", size, n.AttrInt("axis", 1), dims)
	}
	return axis, nil
}

// channelOf maps an element's index to its scale's.
func channelOf(dims []int64, axis, size int) func(int) int {
	if axis < 0 {
		return func(int) int { return 0 }
	}
	inner := 1
	for _, d := range dims[axis+1:] {
		inner *= int(d)
	}
	return func(i int) int { return (i / inner) % size }
}

// QuantizeMasters writes the master copies QuantMasters made back as the
// model stored them (see above). It returns how many; m.Params follows.
func QuantizeMasters(m *graph.Model) (int, error) {
	if m == nil || m.Graph == nil {
		return 0, nil
	}
	g := m.Graph
	vals, _ := constTensors(g)
	consumers := g.Consumers()
	type plan struct {
		master *graph.Tensor
		q      *graph.Node   // weights: the QuantizeLinear to remove
		ints   *graph.Tensor // the integer initializer
		extra  []*graph.Tensor
		dq     *graph.Node // biases: the DequantizeLinear to restore
	}
	var plans []plan
	for _, t := range g.Initializers {
		key := ""
		for _, p := range t.Metadata {
			if p.Key == MasterKey {
				key = p.Value
			}
		}
		if key == "" {
			continue
		}
		x, err := t.Float32s()
		if err != nil {
			return 0, fmt.Errorf("remap: master %q: %w", t.Name, err)
		}
		if key != MasterQuantize {
			p, err := biasPlan(g, t, x, key, vals)
			if err != nil {
				return 0, fmt.Errorf("remap: master %q: %w", t.Name, err)
			}
			plans = append(plans, plan{master: t, ints: p.ints, extra: p.extra, dq: p.dq})
			continue
		}
		uses := consumers[t.Name]
		if len(uses) != 1 || uses[0].Node.OpType != "QuantizeLinear" || uses[0].Index != 0 {
			return 0, fmt.Errorf("remap: master %q: want one QuantizeLinear reading it", t.Name)
		}
		q := uses[0].Node
		ints, err := quantizeWeight(q, t, x, vals)
		if err != nil {
			return 0, fmt.Errorf("remap: node %s: %w", q, err)
		}
		plans = append(plans, plan{master: t, q: q, ints: ints})
	}
	if len(plans) == 0 {
		return 0, nil
	}
	return len(plans), m.Edit(func(g *graph.Graph) error {
		masters := make(map[string]bool)
		remove := make(map[*graph.Node]bool)
		first := make(map[string]*graph.Node) // bias value -> DequantizeLinear to put before its first reader
		for _, p := range plans {
			masters[p.master.Name] = true
			if p.q != nil {
				remove[p.q] = true
			}
			if p.dq != nil {
				first[p.master.Name] = p.dq
			}
		}
		g.Initializers = slices.DeleteFunc(g.Initializers, func(t *graph.Tensor) bool { return masters[t.Name] })
		for _, p := range plans {
			g.Initializers = append(g.Initializers, p.ints)
			g.Initializers = append(g.Initializers, p.extra...)
		}
		nodes := make([]*graph.Node, 0, len(g.Nodes)+len(first))
		for _, n := range g.Nodes {
			for _, in := range n.Inputs {
				if dq := first[in]; dq != nil {
					nodes = append(nodes, dq)
					delete(first, in)
				}
			}
			if !remove[n] {
				nodes = append(nodes, n)
			}
		}
		for _, dq := range first { // read by nothing but a graph output
			nodes = append(nodes, dq)
		}
		g.Nodes = nodes
		return nil
	})
}

// quantizeWeight quantizes a master weight as QuantizeLinear q does, into
// an initializer named by q's output.
func quantizeWeight(q *graph.Node, t *graph.Tensor, x []float32, vals map[string]*graph.Tensor) (*graph.Tensor, error) {
	if len(q.Inputs) < 2 || vals[q.Inputs[1]] == nil {
		return nil, fmt.Errorf("scale is not a constant")
	}
	scale, err := graph.Values[float32](vals[q.Inputs[1]])
	if err != nil {
		return nil, err
	}
	dt := graph.Uint8
	var zero []int64
	if len(q.Inputs) > 2 && q.Inputs[2] != "" {
		z := vals[q.Inputs[2]]
		if z == nil {
			return nil, fmt.Errorf("zero point is not a constant")
		}
		if zero, err = z.Int64s(); err != nil {
			return nil, err
		}
		dt = z.DType
	}
	axis, err := quantAxis(q, t.Dims, len(scale))
	if err != nil {
		return nil, err
	}
	shape := make([]int, len(t.Dims))
	for i, d := range t.Dims {
		shape[i] = int(d)
	}
	v, err := ops.QuantizeValues(x, shape, scale, zero, axis, 0, dt)
	if err != nil {
		return nil, err
	}
	return intTensor(q.Outputs[0], dt, t.Dims, v)
}

// intTensor makes an integer initializer.
func intTensor(name string, dt graph.DType, dims []int64, v []int64) (*graph.Tensor, error) {
	out := &graph.Tensor{Name: name, DType: dt, Dims: slices.Clone(dims)}
	switch dt {
	case graph.Int8:
		out.Raw = graph.Encode(graph.Convert[int64, int8](v))
	case graph.Uint8:
		out.Raw = graph.Encode(graph.Convert[int64, uint8](v))
	case graph.Int16:
		out.Raw = graph.Encode(graph.Convert[int64, int16](v))
	case graph.Uint16:
		out.Raw = graph.Encode(graph.Convert[int64, uint16](v))
	case graph.Int32:
		out.Raw = graph.Encode(graph.Convert[int64, int32](v))
	default:
		return nil, fmt.Errorf("element type %s", dt)
	}
	return out, nil
}

type biasWrite struct {
	ints  *graph.Tensor
	extra []*graph.Tensor
	dq    *graph.Node
}

// biasPlan rebuilds an int32 bias's initializers and DequantizeLinear.
func biasPlan(g *graph.Graph, t *graph.Tensor, x []float32, key string, vals map[string]*graph.Tensor) (biasWrite, error) {
	var b masterBias
	if err := json.Unmarshal([]byte(key), &b); err != nil {
		return biasWrite{}, fmt.Errorf("metadata %s: %w", MasterKey, err)
	}
	if len(b.Scale) == 0 || (b.Zero != nil && len(b.Zero) != len(b.Scale)) {
		return biasWrite{}, fmt.Errorf("metadata %s: %d scales, %d zero points", MasterKey, len(b.Scale), len(b.Zero))
	}
	axis := -1
	if len(b.Scale) > 1 {
		a := int64(1)
		if b.Axis != nil {
			a = *b.Axis
		}
		axis = int(a)
		if axis < 0 {
			axis += len(t.Dims)
		}
		if axis < 0 || axis >= len(t.Dims) || t.Dims[axis] != int64(len(b.Scale)) {
			return biasWrite{}, fmt.Errorf("metadata %s: %d scales do not fit %v", MasterKey, len(b.Scale), t.Dims)
		}
	}
	at := channelOf(t.Dims, axis, len(b.Scale))
	v := make([]int64, len(x))
	for i, f := range x {
		k := at(i)
		var z int64
		if b.Zero != nil {
			z = b.Zero[k]
		}
		// QuantizeLinear's rounding, to int32's range.
		q, err := ops.QuantizeValues([]float32{f}, []int{1}, []float32{b.Scale[k]}, []int64{z}, -1, 0, graph.Int32)
		if err != nil {
			return biasWrite{}, err
		}
		v[i] = q[0]
	}
	unique := func(name string) string {
		for i := 0; vals[name] != nil || g.Node(name) != nil || name == ""; i++ {
			name = fmt.Sprintf("%s_%d", b.Data, i)
		}
		return name
	}
	data := unique(b.Data)
	ints, err := intTensor(data, graph.Int32, t.Dims, v)
	if err != nil {
		return biasWrite{}, err
	}
	w := biasWrite{ints: ints}
	dq := &graph.Node{Name: b.Node, OpType: "DequantizeLinear", Inputs: []string{data, b.ScaleName}, Outputs: []string{t.Name}}
	if b.Axis != nil {
		dq.Attrs = []*graph.Attribute{{Name: "axis", Type: graph.AttrInt, I: *b.Axis}}
	}
	if s := vals[b.ScaleName]; s == nil || !sameFloat32s(s, b.Scale) {
		name := unique(b.ScaleName)
		st, err := graph.NewFloat32(name, b.ScaleDims, b.Scale)
		if err != nil {
			return biasWrite{}, err
		}
		w.extra, dq.Inputs[1] = append(w.extra, st), name
	}
	if b.Zero != nil {
		dq.Inputs = append(dq.Inputs, b.ZeroName)
		if z := vals[b.ZeroName]; z == nil || z.DType != graph.Int32 {
			name := unique(b.ZeroName)
			zt, err := intTensor(name, graph.Int32, b.ZeroDims, b.Zero)
			if err != nil {
				return biasWrite{}, err
			}
			w.extra, dq.Inputs[2] = append(w.extra, zt), name
		}
	}
	w.dq = dq
	return w, nil
}

func sameFloat32s(t *graph.Tensor, want []float32) bool {
	v, err := graph.Values[float32](t)
	return err == nil && slices.Equal(v, want)
}
