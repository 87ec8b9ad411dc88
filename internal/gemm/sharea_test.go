package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
)

// TestSgemmShareA checks products sharing A against one Sgemm call each,
// bit for bit: A plain and transposed, each B plain or transposed, beta 0
// (C full of NaN), 1 and other, k past one block, m past one block and
// split among goroutines, and the cases that run apart (k = 0, alpha = 0,
// a B wider than a block), at GOMAXPROCS 1, 2 and 3.
func TestSgemmShareA(t *testing.T) {
	kernels(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(61, 62))
		type size struct{ m, k, n1, n2 int }
		sizes := []size{{1, 1, 1, 1}, {7, 5, 33, 3}, {150, 300, 40, 97}, {300, 520, 64, 100}, {37, 0, 5, 6}, {9, 4, 4100, 3}}
		for _, procs := range []int{1, 2, 3} {
			old := runtime.GOMAXPROCS(procs)
			for _, sz := range sizes {
				for _, tA := range []bool{false, true} {
					for _, tc := range []struct {
						tB1, tB2       bool
						beta1, beta2   float32
						alpha1, alpha2 float32
					}{
						{false, true, 0, 1, 1, 1}, {true, false, 1, 0, 1.5, -1}, {false, false, -0.5, 0, 1, 0},
					} {
						p1 := newProblem(rng, tA, tc.tB1, sz.m, sz.n1, sz.k, tc.alpha1, tc.beta1, 3)
						p2 := newProblem(rng, tA, tc.tB2, sz.m, sz.n2, sz.k, tc.alpha2, tc.beta2, 3)
						p2.a, p2.lda = p1.a, p1.lda
						name := fmt.Sprintf("procs %d %+v tA=%v %+v", procs, sz, tA, tc)
						var want, got [2][]float32
						for i, p := range []*problem{p1, p2} {
							want[i] = append([]float32(nil), p.c...)
							got[i] = append([]float32(nil), p.c...)
							Sgemm(tA, p.tB, p.m, p.n, p.k, p.alpha, p.a, p.lda, p.b, p.ldb, p.beta, want[i], p.ldc)
						}
						SgemmShareA(tA, sz.m, sz.k, p1.a, p1.lda,
							ProductB{TB: p1.tB, N: p1.n, Alpha: p1.alpha, B: p1.b, Ldb: p1.ldb, Beta: p1.beta, C: got[0], Ldc: p1.ldc},
							ProductB{TB: p2.tB, N: p2.n, Alpha: p2.alpha, B: p2.b, Ldb: p2.ldb, Beta: p2.beta, C: got[1], Ldc: p2.ldc})
						for i := range want {
							for j := range want[i] {
								if math.Float32bits(got[i][j]) != math.Float32bits(want[i][j]) {
									runtime.GOMAXPROCS(old)
									t.Fatalf("%s: product %d C[%d] = %v, Sgemm gives %v", name, i, j, got[i][j], want[i][j])
								}
							}
						}
					}
				}
			}
			runtime.GOMAXPROCS(old)
		}
	})
}

// TestSgemmShareAPanics: a product whose slices are too short panics as
// Sgemm does, before anything is computed.
func TestSgemmShareAPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic for a short C")
		}
	}()
	a, b := make([]float32, 6), make([]float32, 6)
	SgemmShareA(false, 2, 3, a, 3,
		ProductB{N: 2, Alpha: 1, B: b, Ldb: 2, C: make([]float32, 4), Ldc: 2},
		ProductB{N: 2, Alpha: 1, B: b, Ldb: 2, C: make([]float32, 3), Ldc: 2})
}
