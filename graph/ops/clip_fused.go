package ops

import (
	"fmt"
	"math"
	"sync"
	"unsafe"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph"
)

// A Clip with constant bounds (ReLU6 in MobileNetV2: Clip(0, 6) after every
// BatchNormalization but the last of a block) runs inside the producer of
// its input, as a fused Relu does (see reluFusions): the producer clamps
// each part of its output in its last pass over it, so the Clip's pass over
// memory and its buffer go. Its gradient (clipFusedThen) is read from the
// fused output: dy passes where lo < y < hi. That is exact except where the
// unclamped value equalled a bound, where Clip's gradient (PyTorch's clamp)
// passes too: the forward pass records those positions (rare: never for a
// continuous input) and the gradient lets dy through there as well, so the
// fused and unfused programs compute the same numbers.

// clipEpi is a fused Clip: its bounds, and the positions of the producer's
// last output where the unclamped value equalled a bound.
type clipEpi struct {
	lo, hi float64

	mu   sync.Mutex
	base unsafe.Pointer // first element of the output buffer of the last run
	hits []int          // offsets in it where x == lo or x == hi
}

// start begins a forward run into y.
func (e *clipEpi) start(y *tensor.Dense) {
	e.mu.Lock()
	e.base, e.hits = denseFirst(y), e.hits[:0]
	e.mu.Unlock()
}

// record notes an exact hit at dst[i] (dst a part of the started output).
func (e *clipEpi) record(dst unsafe.Pointer, size uintptr, i int) {
	e.mu.Lock()
	e.hits = append(e.hits, int((uintptr(dst)-uintptr(e.base))/size)+i)
	e.mu.Unlock()
}

// wrap makes an output kernel start e before it runs.
func (e *clipEpi) wrap(into IntoKernel) IntoKernel {
	return func(in []*tensor.Dense, dst *tensor.Dense) error {
		e.start(dst)
		return into(in, dst)
	}
}

// denseFirst is the address of t's first element (nil when empty).
func denseFirst(t *tensor.Dense) unsafe.Pointer {
	if t == nil || t.DataSize() == 0 || t.IsScalar() || len(t.Raw) == 0 {
		return nil
	}
	if dt := t.Dtype(); dt != tensor.Float32 && dt != tensor.Float64 {
		return nil
	}
	return unsafe.Pointer(unsafe.SliceData(t.Raw)) // as dataPtr(t.Data()), with no allocation
}

// clipOrd maps a float32's bits to an int32 of the same order, with -0 and
// +0 equal: equal as floats (NaN aside) is equal as ints.
func clipOrd(u uint32) int32 {
	m := int32(u & 0x7fffffff)
	sg := int32(u) >> 31
	return (m ^ sg) - sg
}

// clipOrdInv is clipOrd's inverse (0 becomes +0).
func clipOrdInv(s int32) float32 {
	sg := s >> 31
	m := (s ^ sg) - sg
	return math.Float32frombits(uint32(m) | uint32(sg)&0x80000000)
}

// clipEpiApply clamps dst, a part of the output e was started on, to
// [lo, hi] in place: NaN kept, as Clip. The float32 loop clamps in clipOrd's
// integer order (conditional moves, no branch on the data); the branch
// that records an exact hit is almost never taken.
func clipEpiApply[T Float](e *clipEpi, dst []T) {
	if len(dst) == 0 {
		return
	}
	switch d := any(dst).(type) {
	case []float32:
		// The AVX2 loop stops at a block of 8 holding a bound exactly;
		// the Go loop takes that block, and the tail.
		for len(d) > 0 {
			d = d[clipClamp32(d, float32(e.lo), float32(e.hi)):]
			k := min(len(d), 8)
			clipEpiGo32(e, d[:k])
			d = d[k:]
		}
	case []float64:
		lo, hi := e.lo, e.hi
		for i, x := range d {
			if x == lo || x == hi {
				e.record(unsafe.Pointer(&d[0]), 8, i)
			}
			d[i] = min(max(x, lo), hi)
		}
	}
}

// clipEpiGo32 is clipEpiApply's float32 loop in Go.
func clipEpiGo32(e *clipEpi, d []float32) {
	if len(d) == 0 {
		return
	}
	clipGo32(e, d, func(i int) { e.record(unsafe.Pointer(&d[0]), 4, i) })
}

// recordAt notes an exact hit at offset i of the started output.
func (e *clipEpi) recordAt(i int) {
	e.mu.Lock()
	e.hits = append(e.hits, i)
	e.mu.Unlock()
}

// clipGo32 clamps d to e's bounds in place, calling hit(i) where d[i]
// equals a bound.
func clipGo32(e *clipEpi, d []float32, hit func(i int)) {
	lo, hi := clipOrd(math.Float32bits(float32(e.lo))), clipOrd(math.Float32bits(float32(e.hi)))
	for i, x := range d {
		u := math.Float32bits(x)
		s := clipOrd(u)
		if s == lo || s == hi {
			if u&0x7fffffff <= 0x7f800000 {
				hit(i)
			}
		}
		c := math.Float32bits(clipOrdInv(min(max(s, lo), hi)))
		// NaN (magnitude above infinity's) passes through.
		nan := uint32((0x7f800000 - int32(u&0x7fffffff)) >> 31)
		d[i] = math.Float32frombits(c&^nan | u&nan)
	}
}

