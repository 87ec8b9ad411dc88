package ops

import (
	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/internal/gemm"
)

// Gemm at inference with a constant B (a classifier's weights): B is packed
// for the product once, at compile time (gemm.PackB), instead of at every
// run, where packing a large B that is not in cache costs more than the
// product. The sums are those of the product it replaces (the same k
// blocks, C's share added first), so the bits are the same.

// gemmPackedRun is gemmRun for float32 with op(B) packed in pb.
func gemmPackedRun(pb *gemm.PackedB, transA bool, m, n, k int, alpha, beta float32, cShape []int) Kernel {
	return func(in []*tensor.Dense) (*tensor.Dense, error) {
		a, err := Data[float32](in[0])
		if err != nil {
			return nil, err
		}
		out := make([]float32, m*n)
		var acc float32
		if len(in) > 2 {
			cd, err := Data[float32](in[2])
			if err != nil {
				return nil, err
			}
			st := bstrides(cShape, []int{m, n})
			for i := range m {
				row := out[i*n : (i+1)*n]
				ci := i * st[0]
				for j := range row {
					row[j] = beta * cd[ci+j*st[1]]
				}
			}
			acc = 1
		}
		lda := k
		if transA {
			lda = m
		}
		pb.Sgemm(transA, m, alpha, a, max(lda, 1), acc, out, n)
		return Dense([]int{m, n}, out), nil
	}
}

// packGemmB packs op(B) (k×n) of Gemm's constant B for gemmPackedRun.
func packGemmB(b []float32, transB bool, k, n int) *gemm.PackedB {
	if transB { // B is stored n×k
		return gemm.PackB(true, k, n, b, k)
	}
	return gemm.PackB(false, k, n, b, n)
}
