//go:build !purego

package ops

//go:generate go run ../../tools/dwrowsasm -o conv_dw_rows_amd64.s
//go:generate go run ../../tools/dw9asm -o conv_dw9_amd64.s

import (
	"golang.org/x/sys/cpu"

	"github.com/onnxtune/onnxtune/internal/gemm"
)

// dwTapsAVX2 runs steps steps of a contiguous plan (dwPlan): per vector,
// y = bias, then y += w[t] * x[off[t] + 0..7] (masked) for each tap, the
// weights and bias permuted to the lanes by chmap; x moves on xstep
// elements a step, w and bias cstep.
//
//go:noescape
func dwTapsAVX2(y, x *float32, steps, pm, xstep, taps int, off *int32, mask *uint32, w *float32, wstride, cstep int, bias *float32, chmap *int32)

// dwGatherAVX2 is dwTapsAVX2 for a plan of gathers (an offset a lane).
//
//go:noescape
func dwGatherAVX2(y, x *float32, steps, pm, xstep, taps int, off *int32, mask *uint32, w *float32, wstride, cstep int, bias *float32, chmap *int32)

// dwPairsAVX2 is dwTapsAVX2 for a plan of pairs (lane i reading off+2i).
//
//go:noescape
func dwPairsAVX2(y, x *float32, steps, pm, xstep, taps int, off *int32, mask *uint32, w *float32, wstride, cstep int, bias *float32, chmap *int32)

// dwTaps512 is dwTapsAVX2 with vectors of 16 (AVX-512), the lanes'
// masks a bit each.
//
//go:noescape
func dwTaps512(y, x *float32, steps, pm, xstep, taps int, off *int32, kmask *uint16, w *float32, wstride, cstep int, bias *float32, chmap *int32)

// dwTaps512x9 is dwTaps512 for 9 taps, unrolled.
//
//go:noescape
func dwTaps512x9(y, x *float32, steps, pm, xstep, taps int, off *int32, kmask *uint16, w *float32, wstride, cstep int, bias *float32, chmap *int32)

// dwTaps512x9Clip is dwTaps512x9 with the fused Clip: each sum clamped to
// [lo, hi], NaN kept. It reports whether a sum equalled a bound exactly.
//
//go:noescape
func dwTaps512x9Clip(y, x *float32, steps, pm, xstep, taps int, off *int32, kmask *uint16, w *float32, wstride, cstep int, bias *float32, chmap *int32, lo, hi float32) bool

// dwPairs512 is dwPairsAVX2 with vectors of 16 (AVX-512).
//
//go:noescape
func dwPairs512(y, x *float32, steps, pm, xstep, taps int, off *int32, kmask *uint16, w *float32, wstride, cstep int, bias *float32, chmap *int32)

// dwWin512 is dwTaps512 for a window plan (dwPlan.win): per vector, four
// vector loads from the step's base plus base[v], and per tap the lanes
// permuted out of them (VPERMI2PS, lanes that read nothing zero) in place
// of the 8-lane gathers of dwGatherAVX2, the same additions in the same
// order; off holds a lane's place in the 64 inputs, kmask two masks a tap
// (the lanes reading the first 32, the last 32).
//
//go:noescape
func dwWin512(y, x *float32, steps, pm, xstep, taps int, off *int32, kmask *uint16, w *float32, wstride, cstep int, bias *float32, chmap *int32, base *int32)

// dwClamps reports whether dwKernelClip runs plan p (else the caller
// clamps after dwKernel).
func dwClamps(p *dwPlan) bool { return p.vl == 16 && p.taps == 9 && p.contig }

