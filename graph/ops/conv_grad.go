package ops

import (
	G "gorgonia.org/gorgonia"

	"github.com/onnxtune/onnxtune/internal/gemm/vec"
)

// Conv's gradients: w.r.t. the input (the adjoint convolution, also
// ConvTranspose's forward), the weights and the bias.

// convGradInto adds a backward node shaped like like, computed into a
// buffer kept across runs.
func convGradInto(op string, output, grad *G.Node, label string, like *G.Node, f32 func([][]float32, []float32),
	f64 func([][]float64, []float64), args ...*G.Node) (*G.Node, error) {
	return NewNode(grad.Graph(), output.Name()+"/"+label, Spec{Name: op + label,
		Shape: ShapeOf(like), DType: DTypeOf(like), Into: bodiesInto(f32, f64)}, args...)
}

// convGradNode adds a backward node shaped like like.
func convGradNode(op string, output, grad *G.Node, label string, like *G.Node, f32 func([][]float32) []float32,
	f64 func([][]float64) []float64, args ...*G.Node) (*G.Node, error) {
	shape := ShapeOf(like)
	return NewNode(grad.Graph(), output.Name()+"/"+label, Spec{Name: op + label,
		Shape: shape, DType: DTypeOf(like), Fwd: convKernel(shape, f32, f64)}, args...)
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
	if cd.directGroups(true) {
		convDirectData(dy, w, cd, dx)
		return
	}
	// As convForward: samples split across the cores, serial GEMMs.
	parallelSamples(cd.n, cd.m*g.outSize()*cg*g.kSize(), func(s0, s1 int, serial bool) {
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
				gemmStridedMode(serial, true, false, cg, P, mg, 1, wg, rows, dys, ldd, 0, dx[(n0*cd.c+gi*cg)*inN:], P)
				continue
			}
			gemmStridedMode(serial, true, false, rows, L, mg, 1, wg, rows, dys, ldd, 0, dcol, L)
			parallelRangeIf(serial, cnt, rows*P, func(lo, hi int) {
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
	clear(dw) // every chunk adds into it
	if cd.directGroups(true) {
		convDirectWeight(dy, x, cd, dw)
		return
	}
	convBackwardWeightGemm(dy, x, cd, dw)
}

// convBackwardWeightGemm is convBackwardWeight through im2col and a GEMM
// per group, adding into dw.
func convBackwardWeightGemm[T Float](dy, x []T, cd *convDims, dw []T) {
	g := &cd.g
	P, inN, K := g.outSize(), g.inSize(), g.kSize()
	cg, mg := cd.c/cd.group, cd.m/cd.group
	rows := cg * K
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
				parallelRange(cnt, rows*P, func(lo, hi int) {
					for s := lo; s < hi; s++ {
						convIm2col(x[((n0+s)*cd.c+gi*cg)*inN:], cg, g, col, L, s*P)
					}
				})
				src, ld = col, L
			}
			gemmStrided(false, true, mg, rows, L, 1, dys, ldd, src, ld, 1, dw[gi*mg*rows:], rows)
		}
	}
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
		buf := getScratch[float32](cd.m * L)
		defer putScratch(buf)
		dys, ldd = convGatherDy(dy, buf, cd, 0, cd.n, 0)
	}
	gemmStrided(false, true, cd.m, rows, L, 1, dys, ldd, col, L, 0, dw, rows)
}

// convBiasGrad sums dy (n, m, p) over samples and positions.
func convBiasGrad[T Float](dy []T, n, m, p int, db []T) {
	// Channels split across the cores; each channel sums its planes in
	// sample order, as the serial loop did. float32 planes are summed by
	// the vector loops in float64 (a sum element by element in float32
	// ran at a few GB/s, a fifth of LeNet's bias gradients' time).
	if dy32, ok := any(dy).([]float32); ok {
		db32 := any(db).([]float32)
		parallelRange(m, n*p, func(lo, hi int) {
			for ch := lo; ch < hi; ch++ {
				acc := 0.0
				for s := 0; s < n; s++ {
					acc += vec.Sum(dy32[(s*m+ch)*p : (s*m+ch+1)*p])
				}
				db32[ch] = float32(acc)
			}
		})
		return
	}
	parallelRange(m, n*p, func(lo, hi int) {
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
