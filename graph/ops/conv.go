package ops

import (
	"fmt"
	"runtime"
	"sync"
	"unsafe"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/blas/gonum"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/internal/gemm"
)

// registerConv registers the convolution and pooling family: Conv and
// ConvTranspose here, the pools in pool.go.
func registerConv(r *Registry) {
	r.add("Conv", true, lowerConv)
	r.add("ConvTranspose", true, lowerConvTranspose)
	registerPool(r)
}

// convGeom is the sliding-window geometry shared by Conv, ConvTranspose and
// the pools, always over three spatial dimensions: 1-D and 2-D windows get
// leading dimensions of size 1. Output position o of dimension i reads input
// positions o*s[i] - pb[i] + t*d[i] for taps t < k[i]; positions outside
// [0, in[i]) are padding.
type convGeom struct {
	in, out, k, s, d, pb, pe [3]int
}

func newConvGeom(in, out, k, s, d, pb, pe []int) convGeom {
	var g convGeom
	for i := range 3 {
		g.in[i], g.out[i], g.k[i], g.s[i], g.d[i] = 1, 1, 1, 1, 1
	}
	off := 3 - len(in)
	for i := range in {
		j := off + i
		g.in[j], g.out[j], g.k[j], g.s[j], g.d[j], g.pb[j], g.pe[j] = in[i], out[i], k[i], s[i], d[i], pb[i], pe[i]
	}
	return g
}

func (g *convGeom) inSize() int  { return g.in[0] * g.in[1] * g.in[2] }
func (g *convGeom) outSize() int { return g.out[0] * g.out[1] * g.out[2] }
func (g *convGeom) kSize() int   { return g.k[0] * g.k[1] * g.k[2] }

// pointwise reports a 1x1 window with unit strides and no padding: the
// im2col matrix is the input itself.
func (g *convGeom) pointwise() bool {
	for i := range 3 {
		if g.k[i] != 1 || g.s[i] != 1 || g.pb[i] != 0 || g.in[i] != g.out[i] {
			return false
		}
	}
	return true
}

// convSpan returns the range [lo, hi) of t in [0, k) with
// 0 <= start + t*step < n.
func convSpan(start, step, k, n int) (lo, hi int) {
	if start < 0 {
		lo = (-start + step - 1) / step
	}
	if last := n - 1 - start; last >= 0 {
		hi = last/step + 1
	}
	lo = min(lo, k)
	hi = max(min(hi, k), lo)
	return lo, hi
}

// rows calls f for every kernel tap t (row-major over the window) and every
// output row (od, oh) whose input row exists. Output columns ow in [lo, hi)
// of the row starting at yo read input element xo + ow*s[2].
func (g *convGeom) rows(f func(t, yo, xo, lo, hi int)) {
	o1, o2 := g.out[1], g.out[2]
	t := -1
	for kd := 0; kd < g.k[0]; kd++ {
		for kh := 0; kh < g.k[1]; kh++ {
			for kw := 0; kw < g.k[2]; kw++ {
				t++
				xoff := kw*g.d[2] - g.pb[2]
				lo, hi := convSpan(xoff, g.s[2], o2, g.in[2])
				if lo == hi {
					continue
				}
				for od := 0; od < g.out[0]; od++ {
					id := od*g.s[0] - g.pb[0] + kd*g.d[0]
					if id < 0 || id >= g.in[0] {
						continue
					}
					for oh := 0; oh < o1; oh++ {
						ih := oh*g.s[1] - g.pb[1] + kh*g.d[1]
						if ih < 0 || ih >= g.in[1] {
							continue
						}
						f(t, (od*o1+oh)*o2, (id*g.in[1]+ih)*g.in[2]+xoff, lo, hi)
					}
				}
			}
		}
	}
}

// convWindow holds the window attributes of a node, ONNX defaults applied.
type convWindow struct {
	kernel, strides, dilations []int
	pads                       []int // begins, then ends
	autoPad                    string
}

// readConvWindow reads kernel_shape, strides, dilations, pads and auto_pad.
// kernel is the weight's window for Conv and ConvTranspose (kernel_shape
// must then agree with it); nil for the pools, where kernel_shape is
// required. dilations is read only when withDilations.
func readConvWindow(n *graph.Node, spatial int, kernel []int, withDilations bool) (*convWindow, error) {
	w := &convWindow{autoPad: "NOTSET"}
	if a := n.Attr("auto_pad"); a != nil && len(a.S) > 0 {
		w.autoPad = string(a.S)
	}
	switch w.autoPad {
	case "NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID":
	default:
		return nil, fmt.Errorf("auto_pad %q is not NOTSET, SAME_UPPER, SAME_LOWER or VALID", w.autoPad)
	}
	var err error
	if a := n.Attr("kernel_shape"); a != nil && len(a.Ints) > 0 {
		if w.kernel, err = convInts(n, "kernel_shape", spatial, 0); err != nil {
			return nil, err
		}
		if kernel != nil && !sameInts(kernel, w.kernel) {
			return nil, fmt.Errorf("kernel_shape %v disagrees with the weight's window %v", w.kernel, kernel)
		}
	} else if kernel == nil {
		return nil, fmt.Errorf("attribute kernel_shape is required")
	} else {
		w.kernel = append([]int(nil), kernel...)
	}
	if w.strides, err = convInts(n, "strides", spatial, 1); err != nil {
		return nil, err
	}
	w.dilations = make([]int, spatial)
	for i := range w.dilations {
		w.dilations[i] = 1
	}
	if withDilations {
		if w.dilations, err = convInts(n, "dilations", spatial, 1); err != nil {
			return nil, err
		}
	}
	if w.pads, err = convInts(n, "pads", 2*spatial, 0); err != nil {
		return nil, err
	}
	for i := 0; i < spatial; i++ {
		switch {
		case w.kernel[i] < 1:
			return nil, fmt.Errorf("kernel_shape %v has a size below 1", w.kernel)
		case w.strides[i] < 1:
			return nil, fmt.Errorf("strides %v has a value below 1", w.strides)
		case w.dilations[i] < 1:
			return nil, fmt.Errorf("dilations %v has a value below 1", w.dilations)
		}
	}
	for _, p := range w.pads {
		if p < 0 {
			return nil, fmt.Errorf("pads %v has a negative value", w.pads)
		}
	}
	return w, nil
}

// convInts reads an ints attribute of the given length, or size copies of
// def when it is absent or empty.
func convInts(n *graph.Node, name string, size, def int) ([]int, error) {
	out := make([]int, size)
	a := n.Attr(name)
	if a == nil || len(a.Ints) == 0 {
		for i := range out {
			out[i] = def
		}
		return out, nil
	}
	if len(a.Ints) != size {
		return nil, fmt.Errorf("attribute %s has %d values, want %d", name, len(a.Ints), size)
	}
	for i, v := range a.Ints {
		out[i] = int(v)
	}
	return out, nil
}

