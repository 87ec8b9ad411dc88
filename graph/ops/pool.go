package ops

import (
	"fmt"
	"unsafe"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/internal/gemm/vec"
)

func registerPool(r *Registry) {
	r.add(OpInfo{Name: "MaxPool", Differentiable: true, Lower: lowerMaxPool})
	r.add(OpInfo{Name: "AveragePool", Differentiable: true, Lower: lowerAveragePool})
	r.add(OpInfo{Name: "GlobalAveragePool", Differentiable: true, Lower: lowerGlobalPool("GlobalAveragePool", false)})
	r.add(OpInfo{Name: "GlobalMaxPool", Differentiable: true, Lower: lowerGlobalPool("GlobalMaxPool", true)})
}

// poolSetup reads a pool's window and returns its geometry, the number of
// (sample, channel) planes and the output shape. Attributes are accepted
// only from the opset that introduced them: ceil_mode from 10, dilations
// from dilationsFrom (MaxPool 10, AveragePool 19).
func poolSetup(c *Ctx, op string, x *Value, dilationsFrom int64) (*convGeom, int, []int, error) {
	if x.Rank() < 3 || x.Rank() > 5 {
		return nil, 0, nil, fmt.Errorf("%s: input has %d dims, want 3 to 5 (N, C, 1 to 3 spatial)", op, x.Rank())
	}
	for _, a := range []struct {
		name string
		from int64
	}{{"ceil_mode", 10}, {"dilations", dilationsFrom}, {"storage_order", 8}} {
		if c.attrs().Has(a.name) && c.Opset < a.from {
			return nil, 0, nil, fmt.Errorf("%s: attribute %s needs opset %d, the model has %d", op, a.name, a.from, c.Opset)
		}
	}
	spatial := x.Rank() - 2
	win, err := readConvWindow(c.attrs(), spatial, nil, c.Opset >= dilationsFrom)
	if err != nil {
		return nil, 0, nil, fmt.Errorf("%s: %w", op, err)
	}
	ceil := c.attrs().Bool("ceil_mode", false)
	in := x.Shape[2:]
	out, pb, pe, err := win.resolve(c, in, ceil)
	if err != nil {
		return nil, 0, nil, fmt.Errorf("%s: %w", op, err)
	}
	g := newConvGeom(in, out, win.kernel, win.strides, win.dilations, pb, pe)
	yShape := append([]int{x.Shape[0], x.Shape[1]}, out...)
	if err := c.checkShape(op+" output", yShape, x.DType); err != nil {
		return nil, 0, nil, err
	}
	return &g, x.Shape[0] * x.Shape[1], yShape, nil
}