// dwKernelClip is dwKernel with the outputs clamped to [lo, hi] as
// clipEpiApply clamps them, for a plan dwClamps takes. It reports whether
// an output equalled a bound exactly before the clamp: then the steps are
// to be done again by dwKernel, and clamped by clipEpiApply, which records
// the hits.
func dwKernelClip(p *dwPlan, y, x []float32, steps int, wt []float32, ws int, bias []float32, lo, hi float32) bool {
	_ = wt[(p.taps-1)*ws+(steps-1)*p.cstep+p.vl-1]
	_ = bias[(steps-1)*p.cstep+p.vl-1]
	return dwTaps512x9Clip(&y[0], &x[0], steps, p.pm, p.cstep*p.pin, p.taps, &p.off[0], &p.kmask[0], &wt[0], ws, p.cstep, &bias[0], &p.chmap[0], lo, hi)
}

// dwAsm reports whether the in-place depthwise kernels run here.
var dwAsm = convTapAsm

// dw512 reports whether they run on vectors of 16: where the CPU has
// AVX-512 and the matrix products use it (ONNXTUNE_GEMM=avx2 keeps every
// kernel at AVX2, as on a machine without).
var dw512 = dwAsm && cpu.X86.HasAVX512F && gemmKernelName() == "avx512"

// dwKernel runs steps steps of plan p into y from x (the first step's
// bases), the weights tap by tap ws apart and the bias from the first
// step's first channel. The caller has checked the bounds of y and x;
// every lane that reads is inside the steps' input planes.
func dwKernel(p *dwPlan, y, x []float32, steps int, wt []float32, ws int, bias []float32) {
	_ = wt[(p.taps-1)*ws+(steps-1)*p.cstep+p.vl-1]
	_ = bias[(steps-1)*p.cstep+p.vl-1]
	if p.vl == 16 {
		if p.win {
			dwWin512(&y[0], &x[0], steps, p.pm, p.cstep*p.pin, p.taps, &p.winOff[0], &p.winK[0], &wt[0], ws, p.cstep, &bias[0], &p.chmap[0], &p.winBase[0])
			return
		}
		if p.pairs {
			dwPairs512(&y[0], &x[0], steps, p.pm, p.cstep*p.pin, p.taps, &p.off[0], &p.kmask[0], &wt[0], ws, p.cstep, &bias[0], &p.chmap[0])
			return
		}
		if p.taps == 9 {
			dwTaps512x9(&y[0], &x[0], steps, p.pm, p.cstep*p.pin, p.taps, &p.off[0], &p.kmask[0], &wt[0], ws, p.cstep, &bias[0], &p.chmap[0])
			return
		}
		dwTaps512(&y[0], &x[0], steps, p.pm, p.cstep*p.pin, p.taps, &p.off[0], &p.kmask[0], &wt[0], ws, p.cstep, &bias[0], &p.chmap[0])
		return
	}
	if p.pairs {
		dwPairsAVX2(&y[0], &x[0], steps, p.pm, p.cstep*p.pin, p.taps, &p.off[0], &p.mask[0], &wt[0], ws, p.cstep, &bias[0], &p.chmap[0])
		return
	}
	if p.contig {
		dwTapsAVX2(&y[0], &x[0], steps, p.pm, p.cstep*p.pin, p.taps, &p.off[0], &p.mask[0], &wt[0], ws, p.cstep, &bias[0], &p.chmap[0])
		return
	}
	dwGatherAVX2(&y[0], &x[0], steps, p.pm, p.cstep*p.pin, p.taps, &p.off[0], &p.mask[0], &wt[0], ws, p.cstep, &bias[0], &p.chmap[0])
}

// gemmKernelName is the matrix products' kernel (avx512, avx2 or generic).
func gemmKernelName() string {
	name, _ := gemm.Kernel()
	return name
}

// dw9x4 runs steps steps of a contiguous 16-lane 3x3 plan of one channel
// a step (dw9Takes) into y from x, the weights (9 a channel) and bias as
// the Conv node has them; with clip, each output clamped to [lo, hi] as
// dwTaps512x9Clip clamps, reporting whether one equalled a bound exactly.
// Four sums in flight rather than dwTaps512x9's two (one in a step of a
// single vector, the 4x4 planes), the same additions in the same order.
//
//go:noescape
func dw9x4(y, x *float32, steps, pm, xstep int, off *int32, kmask *uint16, w, bias *float32, lo, hi float32, clip bool) bool