// resolve computes the output sizes and the begin and end pads of a
// convolution or pooling window over input sizes in. ceil is the pools'
// ceil_mode (with the ONNX and PyTorch rule that the last window must start
// inside the input or its begin padding); auto_pad SAME_* and VALID ignore
// it, as ONNX's reference does. Sizes that overflow int are a
// *graph.LimitError.
func (w *convWindow) resolve(c *Ctx, in []int, ceil bool) (out, pb, pe []int, err error) {
	n := len(in)
	out, pb, pe = make([]int, n), make([]int, n), make([]int, n)
	for i := range in {
		dk, ok := mulInt(w.kernel[i]-1, w.dilations[i])
		if ok {
			dk, ok = addInt(dk, 1)
		}
		if !ok {
			return nil, nil, nil, c.overflow(fmt.Sprintf("window of kernel_shape %v and dilations %v", w.kernel, w.dilations))
		}
		s := w.strides[i]
		switch w.autoPad {
		case "SAME_UPPER", "SAME_LOWER":
			out[i] = (in[i]-1)/s + 1
			if in[i] == 0 {
				out[i] = 0
			}
			span, ok := mulInt(max(out[i]-1, 0), s)
			if ok {
				span, ok = addInt(span, dk)
			}
			if !ok {
				return nil, nil, nil, c.overflow(fmt.Sprintf("padding of spatial dimension %d (strides %v)", i, w.strides))
			}
			total := max(0, span-in[i])
			if w.autoPad == "SAME_UPPER" {
				pb[i], pe[i] = total/2, total-total/2
			} else {
				pb[i], pe[i] = total-total/2, total/2
			}
			continue
		case "NOTSET":
			pb[i], pe[i] = w.pads[i], w.pads[n+i]
		}
		padded, ok := addInt(in[i], pb[i])
		if ok {
			padded, ok = addInt(padded, pe[i])
		}
		if !ok {
			return nil, nil, nil, c.overflow(fmt.Sprintf("input of spatial dimension %d padded by %d and %d", i, pb[i], pe[i]))
		}
		span := padded - dk
		if span < 0 {
			return nil, nil, nil, fmt.Errorf("window %d (dilated) is larger than the padded input %d in spatial dimension %d", dk, padded, i)
		}
		out[i] = span/s + 1
		if ceil && w.autoPad == "NOTSET" {
			if span > 0 {
				out[i] = (span-1)/s + 2 // ceil(span/s) + 1
			}
			// in+pb does not overflow: in+pb+pe did not.
			if last, ok := mulInt(out[i]-1, s); !ok || last >= in[i]+pb[i] {
				out[i]--
			}
		}
	}
	return out, pb, pe, nil
}

// convDims describes one convolution: x is (n, c, in...), w is
// (m, c/group, k...), y is (n, m, out...). ConvTranspose runs as the
// adjoint of such a convolution, with its output in the role of x.
type convDims struct {
	n, c, m, group int
	g              convGeom
	relu           bool          // apply Relu after the bias (inference fusion)
	cols           *convCols     // training: the forward im2col kept for the weight gradient
	packed         *gemm.PackedA // inference: the weights packed once (see Ctx.ConstParams)
}

// convCacheLimit bounds the elements of a kept im2col matrix (128 MiB of
// float32).
const convCacheLimit = 1 << 25

// convCols is the im2col matrix of a Conv's last forward run, rows c*K by
// columns n*P, and the input buffer it was computed from.
type convCols struct {
	col  []float32
	from unsafe.Pointer
}

// lookup returns the kept matrix if it was computed from x's buffer, else
// nil. The weight gradient runs after the forward pass of the same step.
func (cc *convCols) lookup(x []float32) []float32 {
	if cc == nil || cc.from == nil || cc.from != dataPtr(x) {
		return nil
	}
	return cc.col
}

// convForwardCached is convForward for one group, writing the whole
// im2col matrix into cd.cols for the weight gradient: one GEMM over every
// sample, then the (m, n*P) product is scattered into y's (n, m, P).
func convForwardCached(x, w, b []float32, cd *convDims, y []float32) {
	g := &cd.g
	P, inN, rows := g.outSize(), g.inSize(), cd.c*g.kSize()
	L := cd.n * P
	cc := cd.cols
	if len(cc.col) != rows*L {
		cc.col = make([]float32, rows*L)
	}
	cc.from = dataPtr(x)
	tmp := convScratch[float32](cd.m * L)
	defer convRelease(tmp)
	// Each core takes a range of samples: their im2col columns, their
	// columns of the product (a serial GEMM), their part of y.
	run := func(s0, s1 int, serial bool) {
		for s := s0; s < s1; s++ {
			convIm2col(x[s*cd.c*inN:], cd.c, g, cc.col, L, s*P)
		}
		c0, n := s0*P, (s1-s0)*P
		convGemmMode(serial, false, false, cd.m, n, rows, 1, w, rows, cc.col[c0:], L, 0, tmp[c0:], L)
		for s := s0; s < s1; s++ {
			for m := 0; m < cd.m; m++ {
				dst := y[(s*cd.m+m)*P:][:P]
				copy(dst, tmp[m*L+s*P:][:P])
				convEpilogue(dst, b, m, cd.relu)
			}
		}
	}
	convSplitSamples(cd.n, cd.m*P*rows, run)
}

// convBackwardWeightCached is convBackwardWeight from the kept im2col
// matrix: dw = dy (m, n*P) times col transposed.
func convBackwardWeightCached(dy, col []float32, cd *convDims, dw []float32) {
	P, rows := cd.g.outSize(), cd.c*cd.g.kSize()
	L := cd.n * P
	var dys []float32
	ldd := P
	if cd.n == 1 {
		dys = dy
	} else {
		buf := convScratch[float32](cd.m * L)
		defer convRelease(buf)
		dys, ldd = convGatherDy(dy, buf, cd, 0, cd.n, 0)
	}
	convGemm(false, true, cd.m, rows, L, 1, dys, ldd, col, L, 0, dw, rows)
}

