//go:build !purego

package ops

import "golang.org/x/sys/cpu"

// clipClampAVX2 clamps v[0:n) in place (n a multiple of 8) up to the first
// block of 8 holding a bound exactly, and returns the elements done.
//
//go:noescape
func clipClampAVX2(v *float32, n int, lo, hi float32) int

// clipGradAVX2 sets dx = dy where lo < y < hi, else 0 (n a multiple of 8).
//
//go:noescape
func clipGradAVX2(dx, dy, y *float32, n int, lo, hi float32)

// biasClampAVX2 sets dst to src + b clamped (n a multiple of 8; dst may
// be src) up to the first block of 8 whose sum equals a bound, which it
// leaves added but unclamped, and returns the elements done before it (n
// when none).
//
//go:noescape
func biasClampAVX2(dst, src *float32, n int, b, lo, hi float32) int

// clipAsm reports whether the CPU runs the AVX2 loops.
var clipAsm = cpu.X86.HasAVX2

// clipClamp32 clamps the leading blocks of 8 of v with AVX2 and returns
// how many elements it did: it stops at a block holding a bound exactly.
func clipClamp32(v []float32, lo, hi float32) int {
	n := len(v) &^ 7
	if !clipAsm || n == 0 {
		return 0
	}
	return clipClampAVX2(&v[0], n, lo, hi)
}

// clipGrad32 runs clipGradAVX2 on the leading blocks of 8 and returns how
// many elements it did.
func clipGrad32(dx, dy, y []float32, lo, hi float32) int {
	n := len(dx) &^ 7
	if !clipAsm || n == 0 {
		return 0
	}
	_, _ = dy[n-1], y[n-1]
	clipGradAVX2(&dx[0], &dy[0], &y[0], n, lo, hi)
	return n
}

// biasClamp32 sets the leading blocks of 8 of dst to src + b clamped,
// with AVX2 (src as long as dst; it may be dst). It returns the elements
// done and whether it stopped at a block holding a bound exactly, which
// then holds the sums, unclamped.
func biasClamp32(dst, src []float32, b, lo, hi float32) (int, bool) {
	n := len(dst) &^ 7
	if !clipAsm || n == 0 {
		return 0, false
	}
	_ = src[n-1]
	k := biasClampAVX2(&dst[0], &src[0], n, b, lo, hi)
	return k, k < n
}
