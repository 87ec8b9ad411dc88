package ops

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph"
)

// QuantizeLinear and DequantizeLinear (opsets 10 to 25: per tensor, per
// axis and blocked; int8, uint8, int16 and uint16, and int32 for
// DequantizeLinear) run as ONNX Runtime runs them:
//
//	QuantizeLinear:   y = saturate(round_half_even(x / scale) + zero_point)
//	DequantizeLinear: y = float(x - zero_point) * scale
//
// with the division (not a multiplication by 1/scale) done in x's float
// type, and the saturation to the integer type's range.
//
// Compiled for training, a DequantizeLinear that reads a QuantizeLinear's
// output (directly or through a Cast to the same type) with the same
// scale, zero point and layout runs the pair as PyTorch's fake
// quantization (torch.fake_quantize_per_tensor_affine and
// per_channel_affine with that scale and zero point, frozen):
//
//	q = round_half_even(x * (1/scale)) + zero_point
//	y = (clamp(q, qmin, qmax) - zero_point) * scale
//
// whose gradient is the straight-through estimator with PyTorch's clamp
// mask: dy where qmin <= q <= qmax, 0 elsewhere. (PyTorch multiplies by
// the inverse scale where ONNX Runtime divides; the two round differently
// only when x/scale lies within a rounding error of a half-integer.)
// Scales and zero points get no gradient: they stay fixed, as under
// PyTorch's QAT with frozen observers. A pair whose quantization
// parameters differ (requantization) runs as the two ops, without a
// gradient.

func registerQuant(r *Registry) {
	r.add(OpInfo{Name: "QuantizeLinear", Differentiable: true, Lower: lowerQuantize})
	r.add(OpInfo{Name: "DequantizeLinear", Differentiable: true, Lower: lowerDequantize})
}

// quantized is what a QuantizeLinear computed, kept on its output Value so
// that a DequantizeLinear reading it can run the pair as one fake
// quantization in training.
type quantized struct {
	x      *Value // the float input
	layout quantLayout
	scale  *Value
	zero   *Value // nil: zero
}

// quantLayout is how a scale (and zero point) applies to the elements of x:
// one value (per tensor), one per index of axis (per axis), or one per
// block of block elements along axis (blocked).
type quantLayout struct {
	shape []int // x's shape
	kind  int   // perTensor, perAxis or blocked
	axis  int
	block int
	q     graph.DType // the integer type
}

const (
	perTensor = iota
	perAxis
	blocked
)

// quantRanges are the integer types' ranges.
var quantRanges = map[graph.DType][2]int64{
	graph.Int8: {math.MinInt8, math.MaxInt8}, graph.Uint8: {0, math.MaxUint8},
	graph.Int16: {math.MinInt16, math.MaxInt16}, graph.Uint16: {0, math.MaxUint16},
	graph.Int32: {math.MinInt32, math.MaxInt32},
}

// newLayout checks the scale and zero point shapes against x's and the
// node's axis and block_size attributes.
func newLayout(c *Ctx, what string, x, scale, zero *Value, q graph.DType) (quantLayout, error) {
	l := quantLayout{shape: x.Shape, q: q}
	if _, ok := quantRanges[q]; !ok {
		return l, fmt.Errorf("%s of type %s is not supported (int8, uint8, int16, uint16%s)", what, q,
			map[bool]string{true: ", int32", false: ""}[c.Node.OpType == "DequantizeLinear"])
	}
	if !scale.DType.IsFloat() {
		return l, fmt.Errorf("scale of type %s, want a float type", scale.DType)
	}
	a := c.attrs()
	axis := int(a.Int("axis", 1))
	block := int(a.Int("block_size", 0))
	if err := a.Err(); err != nil {
		return l, err
	}
	if p := a.Int("precision", 0); p != 0 && p != int64(graph.Float32) {
		return l, fmt.Errorf("precision %d is not supported (float32 only)", p)
	}
	if zero != nil && zero.Size() != scale.Size() {
		return l, fmt.Errorf("zero point %v does not match scale %v", zero.Shape, scale.Shape)
	}
	if zero != nil && zero.Size() > 1 && !sameInts(zero.Shape, scale.Shape) {
		return l, fmt.Errorf("zero point %v does not match scale %v", zero.Shape, scale.Shape)
	}
	r := len(x.Shape)
	if scale.Size() == 1 && block == 0 {
		return l, nil // per tensor
	}
	if axis < -r || axis >= r {
		return l, fmt.Errorf("axis %d out of range for input of rank %d", axis, r)
	}
	if axis < 0 {
		axis += r
	}
	l.axis = axis
	if block > 0 {
		if len(scale.Shape) != r {
			return l, fmt.Errorf("blocked scale %v must have the rank of x %v", scale.Shape, x.Shape)
		}
		for i, d := range scale.Shape {
			want := x.Shape[i]
			if i == axis {
				want = (x.Shape[i] + block - 1) / block
			}
			if d != want {
				return l, fmt.Errorf("blocked scale %v does not fit x %v with block_size %d on axis %d", scale.Shape, x.Shape, block, axis)
			}
		}
		l.kind, l.block = blocked, block
		return l, nil
	}
	if block < 0 {
		return l, fmt.Errorf("block_size %d is negative", block)
	}
	if len(scale.Shape) != 1 || scale.Shape[0] != x.Shape[axis] {
		return l, fmt.Errorf("scale %v is neither one value nor one per index of axis %d of x %v", scale.Shape, axis, x.Shape)
	}
	l.kind = perAxis
	return l, nil
}

