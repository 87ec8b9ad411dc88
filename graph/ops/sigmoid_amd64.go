//go:build !purego

package ops

import "golang.org/x/sys/cpu"

// sigmoidAVX2 sets s = sigmoid(x) for n elements, a multiple of 4.
//
//go:noescape
func sigmoidAVX2(s, x *float32, n int)

// sigmoidAVX512 is sigmoidAVX2 eight at a time (n a multiple of 8), the
// same bits.
//
//go:noescape
func sigmoidAVX512(s, x *float32, n int)

// sigmoidAsm reports whether the CPU runs sigmoidAVX2; sigmoid512 whether
// it runs sigmoidAVX512 and the matrix products use AVX-512 (not under
// ONNXTUNE_GEMM=avx2).
var (
	sigmoidAsm = cpu.X86.HasAVX2 && cpu.X86.HasFMA
	sigmoid512 = sigmoidAsm && cpu.X86.HasAVX512F && gemmKernelName() == "avx512"
)

// sigmoidSlice32 sets s = sigmoid(x) (len(s) == len(x)): the AVX-512 loop
// where it runs, then the AVX2 loop, the tail through it too (padded), so
// every element is computed alike.
func sigmoidSlice32(s, x []float32) {
	if !sigmoidAsm {
		sigmoidGo32(s, x)
		return
	}
	if k := len(x) &^ 7; sigmoid512 && k > 0 {
		_ = s[k-1]
		sigmoidAVX512(&s[0], &x[0], k)
		s, x = s[k:], x[k:len(s)]
	}
	n := len(x) &^ 3
	if n > 0 {
		_ = s[n-1]
		sigmoidAVX2(&s[0], &x[0], n)
	}
	if n < len(x) {
		var in, out [4]float32
		k := copy(in[:], x[n:])
		sigmoidAVX2(&out[0], &in[0], 4)
		copy(s[n:], out[:k])
	}
}
