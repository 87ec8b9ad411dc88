package ops

import (
	"math"
	"runtime"
	"sync/atomic"

	"github.com/onnxtune/onnxtune/internal/gemm"
)

// 1x1 convolutions at inference (weights packed at compile time) read
// their input in place: one product over a core's samples whose columns
// are the samples' positions (gemm.PackedA.SgemmPlanes), written straight
// into the output, then the bias and fused Clip over each sample's output
// at once (a bias a position, so that small planes make long vector runs).
// No im2col copy and no scatter; the numbers are those of the im2col path.

// convPlanesMaxBias bounds the elements of the bias spread over a sample's
// output (m × P): past it, the epilogue runs plane by plane.
const convPlanesMaxBias = 1 << 14

// convPlanesOff turns the planes path off (tests compare it with the
// im2col path it replaces).
var convPlanesOff bool

// convPointwise computes y = conv(x, w) + b (and the fused activation)
// for a 1x1 convolution with packed weights, float32: it reports false,
// having done nothing, for any other.
func convPointwise[T Float](x, b []T, cd *convDims, y []T) bool {
	if convPlanesOff || cd.packed == nil || cd.group != 1 || !cd.g.pointwise() {
		return false
	}
	x32, ok := any(x).([]float32)
	if !ok {
		return false
	}
	y32 := any(y).([]float32)
	var b32 []float32
	if b != nil {
		b32 = any(b).([]float32)
	}
	P, C, M := cd.g.outSize(), cd.c, cd.m
	spread := pointwiseSpread(b32, cd)
	ns, nr := pointwiseTasks(cd.n, M, P, C, runtime.GOMAXPROCS(0), cd.packed.RowTile(), cd.packed.ColTile())
	tile := cd.packed.RowTile()
	epi := pointwiseEpi(b32, cd)
	task := func(t int) {
		si, ri := t/nr, t%nr
		s0, s1 := cd.n*si/ns, cd.n*(si+1)/ns
		i0, i1 := M*ri/nr/tile*tile, M*(ri+1)/nr/tile*tile
		if ri == nr-1 {
			i1 = M
		}
		if epi != nil {
			// On an exact hit of a Clip bound, the product again and
			// the epilogue pass, which records the hits.
			if ran, hit := cd.packed.SgemmPlanesRowsEpi(i0, i1, s1-s0, P, x32[s0*C*P:], C*P, y32[s0*M*P:], M*P, epi); ran && !hit {
				convEpiRuns.Add(1)
				return
			}
		}
		cd.packed.SgemmPlanesRows(i0, i1, s1-s0, P, x32[s0*C*P:], C*P, y32[s0*M*P:], M*P)
		for s := s0; s < s1; s++ {
			pointwiseEpilogue(y32[s*M*P:(s+1)*M*P], b32, spread, cd, i0, i1)
		}
	}
	if ns*nr == 1 {
		task(0)
		return true
	}
	gemm.Parallel(ns*nr, task)
	return true
}

// convEpiOff keeps the bias and Clip of the 1x1 products out of the
// product's kernel (tests compare the two).
var convEpiOff bool

// convEpiRuns counts the products whose kernel applied the epilogue
// (tests check that it ran).
var convEpiRuns atomic.Int64

// convEpi is the epilogue of a 1x1 convolution's product (its bias a row,
// -0 for a zero bias, and fused Clip), kept from run to run.
type convEpi struct {
	rows convSpread
	e    gemm.Epilogue
}

// pointwiseEpi returns the epilogue that the product's kernel applies for
// pointwiseEpilogue, or nil where the kernel leaves it to that pass: no
// bias, a fused Relu, or a NaN bias (whose NaN the two passes' adds may
// not pick alike).
func pointwiseEpi(b32 []float32, cd *convDims) *gemm.Epilogue {
	if convEpiOff || b32 == nil || cd.relu {
		return nil
	}
	if cd.epi == nil {
		cd.epi = new(convEpi)
	}
	ce := cd.epi
	rows := ce.rows.get(b32[:cd.m], 1)
	for _, v := range rows {
		if v != v {
			return nil
		}
	}
	ce.e = gemm.Epilogue{Bias: rows}
	if cd.clip != nil {
		ce.e.Lo, ce.e.Hi, ce.e.Clip = float32(cd.clip.lo), float32(cd.clip.hi), true
	}
	return &ce.e
}

