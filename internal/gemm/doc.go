// Package gemm is a fast single-precision matrix multiply in pure Go and Go
// assembly, for the engine's convolutions and linear layers.
//
// [Sgemm] has the semantics of BLAS sgemm on row-major matrices:
//
//	C = alpha*op(A)*op(B) + beta*C
//
// It follows the GotoBLAS/BLIS scheme: op(A) and op(B) are cut into blocks
// sized for the caches and packed (transposes and edge padding are handled
// there), and a micro-kernel computes 6×16 tiles of C from the packed
// panels. On amd64 CPUs with AVX2 and FMA the micro-kernel and the packing
// routines are in assembly (kernel_amd64.s, pack_amd64.s); elsewhere, or
// with the purego build tag, portable Go does the same work, more slowly.
// Large products are cut into blocks of C that the caller and up to
// runtime.GOMAXPROCS(0)-1 helper goroutines compute; the helpers are started
// once and keep polling for work for a millisecond after their last block
// (waking a parked goroutine costs 100 µs or more here), then park. Packing
// buffers are kept in a free list, so in steady state a call allocates at
// most a few small objects.
//
// The sums are of float32 products in an order that depends on the blocking
// (and fused multiply-adds are used), so results can differ from a naive
// loop's in the last bits.
//
// Errors: invalid dimensions, strides or slice lengths are programming
// errors and panic with a message that names the matrix, as in gonum's
// BLAS; Sgemm returns nothing.
package gemm
