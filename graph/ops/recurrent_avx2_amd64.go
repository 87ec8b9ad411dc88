//go:build !purego

package ops

import (
	"math"

	"golang.org/x/sys/cpu"
)

// lstmAVX2 reports whether the LSTM's gates run their AVX2 kernels
// (sigmoid32AVX2, lstmPreAVX2, lstmGradAVX2, addAVX2): where the matrix
// products run the AVX2 kernel (a CPU without AVX-512, or
// ONNXTUNE_GEMM=avx2). The AVX-512 kernels (lstmSigmoidAsm, lstmPreAsm)
// come first where they are on; with neither, the gates run in Go.
var lstmAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA && gemmKernelName() == "avx2"

// lstmPre8 reports whether lstmPreVec8 and addVec8 run their AVX2 kernels
// (a variable so that tests can compare them with the Go loops); as
// lstmAVX2.
var lstmPre8 = lstmAVX2

// sigmoid32AVX2 sets s = sigmoid(x) for n elements, a multiple of 8: the
// bits of sigmoid32AVX512.
//
//go:noescape
func sigmoid32AVX2(s, x *float32, n int)

// lstmSigmoid8 is lstmSigmoid without AVX-512: 8 lanes of float32 with
// lstmAVX2 (the tail padded through the same loop), else sigmoidSlice32.
func lstmSigmoid8(s, x []float32) {
	if !lstmAVX2 {
		sigmoidSlice32(s, x)
		return
	}
	n := len(x) &^ 7
	if n > 0 {
		_ = s[n-1]
		sigmoid32AVX2(&s[0], &x[0], n)
	}
	if n < len(x) {
		var in, out [8]float32
		k := copy(in[:], x[n:])
		sigmoid32AVX2(&out[0], &in[0], 8)
		copy(s[n:], out[:k])
	}
}

// lstmGradAVX2 is lstmGradAVX512 on 8 lanes (n a multiple of 8).
//
//go:noescape
func lstmGradAVX2(dh, dc, post, cp, hc, dx *float32, gate, n int)

// lstmGradVec8 is lstmGradVec without AVX-512: lstmGradAVX2 on the first
// units, a multiple of 8 (0 without lstmAVX2).
func lstmGradVec8(dh, dc, post, cp, hc, dx []float32, H int) int {
	n := len(dh) &^ 7
	if !lstmAVX2 || n == 0 {
		return 0
	}
	_, _, _, _ = dc[n-1], cp[n-1], hc[n-1], post[3*H+n-1]
	_ = dx[3*H+n-1]
	lstmGradAVX2(&dh[0], &dc[0], &post[0], &cp[0], &hc[0], &dx[0], H, n)
	return n
}

// lstmPreAVX2 is lstmPreAVX512 on 8 lanes (n a multiple of 8, rstep the
// bytes of r between a unit and the unit 8 on).
//
//go:noescape
func lstmPreAVX2(x, wb, rb, r, pre, g2 *float32, idx *int32, H, rstep, gr, n, bias int)

// lstmPreVec8 is lstmPreVec without AVX-512: lstmPreAVX2 on the first
// units, a multiple of 8 (0 without lstmPre8).
func lstmPreVec8(x, wb, rb, r []float32, rs, gr, H int, pre, g []float32) int {
	n := len(g) &^ 7
	if !lstmPre8 || n == 0 || rs*7 > math.MaxInt32 {
		return 0
	}
	_, _ = x[3*H+n-1], pre[3*H+n-1]
	_ = r[3*gr+(n-1)*rs]
	var idx [8]int32
	for k := range idx {
		idx[k] = int32(k * rs)
	}
	bias := 0
	var pw, pr *float32
	if wb != nil {
		_, _ = wb[3*H+n-1], rb[3*H+n-1]
		bias, pw, pr = 1, &wb[0], &rb[0]
	}
	lstmPreAVX2(&x[0], pw, pr, &r[0], &pre[0], &g[0], &idx[0], H, 8*rs*4, gr, n, bias)
	return n
}

// addAVX2 sets dst += src for n elements, a multiple of 8.
//
//go:noescape
func addAVX2(dst, src *float32, n int)

// addVec8 sets dst += src on the first elements with lstmPre8, a multiple
// of 8, and returns how many (0 without).
func addVec8(dst, src []float32) int {
	n := len(src) &^ 7
	if !lstmPre8 || n == 0 {
		return 0
	}
	_ = dst[n-1]
	addAVX2(&dst[0], &src[0], n)
	return n
}
