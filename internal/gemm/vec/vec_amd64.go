//go:build !purego

package vec

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

var (
	hasAVX2   = cpu.X86.HasAVX2 && cpu.X86.HasFMA
	hasAVX512 = cpu.X86.HasAVX512F
)

//go:noescape
func reluMaskAVX2(out, dy, x *float32, n int)

//go:noescape
func scaleShiftAVX2(dst, x *float32, n int, a, b float32, relu bool)

//go:noescape
func affine2AVX2(dst, dy, x *float32, n int, A, B, D float32)

//go:noescape
func sgdMomentumAVX2(p, dy, b *float32, n int, wd, m, damp, lr float32)

//go:noescape
func sumAVX2(v *float32, n int) float64

//go:noescape
func sqDevAVX2(v *float32, n int, m float64) float64

//go:noescape
func dotDevAVX2(dy, x *float32, n int, m float64) (sg, sgx float64)

//go:noescape
func reluMaskAVX512(out, dy, x *float32, n int)

//go:noescape
func scaleShiftAVX512(dst, x *float32, n int, a, b float32, relu bool)

//go:noescape
func affine2AVX512(dst, dy, x *float32, n int, A, B, D float32)

//go:noescape
func sgdMomentumAVX512(p, dy, b *float32, n int, wd, m, damp, lr float32)

//go:noescape
func sumAVX512(v *float32, n int) float64

//go:noescape
func sqDevAVX512(v *float32, n int, m float64) float64

//go:noescape
func siluGradAVX2(out, gs, x, s *float32, n int)

//go:noescape
func siluGradAVX512(out, gs, x, s *float32, n int)

//go:noescape
func dotDevAVX512(dy, x *float32, n int, m float64) (sg, sgx float64)

//go:noescape
func maxPoolRowAVX2(src *float32, rows *int32, nrows int, cols *int32, masks *uint16, ntaps int, y *float32, arg *int64, lanes int)

//go:noescape
func maxPoolRow3S2AVX2(src *float32, rows *int32, nrows int, cols *int32, masks *uint16, y *float32, arg *int64, lanes int, loads *uint32)

//go:noescape
func maxPool3S2AVX2(src *float32, y *float32, jobs *int32, njobs int, masks *int32, planes, inN, P int)

//go:noescape
func maxPoolRowAVX512(src *float32, rows *int32, nrows int, cols *int32, masks *uint16, ntaps int, y *float32, arg *int64, lanes int, loads *uint16)

// int64Ptr is p as a *int64: int is 64 bits on amd64.
func int64Ptr(p *int) *int64 { return (*int64)(unsafe.Pointer(p)) }

// The wrappers below run the assembly over the largest multiple of its
// block that fits the slices (their lengths are checked by the callers)
// and return how many elements it did.

func reluMaskAsm(lv int, out, dy, x []float32) int {
	if lv == avx512 {
		n := len(out) &^ 15
		reluMaskAVX512(&out[0], &dy[0], &x[0], n)
		return n
	}
	n := len(out) &^ 7
	reluMaskAVX2(&out[0], &dy[0], &x[0], n)
	return n
}

func scaleShiftAsm(lv int, dst, x []float32, a, b float32, relu bool) int {
	if lv == avx512 {
		n := len(dst) &^ 15
		scaleShiftAVX512(&dst[0], &x[0], n, a, b, relu)
		return n
	}
	n := len(dst) &^ 7
	scaleShiftAVX2(&dst[0], &x[0], n, a, b, relu)
	return n
}

func affine2Asm(lv int, dst, g, x []float32, A, B, D float32) int {
	if lv == avx512 {
		n := len(dst) &^ 15
		affine2AVX512(&dst[0], &g[0], &x[0], n, A, B, D)
		return n
	}
	n := len(dst) &^ 7
	affine2AVX2(&dst[0], &g[0], &x[0], n, A, B, D)
	return n
}

func sgdMomentumAsm(lv int, p, g, b []float32, wd, m, damp, lr float32) int {
	if lv == avx512 {
		n := len(p) &^ 15
		sgdMomentumAVX512(&p[0], &g[0], &b[0], n, wd, m, damp, lr)
		return n
	}
	n := len(p) &^ 7
	sgdMomentumAVX2(&p[0], &g[0], &b[0], n, wd, m, damp, lr)
	return n
}

func sumAsm(lv int, v []float32) (float64, int) {
	if lv == avx512 {
		n := len(v) &^ 31
		if n == 0 {
			return 0, 0
		}
		return sumAVX512(&v[0], n), n
	}
	n := len(v) &^ 15
	return sumAVX2(&v[0], n), n
}

func sqDevAsm(lv int, v []float32, m float64) (float64, int) {
	if lv == avx512 {
		n := len(v) &^ 31
		if n == 0 {
			return 0, 0
		}
		return sqDevAVX512(&v[0], n, m), n
	}
	n := len(v) &^ 15
	return sqDevAVX2(&v[0], n, m), n
}

func dotDevAsm(lv int, g, x []float32, m float64) (sg, sgx float64, n int) {
	if lv == avx512 {
		n = len(g) &^ 15
		sg, sgx = dotDevAVX512(&g[0], &x[0], n, m)
		return sg, sgx, n
	}
	n = len(g) &^ 7
	sg, sgx = dotDevAVX2(&g[0], &x[0], n, m)
	return sg, sgx, n
}

func siluGradAsm(lv int, out, g, x, s []float32) int {
	if lv == avx512 {
		n := len(out) &^ 15
		siluGradAVX512(&out[0], &g[0], &x[0], &s[0], n)
		return n
	}
	n := len(out) &^ 7
	siluGradAVX2(&out[0], &g[0], &x[0], &s[0], n)
	return n
}