func lowerConv(c *Ctx, in []*Value) ([]*Value, error) {
	const op = "Conv"
	if len(in) < 2 || in[0] == nil || in[1] == nil {
		return nil, fmt.Errorf("%s needs inputs X and W", op)
	}
	x, w := in[0], in[1]
	var b *Value
	if len(in) > 2 {
		b = in[2]
	}
	if err := convCheck(op, x, w, b); err != nil {
		return nil, err
	}
	spatial := x.Rank() - 2
	group := int(c.Node.AttrInt("group", 1))
	C, M := x.Shape[1], w.Shape[0]
	switch {
	case group < 1:
		return nil, fmt.Errorf("%s: group %d is below 1", op, group)
	case C%group != 0 || w.Shape[1]*group != C:
		return nil, fmt.Errorf("%s: input has %d channels, weight %v with group %d wants %d", op, C, w.Shape, group, w.Shape[1]*group)
	case M%group != 0:
		return nil, fmt.Errorf("%s: %d output channels do not split into %d groups", op, M, group)
	case b != nil && (b.Rank() != 1 || b.Shape[0] != M):
		return nil, fmt.Errorf("%s: bias has shape %v, want [%d]", op, b.Shape, M)
	}
	win, err := readConvWindow(c.Node, spatial, w.Shape[2:], true)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	out, pb, pe, err := win.resolve(c, x.Shape[2:], false)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	cd := &convDims{n: x.Shape[0], c: C, m: M, group: group,
		g: newConvGeom(x.Shape[2:], out, win.kernel, win.strides, win.dilations, pb, pe)}
	yShape := append([]int{cd.n, M}, out...)
	if err := c.checkShape(op+" output", yShape, x.DType); err != nil {
		return nil, err
	}
	// The im2col matrix of one sample: C/group*K rows, a column per output
	// position.
	if err := c.checkShape(op+" im2col", append(append([]int{C / group}, win.kernel...), out...), x.DType); err != nil {
		return nil, err
	}
	args := []*Value{x, w}
	if b != nil {
		args = append(args, b)
	}
	wrt := convWRT(args)
	if c.FuseRelu {
		// Relu in the bias pass (its gradient: reluThen below).
		cd.relu, c.ReluFused = true, true
	}
	if c.ConstParams && group == 1 && x.DType == graph.Float32 && !x.IsConst() {
		// Inference weights never change: pack them for the GEMM once.
		if wd := constData32(w); wd != nil {
			rows := C * cd.g.kSize()
			cd.packed = gemm.PackA(false, M, rows, wd, rows)
		}
	}
	if c.Train && wrt[1] && group == 1 && x.DType == graph.Float32 && !cd.g.pointwise() &&
		C*cd.g.kSize()*cd.n*cd.g.outSize() <= convCacheLimit {
		// Training: the forward pass keeps its im2col matrix for the
		// weight gradient, which then skips its own im2col.
		cd.cols = &convCols{}
	}
	s := Spec{Name: op, Shape: yShape, DType: x.DType, WRT: wrt,
		Into: convInto(
			func(in [][]float32, y []float32) {
				if cd.cols != nil {
					convForwardCached(in[0], in[1], convOpt(in, 2), cd, y)
					return
				}
				convForward(in[0], in[1], convOpt(in, 2), cd, y)
			},
			func(in [][]float64, y []float64) { convForward(in[0], in[1], convOpt(in, 2), cd, y) }),
		Grad: func(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
			gs := make(G.Nodes, len(inputs))
			var err error
			if wrt[0] {
				gs[0], err = convGradInto(op, output, grad, "GradInput", inputs[0],
					func(in [][]float32, dx []float32) { convBackwardData(in[0], in[1], cd, dx) },
					func(in [][]float64, dx []float64) { convBackwardData(in[0], in[1], cd, dx) }, grad, inputs[1])
				if err != nil {
					return nil, err
				}
			}
			if wrt[1] {
				gs[1], err = convGradInto(op, output, grad, "GradWeight", inputs[1],
					func(in [][]float32, dw []float32) {
						if col := cd.cols.lookup(in[1]); col != nil {
							convBackwardWeightCached(in[0], col, cd, dw)
							return
						}
						convBackwardWeight(in[0], in[1], cd, dw)
					},
					func(in [][]float64, dw []float64) { convBackwardWeight(in[0], in[1], cd, dw) }, grad, inputs[0])
				if err != nil {
					return nil, err
				}
			}
			if len(inputs) > 2 && wrt[2] {
				P := cd.g.outSize()
				gs[2], err = convGradInto(op, output, grad, "GradBias", inputs[2],
					func(in [][]float32, db []float32) { convBiasGrad(in[0], cd.n, cd.m, P, db) },
					func(in [][]float64, db []float64) { convBiasGrad(in[0], cd.n, cd.m, P, db) }, grad)
			}
			return gs, err
		}}
	if cd.relu {
		s.Name, s.Grad = "ConvRelu", reluThen(s.Grad)
	}
	y, err := c.Apply(s, args...)
	return []*Value{y}, err
}

func lowerConvTranspose(c *Ctx, in []*Value) ([]*Value, error) {
	const op = "ConvTranspose"
	if len(in) < 2 || in[0] == nil || in[1] == nil {
		return nil, fmt.Errorf("%s needs inputs X and W", op)
	}
	x, w := in[0], in[1]
	var b *Value
	if len(in) > 2 {
		b = in[2]
	}
	if err := convCheck(op, x, w, b); err != nil {
		return nil, err
	}
	group := int(c.Node.AttrInt("group", 1))
	cin := x.Shape[1]
	cout := w.Shape[1] * group
	switch {
	case group < 1:
		return nil, fmt.Errorf("%s: group %d is below 1", op, group)
	case w.Shape[0] != cin:
		return nil, fmt.Errorf("%s: input has %d channels, weight %v wants %d", op, cin, w.Shape, w.Shape[0])
	case cin%group != 0:
		return nil, fmt.Errorf("%s: %d input channels do not split into %d groups", op, cin, group)
	case b != nil && (b.Rank() != 1 || b.Shape[0] != cout):
		return nil, fmt.Errorf("%s: bias has shape %v, want [%d]", op, b.Shape, cout)
	}
	win, out, pb, pe, err := convTransposeShape(c, x.Shape[2:], w.Shape[2:])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	// The adjoint of a convolution whose input is Y (cout channels, sizes
	// out) and whose output is X (cin channels): W is its (cin, cout/group,
	// k...) weight.
	cd := &convDims{n: x.Shape[0], c: cout, m: cin, group: group,
		g: newConvGeom(out, x.Shape[2:], win.kernel, win.strides, win.dilations, pb, pe)}
	yShape := append([]int{cd.n, cout}, out...)
	if err := c.checkShape(op+" output", yShape, x.DType); err != nil {
		return nil, err
	}
	// The adjoint's im2col matrix of one sample: cout/group*K rows, a
	// column per input position.
	if err := c.checkShape(op+" im2col", append(append([]int{cout / group}, win.kernel...), x.Shape[2:]...), x.DType); err != nil {
		return nil, err
	}
	P := cd.g.inSize()
	args := []*Value{x, w}
	if b != nil {
		args = append(args, b)
	}
	wrt := convWRT(args)
	s := Spec{Name: op, Shape: yShape, DType: x.DType, WRT: wrt,
		Into: convInto(
			func(in [][]float32, y []float32) {
				convBackwardData(in[0], in[1], cd, y)
				convAddBias(y, convOpt(in, 2), cd.n, cout, P)
			},
			func(in [][]float64, y []float64) {
				convBackwardData(in[0], in[1], cd, y)
				convAddBias(y, convOpt(in, 2), cd.n, cout, P)
			}),
		Grad: func(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
			gs := make(G.Nodes, len(inputs))
			var err error
			if wrt[0] {
				gs[0], err = convGradInto(op, output, grad, "GradInput", inputs[0],
					func(in [][]float32, dx []float32) { convForward(in[0], in[1], nil, cd, dx) },
					func(in [][]float64, dx []float64) { convForward(in[0], in[1], nil, cd, dx) }, grad, inputs[1])
				if err != nil {
					return nil, err
				}
			}
			if wrt[1] {
				gs[1], err = convGradInto(op, output, grad, "GradWeight", inputs[1],
					func(in [][]float32, dw []float32) { convBackwardWeight(in[0], in[1], cd, dw) },
					func(in [][]float64, dw []float64) { convBackwardWeight(in[0], in[1], cd, dw) }, inputs[0], grad)
				if err != nil {
					return nil, err
				}
			}
			if len(inputs) > 2 && wrt[2] {
				gs[2], err = convGradInto(op, output, grad, "GradBias", inputs[2],
					func(in [][]float32, db []float32) { convBiasGrad(in[0], cd.n, cout, P, db) },
					func(in [][]float64, db []float64) { convBiasGrad(in[0], cd.n, cout, P, db) }, grad)
			}
			return gs, err
		}}
	y, err := c.Apply(s, args...)
	return []*Value{y}, err
}

