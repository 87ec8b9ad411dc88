//go:build !purego

package gemm

import "golang.org/x/sys/cpu"

// kernel6x16 computes the 6×16 tile C = alpha*A·B + beta*C from a packed A
// panel (k steps of 6 values) and a packed B panel (k steps of 16 values).
// C has row stride ldc. beta == 0 stores without reading C.
//
//go:noescape
func kernel6x16(k int, a, b, c *float32, ldc int, alpha, beta float32)

// hasAsm reports whether the CPU and OS support the AVX2+FMA kernel.
var hasAsm = cpu.X86.HasAVX2 && cpu.X86.HasFMA

func asmKernel(k int, a, b, c *float32, ldc int, alpha, beta float32) {
	kernel6x16(k, a, b, c, ldc, alpha, beta)
}
