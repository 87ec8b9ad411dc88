//go:build openblas

package ops

// #cgo LDFLAGS: -lopenblas
import "C"

import (
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/netlib/blas/netlib"
)

// With the openblas build tag (and Debian's libopenblas-dev installed), the
// engine's matrix products go to OpenBLAS through gonum's netlib binding
// instead of the project's pure-Go kernels.
func init() {
	blas32.Use(netlib.Implementation{})
	blas64.Use(netlib.Implementation{})
}