// index returns, for each element of x in order, the index of its scale.
func (l quantLayout) index() func(i int) int {
	if l.kind == perTensor {
		return func(int) int { return 0 }
	}
	inner := 1
	for _, d := range l.shape[l.axis+1:] {
		inner *= d
	}
	d := l.shape[l.axis]
	if l.kind == perAxis {
		return func(i int) int { return (i / inner) % d }
	}
	nb := (d + l.block - 1) / l.block
	b := l.block
	return func(i int) int {
		o, a, in := i/(d*inner), (i/inner)%d, i%inner
		return (o*nb+a/b)*inner + in
	}
}

// equal reports whether two layouts apply their scales alike.
func (l quantLayout) equal(o quantLayout) bool {
	return l.kind == o.kind && l.q == o.q && sameInts(l.shape, o.shape) &&
		(l.kind == perTensor || l.axis == o.axis) && l.block == o.block
}

// quantTarget is QuantizeLinear's output type: the zero point's, else
// output_dtype (opset 21), else uint8.
func quantTarget(c *Ctx, zero *Value) (graph.DType, error) {
	a := c.attrs()
	od := graph.DType(a.Int("output_dtype", 0))
	if err := a.Err(); err != nil {
		return 0, err
	}
	switch {
	case zero != nil && od != 0 && od != zero.DType:
		return 0, fmt.Errorf("output_dtype %s differs from the zero point's type %s", od, zero.DType)
	case zero != nil:
		return zero.DType, nil
	case od != 0:
		return od, nil
	}
	return graph.Uint8, nil
}

func lowerQuantize(c *Ctx, in []*Value) ([]*Value, error) {
	x, scale, zero := input(in, 0), input(in, 1), input(in, 2)
	if x == nil || scale == nil {
		return nil, fmt.Errorf("want inputs x and y_scale")
	}
	if x.DType != graph.Float32 && x.DType != graph.Float64 {
		return nil, fmt.Errorf("x of type %s is not supported (float32)", x.DType)
	}
	q, err := quantTarget(c, zero)
	if err != nil {
		return nil, err
	}
	l, err := newLayout(c, "output", x, scale, zero, q)
	if err != nil {
		return nil, err
	}
	if q == graph.Int32 {
		return nil, fmt.Errorf("output of type int32 is not an ONNX QuantizeLinear type")
	}
	args, p := quantInputs(x, scale, zero)
	out, err := c.Apply(Spec{Name: "QuantizeLinear", Shape: x.Shape, DType: q, Fwd: quantizeKernel(l, p)}, args...)
	if err != nil {
		return nil, err
	}
	out.quant = &quantized{x: x, layout: l, scale: scale, zero: zero}
	return []*Value{out}, nil
}

