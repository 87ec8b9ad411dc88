package ops

import (
	"fmt"
)

// Sliding windows shared by Conv, ConvTranspose and the pools: the geometry
// of a window over 1-3 spatial dimensions, the window attributes (kernel,
// strides, dilations, pads, auto_pad) and im2col / col2im.

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
func readConvWindow(r *attrReader, spatial int, kernel []int, withDilations bool) (*convWindow, error) {
	w := &convWindow{autoPad: "NOTSET"}
	if p := r.String("auto_pad", ""); p != "" {
		w.autoPad = p
	}
	switch w.autoPad {
	case "NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID":
	default:
		return nil, fmt.Errorf("auto_pad %q is not NOTSET, SAME_UPPER, SAME_LOWER or VALID", w.autoPad)
	}
	if len(r.Ints("kernel_shape")) > 0 {
		w.kernel = r.IntsN("kernel_shape", spatial, 0)
		if kernel != nil && !sameInts(kernel, w.kernel) {
			return nil, fmt.Errorf("kernel_shape %v disagrees with the weight's window %v", w.kernel, kernel)
		}
	} else if kernel == nil {
		return nil, fmt.Errorf("attribute kernel_shape is required")
	} else {
		w.kernel = append([]int(nil), kernel...)
	}
	w.strides = r.IntsN("strides", spatial, 1)
	w.dilations = make([]int, spatial)
	for i := range w.dilations {
		w.dilations[i] = 1
	}
	if withDilations {
		w.dilations = r.IntsN("dilations", spatial, 1)
	}
	w.pads = r.IntsN("pads", 2*spatial, 0)
	if err := r.Err(); err != nil {
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

// convIm2col writes the windows of x (cg channels of g.inSize() elements)
// into col: row c*K + t holds tap t of channel c for every output position,
// at columns off.. of a matrix with row stride ld. Padding reads as zero.
func convIm2col[T Float](x []T, cg int, g *convGeom, col []T, ld, off int) {
	if g.sameWidth() {
		convIm2colShift(x, cg, g, col, ld, off)
		return
	}
	convIm2colRows(x, cg, g, col, ld, off)
}

// convIm2colRows is convIm2col for any geometry, a pass an output row.
func convIm2colRows[T Float](x []T, cg int, g *convGeom, col []T, ld, off int) {
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
	return g.planar() && g.s[1] == 1 && g.s[2] == 1 && g.out[2] == g.in[2]
}

// planar reports a window over the last two dimensions alone: one input
// and one output plane in depth, read by a window one deep with no depth
// padding before it (with depth padding, the output plane would read the
// padding, not the input plane).
func (g *convGeom) planar() bool {
	return g.in[0] == 1 && g.out[0] == 1 && g.k[0] == 1 && g.pb[0] == 0
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
				clearPadColumns(row, h0, h1, w, lo, hi)
			}
		}
	}
}

// convCol2im adds the columns off.. of col (row stride ld) back into the
// input positions they were read from: the adjoint of convIm2col.
func convCol2im[T Float](col []T, ld, off, cg int, g *convGeom, dx []T) {
	if g.sameWidth() {
		convCol2imShift(col, ld, off, cg, g, dx)
		return
	}
	convCol2imRows(col, ld, off, cg, g, dx)
}

// convCol2imRows is convCol2im for any geometry, a pass an output row.
func convCol2imRows[T Float](col []T, ld, off, cg int, g *convGeom, dx []T) {
	inN, K, s2 := g.inSize(), g.kSize(), g.s[2]
	if s2 == 1 {
		convCol2imRows1(col, ld, off, cg, g, dx)
		return
	}
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

// convCol2imRows1 is convCol2imRows for a width stride of 1, the loops of
// convGeom.rows written out: a call of its function for every row of 10
// or so elements (LeNet's second convolution) took half the time. The
// elements receive the same terms in the same order.
func convCol2imRows1[T Float](col []T, ld, off, cg int, g *convGeom, dx []T) {
	inN, K := g.inSize(), g.kSize()
	o1, o2 := g.out[1], g.out[2]
	for c := 0; c < cg; c++ {
		dxc := dx[c*inN : (c+1)*inN]
		t := -1
		for kd := 0; kd < g.k[0]; kd++ {
			for kh := 0; kh < g.k[1]; kh++ {
				for kw := 0; kw < g.k[2]; kw++ {
					t++
					xoff := kw*g.d[2] - g.pb[2]
					lo, hi := convSpan(xoff, 1, o2, g.in[2])
					if lo == hi {
						continue
					}
					crow := col[(c*K+t)*ld+off:]
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
							yo, xo := (od*o1+oh)*o2, (id*g.in[1]+ih)*g.in[2]+xoff
							src := crow[yo+lo : yo+hi]
							dst := dxc[xo+lo:][:len(src)]
							for i, v := range src {
								dst[i] += v
							}
						}
					}
				}
			}
		}
	}
}

// convCol2imShift is convCol2im for sameWidth geometries, the adjoint of
// convIm2colShift: the columns of a tap's row that read padding are
// cleared in col (col is the caller's scratch), then the row is added to
// the input plane shifted by a constant offset in one pass, instead of a
// pass an output row. Every input element receives the same terms in the
// same order as in convCol2im.
func convCol2imShift[T Float](col []T, ld, off, cg int, g *convGeom, dx []T) {
	inN, K := g.inSize(), g.kSize()
	o1, w := g.out[1], g.out[2]
	for c := 0; c < cg; c++ {
		dxc := dx[c*inN : (c+1)*inN]
		t := 0
		for kh := 0; kh < g.k[1]; kh++ {
			yoff := kh*g.d[1] - g.pb[1]
			h0, h1 := convSpan(yoff, 1, o1, g.in[1])
			for kw := 0; kw < g.k[2]; kw++ {
				row := col[(c*K+t)*ld+off:][:o1*w]
				t++
				xoff := kw*g.d[2] - g.pb[2]
				lo, hi := convSpan(xoff, 1, w, g.in[2])
				if h0 >= h1 || lo >= hi {
					continue
				}
				clearPadColumns(row, h0, h1, w, lo, hi)
				// Output positions [h0*w+lo, (h1-1)*w+hi) read input
				// positions shifted by yoff*w + xoff.
				a, b := h0*w+lo, (h1-1)*w+hi
				src := row[a:b]
				dst := dxc[a+yoff*w+xoff:][:len(src)]
				for i, v := range src {
					dst[i] += v
				}
			}
		}
	}
}

// clearPadColumns zeroes columns [0, lo) and [hi, w) of rows [h0, h1) of
// plane (rows of w elements): a strided pass a column, as a 3x3 window
// with padding 1 has one such column on either side and rows of 2-32
// elements at ResNet's sizes.
func clearPadColumns[T Float](plane []T, h0, h1, w, lo, hi int) {
	if h0 >= h1 {
		return
	}
	plane = plane[:h1*w]
	for i := 0; i < lo; i++ {
		for j := h0*w + i; j < len(plane); j += w {
			plane[j] = 0
		}
	}
	for i := hi; i < w; i++ {
		for j := h0*w + i; j < len(plane); j += w {
			plane[j] = 0
		}
	}
}
