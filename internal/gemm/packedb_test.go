package gemm

import (
	"math"
	"math/rand/v2"
	"runtime"
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

// TestPackedBRelease checks PackB reusing the blocks of a released PackedB:
// the blocks are filled with NaN before the release, and the products with
// the new pack must be those of Sgemm bit for bit, B plain and transposed,
// n not a multiple of the kernels' panels, k past one block, at
// GOMAXPROCS 1 to 3. Without the race detector (whose sync.Pool drops
// some of what it is given) the blocks must have been reused.
func TestPackedBRelease(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	kernels(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(61, 62))
		reused := 0
		for _, procs := range []int{1, 2, 3} {
			runtime.GOMAXPROCS(procs)
			for _, sz := range [][3]int{{7, 33, 5}, {20, 97, 600}, {16, 1000, 1280}, {16, 256, 256}} {
				for _, tB := range []bool{false, true} {
					old := newProblem(rng, false, tB, sz[0], sz[1], sz[2], 1, 0, 3)
					first := PackB(tB, old.k, old.n, old.b, old.ldb)
					ptrs := map[*float32]bool{}
					for _, b := range first.blocks {
						for i := range b {
							b[i] = float32(math.NaN())
						}
						ptrs[&b[0]] = true
					}
					first.Release()
					p := newProblem(rng, false, tB, sz[0], sz[1], sz[2], 1.5, 0.5, 3)
					want := append([]float32(nil), p.c...)
					got := append([]float32(nil), p.c...)
					Sgemm(false, tB, p.m, p.n, p.k, p.alpha, p.a, p.lda, p.b, p.ldb, p.beta, want, p.ldc)
					pb := PackB(tB, p.k, p.n, p.b, p.ldb)
					for _, b := range pb.blocks {
						if ptrs[&b[0]] {
							reused++
						}
					}
					pb.Sgemm(false, p.m, p.alpha, p.a, p.lda, p.beta, got, p.ldc)
					for i := range want {
						if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
							t.Fatalf("%d procs, %v tB=%v: C[%d] = %v, Sgemm gives %v", procs, sz, tB, i, got[i], want[i])
						}
					}
					pb.Release()
				}
			}
		}
		if !raceEnabled && reused == 0 {
			t.Error("no released block was reused")
		}
	})
}