// dw9x4S2 is dw9x4 for a plan of pairs (stride 2, output rows of whole
// vectors), the inputs loaded and the even ones kept as dwPairs512 does,
// or of row pairs (rowGap: output rows of 8), the second load gap bytes
// after the first (64 for pairs).
//
//go:noescape
func dw9x4S2(y, x *float32, steps, pm, xstep int, off *int32, kmask *uint16, w, bias *float32, lo, hi float32, clip bool, gap int) bool

// dw9Takes reports whether dw9x4 (contiguous) or dw9x4S2 (pairs) runs
// plan p, or for 8 lanes an AVX2 row kernel (dwRows16AVX2 and the like).
func dw9Takes(p *dwPlan) bool {
	if p.vl == 8 {
		return dwAsm && !dwRowsOff && p.rowsH > 0
	}
	return dw512 && !dw9Off && p.vl == 16 && p.taps == 9 && (p.contig || p.pairs || p.rowGap > 0) && p.cstep == 1
}

// dw9Kernel runs dw9x4, a row kernel (dwRows16 and the like) or dw9x4S2 over steps steps from the first step's y, x,
// weights w and bias. The caller has checked the bounds of x; every lane
// that reads is inside the steps' input planes.
func dw9Kernel(p *dwPlan, y, x []float32, steps int, w, bias []float32, clip bool, lo, hi float32) bool {
	_ = w[steps*p.cstep*9-1]
	_ = bias[steps*p.cstep-1]
	_ = y[steps*p.pm*p.vl-1]
	if p.vl == 8 {
		if p.rowsS2 {
			switch p.rowsW {
			case 32:
				return dwRows32S2AVX2(&y[0], &x[0], steps, p.rowsH, &w[0], &bias[0], lo, hi, clip)
			case 16:
				return dwRows16S2AVX2(&y[0], &x[0], steps, p.rowsH, &w[0], &bias[0], lo, hi, clip)
			case 8:
				return dwPlane8S2AVX2(&y[0], &x[0], steps, p.rowsH, &w[0], &bias[0], lo, hi, clip)
			default:
				return dwPlane4S2AVX2(&y[0], &x[0], steps, p.rowsH, &w[0], &bias[0], lo, hi, clip)
			}
		}
		switch p.rowsW {
		case 32:
			return dwRows32AVX2(&y[0], &x[0], steps, p.rowsH, &w[0], &bias[0], lo, hi, clip)
		case 16:
			return dwRows16AVX2(&y[0], &x[0], steps, p.rowsH, &w[0], &bias[0], lo, hi, clip)
		case 2:
			return dwPlane2AVX2(&y[0], &x[0], steps, p.rowsH, &w[0], &bias[0], lo, hi, clip)
		case 4:
			return dwPlane4AVX2(&y[0], &x[0], steps, p.rowsH, &w[0], &bias[0], lo, hi, clip)
		default:
			return dwRows8AVX2(&y[0], &x[0], steps, p.rowsH, &w[0], &bias[0], lo, hi, clip)
		}
	}
	if p.rowsH > 0 && !dwRowsOff {
		switch p.rowsW {
		case 32:
			if p.rowsS2 {
				return dwRows32S2(&y[0], &x[0], steps, p.rowsH, &w[0], &bias[0], lo, hi, clip)
			}
			return dwRows32(&y[0], &x[0], steps, p.rowsH, &w[0], &bias[0], lo, hi, clip)
		case 16:
			if p.rowsS2 {
				return dwRows16S2(&y[0], &x[0], steps, p.rowsH, &w[0], &bias[0], lo, hi, clip)
			}
			return dwRows16(&y[0], &x[0], steps, p.rowsH, &w[0], &bias[0], lo, hi, clip)
		case 8:
			return dwPlane8(&y[0], &x[0], steps, p.rowsH, &w[0], &bias[0], lo, hi, clip)
		default:
			return dwPlane4(&y[0], &x[0], steps, p.rowsH, &w[0], &bias[0], lo, hi, clip)
		}
	}
	if p.pairs || p.rowGap > 0 {
		gap := 64 // pairs: the second load right after the first
		if p.rowGap > 0 {
			gap = 4 * int(p.rowGap)
		}
		return dw9x4S2(&y[0], &x[0], steps, p.pm, p.pin, &p.off[0], &p.kmask[0], &w[0], &bias[0], lo, hi, clip, gap)
	}
	return dw9x4(&y[0], &x[0], steps, p.pm, p.pin, &p.off[0], &p.kmask[0], &w[0], &bias[0], lo, hi, clip)
}

