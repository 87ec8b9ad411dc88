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

// A classifier's product at a small batch (m rows of A, a few 16-column
// tiles of the AVX2 kernel, not whole 6-row tiles) runs transposed, the
// weights packed as the product's A: Cᵀ = op(B)ᵀ·op(A)ᵀ, each tile reading
// a 6-row panel of weights (24 bytes a step) instead of a 16-column panel
// (64 bytes a step, for 6, 6 and 4 rows), which matters when the weights
// come from memory. Each element gets the same multiply-adds in the same
// k blocks and order (x·w is w·x), alpha and C's share as before: the
// same bits.

// gemmPacked is the Gemm kernel for a constant B (b, stored n×k when
// transB): B packed as the product's B (gemmPackedRun), or as the A of the
// transposed product (gemmPackedTRun) when m fills whole column tiles of
// the kernel in use but not whole row tiles.
func gemmPacked(b []float32, transA, transB bool, m, n, k int, alpha, beta float32, cShape []int) Kernel {
	if gemmPackedTransposes(m, n) {
		return gemmPackedTRun(packGemmBT(b, transB, k, n), transA, m, n, k, alpha, beta, cShape)
	}
	return gemmPackedRun(packGemmB(b, transB, k, n), transA, m, n, k, alpha, beta, cShape)
}

// gemmPackedTransposes reports whether gemmPacked runs a product of m rows
// and n columns transposed.
func gemmPackedTransposes(m, n int) bool {
	mr, nr := gemm.Tiles()
	return m%nr == 0 && m%mr != 0 && m <= 4*nr && n >= 4*m
}

// gemmPackedTRun is gemmPackedRun with op(B)ᵀ packed as pa (n×k): Cᵀ (n×m)
// = pa·op(A)ᵀ, C's share written into Cᵀ first, then Cᵀ transposed.
func gemmPackedTRun(pa *gemm.PackedA, transA bool, m, n, k int, alpha, beta float32, cShape []int) Kernel {
	return func(in []*tensor.Dense) (*tensor.Dense, error) {
		a, err := Data[float32](in[0])
		if err != nil {
			return nil, err
		}
		ct := getScratch[float32](n * m)
		defer putScratch(ct)
		acc, err := gemmBetaC(in, cShape, m, n, beta, ct, true)
		if err != nil {
			return nil, err
		}
		// op(A)ᵀ (k×m) is A as stored (k×m) when transA, else A (m×k)
		// transposed.
		if transA {
			pa.Sgemm(false, m, alpha, a, m, acc, ct, m)
		} else {
			pa.Sgemm(true, m, alpha, a, k, acc, ct, m)
		}
		out := make([]float32, m*n)
		for j := range n {
			for i, v := range ct[j*m : (j+1)*m] {
				out[i*n+j] = v
			}
		}
		return Dense([]int{m, n}, out), nil
	}
}

// gemmBetaC writes beta·C, Gemm's optional third input broadcast from
// cShape to m×n, into dst (m×n, or n×m when transposed) and returns the
// product's beta: 1 then, 0 without C (dst is then left as it is).
func gemmBetaC(in []*tensor.Dense, cShape []int, m, n int, beta float32, dst []float32, transposed bool) (float32, error) {
	if len(in) <= 2 {
		return 0, nil
	}
	cd, err := Data[float32](in[2])
	if err != nil {
		return 0, err
	}
	st := bstrides(cShape, []int{m, n})
	if transposed {
		for j := range n {
			row := dst[j*m : (j+1)*m]
			for i := range row {
				row[i] = beta * cd[i*st[0]+j*st[1]]
			}
		}
		return 1, nil
	}
	for i := range m {
		row := dst[i*n : (i+1)*n]
		for j := range row {
			row[j] = beta * cd[i*st[0]+j*st[1]]
		}
	}
	return 1, nil
}

// packGemmBT packs op(B)ᵀ (n×k) of Gemm's constant B for gemmPackedTRun.
func packGemmBT(b []float32, transB bool, k, n int) *gemm.PackedA {
	if transB { // B is stored n×k
		return gemm.PackA(false, n, k, b, k)
	}
	return gemm.PackA(true, n, k, b, n)
}

// gemmPackedRun is gemmRun for float32 with op(B) packed in pb.
func gemmPackedRun(pb *gemm.PackedB, transA bool, m, n, k int, alpha, beta float32, cShape []int) Kernel {
	return func(in []*tensor.Dense) (*tensor.Dense, error) {
		a, err := Data[float32](in[0])
		if err != nil {
			return nil, err
		}
		out := make([]float32, m*n)
		acc, err := gemmBetaC(in, cShape, m, n, beta, out, false)
		if err != nil {
			return nil, err
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
