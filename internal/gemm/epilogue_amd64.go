//go:build !purego

package gemm

// kernel8x32AVX512Epi is kernel8x32AVX512 with alpha 1 and Epilogue
// applied to the tile before it is stored: bias holds the tile's 8 row
// biases. It reports whether a sum equalled lo or hi exactly (with clip).
//
//go:noescape
func kernel8x32AVX512Epi(k int, a, b, c *float32, ldc int, beta float32, bias *float32, lo, hi float32, clip bool) bool

// epiMicro returns kn's micro-kernel with an epilogue, or nil when it has
// none (the AVX-512 kernel only).
func epiMicro(kn *kernel) epiFunc {
	if kn != avx512 {
		return nil
	}
	return func(k int, a, b, c []float32, ldc int, beta float32, bias []float32, e *Epilogue) bool {
		_ = bias[7]
		_ = c[7*ldc+31]
		return kernel8x32AVX512Epi(k, &a[0], &b[0], &c[0], ldc, beta, &bias[0], e.Lo, e.Hi, e.Clip)
	}
}
