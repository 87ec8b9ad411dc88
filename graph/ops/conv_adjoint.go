package ops

import "github.com/onnxtune/onnxtune/internal/gemm"

// The data gradient of a stride-1 convolution as a forward convolution:
// dx = conv(dy, W') with W' the weights flipped in space and transposed
// (W'[c][m][kh-1-i][kw-1-j] = W[m][c][i][j]) and each padding replaced
// by (k-1)·d minus it. Its GEMM packs its panels straight from dy (an
// implicit GEMM, convGather) and writes dx: no dcol matrix (channels ×
// taps × positions) is written and read back by col2im.

// convDataAdjoint returns the forward convolution whose output is cd's data
// gradient, or nil where the data gradient keeps its GEMM and col2im:
// strides other than 1, a padding larger than the window's reach, groups,
// 1×1 windows, no implicit GEMM (float32 with a vector kernel: the caller
// checks), weights larger than a chunk's dcol matrix, where writing W'
// would cost more than the dcol matrix it saves, or the shapes where it was
// measured slower (convAdjointSlower).
func convDataAdjoint(cd *convDims) *convDims {
	g := &cd.g
	if cd.group != 1 || g.pointwise() || g.in[0] != 1 {
		return nil
	}
	var pb, pe [3]int
	for i := range 3 {
		reach := (g.k[i] - 1) * g.d[i]
		pb[i], pe[i] = reach-g.pb[i], reach-g.pe[i]
		if g.s[i] != 1 || pb[i] < 0 || pe[i] < 0 || g.out[i]+pb[i]+pe[i]-reach != g.in[i] {
			return nil
		}
	}
	rows := cd.c * g.kSize()
	if nb := cd.convChunk(rows); cd.m >= nb*g.outSize() {
		return nil
	}
	if convAdjointSlower(cd) {
		return nil
	}
	return convAdjointOf(cd)
}

// convAdjointOf is convDataAdjoint's forward convolution without the cost
// checks, nil where it has no implicit GEMM.
func convAdjointOf(cd *convDims) *convDims {
	g := &cd.g
	var pb, pe [3]int
	for i := range 3 {
		reach := (g.k[i] - 1) * g.d[i]
		pb[i], pe[i] = reach-g.pb[i], reach-g.pe[i]
	}
	adj := &convDims{n: cd.n, c: cd.m, m: cd.c, group: 1, g: convGeom{in: g.out, out: g.in, k: g.k, s: g.s, d: g.d,
		pb: pb, pe: pe}}
	if adj.gather = convGather(adj, adj.forwardChunk(adj.c*g.kSize())); adj.gather == nil {
		return nil
	}
	return adj
}

// convFlipWeights writes W' (c, m, k...) of w (m, c, k...) into wf: the
// window reversed, channels swapped.
func convFlipWeights[T Float](w []T, m, c, K int, wf []T) {
	parallelRange(c, m*K, func(lo, hi int) {
		for ci := lo; ci < hi; ci++ {
			for mi := range m {
				src := w[(mi*c+ci)*K:][:K]
				dst := wf[(ci*m+mi)*K:][:K]
				for t, v := range src {
					dst[K-1-t] = v
				}
			}
		}
	})
}

// convBackwardDataAdjoint computes dx from dy and w through adj =
// convDataAdjoint(cd).
func convBackwardDataAdjoint(dy, w []float32, cd, adj *convDims, dx []float32) {
	K := cd.g.kSize()
	wf := getScratch[float32](len(w))
	defer putScratch(wf)
	convFlipWeights(w, cd.m, cd.c, K, wf)
	if adj.winoTrain != nil {
		adj.winoTrain.setWeights(wf, adj)
		adj.winoTrain.forward(dy, nil, adj, dx)
		return
	}
	convForward(dy, wf, nil, adj, dx)
}

// The weight gradient dw = dy·im2col(x)ᵀ as an implicit GEMM: the
// transposed im2col matrix (a row per sample and output position, a
// column per channel and tap) is itself a gemm.Gather over x, its roles
// swapped: the output positions are the Gather's taps (window starts, a
// base per row), the channels and taps its columns. One product covers
// the batch; the GEMM packs its panels straight from x, and no im2col
// matrix is written.

// convWeightGather returns that Gather for cd's whole batch, or nil where
// the weight gradient keeps its im2col: groups, 1×1 windows that need no
// im2col, 3-D windows, offsets past int32.
func convWeightGather(cd *convDims) *gemm.Gather {
	g := &cd.g
	if cd.group != 1 || g.pointwise() || !g.planar() {
		return nil
	}
	inN, P, K := g.inSize(), g.outSize(), g.kSize()
	if int64(cd.n)*int64(cd.c)*int64(inN) >= 1<<31-1 || int64(cd.n)*int64(P) >= 1<<31-1 {
		return nil
	}
	tapH, tapW := make([]int32, g.out[1]), make([]int32, g.out[2])
	for i := range tapH {
		tapH[i] = int32(i*g.s[1] - g.pb[1])
	}
	for i := range tapW {
		tapW[i] = int32(i*g.s[2] - g.pb[2])
	}
	row, rowTap := make([]int32, cd.n*P), make([]int32, cd.n*P)
	for s := range cd.n {
		for pos := range P {
			oh, ow := pos/g.out[2], pos%g.out[2]
			row[s*P+pos] = int32(s*cd.c*inN) + tapH[oh]*int32(g.in[2]) + tapW[ow]
			rowTap[s*P+pos] = int32(pos)
		}
	}
	col, colH, colW := make([]int32, cd.c*K), make([]int32, cd.c*K), make([]int32, cd.c*K)
	for c := range cd.c {
		for t := range K {
			kh, kw := t/g.k[2], t%g.k[2]
			j := c*K + t
			colH[j], colW[j] = int32(kh*g.d[1]), int32(kw*g.d[2])
			col[j] = int32(c*inN) + colH[j]*int32(g.in[2]) + colW[j]
		}
	}
	gb, err := gemm.NewGather(row, rowTap, tapH, tapW, col, colH, colW, int32(g.in[1]), int32(g.in[2]))
	if err != nil {
		return nil // not reached: the offsets above read inside the input
	}
	return gb
}

// convBackwardWeightGather computes dw from dy and x through
// wg = convWeightGather(cd): one product over the batch.
func convBackwardWeightGather(dy, x []float32, cd *convDims, wg *gemm.Gather, dw []float32) {
	L := cd.n * cd.g.outSize()
	dys, ldd := dy, L
	if cd.n > 1 {
		buf := getScratch[float32](cd.m * L)
		defer putScratch(buf)
		dys, ldd = convGatherDy(dy, buf, cd, 0, cd.n, 0)
	}
	gemm.SgemmGather(false, cd.m, dys, ldd, wg, x, wg.Cols(), dw, wg.Cols())
}

// convAdjointSlower reports the shapes where the adjoint was measured slower
// than the GEMM and col2im (BenchmarkConvDataGrad): fewer than 8 input
// channels, at least 16 output channels, and an input plane larger than
// the output's (no padding). The adjoint's product then has fewer rows (c)
// than one micro-kernel tile, so each panel it gathers from dy (m·k rows ×
// input positions, the padding's zeros included) serves fewer than 8 rows,
// while the GEMM's product has c·k rows and reads dy as it is stored.
// LeNet's second convolution (6 -> 16, 14×14 -> 10×10, 5×5) is one.
func convAdjointSlower(cd *convDims) bool {
	return cd.c < 8 && cd.m >= 16 && cd.g.inSize() > cd.g.outSize()
}
