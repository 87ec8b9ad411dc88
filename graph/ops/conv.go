package ops

import (
	"fmt"

	G "gorgonia.org/gorgonia"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/internal/gemm"
)

// registerConv adds Conv (which runs a following Relu itself) and
// ConvTranspose.
func registerConv(r *Registry) {
	r.add(OpInfo{Name: "Conv", Differentiable: true, Lower: lowerConv, FusesRelu: true, Params: weightBias})
	r.add(OpInfo{Name: "ConvTranspose", Differentiable: true, Lower: lowerConvTranspose, Params: weightBias})
}

func lowerConv(c *Ctx, in []*Value) ([]*Value, error) {
	const op = "Conv"
	x, w, b, err := convInputs(op, in)
	if err != nil {
		return nil, err
	}
	spatial := x.Rank() - 2
	group := int(c.attrs().Int("group", 1))
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
	win, err := readConvWindow(c.attrs(), spatial, w.Shape[2:], true)
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
	} else if e := c.fuseClip; e != nil && c.fuseClipType == x.DType {
		cd.clip, c.ReluFused = e, true
	}
	if c.ConstParams && group == 1 && x.DType == graph.Float32 && !x.IsConst() {
		// Inference weights never change: pack them for the GEMM once.
		if wd := constData32(w); wd != nil {
			if convWinogradFits(cd) {
				cd.wino = newConvWinograd(cd, wd)
			} else {
				rows := C * cd.g.kSize()
				cd.packed = gemm.PackA(false, M, rows, wd, rows)
			}
		}
	}
	expandLower(c, cd, x)
	if group == 1 && x.DType == graph.Float32 && !x.IsConst() && cd.wino == nil && gemm.GatherFast() {
		// The forward GEMM packs its im2col panels straight from the input
		// (an implicit GEMM; with the generic kernel writing the im2col
		// matrix is faster). In training the weight gradient then writes
		// its own im2col matrix, chunk by chunk.
		cd.gather = convGather(cd, cd.forwardChunk(C*cd.g.kSize()))
		if c.Train && wrt[0] && cd.gather != nil {
			cd.adjoint = convDataAdjoint(cd)
		}
		if c.Train && wrt[1] && cd.gather != nil {
			cd.wgather = convWeightGather(cd)
		}
	}
	if c.Train && x.DType == graph.Float32 && !x.IsConst() && convWinogradFits(cd) && convWinogradTrains(cd) {
		cd.winoTrain = newConvWinogradTrain(cd)
	}
	if a := cd.adjoint; a != nil && convWinogradFits(a) && convWinogradTrains(a) {
		// The data gradient, a stride-1 3x3 convolution of dy.
		a.winoTrain = newConvWinogradTrain(a)
	}
	if cd.gather == nil && cd.winoTrain == nil && c.Train && wrt[1] && group == 1 && x.DType == graph.Float32 && !cd.g.pointwise() &&
		C*cd.g.kSize()*cd.n*cd.g.outSize() <= convCacheLimit {
		// Training: the forward pass keeps its im2col matrix for the
		// weight gradient, which then skips its own im2col.
		cd.cols = &convCols{}
	}
	s := Spec{Name: op, Shape: yShape, DType: x.DType, WRT: wrt,
		Into: bodiesInto(
			func(in [][]float32, y []float32) {
				if cd.expandTo != nil && expandNote(cd.expandTo, in) {
					return
				}
				if cd.expandFrom != nil && expandForward(cd.expandFrom, in[1], convOpt(in, 2), cd, in[0], y) {
					return
				}
				if cd.wino != nil {
					cd.wino.forward(in[0], convOpt(in, 2), cd, y)
					return
				}
				if cd.winoTrain != nil {
					cd.winoTrain.setWeights(in[1], cd)
					cd.winoTrain.forward(in[0], convOpt(in, 2), cd, y)
					return
				}
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
					func(in [][]float32, dx []float32) {
						if cd.adjoint != nil {
							convBackwardDataAdjoint(in[0], in[1], cd, cd.adjoint, dx)
							return
						}
						convBackwardData(in[0], in[1], cd, dx)
					},
					func(in [][]float64, dx []float64) { convBackwardData(in[0], in[1], cd, dx) }, grad, inputs[1])
				if err != nil {
					return nil, err
				}
			}
			if wrt[1] {
				gs[1], err = convGradInto(op, output, grad, "GradWeight", inputs[1],
					func(in [][]float32, dw []float32) {
						if cd.winoTrain != nil {
							cd.winoTrain.weightGrad(in[0], in[1], cd, dw)
							return
						}
						if cd.wgather != nil {
							convBackwardWeightGather(in[0], in[1], cd, cd.wgather, dw)
							return
						}
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
	if cd.clip != nil {
		s.Name, s.Grad, s.Into = "ConvClip", clipFusedThen(cd.clip, s.Grad), cd.clip.wrap(s.Into)
	}
	y, err := c.Apply(s, args...)
	return []*Value{y}, err
}

func lowerConvTranspose(c *Ctx, in []*Value) ([]*Value, error) {
	const op = "ConvTranspose"
	x, w, b, err := convInputs(op, in)
	if err != nil {
		return nil, err
	}
	group := int(c.attrs().Int("group", 1))
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
		Into: bodiesInto(
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
	spatial := len(in)
	if w, err = readConvWindow(c.attrs(), spatial, kernel, true); err != nil {
		return nil, nil, nil, nil, err
	}
	outPad := c.attrs().IntsN("output_padding", spatial, 0)
	if err := c.attrs().Err(); err != nil {
		return nil, nil, nil, nil, err
	}
	var want []int
	if all := c.attrs().Ints("output_shape"); len(all) > 0 {
		vals := all
		if len(vals) == spatial+2 {
			vals = vals[2:]
		}
		if len(vals) != spatial {
			return nil, nil, nil, nil, fmt.Errorf("output_shape %v does not have %d spatial sizes", all, spatial)
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

// convInputs returns Conv's or ConvTranspose's inputs X, W and the
// optional B, checked by convCheck.
func convInputs(op string, in []*Value) (x, w, b *Value, err error) {
	if len(in) < 2 || in[0] == nil || in[1] == nil {
		return nil, nil, nil, fmt.Errorf("%s needs inputs X and W", op)
	}
	x, w, b = in[0], in[1], input(in, 2)
	return x, w, b, convCheck(op, x, w, b)
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