// convTransposeShape reads ConvTranspose's window and works out its output
// sizes and pads: from pads, or from output_shape or auto_pad SAME_* (total
// padding s*(in-1) + output_padding + (k-1)*d + 1 - out, clamped at 0 as
// ONNX Runtime does, split with the larger half at the end for SAME_UPPER
// and at the start otherwise).
func convTransposeShape(c *Ctx, in, kernel []int) (w *convWindow, out, pb, pe []int, err error) {
	n := c.Node
	spatial := len(in)
	if w, err = readConvWindow(n, spatial, kernel, true); err != nil {
		return nil, nil, nil, nil, err
	}
	outPad, err := convInts(n, "output_padding", spatial, 0)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	var want []int
	if a := n.Attr("output_shape"); a != nil && len(a.Ints) > 0 {
		vals := a.Ints
		if len(vals) == spatial+2 {
			vals = vals[2:]
		}
		if len(vals) != spatial {
			return nil, nil, nil, nil, fmt.Errorf("output_shape %v does not have %d spatial sizes", a.Ints, spatial)
		}
		want = make([]int, spatial)
		for i, v := range vals {
			want[i] = int(v)
		}
	}
	out, pb, pe = make([]int, spatial), make([]int, spatial), make([]int, spatial)
	for i := range in {
		full, ok := mulInt(w.strides[i], max(in[i]-1, 0))
		dk, okK := mulInt(w.kernel[i]-1, w.dilations[i])
		if ok = ok && okK; ok {
			full, ok = addInt(full, dk)
		}
		if ok {
			full, ok = addInt(full, 1)
		}
		if ok {
			full, ok = addInt(full, outPad[i])
		}
		if !ok {
			return nil, nil, nil, nil, c.overflow(fmt.Sprintf("output of spatial dimension %d (strides %v, kernel_shape %v, dilations %v, output_padding %v)", i, w.strides, w.kernel, w.dilations, outPad))
		}
		switch {
		case want != nil || w.autoPad == "SAME_UPPER" || w.autoPad == "SAME_LOWER":
			if want != nil {
				out[i] = want[i]
			} else if out[i], ok = mulInt(in[i], w.strides[i]); !ok {
				return nil, nil, nil, nil, c.overflow(fmt.Sprintf("output of spatial dimension %d (strides %v)", i, w.strides))
			}
			total := max(0, full-out[i])
			if w.autoPad == "SAME_UPPER" {
				pb[i], pe[i] = total/2, total-total/2
			} else {
				pb[i], pe[i] = total-total/2, total/2
			}
		case w.autoPad == "VALID":
			out[i] = full
		default:
			pb[i], pe[i] = w.pads[i], w.pads[spatial+i]
			out[i] = full - pb[i] - pe[i]
		}
		if out[i] < 1 {
			return nil, nil, nil, nil, fmt.Errorf("output size %d in spatial dimension %d", out[i], i)
		}
	}
	return w, out, pb, pe, nil
}

// convCheck validates the inputs common to Conv and ConvTranspose.
func convCheck(op string, x, w, b *Value) error {
	switch {
	case !x.DType.IsFloat():
		return fmt.Errorf("%s of %s input", op, x.DType)
	case w.DType != x.DType:
		return fmt.Errorf("%s: weight is %s, input is %s", op, w.DType, x.DType)
	case b != nil && b.DType != x.DType:
		return fmt.Errorf("%s: bias is %s, input is %s", op, b.DType, x.DType)
	case x.Rank() < 3:
		return fmt.Errorf("%s: input has %d dims, want at least 3 (N, C, spatial...)", op, x.Rank())
	case x.Rank() > 5:
		return fmt.Errorf("%s: input has %d spatial dims, the engine supports up to 3", op, x.Rank()-2)
	case w.Rank() != x.Rank():
		return fmt.Errorf("%s: weight has %d dims, want %d", op, w.Rank(), x.Rank())
	}
	return nil
}

// convWRT marks the inputs that get gradients: all but compile-time
// constants, whose gradients nobody reads.
func convWRT(args []*Value) []bool {
	wrt := make([]bool, len(args))
	for i, a := range args {
		wrt[i] = !a.IsConst()
	}
	return wrt
}

func convOpt[T any](in [][]T, i int) []T {
	if i < len(in) {
		return in[i]
	}
	return nil
}

// convKernel makes a Kernel of output shape from float32 and float64
// implementations over the inputs' element slices.
func convKernel(shape []int, f32 func([][]float32) []float32, f64 func([][]float64) []float64) Kernel {
	return func(in []*tensor.Dense) (*tensor.Dense, error) {
		switch in[0].Dtype() {
		case tensor.Float32:
			return convRun(in, shape, f32)
		case tensor.Float64:
			return convRun(in, shape, f64)
		}
		return nil, fmt.Errorf("want a float tensor, have %v", in[0].Dtype())
	}
}

