package ops

import (
	"runtime"

	"github.com/onnxtune/onnxtune/internal/gemm"
)

// recPacked is a recurrent weight packed once per kernel call for the
// products of every step (float32): op(A) (m×k, R or Rᵀ) cut into row
// blocks, one a core, each packed for gemm's PackedA. A step's product is
// then op(A)·Bᵀ with B the batch's [n, k] rows (the state, or the gates'
// gradients), C = [m, n]: m is the gate rows (thousands), n the batch. The
// batch as GEMM's short side wastes no micro-tile rows and R is not packed
// again at every step.
type recPacked struct {
	parts []*gemm.PackedA
	rows  []int // first row of each part; rows[len(parts)] = m
}

// packRec packs op(A) (tA: A is stored k×m) with row stride lda; nil for
// float64 (whose products stay gemmStrided's).
func packRec[T Float](tA bool, m, k int, a []T, lda int) *recPacked {
	a32, ok := any(a).([]float32)
	if !ok {
		return nil
	}
	w := max(1, min(runtime.GOMAXPROCS(0), m/96))
	step := (m/w + 15) / 16 * 16
	p := &recPacked{}
	for r0 := 0; r0 < m; r0 += step {
		r1 := min(m, r0+step)
		off := r0 * lda
		if tA {
			off = r0
		}
		p.parts = append(p.parts, gemm.PackA(tA, r1-r0, k, a32[off:], lda))
		p.rows = append(p.rows, r0)
	}
	p.rows = append(p.rows, m)
	return p
}

// mul sets c (m×n, row stride n) to op(A)·bᵀ, b being n×k with row stride
// ldb.
func (p *recPacked) mul(n int, b []float32, ldb int, c []float32) {
	gemm.Ranges(len(p.parts), len(p.parts), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			p.parts[i].SgemmSerial(true, n, 1, b, ldb, 0, c[p.rows[i]*n:], n)
		}
	})
}
