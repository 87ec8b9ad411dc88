//go:build !purego

package gemm

import "golang.org/x/sys/cpu"

// kernel6x16 computes the 6×16 tile C = alpha*A·B + beta*C from a packed A
// panel (k steps of 6 values) and a packed B panel (k steps of 16 values).
// C has row stride ldc. beta == 0 stores without reading C.
//
//go:noescape
func kernel6x16(k int, a, b, c *float32, ldc int, alpha, beta float32)

// avx2 is the AVX2+FMA kernel: 6×16 tiles, 12 ymm accumulators; the last
// rows of a block that are not a whole tile go through edgeAVX2.
var avx2 = &kernel{
	name: "avx2", mr: 6, nr: 16,
	kcMax: 256, mcMax: 144, ncMax: 4080, ncSmall: 1 << 13,
	micro: func(k int, a, b, c []float32, ldc int, alpha, beta float32) {
		kernel6x16(k, &a[0], &b[0], &c[0], ldc, alpha, beta)
	},
	edge: edgeAVX2, edgePanels: edgePanelsAVX2[:],
	rowsA: rows6, rowsB: rows16, colsA: cols6, colsB: cols16,
	gather: gather16, transpose: transpose16, transpose2: transpose16S2, transpose2x8: transpose8S2,
}

// avx512 is the AVX-512F kernel: 8×32 tiles, 16 zmm accumulators, A
// broadcast from memory by the FMAs (kernel_avx512_amd64.s). Of the tiles
// measured on Zen 4 (docs/performance.md), 14×32 and 24×16 run fastest
// alone on L1-resident panels (265 GFLOP/s a core against 245 for 8×32),
// but 8×32 is the fastest in the products of the engine's networks, whose
// channel counts are multiples of 8 and batch rows often 16 or fewer: a
// taller tile computes padding rows.
var avx512 = &kernel{
	name: "avx512", mr: 8, nr: 32,
	kcMax: 256, mcMax: 144, ncMax: 4096, ncSmall: 1 << 13,
	micro: func(k int, a, b, c []float32, ldc int, alpha, beta float32) {
		kernel8x32AVX512(k, &a[0], &b[0], &c[0], ldc, alpha, beta)
	},
	rowsA: rowsW(8), rowsB: rowsW(32), colsA: colsW(8), colsB: colsW(32), rowsASum: rows8Sum,
	gather: gather32, transpose: transpose32,
}

// available is the kernels this CPU and OS run, best first. x/sys/cpu
// reports an extension only when the OS saves its registers.
func available() []*kernel {
	var ks []*kernel
	if cpu.X86.HasAVX512F {
		ks = append(ks, avx512)
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		ks = append(ks, avx2)
	}
	return append(ks, generic)
}