func convRun[T Float](in []*tensor.Dense, shape []int, f func([][]T) []T) (*tensor.Dense, error) {
	xs := make([][]T, len(in))
	for i, t := range in {
		d, err := Data[T](t)
		if err != nil {
			return nil, fmt.Errorf("input %d: %w", i, err)
		}
		xs[i] = d
	}
	return Dense(shape, f(xs)), nil
}

// convInto makes an IntoKernel from float32 and float64 bodies that write
// every element of their output.
func convInto(f32 func(in [][]float32, y []float32), f64 func(in [][]float64, y []float64)) IntoKernel {
	return func(in []*tensor.Dense, dst *tensor.Dense) error {
		switch dst.Dtype() {
		case tensor.Float32:
			return convRunInto(in, dst, f32)
		case tensor.Float64:
			return convRunInto(in, dst, f64)
		}
		return fmt.Errorf("want a float tensor, have %v", dst.Dtype())
	}
}

func convRunInto[T Float](in []*tensor.Dense, dst *tensor.Dense, f func([][]T, []T)) error {
	xs := make([][]T, len(in))
	for i, t := range in {
		d, err := Data[T](t)
		if err != nil {
			return fmt.Errorf("input %d: %w", i, err)
		}
		xs[i] = d
	}
	y, err := Data[T](dst)
	if err != nil {
		return err
	}
	f(xs, y)
	return nil
}

// convGradInto adds a backward node shaped like like, computed into a
// buffer kept across runs.
func convGradInto(op string, output, grad *G.Node, label string, like *G.Node, f32 func([][]float32, []float32),
	f64 func([][]float64, []float64), args ...*G.Node) (*G.Node, error) {
	return NewNode(grad.Graph(), output.Name()+"/"+label, Spec{Name: op + label,
		Shape: ShapeOf(like), DType: DTypeOf(like), Into: convInto(f32, f64)}, args...)
}

// convGradNode adds a backward node shaped like like.
func convGradNode(op string, output, grad *G.Node, label string, like *G.Node, f32 func([][]float32) []float32,
	f64 func([][]float64) []float64, args ...*G.Node) (*G.Node, error) {
	shape := ShapeOf(like)
	return NewNode(grad.Graph(), output.Name()+"/"+label, Spec{Name: op + label,
		Shape: shape, DType: DTypeOf(like), Fwd: convKernel(shape, f32, f64)}, args...)
}

// convOwnGemm is the number of output positions from which convForwardRange
// runs one GEMM per sample instead of batching samples.
var convOwnGemm = 256

// convColLimit bounds the elements of one im2col matrix (a variable so
// tests can exercise both the batched and the per-sample paths).
var convColLimit = 1 << 21

// convChunk is how many samples share one im2col matrix: as many as fit in
// convColLimit elements, so small feature maps make one wide GEMM.
func (cd *convDims) convChunk(rows int) int {
	per := rows * cd.g.outSize()
	return max(1, min(cd.n, convColLimit/max(per, 1)))
}

// convForward computes y = conv(x, w) + b.
func convForward[T Float](x, w, b []T, cd *convDims, y []T) {
	g := &cd.g
	P := g.outSize()
	if cd.c/cd.group == 1 && cd.group > 1 {
		clear(y)
		convDepthwiseForward(x, w, y, cd)
		convFinish(y, b, cd, P)
		return
	}
	// Samples split across the cores, each with its own im2col buffer and
	// a single-threaded GEMM: no hand-off between cores inside a product,
	// and the im2col matrix is used by the core that wrote it.
	convSplitSamples(cd.n, cd.m*P*cd.c/cd.group*g.kSize(), func(s0, s1 int, serial bool) {
		convForwardRange(x, w, b, cd, y, s0, s1, serial)
	})
}

// convForwardRange computes samples [s0, s1) of y = conv(x, w) + b (and
// the fused Relu), chunking samples so that one im2col matrix holds
// convColLimit elements at most. serial runs each GEMM on this goroutine.
func convForwardRange[T Float](x, w, b []T, cd *convDims, y []T, s0, s1 int, serial bool) {
	g := &cd.g
	P, inN, K := g.outSize(), g.inSize(), g.kSize()
	cg, mg := cd.c/cd.group, cd.m/cd.group
	rows := cg * K
	nb := min(cd.convChunk(rows), s1-s0)
	if P >= convOwnGemm {
		// Feature maps this large make a good GEMM per sample, straight
		// into y, with an im2col matrix that stays in cache.
		nb = 1
	}
	direct := nb == 1 && g.pointwise()
	col, tmp, release := convChunkBuffers[T](rows, mg, nb, P, direct)
	defer release()
	for n0 := s0; n0 < s1; n0 += nb {
		cnt := min(nb, s1-n0)
		L := cnt * P
		for gi := 0; gi < cd.group; gi++ {
			wg := w[gi*mg*rows:]
			src, ld := x[(n0*cd.c+gi*cg)*inN:], P
			if !direct {
				convMaybeParallel(serial, cnt, rows*P, func(lo, hi int) {
					for s := lo; s < hi; s++ {
						convIm2col(x[((n0+s)*cd.c+gi*cg)*inN:], cg, g, col, L, s*P)
					}
				})
				src, ld = col, L
			}
			if nb == 1 {
				yp := y[(n0*cd.m+gi*mg)*P:]
				convWeightGemm(cd, serial, mg, P, rows, wg, src, ld, yp, P)
				for m := 0; m < mg; m++ {
					convEpilogue(yp[m*P:][:P], b, gi*mg+m, cd.relu)
				}
				continue
			}
			convWeightGemm(cd, serial, mg, L, rows, wg, src, ld, tmp, L)
			// Scatter (mg, cnt*P) into y's (n, m, P) with the bias (and
			// Relu) in the same pass.
			convMaybeParallel(serial, cnt*mg, P, func(lo, hi int) {
				for i := lo; i < hi; i++ {
					s, m := i/mg, i%mg
					ch := gi*mg + m
					dst := y[((n0+s)*cd.m+ch)*P:][:P]
					copy(dst, tmp[m*L+s*P:][:P])
					convEpilogue(dst, b, ch, cd.relu)
				}
			})
		}
	}
}

// convFinish adds the bias and applies the fused Relu over all of y.
func convFinish[T Float](y, b []T, cd *convDims, P int) {
	if cd.relu {
		convBiasRelu(y, b, cd.n, cd.m, P)
		return
	}
	convAddBias(y, b, cd.n, cd.m, P)
}