// dwRows16 is dw9x4 for a plan of rows of 16 (dwPlan.rowsW 16, h rows a
// plane): each input row loaded once and its horizontal taps made by
// VALIGND, eight output rows' sums in flight, the same additions in the
// same order.
//
//go:noescape
func dwRows16(y, x *float32, steps, h int, w, bias *float32, lo, hi float32, clip bool) bool

// dwRows32 is dwRows16 for rows of 32 (two vectors a row), four output
// rows in flight.
//
//go:noescape
func dwRows32(y, x *float32, steps, h int, w, bias *float32, lo, hi float32, clip bool) bool

// dwRows32S2 is dwRows32 for stride 2 onto rows of 16 (a plan of pairs
// with rowsS2): an input row split into its even and odd inputs
// (VPERMI2PS), eight output rows in flight, dw9x4S2's sums.
//
//go:noescape
func dwRows32S2(y, x *float32, steps, h int, w, bias *float32, lo, hi float32, clip bool) bool

// dwRows16S2 is dwRows32S2 for 16x16 planes onto 8x8 (a plan with a row
// gap and rowsS2): the plane's rows loaded once, an output vector's two
// rows made from the evens and odds of two input rows (VPERMI2PS), the
// four output vectors in flight, dw9x4S2's sums.
//
//go:noescape
func dwRows16S2(y, x *float32, steps, h int, w, bias *float32, lo, hi float32, clip bool) bool

// dwRows16AVX2 is dwTapsAVX2 for an 8-lane plan of rows of 16
// (dwPlan.rowsW 16, h rows a plane, a multiple of 4), one channel a step:
// each input vector loaded once with its left and right taps, feeding the
// three output rows that read it, eight sums in flight (bands of 4 rows),
// the weights broadcast from the weight tensor, the same additions in the
// same order; with clip, the sums clamped as dw9x4 clamps them, reporting
// whether one equalled a bound exactly.
//
//go:noescape
func dwRows16AVX2(y, x *float32, steps, h int, w, bias *float32, lo, hi float32, clip bool) bool

// dwRows32AVX2 is dwRows16AVX2 for rows of 32 (bands of 2 rows, h a
// multiple of 2).
//
//go:noescape
func dwRows32AVX2(y, x *float32, steps, h int, w, bias *float32, lo, hi float32, clip bool) bool

// dwRows8AVX2 is dwRows16AVX2 for rows of 8 (bands of 8 rows, h a
// multiple of 8).
//
//go:noescape
func dwRows8AVX2(y, x *float32, steps, h int, w, bias *float32, lo, hi float32, clip bool) bool

// dwPlane4AVX2 is dwRows16AVX2 for 4x4 planes (h 4, a plane two
// vectors): the rows above and below and the left and right taps made by
// permutes and shifts of the plane's two vectors, four channels' sums in
// flight.
//
//go:noescape
func dwPlane4AVX2(y, x *float32, steps, h int, w, bias *float32, lo, hi float32, clip bool) bool

