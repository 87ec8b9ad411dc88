package ops

import "github.com/onnxtune/onnxtune/internal/gemm"

// The weight gradient of a convolution with few weights and a long sum
// (LeNet's first convolution: dw is 6 × 25, summed over 64 samples × 784
// positions) in a fixed number of chunks of samples. The GEMM splits its
// rows and columns across the cores, not the sum, so such a product is one
// block that runs on one core while the other waits. Each chunk's partial
// product runs on a core; the partials are added in chunk order. The
// chunks do not depend on the number of cores, so neither do the results.

// convWeightChunks is the number of chunks.
const convWeightChunks = 4

// convWeightSplitMax bounds dw's elements (m × c·k) for the split: a
// product of at most a few micro-kernel tiles, which the GEMM cannot share.
// convWeightSplitMin is the sum's length (samples × output positions) from
// which it pays.
const (
	convWeightSplitMax = 1024
	convWeightSplitMin = 16384
)

// convWeightSplit holds the Gathers of the chunks: per samples each, the
// last chunk last samples.
type convWeightSplit struct {
	per, last int
	full, end *gemm.Gather
}

// newConvWeightSplit returns the chunks of cd's weight gradient, or nil
// where it runs as one product (convBackwardWeightGather).
func newConvWeightSplit(cd *convDims) *convWeightSplit {
	P := cd.g.outSize()
	if cd.n < convWeightChunks || cd.m*cd.c*cd.g.kSize() > convWeightSplitMax || cd.n*P < convWeightSplitMin {
		return nil
	}
	per := (cd.n + convWeightChunks - 1) / convWeightChunks
	last := cd.n - per*(convWeightChunks-1)
	if last <= 0 {
		return nil // batches that leave the last chunk empty (5 samples in 4 chunks)
	}
	ws := &convWeightSplit{per: per, last: last, full: convWeightGatherN(cd, per)}
	if ws.end = ws.full; last != per {
		ws.end = convWeightGatherN(cd, last)
	}
	if ws.full == nil || ws.end == nil {
		return nil
	}
	return ws
}

// convBackwardWeightSplit computes dw from dy and x in ws's chunks: chunk
// i's product of its samples into its own partial (chunk 0 into dw), then
// dw += partial 1, 2, ... in order.
func convBackwardWeightSplit(dy, x []float32, cd *convDims, ws *convWeightSplit, dw []float32) {
	P, inN := cd.g.outSize(), cd.g.inSize()
	L := cd.n * P
	buf := getScratch[float32](cd.m * L)
	defer putScratch(buf)
	dys, ldd := convGatherDy(dy, buf, cd, 0, cd.n, 0)
	nw := len(dw)
	part := getScratch[float32]((convWeightChunks - 1) * nw)
	defer putScratch(part)
	cols := ws.full.Cols()
	parallelRange(convWeightChunks, 1<<16, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			s0, g := i*ws.per, ws.full
			if i == convWeightChunks-1 {
				g = ws.end
			}
			dst := dw
			if i > 0 {
				dst = part[(i-1)*nw:][:nw]
			}
			gemm.SgemmGather(true, cd.m, dys[s0*P:], ldd, g, x[s0*cd.c*inN:], cols, dst, cols)
		}
	})
	for i := range convWeightChunks - 1 {
		p := part[i*nw:][:nw]
		for j := range dw {
			dw[j] += p[j]
		}
	}
}