// convEpilogue adds channel ch's bias (if any) to one output plane and
// applies the fused Relu.
func convEpilogue[T Float](dst, b []T, ch int, relu bool) {
	if b != nil {
		if bv := b[ch]; bv != 0 {
			for i := range dst {
				dst[i] += bv
			}
		}
	}
	if relu {
		reluSlice(dst)
	}
}

// convBiasRelu sets y = max(y + b[m], 0) over (n, m, p), NaN kept; nil b
// adds nothing.
func convBiasRelu[T Float](y, b []T, n, m, p int) {
	convParallel(n*m, p, func(lo, hi int) {
		for nm := lo; nm < hi; nm++ {
			var bv T
			if b != nil {
				bv = b[nm%m]
			}
			yp := y[nm*p : (nm+1)*p]
			if bv != 0 {
				for i := range yp {
					yp[i] += bv
				}
			}
			reluSlice(yp)
		}
	})
}

// convAddBias adds b[m] to every position of y (n, m, p); nil b adds nothing.
func convAddBias[T Float](y, b []T, n, m, p int) {
	if b == nil {
		return
	}
	convParallel(n*m, p, func(lo, hi int) {
		for nm := lo; nm < hi; nm++ {
			bv := b[nm%m]
			yp := y[nm*p : (nm+1)*p]
			for i := range yp {
				yp[i] += bv
			}
		}
	})
}

// convGatherDy returns output channels [gi*mg, (gi+1)*mg) of samples
// [n0, n0+cnt) of dy as an (mg x cnt*P) matrix and its row stride: dy itself
// for one sample, else a copy in buf.
func convGatherDy[T Float](dy, buf []T, cd *convDims, n0, cnt, gi int) ([]T, int) {
	P, mg := cd.g.outSize(), cd.m/cd.group
	if cnt == 1 && len(buf) == 0 {
		return dy[(n0*cd.m+gi*mg)*P:], P
	}
	L := cnt * P
	for s := 0; s < cnt; s++ {
		for m := 0; m < mg; m++ {
			copy(buf[m*L+s*P:][:P], dy[((n0+s)*cd.m+gi*mg+m)*P:][:P])
		}
	}
	return buf, L
}

// convBackwardData computes dx from dy and w: the adjoint of convForward in
// x (col2im of w^T dy).
func convBackwardData[T Float](dy, w []T, cd *convDims, dx []T) {
	g := &cd.g
	cg := cd.c / cd.group
	if cg == 1 && cd.group > 1 {
		clear(dx)
		convDepthwiseData(dy, w, dx, cd)
		return
	}
	// As convForward: samples split across the cores, serial GEMMs.
	convSplitSamples(cd.n, cd.m*g.outSize()*cg*g.kSize(), func(s0, s1 int, serial bool) {
		convBackwardDataRange(dy, w, cd, dx, s0, s1, serial)
	})
}

// convBackwardDataRange computes dx for samples [s0, s1).
func convBackwardDataRange[T Float](dy, w []T, cd *convDims, dx []T, s0, s1 int, serial bool) {
	g := &cd.g
	P, inN, K := g.outSize(), g.inSize(), g.kSize()
	cg, mg := cd.c/cd.group, cd.m/cd.group
	rows := cg * K
	nb := min(cd.convChunk(rows), s1-s0)
	direct := nb == 1 && g.pointwise()
	if !direct {
		clear(dx[s0*cd.c*inN : s1*cd.c*inN]) // col2im adds into it
	}
	dcol, dyb, release := convChunkBuffers[T](rows, mg, nb, P, direct)
	defer release()
	for n0 := s0; n0 < s1; n0 += nb {
		cnt := min(nb, s1-n0)
		L := cnt * P
		for gi := 0; gi < cd.group; gi++ {
			wg := w[gi*mg*rows:]
			dys, ldd := convGatherDy(dy, dyb, cd, n0, cnt, gi)
			if direct {
				convGemmMode(serial, true, false, cg, P, mg, 1, wg, rows, dys, ldd, 0, dx[(n0*cd.c+gi*cg)*inN:], P)
				continue
			}
			convGemmMode(serial, true, false, rows, L, mg, 1, wg, rows, dys, ldd, 0, dcol, L)
			convMaybeParallel(serial, cnt, rows*P, func(lo, hi int) {
				for s := lo; s < hi; s++ {
					convCol2im(dcol, L, s*P, cg, g, dx[((n0+s)*cd.c+gi*cg)*inN:])
				}
			})
		}
	}
}

// convBackwardWeight computes dw from dy and x: sum over samples of
// dy im2col(x)^T.
func convBackwardWeight[T Float](dy, x []T, cd *convDims, dw []T) {
	g := &cd.g
	P, inN, K := g.outSize(), g.inSize(), g.kSize()
	cg, mg := cd.c/cd.group, cd.m/cd.group
	rows := cg * K
	clear(dw) // every chunk adds into it
	if cg == 1 && cd.group > 1 {
		convDepthwiseWeight(dy, x, dw, cd)
		return
	}
	nb := cd.convChunk(rows)
	direct := nb == 1 && g.pointwise()
	col, dyb, release := convChunkBuffers[T](rows, mg, nb, P, direct)
	defer release()
	for n0 := 0; n0 < cd.n; n0 += nb {
		cnt := min(nb, cd.n-n0)
		L := cnt * P
		for gi := 0; gi < cd.group; gi++ {
			dys, ldd := convGatherDy(dy, dyb, cd, n0, cnt, gi)
			src, ld := x[(n0*cd.c+gi*cg)*inN:], P
			if !direct {
				convParallel(cnt, rows*P, func(lo, hi int) {
					for s := lo; s < hi; s++ {
						convIm2col(x[((n0+s)*cd.c+gi*cg)*inN:], cg, g, col, L, s*P)
					}
				})
				src, ld = col, L
			}
			convGemm(false, true, mg, rows, L, 1, dys, ldd, src, ld, 1, dw[gi*mg*rows:], rows)
		}
	}
}

// convBiasGrad sums dy (n, m, p) over samples and positions.
func convBiasGrad[T Float](dy []T, n, m, p int, db []T) {
	// Channels split across the cores; each channel sums its planes in
	// sample order, as the serial loop did.
	convParallel(m, n*p, func(lo, hi int) {
		for ch := lo; ch < hi; ch++ {
			var acc T
			for s := 0; s < n; s++ {
				var sum T
				for _, v := range dy[(s*m+ch)*p : (s*m+ch+1)*p] {
					sum += v
				}
				acc += sum
			}
			db[ch] = acc
		}
	})
}