func lowerDequantize(c *Ctx, in []*Value) ([]*Value, error) {
	x, scale, zero := input(in, 0), input(in, 1), input(in, 2)
	if x == nil || scale == nil {
		return nil, fmt.Errorf("want inputs x and x_scale")
	}
	if zero != nil && zero.DType != x.DType {
		return nil, fmt.Errorf("zero point of type %s, x of type %s", zero.DType, x.DType)
	}
	l, err := newLayout(c, "x", x, scale, zero, x.DType)
	if err != nil {
		return nil, err
	}
	a := c.attrs()
	if od := graph.DType(a.Int("output_dtype", 0)); od != 0 && od != scale.DType {
		return nil, fmt.Errorf("output_dtype %s differs from the scale's type %s", od, scale.DType)
	}
	if scale.DType != graph.Float32 && scale.DType != graph.Float64 {
		return nil, fmt.Errorf("scale of type %s is not supported (float32)", scale.DType)
	}
	if src := x.quant; c.Train && src != nil && src.layout.equal(l) && sameQuant(src, scale, zero) && src.x.DType == scale.DType {
		// A Q->DQ pair: PyTorch's fake quantization, straight through.
		args, p := quantInputs(src.x, scale, zero)
		s := Spec{Name: "FakeQuantize", Shape: x.Shape, DType: scale.DType, Fwd: fakeQuantKernel(l, p, false),
			Grad: fakeQuantGrad(l, p), WRT: make([]bool, len(args))}
		s.WRT[0] = true
		out, err := c.Apply(s, args...)
		return []*Value{out}, err
	}
	args, p := quantInputs(x, scale, zero)
	out, err := c.Apply(Spec{Name: "DequantizeLinear", Shape: x.Shape, DType: scale.DType, Fwd: dequantizeKernel(l, p, scale.DType)}, args...)
	return []*Value{out}, err
}

// sameQuant reports whether a DequantizeLinear's scale and zero point are
// those of the QuantizeLinear that made its input: the same values of the
// graph, or constants of equal elements.
func sameQuant(src *quantized, scale, zero *Value) bool {
	if !sameValue(src.scale, scale) {
		return false
	}
	if src.zero == nil || zero == nil {
		return (src.zero == nil || isZero(src.zero)) && (zero == nil || isZero(zero))
	}
	return sameValue(src.zero, zero)
}

func sameValue(a, b *Value) bool {
	if a == b {
		return true
	}
	if !a.IsConst() || !b.IsConst() || a.DType != b.DType || a.Size() != b.Size() {
		return false
	}
	x, y := constFloats(a), constFloats(b)
	if x == nil || y == nil {
		return false
	}
	for i := range x {
		if x[i] != y[i] {
			return false
		}
	}
	return true
}

func isZero(v *Value) bool {
	if !v.IsConst() {
		return false
	}
	for _, f := range constFloats(v) {
		if f != 0 {
			return false
		}
	}
	return true
}

// constFloats widens a constant's elements to float64 (nil for a type the
// quantization ops do not read).
func constFloats(v *Value) []float64 {
	f, err := quantFloats(v.Const)
	if err != nil {
		return nil
	}
	return f
}

// quantFloats returns a scale's or zero point's elements as float64.
func quantFloats(t *tensor.Dense) ([]float64, error) {
	switch d := t.Data().(type) {
	case []float32:
		return widenOf(d), nil
	case []float64:
		return widenOf(d), nil
	case []int8:
		return widenOf(d), nil
	case []uint8:
		return widenOf(d), nil
	case []int16:
		return widenOf(d), nil
	case []uint16:
		return widenOf(d), nil
	case []int32:
		return widenOf(d), nil
	case float32:
		return []float64{float64(d)}, nil
	case float64:
		return []float64{d}, nil
	case int8:
		return []float64{float64(d)}, nil
	case uint8:
		return []float64{float64(d)}, nil
	case int16:
		return []float64{float64(d)}, nil
	case uint16:
		return []float64{float64(d)}, nil
	case int32:
		return []float64{float64(d)}, nil
	}
	return nil, fmt.Errorf("element type %v is not a scale or zero point type", t.Dtype())
}

func widenOf[T float32 | float64 | int8 | uint8 | int16 | uint16 | int32](d []T) []float64 {
	out := make([]float64, len(d))
	for i, v := range d {
		out[i] = float64(v)
	}
	return out
}

// quantParams are a scale and zero point known when the model is compiled
// (they are initializers or Constants in every QDQ model), which kernels
// then take from here rather than as inputs; nil slices are read from the
// inputs.
type quantParams struct{ scale, zero []float64 }

// quantInputs returns the inputs of a quantization kernel: x, then the
// scale and the zero point where they are not constants (those are in p).
func quantInputs(x, scale, zero *Value) ([]*Value, *quantParams) {
	p := &quantParams{}
	args := []*Value{x}
	if scale.IsConst() {
		p.scale = constFloats(scale)
	}
	if p.scale == nil {
		args = append(args, scale)
	}
	switch {
	case zero == nil && p.scale != nil:
		p.zero = make([]float64, len(p.scale))
	case zero == nil:
		p.zero = []float64{} // sized from the scale at run time
	case zero.IsConst():
		p.zero = constFloats(zero)
	}
	if p.zero == nil {
		args = append(args, zero)
	}
	return args, p
}

