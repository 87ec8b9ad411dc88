package gemm

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestPackedB checks products with B packed beforehand against Sgemm, bit
// for bit: A plain and transposed, B plain and transposed, beta 0, 1 and
// other, k past one block, a classifier's shape (split among goroutines).
func TestPackedB(t *testing.T) {
	kernels(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(51, 52))
		for _, sz := range [][3]int{{1, 1, 1}, {16, 1000, 1280}, {7, 33, 5}, {150, 40, 300}, {20, 97, 600}} {
			for _, tA := range []bool{false, true} {
				for _, tB := range []bool{false, true} {
					for _, beta := range []float32{0, 1, -0.5} {
						p := newProblem(rng, tA, tB, sz[0], sz[1], sz[2], 1.5, beta, 3)
						want := append([]float32(nil), p.c...)
						got := append([]float32(nil), p.c...)
						Sgemm(tA, tB, p.m, p.n, p.k, p.alpha, p.a, p.lda, p.b, p.ldb, beta, want, p.ldc)
						pb := PackB(tB, p.k, p.n, p.b, p.ldb)
						pb.Sgemm(tA, p.m, p.alpha, p.a, p.lda, beta, got, p.ldc)
						for i := range want {
							if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
								t.Fatalf("%v tA=%v tB=%v beta=%v: C[%d] = %v, Sgemm gives %v", sz, tA, tB, beta, i, got[i], want[i])
							}
						}
					}
				}
			}
		}
	})
}