// convIm2col writes the windows of x (cg channels of g.inSize() elements)
// into col: row c*K + t holds tap t of channel c for every output position,
// at columns off.. of a matrix with row stride ld. Padding reads as zero.
func convIm2col[T Float](x []T, cg int, g *convGeom, col []T, ld, off int) {
	if g.sameWidth() {
		convIm2colShift(x, cg, g, col, ld, off)
		return
	}
	inN, K := g.inSize(), g.kSize()
	o1, o2, s2 := g.out[1], g.out[2], g.s[2]
	for c := 0; c < cg; c++ {
		xc := x[c*inN : (c+1)*inN]
		t := 0
		for kd := 0; kd < g.k[0]; kd++ {
			for kh := 0; kh < g.k[1]; kh++ {
				for kw := 0; kw < g.k[2]; kw++ {
					row := col[(c*K+t)*ld+off:]
					t++
					xoff := kw*g.d[2] - g.pb[2]
					lo, hi := convSpan(xoff, s2, o2, g.in[2])
					for od := 0; od < g.out[0]; od++ {
						id := od*g.s[0] - g.pb[0] + kd*g.d[0]
						for oh := 0; oh < o1; oh++ {
							ih := oh*g.s[1] - g.pb[1] + kh*g.d[1]
							dst := row[(od*o1+oh)*o2:][:o2]
							if id < 0 || id >= g.in[0] || ih < 0 || ih >= g.in[1] {
								clear(dst)
								continue
							}
							base := (id*g.in[1]+ih)*g.in[2] + xoff
							clear(dst[:lo])
							clear(dst[hi:])
							if s2 == 1 {
								copy(dst[lo:hi], xc[base+lo:base+hi])
								continue
							}
							for ow := lo; ow < hi; ow++ {
								dst[ow] = xc[base+ow*s2]
							}
						}
					}
				}
			}
		}
	}
}

// sameWidth reports a 2-D (or 1-D) window with unit strides whose output
// rows are as wide as the input's (a 3x3 convolution with padding 1): then
// every tap's im2col row is the input plane shifted by a constant offset,
// apart from the columns that fall into the padding.
func (g *convGeom) sameWidth() bool {
	return g.in[0] == 1 && g.out[0] == 1 && g.k[0] == 1 && g.s[1] == 1 && g.s[2] == 1 && g.out[2] == g.in[2]
}

// convIm2colShift is convIm2col for sameWidth geometries: one block copy a
// channel and tap, then the padding columns and rows are cleared.
func convIm2colShift[T Float](x []T, cg int, g *convGeom, col []T, ld, off int) {
	inN, K := g.inSize(), g.kSize()
	o1, w := g.out[1], g.out[2]
	P := o1 * w
	for c := 0; c < cg; c++ {
		xc := x[c*inN : (c+1)*inN]
		t := 0
		for kh := 0; kh < g.k[1]; kh++ {
			yoff := kh*g.d[1] - g.pb[1]
			// output rows whose input row exists
			h0, h1 := convSpan(yoff, 1, o1, g.in[1])
			for kw := 0; kw < g.k[2]; kw++ {
				row := col[(c*K+t)*ld+off:][:P]
				t++
				xoff := kw*g.d[2] - g.pb[2]
				lo, hi := convSpan(xoff, 1, w, g.in[2])
				shift := yoff*w + xoff
				d0, d1 := max(h0*w, -shift), min(h1*w, inN-shift)
				if d0 < d1 {
					copy(row[d0:d1], xc[d0+shift:d1+shift])
				}
				clear(row[:h0*w])
				clear(row[h1*w:])
				if lo > 0 || hi < w {
					for oh := h0; oh < h1; oh++ {
						r := row[oh*w : (oh+1)*w]
						for i := 0; i < lo; i++ {
							r[i] = 0
						}
						for i := hi; i < w; i++ {
							r[i] = 0
						}
					}
				}
			}
		}
	}
}

// convCol2im adds the columns off.. of col (row stride ld) back into the
// input positions they were read from: the adjoint of convIm2col.
func convCol2im[T Float](col []T, ld, off, cg int, g *convGeom, dx []T) {
	inN, K, s2 := g.inSize(), g.kSize(), g.s[2]
	for c := 0; c < cg; c++ {
		dxc := dx[c*inN : (c+1)*inN]
		g.rows(func(t, yo, xo, lo, hi int) {
			src := col[(c*K+t)*ld+off+yo+lo:][:hi-lo]
			if s2 == 1 {
				dst := dxc[xo+lo:][:len(src)]
				for i, v := range src {
					dst[i] += v
				}
				return
			}
			dst := dxc[xo+lo*s2:]
			for i, v := range src {
				dst[i*s2] += v
			}
		})
	}
}

// convDepthwiseForward is the direct loop for one input channel per group
// (MobileNet's depthwise convolutions): y += w[tap] * shifted x, per tap.
func convDepthwiseForward[T Float](x, w, y []T, cd *convDims) {
	g := &cd.g
	P, inN, K, s2 := g.outSize(), g.inSize(), g.kSize(), g.s[2]
	mg := cd.m / cd.group
	convParallel(cd.n*cd.m, P*K, func(lo, hi int) {
		for nm := lo; nm < hi; nm++ {
			n, m := nm/cd.m, nm%cd.m
			xc := x[(n*cd.c+m/mg)*inN:][:inN]
			yp := y[nm*P:][:P]
			wm := w[m*K:][:K]
			g.rows(func(t, yo, xo, lo, hi int) {
				convAxpy(hi-lo, wm[t], xc[xo+lo*s2:], s2, yp[yo+lo:], 1)
			})
		}
	})
}

// convDepthwiseData is the depthwise adjoint in x.
func convDepthwiseData[T Float](dy, w, dx []T, cd *convDims) {
	g := &cd.g
	P, inN, K, s2 := g.outSize(), g.inSize(), g.kSize(), g.s[2]
	mg := cd.m / cd.group
	convParallel(cd.n*cd.c, P*K*mg, func(lo, hi int) {
		for nc := lo; nc < hi; nc++ {
			n, c := nc/cd.c, nc%cd.c
			dxc := dx[nc*inN:][:inN]
			for m := c * mg; m < (c+1)*mg; m++ {
				dyp := dy[(n*cd.m+m)*P:][:P]
				wm := w[m*K:][:K]
				g.rows(func(t, yo, xo, lo, hi int) {
					convAxpy(hi-lo, wm[t], dyp[yo+lo:], 1, dxc[xo+lo*s2:], s2)
				})
			}
		}
	})
}

// convDepthwiseWeight is the depthwise adjoint in w.
func convDepthwiseWeight[T Float](dy, x, dw []T, cd *convDims) {
	g := &cd.g
	P, inN, K, s2 := g.outSize(), g.inSize(), g.kSize(), g.s[2]
	mg := cd.m / cd.group
	convParallel(cd.m, cd.n*P*K, func(lo, hi int) {
		for m := lo; m < hi; m++ {
			dwm := dw[m*K:][:K]
			for n := 0; n < cd.n; n++ {
				xc := x[(n*cd.c+m/mg)*inN:][:inN]
				dyp := dy[(n*cd.m+m)*P:][:P]
				g.rows(func(t, yo, xo, lo, hi int) {
					dwm[t] += convDot(hi-lo, dyp[yo+lo:], 1, xc[xo+lo*s2:], s2)
				})
			}
		}
	})
}