// quantArgs reads a kernel's scale and zero point: p's, or the inputs that
// follow x.
func quantArgs(in []*tensor.Dense, p *quantParams) (scale, zero []float64, err error) {
	next := 1
	if scale = p.scale; scale == nil {
		if scale, err = quantFloats(in[next]); err != nil {
			return nil, nil, err
		}
		next++
	}
	if zero = p.zero; zero == nil {
		if zero, err = quantFloats(in[next]); err != nil {
			return nil, nil, err
		}
	}
	if len(zero) == 0 {
		zero = make([]float64, len(scale))
	}
	return scale, zero, nil
}

// quantizeKernel is QuantizeLinear's kernel: x, scale[, zero] -> y.
func quantizeKernel(l quantLayout, p *quantParams) Kernel {
	return func(in []*tensor.Dense) (*tensor.Dense, error) {
		scale, zero, err := quantArgs(in, p)
		if err != nil {
			return nil, err
		}
		var q []int64
		switch x := in[0].Data().(type) {
		case []float32:
			q = quantizeOf(x, scale, zero, l)
		case []float64:
			q = quantizeOf(x, scale, zero, l)
		case float32:
			q = quantizeOf([]float32{x}, scale, zero, l)
		case float64:
			q = quantizeOf([]float64{x}, scale, zero, l)
		default:
			return nil, fmt.Errorf("x of type %v is not supported", in[0].Dtype())
		}
		return intTensor(l.shape, q, l.q)
	}
}

// QuantizeValues quantizes float32 values as QuantizeLinear does (ONNX
// Runtime's rounding and saturation): scale and zero (nil: zeros) hold one
// value, or one per index of axis of shape, or one per block of block
// elements along axis when block > 0. It returns the integers of type q
// (int32 too: a quantizer's bias).
// remap.QuantizeMasters writes trained weights back with it.
func QuantizeValues(x []float32, shape []int, scale []float32, zero []int64, axis, block int, q graph.DType) ([]int64, error) {
	if _, ok := quantRanges[q]; !ok {
		return nil, fmt.Errorf("quantizing to %s is not supported", q)
	}
	l := quantLayout{shape: shape, q: q, axis: axis, block: block}
	switch {
	case block > 0:
		l.kind = blocked
	case len(scale) > 1:
		l.kind = perAxis
	}
	if block < 0 {
		return nil, fmt.Errorf("block size %d: want 0 (none) or more", block)
	}
	if l.kind != perTensor && (axis < 0 || axis >= len(shape)) {
		return nil, fmt.Errorf("axis %d out of range for shape %v", axis, shape)
	}
	n := 1
	for _, d := range shape {
		if d < 0 {
			return nil, fmt.Errorf("negative dimension in shape %v", shape)
		}
		n *= d
	}
	if len(x) != n {
		return nil, fmt.Errorf("%d values for shape %v", len(x), shape)
	}
	switch want := 1; l.kind {
	case perAxis:
		if want = shape[axis]; len(scale) != want {
			return nil, fmt.Errorf("%d scales, want %d (one per index of axis %d of shape %v)", len(scale), want, axis, shape)
		}
	case blocked:
		if d := shape[axis]; d > 0 {
			want = n / d * ((d + block - 1) / block)
		} else {
			want = 0
		}
		if len(scale) != want {
			return nil, fmt.Errorf("%d scales, want %d (one per block of %d along axis %d of shape %v)", len(scale), want, block, axis, shape)
		}
	default:
		if len(scale) != want {
			return nil, fmt.Errorf("%d scales, want 1", len(scale))
		}
	}
	if zero != nil && len(zero) != len(scale) {
		return nil, fmt.Errorf("%d zero points for %d scales", len(zero), len(scale))
	}
	s := make([]float64, len(scale))
	z := make([]float64, len(scale))
	for i, v := range scale {
		s[i] = float64(v)
		if zero != nil {
			z[i] = float64(zero[i])
		}
	}
	return quantizeOf(x, s, z, l), nil
}

// quantizeOf divides in T, rounds half to even, adds the zero point and
// saturates; NaN gives the zero point.
func quantizeOf[T Float](x []T, scale, zero []float64, l quantLayout) []int64 {
	lo, hi := float64(quantRanges[l.q][0]), float64(quantRanges[l.q][1])
	at := l.index()
	out := make([]int64, len(x))
	for i, v := range x {
		k := at(i)
		r := math.RoundToEven(float64(v/T(scale[k]))) + zero[k]
		switch {
		case math.IsNaN(r):
			r = zero[k]
		case r < lo:
			r = lo
		case r > hi:
			r = hi
		}
		out[i] = int64(r)
	}
	return out
}