func lowerMaxPool(c *Ctx, in []*Value) ([]*Value, error) {
	x := in[0]
	if _, err := tensorDtype(x.DType); err != nil || x.DType == graph.Bool {
		return nil, fmt.Errorf("%s of %s", "MaxPool", x.DType)
	}
	g, planes, yShape, err := poolSetup(c, "MaxPool", x, 10)
	if err != nil {
		return nil, err
	}
	s := Spec{Name: "MaxPool", Shape: yShape, DType: x.DType, Fwd: func(in []*tensor.Dense) (*tensor.Dense, error) {
		switch d := in[0].Data().(type) {
		case []float32:
			return Dense(yShape, poolMax(d, planes, g, make([]float32, planes*g.outSize()), nil)), nil
		case []float64:
			return Dense(yShape, poolMax(d, planes, g, make([]float64, planes*g.outSize()), nil)), nil
		case []uint8:
			return Dense(yShape, poolMax(d, planes, g, make([]uint8, planes*g.outSize()), nil)), nil
		case []int8:
			return Dense(yShape, poolMax(d, planes, g, make([]int8, planes*g.outSize()), nil)), nil
		case []int32:
			return Dense(yShape, poolMax(d, planes, g, make([]int32, planes*g.outSize()), nil)), nil
		case []int64:
			return Dense(yShape, poolMax(d, planes, g, make([]int64, planes*g.outSize()), nil)), nil
		}
		return nil, fmt.Errorf("unsupported element type %v", in[0].Dtype())
	}}
	// In training the forward pass records each window's argmax for the
	// backward pass, which runs after it in the same step.
	var memo *poolArgs
	if c.Train {
		if err := c.checkElems("MaxPool argmax table", planes*g.outSize(), 8); err != nil {
			return nil, err
		}
		memo = &poolArgs{arg: make([]int, planes*g.outSize())}
	}
	if x.DType == graph.Float32 || x.DType == graph.Float64 {
		s.Fwd, s.Into = nil, bodiesInto(
			func(in [][]float32, y []float32) { poolMax(in[0], planes, g, y, memo.record(in[0])) },
			func(in [][]float64, y []float64) { poolMax(in[0], planes, g, y, memo.record(in[0])) })
	}
	if x.DType.IsFloat() {
		s.WRT = []bool{true}
		s.Grad = func(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
			dx, err := convGradInto("MaxPool", output, grad, "Grad", inputs[0],
				func(in [][]float32, dx []float32) { poolMaxGrad(in[0], in[1], planes, g, dx, memo.lookup(in[1])) },
				func(in [][]float64, dx []float64) { poolMaxGrad(in[0], in[1], planes, g, dx, memo.lookup(in[1])) }, grad, inputs[0])
			return G.Nodes{dx}, err
		}
	}
	outs := []*Value{nil, nil}
	if outs[0], err = c.Apply(s, x); err != nil {
		return nil, err
	}
	if len(c.Node.Outputs) > 1 && c.Node.Outputs[1] != "" {
		colMajor := c.attrs().Int("storage_order", 0) == 1
		idx := Spec{Name: "MaxPoolIndices", Shape: yShape, DType: graph.Int64, Fwd: func(in []*tensor.Dense) (*tensor.Dense, error) {
			return poolIndices(in[0], yShape, planes, g, colMajor)
		}}
		if outs[1], err = c.Apply(idx, x); err != nil {
			return nil, err
		}
	}
	return outs, nil
}

// poolIndices is MaxPool's Indices output: the flat index into x of each
// window's first maximum, with the spatial part in row-major order, or
// column-major with colMajor (storage_order 1).
func poolIndices(x *tensor.Dense, yShape []int, planes int, g *convGeom, colMajor bool) (*tensor.Dense, error) {
	P := g.outSize()
	arg := make([]int, planes*P)
	switch d := x.Data().(type) {
	case []float32:
		poolMax(d, planes, g, nil, arg)
	case []float64:
		poolMax(d, planes, g, nil, arg)
	case []uint8:
		poolMax(d, planes, g, nil, arg)
	case []int8:
		poolMax(d, planes, g, nil, arg)
	case []int32:
		poolMax(d, planes, g, nil, arg)
	case []int64:
		poolMax(d, planes, g, nil, arg)
	default:
		return nil, fmt.Errorf("unsupported element type %v", x.Dtype())
	}
	inN := g.inSize()
	out := make([]int64, len(arg))
	for i, a := range arg {
		if a < 0 {
			out[i] = -1
			continue
		}
		if colMajor {
			iw, ih, id := a%g.in[2], (a/g.in[2])%g.in[1], a/(g.in[1]*g.in[2])
			a = id + ih*g.in[0] + iw*g.in[0]*g.in[1]
		}
		out[i] = int64((i/P)*inN + a)
	}
	return Dense(yShape, out), nil
}

