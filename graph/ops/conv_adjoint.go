package ops

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
// checks), or weights larger than a chunk's dcol matrix, where writing W'
// would cost more than the dcol matrix it saves.
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
	convForward(dy, wf, nil, adj, dx)
}
