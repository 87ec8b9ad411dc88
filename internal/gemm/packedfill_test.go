package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
)

// TestPackedFill checks an A packed a range of columns at a time (SetCols,
// the ranges in a random order, over a first filling with other values)
// against PackA, element for element, and its products with a packed B
// (SgemmPacked) against PackedA.SgemmSerial with B not packed, bit for
// bit: A plain and transposed, B plain and transposed, beta 0 (C full of
// NaN), 1 and other, k past one block, m past one block, edge tiles.
func TestPackedFill(t *testing.T) {
	kernels(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(71, 72))
		for _, sz := range [][3]int{{1, 1, 1}, {32, 32, 256}, {32, 64, 1024}, {7, 33, 5}, {150, 40, 300}, {17, 97, 600}, {3, 0, 4}, {0, 5, 6}} {
			m, n, k := sz[0], sz[1], sz[2]
			for _, tA := range []bool{false, true} {
				for _, tB := range []bool{false, true} {
					for _, beta := range []float32{0, 1, -0.5} {
						name := fmt.Sprintf("%dx%dx%d tA=%v tB=%v beta=%v", m, n, k, tA, tB, beta)
						p := newProblem(rng, tA, tB, m, n, k, 1.5, beta, 3)
						want := PackA(tA, m, k, p.a, p.lda)
						got := NewPackedA(m, k)
						other := randSlice(rng, len(p.a))
						fillCols(rng, got, tA, k, other, p.lda)
						fillCols(rng, got, tA, k, p.a, p.lda)
						for q := range want.blocks {
							for i, v := range want.blocks[q] {
								if math.Float32bits(got.blocks[q][i]) != math.Float32bits(v) {
									t.Fatalf("%s: block %d [%d] = %v, PackA gives %v", name, q, i, got.blocks[q][i], v)
								}
							}
						}
						cw := append([]float32(nil), p.c...)
						cg := append([]float32(nil), p.c...)
						want.SgemmSerial(tB, n, p.alpha, p.b, p.ldb, beta, cw, p.ldc)
						got.SgemmPacked(PackB(tB, k, n, p.b, p.ldb), p.alpha, beta, cg, p.ldc)
						for i := range cw {
							if math.Float32bits(cg[i]) != math.Float32bits(cw[i]) {
								t.Fatalf("%s: C[%d] = %v, SgemmSerial gives %v", name, i, cg[i], cw[i])
							}
						}
					}
				}
			}
		}
	})
}

// fillCols packs the columns of a into pa in ranges of random widths, in a
// random order, half of them at the same time.
func fillCols(rng *rand.Rand, pa *PackedA, tA bool, k int, a []float32, lda int) {
	var cuts []int
	for c := 0; c < k; c += 1 + rng.IntN(40) {
		cuts = append(cuts, c)
	}
	cuts = append(cuts, k)
	var wg sync.WaitGroup
	for _, i := range rng.Perm(len(cuts) - 1) {
		k0, k1 := cuts[i], cuts[i+1]
		if i%2 == 0 {
			pa.SetCols(tA, k0, k1, a, lda)
			continue
		}
		wg.Go(func() { pa.SetCols(tA, k0, k1, a, lda) })
	}
	wg.Wait()
}

// TestPackedFillChecks checks that SetCols and SgemmPacked refuse ranges
// and operands that do not fit.
func TestPackedFillChecks(t *testing.T) {
	pa := NewPackedA(4, 8)
	a := make([]float32, 32)
	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"columns past k", func() { pa.SetCols(false, 4, 9, a, 8) }},
		{"columns reversed", func() { pa.SetCols(false, 5, 4, a, 8) }},
		{"A too short", func() { pa.SetCols(false, 0, 8, a[:30], 8) }},
		{"B of another k", func() { pa.SgemmPacked(PackB(false, 7, 2, a, 2), 1, 0, a, 2) }},
		{"C too short", func() { pa.SgemmPacked(PackB(false, 8, 2, a, 2), 1, 0, a[:7], 2) }},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", tc.name)
				}
			}()
			tc.f()
		}()
	}
}