func lowerAveragePool(c *Ctx, in []*Value) ([]*Value, error) {
	x := in[0]
	if !x.DType.IsFloat() {
		return nil, fmt.Errorf("%s of %s", "AveragePool", x.DType)
	}
	g, planes, yShape, err := poolSetup(c, "AveragePool", x, 19)
	if err != nil {
		return nil, err
	}
	if err := c.checkElems("AveragePool window table", g.outSize(), int(unsafe.Sizeof(poolWin{}))); err != nil {
		return nil, err
	}
	inclPad := c.attrs().Bool("count_include_pad", false)
	s := Spec{Name: "AveragePool", Shape: yShape, DType: x.DType, WRT: []bool{true},
		Fwd: convKernel(yShape,
			func(in [][]float32) []float32 { return poolAverage(in[0], planes, g, inclPad) },
			func(in [][]float64) []float64 { return poolAverage(in[0], planes, g, inclPad) }),
		Grad: func(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
			dx, err := convGradNode("AveragePool", output, grad, "Grad", inputs[0],
				func(in [][]float32) []float32 { return poolAverageGrad(in[0], planes, g, inclPad) },
				func(in [][]float64) []float64 { return poolAverageGrad(in[0], planes, g, inclPad) }, grad)
			return G.Nodes{dx}, err
		}}
	y, err := c.Apply(s, x)
	return []*Value{y}, err
}

// poolWin is one output position's window: per dimension the first input
// index inside the input and the number of taps inside it, and the number
// of taps inside the padded input (count_include_pad's divisor).
type poolWin struct {
	first, n [3]int
	size     int // taps inside the input
	padded   int
}

// poolWindows lists the window of every output position of a plane.
func (g *convGeom) poolWindows() []poolWin {
	var first, cnt, pad [3][]int
	for i := range 3 {
		first[i], cnt[i], pad[i] = make([]int, g.out[i]), make([]int, g.out[i]), make([]int, g.out[i])
		for o := range g.out[i] {
			start := o*g.s[i] - g.pb[i]
			lo, hi := convSpan(start, g.d[i], g.k[i], g.in[i])
			first[i][o], cnt[i][o] = start+lo*g.d[i], hi-lo
			plo, phi := convSpan(start+g.pb[i], g.d[i], g.k[i], g.in[i]+g.pb[i]+g.pe[i])
			pad[i][o] = phi - plo
		}
	}
	wins := make([]poolWin, 0, g.outSize())
	for a := range g.out[0] {
		for b := range g.out[1] {
			for c := range g.out[2] {
				w := poolWin{first: [3]int{first[0][a], first[1][b], first[2][c]},
					n: [3]int{cnt[0][a], cnt[1][b], cnt[2][c]}}
				w.size = w.n[0] * w.n[1] * w.n[2]
				w.padded = pad[0][a] * pad[1][b] * pad[2][c]
				wins = append(wins, w)
			}
		}
	}
	return wins
}

// poolMax computes the max of every window of x (planes of g.inSize()
// elements): the outputs when want, and in arg (when not nil) the
// plane-relative index of each window's first maximum, as PyTorch picks it
// (a NaN wins). A window entirely in padding gives 0 and index -1.
func poolMax[T Number](x []T, planes int, g *convGeom, y []T, arg []int) []T {
	if g.plain2D() {
		poolMax2D(x, planes, g, y, arg)
		return y
	}
	wins := g.poolWindows()
	inN, P := g.inSize(), g.outSize()
	in1, in2, d0, d1, d2 := g.in[1], g.in[2], g.d[0], g.d[1], g.d[2]
	want := y != nil
	parallelRange(planes, P*g.kSize(), func(lo, hi int) {
		for p := lo; p < hi; p++ {
			xp := x[p*inN:][:inN]
			for o := range wins {
				w := &wins[o]
				var best T
				at := -1
				for a := 0; a < w.n[0]; a++ {
					ia := w.first[0] + a*d0
					for b := 0; b < w.n[1]; b++ {
						row := (ia*in1+w.first[1]+b*d1)*in2 + w.first[2]
						for c := 0; c < w.n[2]; c++ {
							i := row + c*d2
							if v := xp[i]; at < 0 || v > best || isNaN(v) {
								best, at = v, i
							}
						}
					}
				}
				if want {
					y[p*P+o] = best
				}
				if arg != nil {
					arg[p*P+o] = at
				}
			}
		}
	})
	return y
}

