package ops

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"

	"github.com/onnxtune/onnxtune/internal/gemm"
)

// Matrix products of the engine, in one place:
// float32 goes to internal/gemm (or OpenBLAS with the openblas build tag),
// float64 to gonum's BLAS.

// gemmStrided is C = alpha op(A) op(B) + beta C: float32 through sgemm (the
// project's internal/gemm), float64 through gonum's BLAS.
func gemmStrided[T Float](tA, tB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	ta, tb := blas.NoTrans, blas.NoTrans
	if tA {
		ta = blas.Trans
	}
	if tB {
		tb = blas.Trans
	}
	switch a := any(a).(type) {
	case []float32:
		sgemm(tA, tB, m, n, k, float32(alpha), a, lda, any(b).([]float32), ldb, float32(beta), any(c).([]float32), ldc)
	case []float64:
		blas64.Implementation().Dgemm(ta, tb, m, n, k, float64(alpha), a, lda, any(b).([]float64), ldb,
			float64(beta), any(c).([]float64), ldc)
	}
}

// gemmStridedMode is gemmStrided, on this goroutine only when serial (float32).
func gemmStridedMode[T Float](serial, tA, tB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	if a32, ok := any(a).([]float32); ok && serial {
		sgemmSerial(tA, tB, m, n, k, float32(alpha), a32, lda, any(b).([]float32), ldb, float32(beta), any(c).([]float32), ldc)
		return
	}
	gemmStrided(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// sgemm is the float32 matrix product of the engine: internal/gemm's
// blocked AVX2 kernels (pure Go and assembly), or OpenBLAS with the
// openblas build tag.
var sgemm, sgemmSerial = gemm.Sgemm, gemm.SgemmSerial

// sgemmShareA runs float32 products that share op(A) with one packing of
// A (internal/gemm); nil where the products go elsewhere (OpenBLAS), and
// the callers then make one sgemm call a product.
var sgemmShareA = gemm.SgemmShareA

// blasGemm computes c = alpha*op(a)*op(b) + beta*c for row-major matrices:
// contiguous, as gemmStrided. op(a) is m×k, op(b) is k×n; tA and tB say
// that a and b are stored transposed (k×m and n×k).
func blasGemm[T Float](tA, tB bool, m, n, k int, alpha T, a, b []T, beta T, c []T) {
	if m == 0 || n == 0 {
		return
	}
	lda, ldb := k, n
	if tA {
		lda = m
	}
	if tB {
		ldb = k
	}
	gemmStrided(tA, tB, m, n, k, alpha, a, max(lda, 1), b, max(ldb, 1), beta, c, n)
}
