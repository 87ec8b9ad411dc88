// Package gemm is a fast single-precision matrix multiply in pure Go and Go
// assembly, for the engine's convolutions and linear layers.
//
// [Sgemm] has the semantics of BLAS sgemm on row-major matrices:
//
//	C = alpha*op(A)*op(B) + beta*C
//
// It follows the GotoBLAS/BLIS scheme: op(A) and op(B) are cut into blocks
// sized for the caches and packed (transposes and edge padding are handled
// there), and a micro-kernel computes tiles of C from the packed panels.
//
// # Kernels
//
// The micro-kernel, its tile and the packing and blocking that go with it
// are chosen at run time, once, at the first product:
//
//   - avx512: 8×32 tiles in zmm registers (AVX-512F), kernel_avx512_amd64.s
//     and its variants with a bias and clamp epilogue,
//     epilogue_avx512_amd64.s, both written by tools/gemmasm;
//   - avx2: 6×16 tiles in ymm registers (AVX2 and FMA), kernel_amd64.s
//     (with kernel6x16Epi, its variant with the bias and clamp epilogue),
//     the last rows of a block that are not a whole tile (a batch of 32
//     is five tiles and 2 rows) by edge kernels of 1 to 5 rows over one to
//     four panels of B, kernel_edge_avx2_amd64.s, written by tools/gemmasm;
//   - generic: 6×16 tiles in portable Go, on any architecture.
//
// The packing routines of the avx512 and avx2 kernels are in assembly
// (pack_amd64.s, AVX). By default the package uses the first kernel of
// that list that the CPU and the OS support (golang.org/x/sys/cpu, which
// checks that the OS saves the registers). The environment variable
// ONNXTUNE_GEMM names another one (avx512, avx2 or generic), for example to
// measure the AVX2 figures on a machine with AVX-512. A value that is
// unknown, or names a kernel this machine cannot run, does not stop the
// products: they use the best kernel, and [Kernel] returns an error that
// says so, which cmd/onnxtune turns into a usage error at start-up.
// [Kernels] lists the kernels this machine runs. With the purego build tag
// only the generic kernel is built.
//
// # Implicit GEMM
//
// [Gather] describes a B that is never stored: element (p, j) is
// src[row[p]+col[j]] inside a window and zero in its padding, which is a
// convolution's im2col matrix over its input. [SgemmGather] and
// [PackedA.SgemmGather] pack B's panels straight from the input (masked
// loads where a panel's columns are runs in the source, gathers
// elsewhere; gather_amd64.s), so the matrix is neither written nor read
// again; the packed panels, and so the results, are those of the stored
// matrix bit for bit. [GatherFast] says whether the kernel in use has
// those loops (avx512, avx2).
//
// Large products are cut into blocks of C that the caller and up to
// runtime.GOMAXPROCS(0)-1 helper goroutines compute; the helpers are started
// once and keep polling for work for a millisecond after their last block
// (waking a parked goroutine costs 100 µs or more here), then park. Packing
// buffers are kept in a free list, so in steady state a call allocates at
// most a few small objects.
//
// The sums are of float32 products in an order that depends on the blocking
// and the kernel (and fused multiply-adds are used), so results can differ
// from a naive loop's, and between kernels, in the last bits.
//
// Errors: invalid dimensions, strides or slice lengths are programming
// errors and panic with a message that names the matrix, as in gonum's
// BLAS; Sgemm returns nothing.
package gemm
