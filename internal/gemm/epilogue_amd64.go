//go:build !purego

package gemm

//go:generate go run ../../tools/gemmasm -epi -o epilogue_avx512_amd64.s

// kernel8x32AVX512Epi is kernel8x32AVX512 with alpha 1 and Epilogue
// applied to the tile before it is stored: bias holds the tile's 8 row
// biases. It reports whether a sum equalled lo or hi exactly (with clip).
//
//go:noescape
func kernel8x32AVX512Epi(k int, a, b, c *float32, ldc int, beta float32, bias *float32, lo, hi float32, clip bool) bool

// kernel6x16Epi is kernel6x16 with alpha 1 and Epilogue applied to the
// tile before it is stored (kernel_amd64.s): bias holds the tile's 6 row
// biases. It reports whether a sum equalled lo or hi exactly (with clip).
//
//go:noescape
func kernel6x16Epi(k int, a, b, c *float32, ldc int, beta float32, bias *float32, lo, hi float32, clip bool) bool

// epiMicro returns kn's micro-kernel with an epilogue, or nil when it has
// none (the generic kernel).
func epiMicro(kn *kernel) epiFunc {
	if kn == avx2 {
		return func(k int, a, b, c []float32, ldc int, beta float32, bias []float32, e *Epilogue) bool {
			_ = bias[5]
			_ = c[5*ldc+15]
			return kernel6x16Epi(k, &a[0], &b[0], &c[0], ldc, beta, &bias[0], e.Lo, e.Hi, e.Clip)
		}
	}
	if kn != avx512 {
		return nil
	}
	return func(k int, a, b, c []float32, ldc int, beta float32, bias []float32, e *Epilogue) bool {
		_ = bias[7]
		_ = c[7*ldc+31]
		return kernel8x32AVX512Epi(k, &a[0], &b[0], &c[0], ldc, beta, &bias[0], e.Lo, e.Hi, e.Clip)
	}
}

// kernel8x32AVX512EpiSplit is kernel8x32AVX512Epi with C read from cin
// (row stride ldcin) when beta is not 0, and columns 0 to 15 of the tile
// stored at c0, 16 to 31 at c1 (row stride ldc).
//
//go:noescape
func kernel8x32AVX512EpiSplit(k int, a, b, cin *float32, ldcin int, c0, c1 *float32, ldc int, beta float32, bias *float32, lo, hi float32, clip bool) bool

// epiSplit returns kn's kernelEpiSplit, or nil when it has none.
func epiSplit(kn *kernel) epiSplitFunc {
	if kn != avx512 {
		return nil
	}
	return func(k int, a, b, cin []float32, ldcin int, c0, c1 []float32, ldc int, beta float32, bias []float32, e *Epilogue) bool {
		_ = bias[7]
		_ = cin[7*ldcin+31]
		_ = c0[7*ldc+15]
		_ = c1[7*ldc+15]
		return kernel8x32AVX512EpiSplit(k, &a[0], &b[0], &cin[0], ldcin, &c0[0], &c1[0], ldc, beta, &bias[0], e.Lo, e.Hi, e.Clip)
	}
}