func isNaN[T Number](v T) bool { return v != v }

// plain2D reports a window over at most two spatial dimensions without
// dilation, the case poolMax2D runs.
func (g *convGeom) plain2D() bool {
	return g.planar() && g.d[1] == 1 && g.d[2] == 1
}

// poolVector lets poolMax2D run vec.MaxPool2D where it runs (tests turn
// it off to compare).
var poolVector = true

// poolMax2D is poolMax for plain2D geometries: the window of every output
// position clipped to the input by two loops, no window table.
func poolMax2D[T Number](x []T, planes int, g *convGeom, y []T, arg []int) {
	in1, in2, o1, o2 := g.in[1], g.in[2], g.out[1], g.out[2]
	inN, P := in1*in2, o1*o2
	if g.k[1] == 2 && g.k[2] == 2 && g.s[1] == 2 && g.s[2] == 2 && g.pb[1] == 0 && g.pb[2] == 0 &&
		2*o1 <= in1 && 2*o2 <= in2 {
		poolMax2x2(x, planes, g, y, arg)
		return
	}
	if x32, ok := any(x).([]float32); ok && y != nil && poolVector &&
		vec.MaxPool2DRuns(in1, in2, g.k[1], g.k[2], g.s[1], g.s[2], g.pb[1], g.pb[2], o1, o2) {
		// The vector loop (AVX-512, AVX2): the same values (a NaN's bits
		// aside without arg) and the same argmax.
		y32 := any(y).([]float32)
		parallelRange(planes, P*g.kSize(), func(lo, hi int) {
			var a []int
			if arg != nil {
				a = arg[lo*P : hi*P]
			}
			vec.MaxPool2D(x32[lo*inN:hi*inN], hi-lo, in1, in2, g.k[1], g.k[2], g.s[1], g.s[2], g.pb[1], g.pb[2],
				y32[lo*P:hi*P], o1, o2, a)
		})
		return
	}
	if arg == nil {
		poolMax2DValues(x, planes, g, y)
		return
	}
	parallelRange(planes, P*g.kSize(), func(lo, hi int) {
		for p := lo; p < hi; p++ {
			xp := x[p*inN:][:inN]
			for oh := 0; oh < o1; oh++ {
				hs := oh*g.s[1] - g.pb[1]
				h0, h1 := max(hs, 0), min(hs+g.k[1], in1)
				for ow := 0; ow < o2; ow++ {
					ws := ow*g.s[2] - g.pb[2]
					w0, w1 := max(ws, 0), min(ws+g.k[2], in2)
					var best T
					at := -1
					for h := h0; h < h1; h++ {
						// A window wholly in the padding has w0 >= w1 (and
						// possibly w1 < 0): no element, argmax -1.
						row := xp[h*in2:][:in2]
						for w := w0; w < w1; w++ {
							if v := row[w]; at < 0 || v > best || v != v {
								best, at = v, h*in2+w
							}
						}
					}
					o := p*P + oh*o2 + ow
					if y != nil {
						y[o] = best
					}
					if arg != nil {
						arg[o] = at
					}
				}
			}
		}
	})
}

