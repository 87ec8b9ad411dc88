//go:build !purego

package ops

import "golang.org/x/sys/cpu"

// convTapRowsAVX2 is convTapRowsGo for float32 (AVX2 and FMA), without
// bounds checks.
//
//go:noescape
func convTapRowsAVX2(dst *float32, n, rows, dstStride int, init float32, base *float32, baseStride int, off *int32, w *float32, taps int)

// convTapRows4AVX2 is convTapRowsAVX2 for rows a multiple of 4 of n < 32
// elements, four rows' sums in flight, the same operations for each
// element.
//
//go:noescape
func convTapRows4AVX2(dst *float32, n, rows, dstStride int, init float32, base *float32, baseStride int, off *int32, w *float32, taps int)

// convTapRows4Off turns convTapRows4AVX2 off (tests compare it with
// convTapRowsAVX2).
var convTapRows4Off bool

// convTapDotsAVX2 is convTapDotsGo for float32 (AVX2 and FMA), without
// bounds checks.
//
//go:noescape
func convTapDotsAVX2(acc, dy *float32, n, rows, dyStride int, base *float32, baseStride int, off *int32, taps int)

// convTapDots4AVX2 is convTapDotsAVX2 for groups*4 taps, four at a time
// (eight sums in flight), the same operations for each tap.
//
//go:noescape
func convTapDots4AVX2(acc, dy *float32, n, rows, dyStride int, base *float32, baseStride int, off *int32, groups int)

// convTapDots4Off turns convTapDots4AVX2 off (tests compare it with
// convTapDotsAVX2).
var convTapDots4Off bool

// gather2AVX2 sets dst[j] = src[2j] for j < n (n a multiple of 8),
// reading src[0:2n).
//
//go:noescape
func gather2AVX2(dst, src *float32, n int)

// convTapAsm reports whether the CPU runs the AVX2 tap kernels.
var convTapAsm = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// convTapRows is convTapRowsGo, through the assembly for float32 where the
// CPU has AVX2 (rows shorter than 32 four at a time). The caller has checked that every run it reads is in base
// (convTapCheck) and that dst holds the rows.
func convTapRows[T Float](dst []T, n, rows, dstStride int, init T, base []T, baseStride int, off []int32, w []T) {
	if d32, ok := any(dst).([]float32); ok && convTapAsm && n > 0 && rows > 0 && len(off) > 0 {
		w32 := any(w).([]float32)
		_ = w32[len(off)-1]
		_ = d32[(rows-1)*dstStride+n-1]
		b32 := any(base).([]float32)
		if r := rows &^ 3; r > 0 && n < 32 && !convTapRows4Off {
			convTapRows4AVX2(&d32[0], n, r, dstStride, float32(init), &b32[0], baseStride, &off[0], &w32[0], len(off))
			if r == rows {
				return
			}
			d32, b32, rows = d32[r*dstStride:], b32[r*baseStride:], rows-r
		}
		convTapRowsAVX2(&d32[0], n, rows, dstStride, float32(init), &b32[0], baseStride, &off[0], &w32[0], len(off))
		return
	}
	convTapRowsGo(dst, n, rows, dstStride, init, base, baseStride, off, w)
}

// convTapDots is convTapDotsGo, through the assembly for float32 where
// the CPU has AVX2 (four taps at a time while four are left), under
// convTapRows's conditions.
func convTapDots[T Float](acc, dy []T, n, rows, dyStride int, base []T, baseStride int, off []int32) {
	if a32, ok := any(acc).([]float32); ok && convTapAsm && n > 0 && rows > 0 && len(off) > 0 {
		_ = a32[len(off)-1]
		dy32 := any(dy).([]float32)
		_ = dy32[(rows-1)*dyStride+n-1]
		b32 := any(base).([]float32)
		if g := len(off) / 4; g > 0 && !convTapDots4Off {
			convTapDots4AVX2(&a32[0], &dy32[0], n, rows, dyStride, &b32[0], baseStride, &off[0], g)
			if len(off) == 4*g {
				return
			}
			a32, off = a32[4*g:], off[4*g:]
		}
		convTapDotsAVX2(&a32[0], &dy32[0], n, rows, dyStride, &b32[0], baseStride, &off[0], len(off))
		return
	}
	convTapDotsGo(acc, dy, n, rows, dyStride, base, baseStride, off)
}

// gather2 sets dst[j] = src[2j] for every j of dst (src holds at least
// 2*len(dst)-1 elements), the blocks of 8 that src covers by AVX2.
func gather2[T Float](dst, src []T) {
	n := len(dst)
	if d32, ok := any(dst).([]float32); ok && convTapAsm {
		if k := min(n, len(src)/2) &^ 7; k > 0 {
			gather2AVX2(&d32[0], &any(src).([]float32)[0], k)
			dst, src = dst[k:], src[2*k:]
		}
	}
	if len(dst) == 0 {
		return
	}
	src = src[:2*len(dst)-1]
	for j := range dst {
		dst[j] = src[2*j]
	}
}