// dwRows32S2AVX2 is dwPairsAVX2 for an 8-lane plan of pairs from rows of
// 32 onto rows of 16 (dwPlan.rowsS2, h input rows a plane, a multiple of
// 8): an input row's inputs under an output vector loaded once and split
// into the even and odd ones, feeding the output rows that read them,
// eight sums in flight, the same additions in the same order; the clamp as
// dwRows16AVX2's.
//
//go:noescape
func dwRows32S2AVX2(y, x *float32, steps, h int, w, bias *float32, lo, hi float32, clip bool) bool

// dwRows16S2AVX2 is dwRows32S2AVX2 from rows of 16 onto rows of 8 (h a
// multiple of 16).
//
//go:noescape
func dwRows16S2AVX2(y, x *float32, steps, h int, w, bias *float32, lo, hi float32, clip bool) bool

// dwPlane2AVX2 is dwPlane4AVX2 for 2x2 planes (h 2), two channels a
// step (a vector), four steps' sums in flight.
//
//go:noescape
func dwPlane2AVX2(y, x *float32, steps, h int, w, bias *float32, lo, hi float32, clip bool) bool

// dwPlane8S2AVX2 is dwGatherAVX2 for a plan of gathers from 8x8 planes
// onto 4x4 (stride 2, dwPlan.rowsS2): the even and odd inputs of the two
// input rows under an output vector by VSHUFPS and VPERMPD, four channels'
// sums in flight, the same additions in the same order; the clamp as
// dwRows16AVX2's.
//
//go:noescape
func dwPlane8S2AVX2(y, x *float32, steps, h int, w, bias *float32, lo, hi float32, clip bool) bool

// dwPlane4S2AVX2 is dwPlane8S2AVX2 from 4x4 planes onto 2x2, two channels
// a step (a vector), four steps' sums in flight.
//
//go:noescape
func dwPlane4S2AVX2(y, x *float32, steps, h int, w, bias *float32, lo, hi float32, clip bool) bool

// dwPlane8 is dwRows16 for 8x8 planes (h 8; a vector two rows, the rows
// above and below made by VALIGND of the plane's vectors too), the four
// vectors of a plane in flight.
//
//go:noescape
func dwPlane8(y, x *float32, steps, h int, w, bias *float32, lo, hi float32, clip bool) bool

// dwPlane4 is dwPlane8 for 4x4 planes (h 4, a plane one vector).
//
//go:noescape
func dwPlane4(y, x *float32, steps, h int, w, bias *float32, lo, hi float32, clip bool) bool

// dw9x4P runs steps steps (a multiple of 4) of a 16-lane 3x3 plan of
// single vectors of four channels (2x2 planes; dw9PTakes), the weights
// and bias in dwWeights's layout: dwTaps512x9 and dwTaps512x9Clip four
// steps at a time, the same additions in the same order.
//
//go:noescape
func dw9x4P(y, x *float32, steps, xstep int, off *int32, kmask *uint16, w *float32, wstride int, bias *float32, chmap *int32, lo, hi float32, clip bool) bool

// dw9PTakes reports whether dw9x4P runs plan p.
func dw9PTakes(p *dwPlan) bool {
	return dw512 && !dw9Off && p.vl == 16 && p.taps == 9 && p.contig && p.pm == 1 && p.cstep == 4
}

// dw9PKernel runs dw9x4P over the first steps&^3 of steps steps and
// reports how many it ran and whether an output equalled a bound exactly
// (with clip). The caller has checked the bounds of x.
func dw9PKernel(p *dwPlan, y, x []float32, steps int, wt []float32, ws int, bias []float32, clip bool, lo, hi float32) (int, bool) {
	n := steps &^ 3
	if n == 0 {
		return 0, false
	}
	_ = wt[8*ws+(n-1)*4+15]
	_ = bias[(n-1)*4+15]
	_ = y[n*16-1]
	return n, dw9x4P(&y[0], &x[0], n, p.pin*4, &p.off[0], &p.kmask[0], &wt[0], ws, &bias[0], &p.chmap[0], lo, hi, clip)
}