// pointwiseTasks splits a 1x1 convolution of n samples (C channels in, M
// out, P positions) among workers cores: ns ranges of samples times nr
// bands of rows, claimed by the cores as they come free. Sample ranges of
// 64 columns or more, or of a tile's columns (colTile) where that makes a
// range a core (2x2 planes: 8 samples, not a band of rows each and every
// tile half empty), and a band of rows a core when the samples are too
// few to split (each band packs the whole of B). Small products run whole.
func pointwiseTasks(n, M, P, C, workers, rowTile, colTile int) (ns, nr int) {
	if workers <= 1 || n*M*P*C < 1<<20 {
		return 1, 1
	}
	ns = min(n, max(1, n*P/64), 4*workers)
	if ns < workers {
		ns = min(n, max(ns, n*P/colTile), workers)
	}
	return ns, max(1, min(workers/ns, M/(4*rowTile)))
}

// pointwiseSpread returns the bias spread over a sample's output that
// pointwiseEpilogue adds, or nil where it adds the bias plane by plane.
func pointwiseSpread(b32 []float32, cd *convDims) []float32 {
	M, P := cd.m, cd.g.outSize()
	if b32 == nil || cd.relu || M*P > convPlanesMaxBias {
		return nil
	}
	if cd.spread == nil {
		cd.spread = new(convSpread)
	}
	return cd.spread.get(b32[:M], P)
}

// pointwiseEpilogue adds the bias (spread, if not nil) to channels
// [i0, i1) of one sample's output ys and applies the fused activation.
func pointwiseEpilogue(ys, b32, spread []float32, cd *convDims, i0, i1 int) {
	P := cd.g.outSize()
	switch {
	case b32 == nil:
		convActivate(ys[i0*P:i1*P], cd)
	case spread != nil:
		convBiasVec32(ys[i0*P:i1*P], spread[i0*P:i1*P], cd.clip)
	default:
		for m := i0; m < i1; m++ {
			convEpilogue(ys[m*P:(m+1)*P], b32, m, cd)
		}
	}
}

// convBiasVec32 is convBiasClip32 with a bias an element: dst[i] +=
// bias[i], then the fused Clip e (if any), hits recorded.
func convBiasVec32(dst, bias []float32, e *clipEpi) {
	lo, hi := float32(math.Inf(-1)), float32(math.Inf(1))
	if e != nil {
		lo, hi = float32(e.lo), float32(e.hi)
	}
	bias = bias[:len(dst)]
	for len(dst) > 0 {
		k, hit := biasVecClamp32(dst, bias, lo, hi)
		dst, bias = dst[k:], bias[k:]
		blk := dst[:min(len(dst), 8)] // on a hit: the sums, unclamped
		if !hit {
			blk = dst // the tail past the blocks
			for i, v := range bias[:len(blk)] {
				blk[i] += v
			}
		}
		if e != nil {
			clipEpiGo32(e, blk)
		}
		dst, bias = dst[len(blk):], bias[len(blk):]
	}
}

// convSpread is a 1x1 convolution's bias spread over a sample's positions
// (M×P, a bias an element, -0 for a zero bias: x + -0 is x, as no add),
// kept from run to run with the bias it was made from.
type convSpread struct {
	bias, spread []float32
}

// get returns the spread of bias over P positions: the kept one when bias
// has the bits it was made from, else a new one (kept for the next run).
func (cs *convSpread) get(bias []float32, P int) []float32 {
	M := len(bias)
	if len(cs.spread) == M*P && sameBits32(cs.bias, bias) {
		return cs.spread
	}
	cs.bias = append(cs.bias[:0], bias...)
	if cap(cs.spread) < M*P {
		cs.spread = make([]float32, M*P)
	}
	cs.spread = cs.spread[:M*P]
	for m, v := range bias {
		if v == 0 {
			v = float32(math.Copysign(0, -1))
		}
		row := cs.spread[m*P : (m+1)*P]
		for i := range row {
			row[i] = v
		}
	}
	return cs.spread
}

// sameBits32 reports whether a and b hold the same float32 bit patterns.
func sameBits32(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i, v := range a {
		if math.Float32bits(v) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}
