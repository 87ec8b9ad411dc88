//go:build !amd64 || purego

package gemm

// hasAsm is false: this build has no assembly kernels, and useAsm never
// selects the functions below.
const hasAsm = false

func asmKernel(k int, a, b, c *float32, ldc int, alpha, beta float32) {
	panic("gemm: no assembly kernel in this build")
}

func rows6(k, np int, src []float32, ld int, dst []float32)  { rows6Go(k, np, src, ld, dst) }
func rows16(k, np int, src []float32, ld int, dst []float32) { rows16Go(k, np, src, ld, dst) }
func cols6(k int, src []float32, ld int, dst []float32)      { cols6Go(0, k, src, ld, dst) }
func cols16(k int, src []float32, ld int, dst []float32)     { cols16Go(0, k, src, ld, dst) }
