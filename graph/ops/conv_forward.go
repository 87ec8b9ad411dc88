package ops

import (
	"math"

	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/internal/gemm/vec"
)

// Conv's forward kernels: batched im2col + GEMM, the fused bias and Relu,
// and the adapters from kernels to Spec (grouped convolutions with few
// channels a group run the direct loops of conv_direct.go).

// convKernel makes a Kernel of output shape from float32 and float64
// implementations over the inputs' element slices.
func convKernel(shape []int, f32 func([][]float32) []float32, f64 func([][]float64) []float64) Kernel {
	return floats(
		func(in []*tensor.Dense) (*tensor.Dense, error) { return convRun(in, shape, f32) },
		func(in []*tensor.Dense) (*tensor.Dense, error) { return convRun(in, shape, f64) })
}

func convRun[T Float](in []*tensor.Dense, shape []int, f func([][]T) []T) (*tensor.Dense, error) {
	xs, err := datas[T](in)
	if err != nil {
		return nil, err
	}
	return Dense(shape, f(xs)), nil
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

// forwardChunk is how many samples convForwardRange puts in one GEMM at
// most: convChunk's, or one where the feature maps are large.
func (cd *convDims) forwardChunk(rows int) int {
	if cd.g.outSize() >= convOwnGemm {
		return 1
	}
	return cd.convChunk(rows)
}

// convForward computes y = conv(x, w) + b.
func convForward[T Float](x, w, b []T, cd *convDims, y []T) {
	if convPointwise(x, b, cd, y) {
		return
	}
	g := &cd.g
	P := g.outSize()
	if cd.directGroups(false) {
		convDirectForward(x, w, b, cd, y)
		return
	}
	// Samples split across the cores, each with its own im2col buffer and
	// a single-threaded GEMM: no hand-off between cores inside a product,
	// and the im2col matrix is used by the core that wrote it.
	parallelSamples(cd.n, cd.m*P*cd.c/cd.group*g.kSize(), func(s0, s1 int, serial bool) {
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
	// Feature maps of convOwnGemm positions or more make a good GEMM per
	// sample, straight into y, with an im2col matrix that stays in cache.
	nb := min(cd.forwardChunk(rows), s1-s0)
	direct := nb == 1 && g.pointwise()
	col, tmp, release := convChunkBuffers[T](rows, mg, nb, P, direct)
	defer release()
	for n0 := s0; n0 < s1; n0 += nb {
		cnt := min(nb, s1-n0)
		L := cnt * P
		for gi := 0; gi < cd.group; gi++ {
			wg := w[gi*mg*rows:]
			src, ld := x[(n0*cd.c+gi*cg)*inN:], P
			// An implicit GEMM: the packer reads the input (group 1).
			implicit := cd.gather != nil && L <= cd.gather.Cols() && isFloat32(x)
			if !direct && !implicit {
				parallelRangeIf(serial, cnt, rows*P, func(lo, hi int) {
					for s := lo; s < hi; s++ {
						convIm2col(x[((n0+s)*cd.c+gi*cg)*inN:], cg, g, col, L, s*P)
					}
				})
				src, ld = col, L
			}
			if nb == 1 {
				yp := y[(n0*cd.m+gi*mg)*P:]
				if implicit {
					convGatherGemm(cd, serial, mg, w, src, P, yp, P)
				} else {
					convWeightGemm(cd, serial, mg, P, rows, wg, src, ld, yp, P)
				}
				for m := 0; m < mg; m++ {
					convEpilogue(yp[m*P:][:P], b, gi*mg+m, cd)
				}
				continue
			}
			if implicit {
				convGatherGemm(cd, serial, mg, w, src, L, tmp, L)
			} else {
				convWeightGemm(cd, serial, mg, L, rows, wg, src, ld, tmp, L)
			}
			if P < 8 && b != nil && !cd.relu {
				// Planes too small for the vector loop: the bias and Clip
				// over each channel's row of the product (all its
				// samples), then the scatter.
				parallelRangeIf(serial, mg, L, func(lo, hi int) {
					for m := lo; m < hi; m++ {
						ch := gi*mg + m
						row := tmp[m*L:][:L]
						convRowEpilogue(row, b, ch, cd, func(j int) int { return ((n0+j/P)*cd.m+ch)*P + j%P })
						for s := range cnt {
							copy(y[((n0+s)*cd.m+ch)*P:][:P], row[s*P:][:P])
						}
					}
				})
				continue
			}
			// Scatter (mg, cnt*P) into y's (n, m, P) with the bias (and
			// Relu) in the same pass.
			parallelRangeIf(serial, cnt*mg, P, func(lo, hi int) {
				for i := lo; i < hi; i++ {
					s, m := i/mg, i%mg
					ch := gi*mg + m
					dst := y[((n0+s)*cd.m+ch)*P:][:P]
					convEpilogueFrom(dst, tmp[m*L+s*P:][:P], b, ch, cd)
				}
			})
		}
	}
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
	tmp := getScratch[float32](cd.m * L)
	defer putScratch(tmp)
	// Each core takes a range of samples: their im2col columns, their
	// columns of the product (a serial GEMM), their part of y.
	run := func(s0, s1 int, serial bool) {
		for s := s0; s < s1; s++ {
			convIm2col(x[s*cd.c*inN:], cd.c, g, cc.col, L, s*P)
		}
		c0, n := s0*P, (s1-s0)*P
		gemmStridedMode(serial, false, false, cd.m, n, rows, 1, w, rows, cc.col[c0:], L, 0, tmp[c0:], L)
		for s := s0; s < s1; s++ {
			for m := 0; m < cd.m; m++ {
				dst := y[(s*cd.m+m)*P:][:P]
				copy(dst, tmp[m*L+s*P:][:P])
				convEpilogue(dst, b, m, cd)
			}
		}
	}
	parallelSamples(cd.n, cd.m*P*rows, run)
}

// convRowEpilogue adds channel ch's bias to row, a row of the product
// (the channel's output over several samples), and applies the fused Clip
// (no Relu): the numbers of convEpilogue on each plane, and the same Clip
// hits, recorded at their offsets in the output (at(j) for row[j]).
func convRowEpilogue[T Float](row, b []T, ch int, cd *convDims, at func(j int) int) {
	bv := b[ch]
	if bv == 0 {
		convActivateRow(row, cd.clip, at)
		return
	}
	d32, ok := any(row).([]float32)
	if !ok {
		for i := range row {
			row[i] += bv
		}
		convActivateRow(row, cd.clip, at)
		return
	}
	e := cd.clip
	lo, hi := float32(math.Inf(-1)), float32(math.Inf(1))
	if e != nil {
		lo, hi = float32(e.lo), float32(e.hi)
	}
	for pos := 0; pos < len(d32); {
		k, hit := biasClamp32(d32[pos:], d32[pos:], float32(bv), lo, hi)
		pos += k
		blk := d32[pos:][:min(len(d32)-pos, 8)] // on a hit: the sums, unclamped
		if !hit {
			blk = d32[pos:]
			for i := range blk {
				blk[i] += float32(bv)
			}
		}
		if e != nil {
			base := pos
			clipGo32(e, blk, func(i int) { e.recordAt(at(base + i)) })
		}
		pos += len(blk)
	}
}

// convActivateRow applies the fused Clip e (if any) to row, recording
// its hits at at(j).
func convActivateRow[T Float](row []T, e *clipEpi, at func(j int) int) {
	if e == nil {
		return
	}
	switch d := any(row).(type) {
	case []float32:
		clipGo32(e, d, func(i int) { e.recordAt(at(i)) })
	case []float64:
		for i, x := range d {
			if x == e.lo || x == e.hi {
				e.recordAt(at(i))
			}
			d[i] = min(max(x, e.lo), e.hi)
		}
	}
}

// convEpilogueFrom is copy(dst, src) then convEpilogue, in one pass for
// float32 with a bias and no fused Relu.
func convEpilogueFrom[T Float](dst, src, b []T, ch int, cd *convDims) {
	if b != nil && b[ch] != 0 {
		if d32, ok := any(dst).([]float32); ok {
			if cd.relu {
				// x*1 + b is x + b: the add then reluSlice, in one pass.
				vec.ScaleShift(d32, any(src).([]float32), 1, float32(b[ch]), true)
				return
			}
			convBiasClip32(d32, any(src).([]float32), float32(b[ch]), cd.clip)
			return
		}
	}
	copy(dst, src)
	convEpilogue(dst, b, ch, cd)
}

// convEpilogue adds channel ch's bias (if any) to one output plane and
// applies the fused Relu or Clip.
func convEpilogue[T Float](dst, b []T, ch int, cd *convDims) {
	if b != nil {
		if bv := b[ch]; bv != 0 {
			if d32, ok := any(dst).([]float32); ok {
				if cd.relu {
					// x*1 + b is x + b: the add then reluSlice, in one pass.
					vec.ScaleShift(d32, d32, 1, float32(bv), true)
					return
				}
				convBiasClip32(d32, d32, float32(bv), cd.clip)
				return
			}
			for i := range dst {
				dst[i] += bv
			}
		}
	}
	convActivate(dst, cd)
}

// convBiasClip32 sets dst to src + bv (src as long as dst; it may be dst)
// and applies the fused Clip e (if any) in the same pass: the AVX2 loop
// does the blocks of 8 up to one holding a bound exactly, which clipEpiGo32
// records and clamps, as it does the tail. The numbers, and the recorded
// hits, are those of the add then the clamp.
func convBiasClip32(dst, src []float32, bv float32, e *clipEpi) {
	lo, hi := float32(math.Inf(-1)), float32(math.Inf(1))
	if e != nil {
		lo, hi = float32(e.lo), float32(e.hi)
	}
	src = src[:len(dst)]
	for len(dst) > 0 {
		k, hit := biasClamp32(dst, src, bv, lo, hi)
		dst, src = dst[k:], src[k:]
		blk := dst[:min(len(dst), 8)] // on a hit: the sums, unclamped
		if !hit {
			blk = dst // the tail past the blocks
			for i, v := range src[:len(blk)] {
				blk[i] = v + bv
			}
		}
		if e != nil {
			clipEpiGo32(e, blk)
		}
		dst, src = dst[len(blk):], src[len(blk):]
	}
}

// convActivate applies the fused Relu or Clip to one output plane.
func convActivate[T Float](dst []T, cd *convDims) {
	if cd.relu {
		reluSlice(dst)
	} else if cd.clip != nil {
		clipEpiApply(cd.clip, dst)
	}
}

// convAddBias adds b[m] to every position of y (n, m, p); nil b adds nothing.
func convAddBias[T Float](y, b []T, n, m, p int) {
	if b == nil {
		return
	}
	parallelRange(n*m, p, func(lo, hi int) {
		for nm := lo; nm < hi; nm++ {
			bv := b[nm%m]
			yp := y[nm*p : (nm+1)*p]
			for i := range yp {
				yp[i] += bv
			}
		}
	})
}

// convChunkBuffers returns the scratch of a pass over chunks of nb samples:
// the im2col matrix (rows × nb·P; nil when direct, the input being its own
// matrix) and an (mg × nb·P) matrix for the gathered output or gradient
// (nil for one sample at a time), with the function that releases both.
func convChunkBuffers[T Float](rows, mg, nb, P int, direct bool) (col, tmp []T, release func()) {
	if !direct {
		col = getScratch[T](rows * nb * P)
	}
	if nb > 1 {
		tmp = getScratch[T](mg * nb * P)
	}
	return col, tmp, func() {
		if col != nil {
			putScratch(col)
		}
		if tmp != nil {
			putScratch(tmp)
		}
	}
}