// poolMax2DValues is poolMax2D without the argmax (inference): Go's max,
// which keeps NaN, instead of a comparison branch per tap.
func poolMax2DValues[T Number](x []T, planes int, g *convGeom, y []T) {
	in1, in2, o1, o2 := g.in[1], g.in[2], g.out[1], g.out[2]
	inN, P := in1*in2, o1*o2
	k3s2 := g.k[1] == 3 && g.k[2] == 3 && g.s[1] == 2 && g.s[2] == 2
	parallelRange(planes, P*g.kSize(), func(lo, hi int) {
		for p := lo; p < hi; p++ {
			xp := x[p*inN:][:inN]
			for oh := 0; oh < o1; oh++ {
				hs := oh*g.s[1] - g.pb[1]
				h0, h1 := max(hs, 0), min(hs+g.k[1], in1)
				full := k3s2 && h1-h0 == 3
				for ow := 0; ow < o2; ow++ {
					if w0 := 2*ow - g.pb[2]; full && w0 >= 0 && w0+3 <= in2 {
						// A 3x3 window with stride 2 inside the input (the
						// ResNet stem): nine loads, no loops.
						r0, r1, r2 := xp[h0*in2+w0:][:3], xp[(h0+1)*in2+w0:][:3], xp[(h0+2)*in2+w0:][:3]
						y[p*P+oh*o2+ow] = max(r0[0], r0[1], r0[2], r1[0], r1[1], r1[2], r2[0], r2[1], r2[2])
						continue
					}
					ws := ow*g.s[2] - g.pb[2]
					w0, w1 := max(ws, 0), min(ws+g.k[2], in2)
					var best T
					if h0 < h1 && w0 < w1 {
						best = xp[h0*in2+w0]
						for h := h0; h < h1; h++ {
							for _, v := range xp[h*in2+w0 : h*in2+w1] {
								best = max(best, v)
							}
						}
					}
					y[p*P+oh*o2+ow] = best
				}
			}
		}
	})
}

// poolMax2x2 is poolMax2D for 2x2 windows with stride 2 inside the input
// (LeNet's and VGG's pools): four loads a window, no bounds.
func poolMax2x2[T Number](x []T, planes int, g *convGeom, y []T, arg []int) {
	in1, in2, o1, o2 := g.in[1], g.in[2], g.out[1], g.out[2]
	inN, P := in1*in2, o1*o2
	parallelRange(planes, 4*P, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			xp := x[p*inN:][:inN]
			for oh := 0; oh < o1; oh++ {
				top := 2 * oh * in2
				r0, r1 := xp[top:top+2*o2], xp[top+in2:top+in2+2*o2]
				o := p*P + oh*o2
				for ow := 0; ow < o2; ow++ {
					i := 2 * ow
					a, b, c, d := r0[i], r0[i+1], r1[i], r1[i+1]
					// Without NaN: Go's max for the value and integer
					// selects (no branch on the data) for the first
					// maximum's position.
					best, k := a, 0
					if b > best {
						k = 1
					}
					best = max(best, b)
					if c > best {
						k = 2
					}
					best = max(best, c)
					if d > best {
						k = 3
					}
					best = max(best, d)
					at := top + i + k&1 + (k>>1)*in2
					if best != best { // a NaN: the plain search (the last NaN wins)
						best, at = a, top+i
						if v := b; v > best || v != v {
							best, at = v, top+i+1
						}
						if v := c; v > best || v != v {
							best, at = v, top+in2+i
						}
						if v := d; v > best || v != v {
							best, at = v, top+in2+i+1
						}
					}
					if y != nil {
						y[o+ow] = best
					}
					if arg != nil {
						arg[o+ow] = at
					}
				}
			}
		}
	})
}

// poolArgs keeps the argmax of a MaxPool's last forward run and the input
// it was computed from (nil: nothing recorded).
type poolArgs struct {
	arg  []int
	from unsafe.Pointer
}

// record returns the slice the forward pass fills for input x.
func (m *poolArgs) record(x any) []int {
	if m == nil {
		return nil
	}
	m.from = dataPtr(x)
	return m.arg
}

// lookup returns the recorded argmax if it was computed from x's buffer,
// else nil (then the backward pass recomputes it).
func (m *poolArgs) lookup(x any) []int {
	if m == nil || m.from == nil || m.from != dataPtr(x) {
		return nil
	}
	return m.arg
}

// dataPtr is the address of a float slice's first element (nil if empty).
func dataPtr(x any) unsafe.Pointer {
	switch v := x.(type) {
	case []float32:
		if len(v) > 0 {
			return unsafe.Pointer(&v[0])
		}
	case []float64:
		if len(v) > 0 {
			return unsafe.Pointer(&v[0])
		}
	}
	return nil
}