// convGemm is C = alpha op(A) op(B) + beta C: float32 through sgemm (the
// project's internal/gemm), float64 through gonum's BLAS.
func convGemm[T Float](tA, tB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	ta, tb := blas.NoTrans, blas.NoTrans
	if tA {
		ta = blas.Trans
	}
	if tB {
		tb = blas.Trans
	}
	switch a := any(a).(type) {
	case []float32:
		sgemm(tA, tB, m, n, k, float32(alpha), a, lda, any(b).([]float32), ldb, float32(beta), any(c).([]float32), ldc)
	case []float64:
		blas64.Implementation().Dgemm(ta, tb, m, n, k, float64(alpha), a, lda, any(b).([]float64), ldb,
			float64(beta), any(c).([]float64), ldc)
	}
}

// convWeightGemm computes c = w (m×k) times src (k×n): with the weights
// packed at compile time when they are (inference, one group, float32, a
// serial product), else through convGemmMode.
func convWeightGemm[T Float](cd *convDims, serial bool, m, n, k int, w, src []T, ld int, c []T, ldc int) {
	if cd.packed != nil && serial {
		if s32, ok := any(src).([]float32); ok {
			cd.packed.SgemmSerial(false, n, 1, s32, ld, 0, any(c).([]float32), ldc)
			return
		}
	}
	convGemmMode(serial, false, false, m, n, k, 1, w, k, src, ld, 0, c, ldc)
}

// convGemmMode is convGemm, on this goroutine only when serial (float32).
func convGemmMode[T Float](serial, tA, tB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	if a32, ok := any(a).([]float32); ok && serial {
		sgemmSerial(tA, tB, m, n, k, float32(alpha), a32, lda, any(b).([]float32), ldb, float32(beta), any(c).([]float32), ldc)
		return
	}
	convGemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// convAxpy is y[i*incY] += a*x[i*incX] for i < n, with gonum's assembly
// kernels (always the native implementation: these calls are too short to
// pay for a cgo call).
func convAxpy[T Float](n int, a T, x []T, incX int, y []T, incY int) {
	switch xs := any(x).(type) {
	case []float32:
		gonum.Implementation{}.Saxpy(n, float32(a), xs, incX, any(y).([]float32), incY)
	case []float64:
		gonum.Implementation{}.Daxpy(n, float64(a), xs, incX, any(y).([]float64), incY)
	}
}

// convDot is the sum of x[i*incX]*y[i*incY] for i < n.
func convDot[T Float](n int, x []T, incX int, y []T, incY int) T {
	switch xs := any(x).(type) {
	case []float32:
		return T(gonum.Implementation{}.Sdot(n, xs, incX, any(y).([]float32), incY))
	case []float64:
		return T(gonum.Implementation{}.Ddot(n, xs, incX, any(y).([]float64), incY))
	}
	return 0
}

// sgemm is the float32 matrix product of the engine: internal/gemm's
// blocked AVX2 kernels (pure Go and assembly), or OpenBLAS with the
// openblas build tag.
var sgemm, sgemmSerial = gemm.Sgemm, gemm.SgemmSerial

// Scratch buffers (im2col matrices) are reused across kernel calls.
var convPool32, convPool64 sync.Pool

func convPoolOf[T Float]() *sync.Pool {
	var zero T
	if _, ok := any(zero).(float32); ok {
		return &convPool32
	}
	return &convPool64
}

// convScratch returns a buffer of n elements with arbitrary contents.
func convScratch[T Float](n int) []T {
	if b, ok := convPoolOf[T]().Get().(*[]T); ok && cap(*b) >= n {
		return (*b)[:n]
	}
	return make([]T, n)
}

// convChunkBuffers returns the scratch of a pass over chunks of nb samples:
// the im2col matrix (rows × nb·P; nil when direct, the input being its own
// matrix) and an (mg × nb·P) matrix for the gathered output or gradient
// (nil for one sample at a time), with the function that releases both.
func convChunkBuffers[T Float](rows, mg, nb, P int, direct bool) (col, tmp []T, release func()) {
	if !direct {
		col = convScratch[T](rows * nb * P)
	}
	if nb > 1 {
		tmp = convScratch[T](mg * nb * P)
	}
	return col, tmp, func() {
		if col != nil {
			convRelease(col)
		}
		if tmp != nil {
			convRelease(tmp)
		}
	}
}

// convMaybeParallel is convParallel, or f(0, n) on this goroutine when
// serial (a caller that already runs one range a core).
func convMaybeParallel(serial bool, n, per int, f func(lo, hi int)) {
	if serial {
		f(0, n)
		return
	}
	convParallel(n, per, f)
}

// convRelease returns a buffer from convScratch for reuse.
func convRelease[T Float](b []T) { convPoolOf[T]().Put(&b) }

// convSplitSamples runs f over samples [0, n) in one range a core, each
// call told to keep its GEMMs on its own goroutine (serial), when the work
// (n samples of perSample multiply-adds) pays; else f(0, n, false), whose
// GEMMs may use every core.
func convSplitSamples(n, perSample int, f func(s0, s1 int, serial bool)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 || n*perSample < 1<<20 {
		f(0, n, false)
		return
	}
	per := (n + workers - 1) / workers
	gemm.Parallel((n+per-1)/per, func(i int) {
		lo := i * per
		f(lo, min(lo+per, n), true)
	})
}

// convParallel runs f over [0, n) split across the cores (gemm.Parallel) when
// the work (n items of per operations each) is worth it.
func convParallel(n, per int, f func(lo, hi int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 || n*per < 1<<16 {
		f(0, n)
		return
	}
	step := (n + workers - 1) / workers
	gemm.Parallel((n+step-1)/step, func(i int) {
		lo := i * step
		f(lo, min(lo+step, n))
	})
}

// constData32 returns the float32 elements of a value known at compile
// time: a constant, or a node bound to its value (a parameter), else nil.
func constData32(v *Value) []float32 {
	var t *tensor.Dense
	switch {
	case v.IsConst():
		t = v.Const
	case v.Node != nil && v.Node.Value() != nil:
		d, err := asDense(v.Node.Value())
		if err != nil {
			return nil
		}
		t = d
	default:
		return nil
	}
	d, err := Data[float32](t)
	if err != nil {
		return nil
	}
	return d
}