// clipEpiGrad sets dx = dy where lo < y < hi (y the fused output), 0
// elsewhere (NaN included), over [from, to).
func clipEpiGrad[T Float](e *clipEpi, dx, dy, y []T) {
	switch o := any(dx).(type) {
	case []float32:
		d, ys := any(dy).([]float32)[:len(o)], any(y).([]float32)[:len(o)]
		k := clipGrad32(o, d, ys, float32(e.lo), float32(e.hi))
		o, d, ys = o[k:], d[k:], ys[k:]
		lo, hi := int64(clipOrd(math.Float32bits(float32(e.lo)))), int64(clipOrd(math.Float32bits(float32(e.hi))))
		for i, v := range ys {
			s := int64(clipOrd(math.Float32bits(v)))
			// all ones when lo < s < hi
			mask := uint32(((lo - s) >> 63) & ((s - hi) >> 63))
			o[i] = math.Float32frombits(math.Float32bits(d[i]) & mask)
		}
	case []float64:
		d, ys := any(dy).([]float64)[:len(o)], any(y).([]float64)[:len(o)]
		for i, v := range ys {
			g := d[i]
			if !(v > e.lo && v < e.hi) {
				g = 0
			}
			o[i] = g
		}
	}
}

// clipFusedThen puts the fused Clip's gradient before inner, the
// producer's: (dy, y) -> dx, into a kept buffer, in parallel.
func clipFusedThen(e *clipEpi, inner GradFunc) GradFunc {
	return func(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
		g, err := NewNode(grad.Graph(), output.Name()+"/clipGrad", Spec{Name: "ClipGrad", Shape: ShapeOf(output),
			DType: DTypeOf(output), Into: floatsInto(clipFusedGradInto[float32](e), clipFusedGradInto[float64](e))}, grad, output)
		if err != nil {
			return nil, err
		}
		return inner(inputs, output, g)
	}
}

func clipFusedGradInto[T Float](e *clipEpi) IntoKernel {
	return func(in []*tensor.Dense, dst *tensor.Dense) error {
		xs, err := datas[T](in)
		if err != nil {
			return err
		}
		dx, err := Data[T](dst)
		if err != nil {
			return err
		}
		dy, y := xs[0], xs[1]
		if len(dy) != len(dx) || len(y) != len(dx) {
			return fmt.Errorf("ClipGrad: %d and %d elements for an output of %d", len(dy), len(y), len(dx))
		}
		parallelRange(len(dx), 1, func(lo, hi int) {
			clipEpiGrad(e, dx[lo:hi], dy[lo:hi], y[lo:hi])
		})
		e.mu.Lock()
		if e.base == denseFirst(in[1]) {
			for _, i := range e.hits {
				dx[i] = dy[i]
			}
		}
		e.mu.Unlock()
		return nil
	}
}

// fusedClipBounds returns the constant bounds of a Clip-11+ node with both
// min and max given by Constant nodes or initializers (not graph inputs),
// one float value each of the same type; ok is false otherwise.
func fusedClipBounds(n *graph.Node, constants map[string]*graph.Tensor) (lo, hi float64, dt graph.DType, ok bool) {
	if len(n.Inputs) != 3 || n.Inputs[1] == "" || n.Inputs[2] == "" {
		return 0, 0, 0, false
	}
	var b [2]float64
	for i, name := range n.Inputs[1:] {
		t := constants[name]
		if t == nil || t.Len() != 1 || (t.DType != graph.Float32 && t.DType != graph.Float64) || (i == 1 && t.DType != dt) {
			return 0, 0, 0, false
		}
		dt = t.DType
		if dt == graph.Float32 {
			v, err := graph.Values[float32](t)
			if err != nil {
				return 0, 0, 0, false
			}
			b[i] = float64(v[0])
		} else {
			v, err := graph.Values[float64](t)
			if err != nil {
				return 0, 0, 0, false
			}
			b[i] = v[0]
		}
	}
	if math.IsNaN(b[0]) || math.IsNaN(b[1]) || b[0] > b[1] {
		return 0, 0, 0, false
	}
	return b[0], b[1], dt, true
}

// graphConstants lists the tensors known when the graph is compiled: the
// value attributes of Constant nodes and the initializers that are not
// graph inputs.
func graphConstants(g *graph.Graph) map[string]*graph.Tensor {
	out := make(map[string]*graph.Tensor)
	inputs := make(map[string]bool)
	for _, in := range g.Inputs {
		inputs[in.Name] = true
	}
	for _, t := range g.Initializers {
		if !inputs[t.Name] {
			out[t.Name] = t
		}
	}
	for _, n := range g.Nodes {
		if n.QualifiedOp() != "Constant" || len(n.Outputs) != 1 || len(n.Attrs) != 1 {
			continue
		}
		if a := n.Attrs[0]; a.Name == "value" && a.T != nil {
			out[n.Outputs[0]] = a.T
		}
	}
	return out
}