// poolMaxGrad routes dy to each window's first maximum in x.
func poolMaxGrad[T Float](dy, x []T, planes int, g *convGeom, dx []T, arg []int) {
	inN, P := g.inSize(), g.outSize()
	if arg == nil {
		arg = make([]int, planes*P)
		poolMax(x, planes, g, nil, arg)
	}
	parallelRange(planes, P, func(lo, hi int) {
		clear(dx[lo*inN : hi*inN])
		// A plane at a time: no division an element to find its plane.
		for pl := lo; pl < hi; pl++ {
			dxp := dx[pl*inN:][:inN]
			dyp, ap := dy[pl*P:][:P], arg[pl*P:][:P]
			for o, a := range ap {
				if a >= 0 {
					dxp[a] += dyp[o]
				}
			}
		}
	})
}

// poolAverage averages every window over its taps inside the input, or
// over its taps inside the padded input with inclPad (count_include_pad).
func poolAverage[T Float](x []T, planes int, g *convGeom, inclPad bool) []T {
	wins := g.poolWindows()
	inN, P := g.inSize(), g.outSize()
	in1, in2, d0, d1, d2 := g.in[1], g.in[2], g.d[0], g.d[1], g.d[2]
	y := make([]T, planes*P)
	parallelRange(planes, P*g.kSize(), func(lo, hi int) {
		for p := lo; p < hi; p++ {
			xp := x[p*inN:][:inN]
			for o := range wins {
				w := &wins[o]
				var s T
				for a := 0; a < w.n[0]; a++ {
					ia := w.first[0] + a*d0
					for b := 0; b < w.n[1]; b++ {
						row := (ia*in1+w.first[1]+b*d1)*in2 + w.first[2]
						for c := 0; c < w.n[2]; c++ {
							s += xp[row+c*d2]
						}
					}
				}
				y[p*P+o] = s / T(poolDivisor(w, inclPad))
			}
		}
	})
	return y
}

func poolDivisor(w *poolWin, inclPad bool) int {
	if inclPad {
		return w.padded
	}
	return w.size
}

// poolAverageGrad spreads dy evenly over each window's counted taps.
func poolAverageGrad[T Float](dy []T, planes int, g *convGeom, inclPad bool) []T {
	wins := g.poolWindows()
	inN, P := g.inSize(), g.outSize()
	in1, in2, d0, d1, d2 := g.in[1], g.in[2], g.d[0], g.d[1], g.d[2]
	dx := make([]T, planes*inN)
	parallelRange(planes, P*g.kSize(), func(lo, hi int) {
		for p := lo; p < hi; p++ {
			dxp := dx[p*inN:][:inN]
			for o := range wins {
				w := &wins[o]
				v := dy[p*P+o] / T(poolDivisor(w, inclPad))
				for a := 0; a < w.n[0]; a++ {
					ia := w.first[0] + a*d0
					for b := 0; b < w.n[1]; b++ {
						row := (ia*in1+w.first[1]+b*d1)*in2 + w.first[2]
						for c := 0; c < w.n[2]; c++ {
							dxp[row+c*d2] += v
						}
					}
				}
			}
		}
	})
	return dx
}