// intTensor makes a tensor of integer type q from int64 values in range.
func intTensor(shape []int, v []int64, q graph.DType) (*tensor.Dense, error) {
	switch q {
	case graph.Int8:
		return Dense(shape, narrow[int8](v)), nil
	case graph.Uint8:
		return Dense(shape, narrow[uint8](v)), nil
	case graph.Int16:
		return Dense(shape, narrow[int16](v)), nil
	case graph.Uint16:
		return Dense(shape, narrow[uint16](v)), nil
	case graph.Int32:
		return Dense(shape, narrow[int32](v)), nil
	}
	return nil, fmt.Errorf("element type %s is not supported", q)
}

func narrow[T int8 | uint8 | int16 | uint16 | int32](v []int64) []T {
	out := make([]T, len(v))
	for i, x := range v {
		out[i] = T(x)
	}
	return out
}

// dequantizeKernel is DequantizeLinear's kernel: x, scale[, zero] -> y of
// the scale's type.
func dequantizeKernel(l quantLayout, p *quantParams, to graph.DType) Kernel {
	return func(in []*tensor.Dense) (*tensor.Dense, error) {
		scale, zero, err := quantArgs(in, p)
		if err != nil {
			return nil, err
		}
		x, err := quantFloats(in[0])
		if err != nil {
			return nil, err
		}
		if to == graph.Float64 {
			return Dense(l.shape, dequantizeOf[float64](x, scale, zero, l)), nil
		}
		return Dense(l.shape, dequantizeOf[float32](x, scale, zero, l)), nil
	}
}

// dequantizeOf computes T(x - zero) * T(scale), as ONNX Runtime does.
func dequantizeOf[T Float](x, scale, zero []float64, l quantLayout) []T {
	at := l.index()
	out := make([]T, len(x))
	for i, v := range x {
		k := at(i)
		out[i] = T(v-zero[k]) * T(scale[k])
	}
	return out
}

// fakeQuantKernel is the fused pair in training: x, scale[, zero] -> y
// (mask false), or dy, x, scale[, zero] -> dx (mask true).
func fakeQuantKernel(l quantLayout, p *quantParams, mask bool) Kernel {
	return func(in []*tensor.Dense) (*tensor.Dense, error) {
		var dy *tensor.Dense
		if mask {
			dy, in = in[0], in[1:]
		}
		scale, zero, err := quantArgs(in, p)
		if err != nil {
			return nil, err
		}
		switch x := in[0].Data().(type) {
		case []float32:
			return fakeQuantOf(x, dy, scale, zero, l)
		case []float64:
			return fakeQuantOf(x, dy, scale, zero, l)
		case float32:
			return fakeQuantOf([]float32{x}, dy, scale, zero, l)
		case float64:
			return fakeQuantOf([]float64{x}, dy, scale, zero, l)
		}
		return nil, fmt.Errorf("x of type %v is not supported", in[0].Dtype())
	}
}

// fakeQuantOf is PyTorch's fake_quantize_*_affine (cachemask kernels):
// q = zero + nearbyint(x * (1/scale)); y = (clamp(q) - zero) * scale; with
// dy given, the gradient dy * (qmin <= q <= qmax).
func fakeQuantOf[T Float](x []T, dy *tensor.Dense, scale, zero []float64, l quantLayout) (*tensor.Dense, error) {
	lo, hi := float64(quantRanges[l.q][0]), float64(quantRanges[l.q][1])
	at := l.index()
	out := make([]T, len(x))
	var g []T
	if dy != nil {
		var err error
		if g, err = Data[T](dy); err != nil {
			return nil, err
		}
	}
	for i, v := range x {
		k := at(i)
		s := T(scale[k])
		q := zero[k] + math.RoundToEven(float64(v*(1/s)))
		if g != nil {
			if q >= lo && q <= hi {
				out[i] = g[i]
			}
			continue
		}
		out[i] = T(math.Min(math.Max(q, lo), hi)-zero[k]) * s
	}
	return Dense(l.shape, out), nil
}

// fakeQuantGrad builds x's gradient: dy through the clamp mask.
func fakeQuantGrad(l quantLayout, p *quantParams) GradFunc {
	return func(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
		args := append(G.Nodes{grad}, inputs...)
		gx, err := NewNode(grad.Graph(), output.Name()+"/grad", Spec{Name: "FakeQuantizeGrad", Shape: ShapeOf(inputs[0]),
			DType: DTypeOf(inputs[0]), Fwd: fakeQuantKernel(l, p, true)}, args...)
		gs := make(G.Nodes, len(inputs))
		gs[0] = gx
		return gs, err
	}
}
