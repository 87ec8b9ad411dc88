//go:build openblas

package ops

// #cgo LDFLAGS: -lopenblas
import "C"

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/netlib/blas/netlib"
)

// With the openblas build tag (and Debian's libopenblas-dev installed), the
// engine's matrix products go to OpenBLAS through gonum's netlib binding
// instead of internal/gemm. It is an alternative for comparison: on the
// project's machines internal/gemm is the faster of the two (see
// docs/performance.md).
func init() {
	impl := netlib.Implementation{}
	blas64.Use(impl)
	sgemm = func(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
		ta, tb := blas.NoTrans, blas.NoTrans
		if tA {
			ta = blas.Trans
		}
		if tB {
			tb = blas.Trans
		}
		impl.Sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	}
	sgemmSerial = sgemm
	sgemmShareA = nil
}
