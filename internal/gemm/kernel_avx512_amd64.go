//go:build !purego

package gemm

//go:generate go run ../../tools/gemmasm -o kernel_avx512_amd64.s

// kernel8x32AVX512 computes the 8×32 tile C = alpha*A·B + beta*C from a
// packed A panel (k steps of 8 values) and a packed B panel (k steps of 32
// values). C has row stride ldc. beta == 0 stores without reading C.
//
//go:noescape
func kernel8x32AVX512(k int, a, b, c *float32, ldc int, alpha, beta float32)