// lowerGlobalPool lowers GlobalAveragePool and GlobalMaxPool: one value per
// (sample, channel) plane, output shape (N, C, 1, ...).
func lowerGlobalPool(op string, isMax bool) LowerFunc {
	return func(c *Ctx, in []*Value) ([]*Value, error) {
		x := in[0]
		if !x.DType.IsFloat() {
			return nil, fmt.Errorf("%s of %s", op, x.DType)
		}
		if x.Rank() < 2 {
			return nil, fmt.Errorf("%s: input has %d dims, want at least 2 (N, C, spatial...)", op, x.Rank())
		}
		planes := x.Shape[0] * x.Shape[1]
		size := sizeOf(x.Shape[2:])
		yShape := []int{x.Shape[0], x.Shape[1]}
		for range x.Shape[2:] {
			yShape = append(yShape, 1)
		}
		s := Spec{Name: op, Shape: yShape, DType: x.DType, WRT: []bool{true}}
		if isMax {
			s.Fwd = convKernel(yShape,
				func(in [][]float32) []float32 { return poolGlobalMax(in[0], planes, size, nil) },
				func(in [][]float64) []float64 { return poolGlobalMax(in[0], planes, size, nil) })
			s.Grad = func(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
				dx, err := convGradNode(op, output, grad, "Grad", inputs[0],
					func(in [][]float32) []float32 { return poolGlobalMaxGrad(in[0], in[1], planes, size) },
					func(in [][]float64) []float64 { return poolGlobalMaxGrad(in[0], in[1], planes, size) }, grad, inputs[0])
				return G.Nodes{dx}, err
			}
		} else {
			s.Fwd = convKernel(yShape,
				func(in [][]float32) []float32 { return poolGlobalAverage(in[0], planes, size) },
				func(in [][]float64) []float64 { return poolGlobalAverage(in[0], planes, size) })
			s.Grad = func(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
				// Into a kept buffer: squeeze-excite runs it on every block's
				// feature map.
				dx, err := convGradInto(op, output, grad, "Grad", inputs[0],
					func(in [][]float32, dx []float32) { poolGlobalAverageGrad(in[0], size, dx) },
					func(in [][]float64, dx []float64) { poolGlobalAverageGrad(in[0], size, dx) }, grad)
				return G.Nodes{dx}, err
			}
		}
		y, err := c.Apply(s, x)
		return []*Value{y}, err
	}
}

// poolGlobalAverage returns the mean of each of the planes of x (of size
// elements): its elements added in order to +0, the sum divided by size.
// Planes of 4 (MobileNetV2's last feature map at 64x64) take an unrolled
// loop, the same sums: 26-34 µs for MobileNetV2's 20480 planes against
// 73-85 with the plain loop (BenchmarkPoolGlobalAverage). It stays on one
// core: split across two it took 60-110 µs, the hand-off costing more
// than the half it saves.
func poolGlobalAverage[T Float](x []T, planes, size int) []T {
	y := make([]T, planes)
	n := T(size)
	if size == 4 {
		xs := x[:4*planes]
		for p := range y {
			q := xs[4*p : 4*p+4 : 4*p+4]
			var s T
			s += q[0]
			s += q[1]
			s += q[2]
			s += q[3]
			y[p] = s / n
		}
		return y
	}
	for p := range y {
		var s T
		for _, v := range x[p*size : (p+1)*size] {
			s += v
		}
		y[p] = s / n
	}
	return y
}

// poolGlobalAverageGrad spreads dy[p] / size over plane p of dx.
func poolGlobalAverageGrad[T Float](dy []T, size int, dx []T) {
	parallelRange(len(dy), size, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			v := dy[p] / T(size)
			d := dx[p*size : (p+1)*size]
			for i := range d {
				d[i] = v
			}
		}
	})
}

// poolGlobalMax returns each plane's max and, when arg is not nil, stores
// the index of its first maximum there.
func poolGlobalMax[T Float](x []T, planes, size int, arg []int) []T {
	y := make([]T, planes)
	for p := range y {
		xp := x[p*size : (p+1)*size]
		at := 0
		for i, v := range xp {
			if v > xp[at] || (isNaN(v) && !isNaN(xp[at])) {
				at = i
			}
		}
		y[p] = xp[at]
		if arg != nil {
			arg[p] = at
		}
	}
	return y
}

func poolGlobalMaxGrad[T Float](dy, x []T, planes, size int) []T {
	arg := make([]int, planes)
	poolGlobalMax(x, planes, size, arg)
	dx := make([]T, planes*size)
	for p, a := range arg {
		dx[p*size+a] = dy[p]
	}
	return dx
}
