//go:build !purego

package ops

import (
	"math"

	"golang.org/x/sys/cpu"
)

// sigmoid32AVX512 sets s = sigmoid(x) for n elements, a multiple of 16.
//
//go:noescape
func sigmoid32AVX512(s, x *float32, n int)

// lstmSigmoidAsm reports whether the LSTM's gates run their AVX-512
// kernels (sigmoid32AVX512, lstmGradAVX512): where the CPU has AVX-512 and
// the matrix products use it (ONNXTUNE_GEMM=avx2 keeps every kernel at
// AVX2 or below, as on a machine without).
var lstmSigmoidAsm = cpu.X86.HasAVX512F && gemmKernelName() == "avx512"

// lstmSigmoid sets s = sigmoid(x) (len(s) == len(x), s may be x) for the
// LSTM's float32 gates: 16 lanes of float32 with AVX-512 (within 2e-7
// relative), else lstmSigmoid8 (8 lanes with AVX2, or sigmoidSlice32). The
// tail runs through the same loop, padded, so every element is computed
// alike.
func lstmSigmoid(s, x []float32) {
	if !lstmSigmoidAsm {
		lstmSigmoid8(s, x)
		return
	}
	n := len(x) &^ 15
	if n > 0 {
		_ = s[n-1]
		sigmoid32AVX512(&s[0], &x[0], n)
	}
	if n < len(x) {
		var in, out [16]float32
		k := copy(in[:], x[n:])
		sigmoid32AVX512(&out[0], &in[0], 16)
		copy(s[n:], out[:k])
	}
}

// lstmGradAVX512 is lstmGatesGradPart without peepholes for n units, a
// multiple of 16; gate is the distance between post's (and dx's) gates.
//
//go:noescape
func lstmGradAVX512(dh, dc, post, cp, hc, dx *float32, gate, n int)

// lstmGradVec runs lstmGradAVX512 on the first units of lstmGatesGradPart's
// slices (no peepholes) and returns how many it did: a multiple of 16;
// without AVX-512, lstmGradVec8's (a multiple of 8, or 0).
func lstmGradVec(dh, dc, post, cp, hc, dx []float32, H int) int {
	n := len(dh) &^ 15
	if !lstmSigmoidAsm {
		return lstmGradVec8(dh, dc, post, cp, hc, dx, H)
	}
	if n == 0 {
		return 0
	}
	_, _, _, _ = dc[n-1], cp[n-1], hc[n-1], post[3*H+n-1]
	_ = dx[3*H+n-1]
	lstmGradAVX512(&dh[0], &dc[0], &post[0], &cp[0], &hc[0], &dx[0], H, n)
	return n
}

// lstmPreAsm reports whether lstmPreVec runs lstmPreAVX512 (a variable so
// that tests can compare it with the Go loop); as lstmSigmoidAsm.
var lstmPreAsm = lstmSigmoidAsm

// lstmPreAVX512 is the first loop of lstmGatesPart for n units, a multiple
// of 16: see the assembly.
//
//go:noescape
func lstmPreAVX512(x, wb, rb, r, pre, g2 *float32, idx *int32, H, rstep, gr, n, bias int)

// lstmPreVec runs lstmPreAVX512 on the first units of lstmGatesPart's
// slices and returns how many it did: a multiple of 16; without AVX-512,
// lstmPreVec8's (a multiple of 8, or 0; the Go loop does the rest). wb
// and rb are nil or both set.
func lstmPreVec(x, wb, rb, r []float32, rs, gr, H int, pre, g []float32) int {
	n := len(g) &^ 15
	if !lstmPreAsm {
		return lstmPreVec8(x, wb, rb, r, rs, gr, H, pre, g)
	}
	if n == 0 || rs*15 > math.MaxInt32 {
		return 0
	}
	_, _ = x[3*H+n-1], pre[3*H+n-1]
	_ = r[3*gr+(n-1)*rs]
	var idx [16]int32
	for k := range idx {
		idx[k] = int32(k * rs)
	}
	bias := 0
	var pw, pr *float32
	if wb != nil {
		_, _ = wb[3*H+n-1], rb[3*H+n-1]
		bias, pw, pr = 1, &wb[0], &rb[0]
	}
	lstmPreAVX512(&x[0], pw, pr, &r[0], &pre[0], &g[0], &idx[0], H, 16*rs*4, gr, n, bias)
	return n
}

// addAVX512 sets dst += src for n elements, a multiple of 16.
//
//go:noescape
func addAVX512(dst, src *float32, n int)

// addTo sets dst += src (len(src) elements), element by element: 16 at a
// time with AVX-512 (else 8 at a time with lstmPre8), the rest in Go.
func addTo[T Float](dst, src []T) {
	dst = dst[:len(src)]
	j0 := 0
	if d32, ok := any(dst).([]float32); ok && lstmPreAsm && len(src) >= 16 {
		j0 = len(src) &^ 15
		addAVX512(&d32[0], &any(src).([]float32)[0], j0)
	} else if ok && !lstmPreAsm {
		j0 = addVec8(d32, any(src).([]float32))
	}
	for j := j0; j < len(src); j++ {
		dst[j] += src[j]
	}
}
