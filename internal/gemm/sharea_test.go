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

// TestSgemmShareASums: the sums SgemmShareASums adds while it packs A have
// the bits of adding op(A)'s elements of each row one after the other (a
// plain loop here, from random starting sums, with signed zeros among the
// elements), and its products those of SgemmShareA: A plain and
// transposed, m not a multiple of any tile (the rows past the whole
// panels), k past one block, m split among goroutines, the cases that run
// apart and one without products, every kernel, GOMAXPROCS 1 to 3.
func TestSgemmShareASums(t *testing.T) {
	kernels(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(63, 64))
		type size struct{ m, k, n1, n2 int }
		sizes := []size{{1, 1, 1, 1}, {8, 3, 2, 5}, {13, 9, 33, 3}, {56, 5, 3, 2}, {40, 260, 8, 8}, {150, 300, 40, 97}, {1024, 600, 64, 100},
			{37, 0, 5, 6}, {9, 4, 4100, 3}, {20, 7, 0, -1}}
		for _, procs := range []int{1, 2, 3} {
			old := runtime.GOMAXPROCS(procs)
			for _, sz := range sizes {
				for _, tA := range []bool{false, true} {
					p1 := newProblem(rng, tA, false, sz.m, sz.n1, sz.k, 1, 1, 3)
					p2 := newProblem(rng, tA, true, sz.m, max(sz.n2, 0), sz.k, -0.5, 0, 3)
					p2.a, p2.lda = p1.a, p1.lda
					for i := range p1.a {
						if i%5 == 0 {
							p1.a[i] = float32(math.Copysign(0, -1))
						}
					}
					s0 := randSlice(rng, sz.m)
					want := append([]float32(nil), s0...)
					for p := range sz.k {
						for i := range sz.m {
							if tA {
								want[i] += p1.a[p*p1.lda+i]
							} else {
								want[i] += p1.a[i*p1.lda+p]
							}
						}
					}
					name := fmt.Sprintf("procs %d %+v tA=%v", procs, sz, tA)
					var prods []ProductB
					var wantC, gotC [2][]float32
					for i, p := range []*problem{p1, p2} {
						if i == 1 && sz.n2 < 0 {
							break
						}
						wantC[i] = append([]float32(nil), p.c...)
						gotC[i] = append([]float32(nil), p.c...)
						SgemmShareA(tA, p.m, p.k, p.a, p.lda,
							ProductB{TB: p.tB, N: p.n, Alpha: p.alpha, B: p.b, Ldb: p.ldb, Beta: p.beta, C: wantC[i], Ldc: p.ldc})
						prods = append(prods, ProductB{TB: p.tB, N: p.n, Alpha: p.alpha, B: p.b, Ldb: p.ldb, Beta: p.beta, C: gotC[i], Ldc: p.ldc})
					}
					if sz.n1 == 0 {
						prods = nil
					}
					got := append([]float32(nil), s0...)
					SgemmShareASums(tA, sz.m, sz.k, p1.a, p1.lda, got, prods...)
					for i := range want {
						if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
							runtime.GOMAXPROCS(old)
							t.Fatalf("%s: sums[%d] = %v, want %v", name, i, got[i], want[i])
						}
					}
					for i := range prods {
						for j := range wantC[i] {
							if math.Float32bits(gotC[i][j]) != math.Float32bits(wantC[i][j]) {
								runtime.GOMAXPROCS(old)
								t.Fatalf("%s: product %d C[%d] = %v, SgemmShareA gives %v", name, i, j, gotC[i][j], wantC[i][j])
							}
						}
					}
				}
			}
			runtime.GOMAXPROCS(old)
		}
	})
}

// TestSgemmShareASumsShort: too few sums panic before anything is computed.
func TestSgemmShareASumsShort(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic for 2 sums of 3 rows")
		}
	}()
	a, b := make([]float32, 6), make([]float32, 6)
	SgemmShareASums(true, 3, 2, a, 3, make([]float32, 2), ProductB{N: 3, Alpha: 1, B: b, Ldb: 3, C: make([]float32, 9), Ldc: 3})
}

// TestSgemmShareABlocks: a product whose op(B) is given by blocks of rows
// (ProductB.Blocks) has the bits of the same product with B stored whole:
// blocks of 1, 3, 32, 256 and 300 rows (within a k block, across k blocks,
// longer than one), N not a multiple of any kernel's panels, A plain and
// transposed, with another product and sums, the cases that run apart,
// every kernel, GOMAXPROCS 1 to 3.
func TestSgemmShareABlocks(t *testing.T) {
	kernels(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(65, 66))
		type size struct{ m, rows, nblk, n int }
		sizes := []size{{1, 1, 1, 1}, {13, 3, 7, 40}, {150, 32, 20, 97}, {64, 256, 3, 33}, {37, 300, 2, 64},
			{9, 4, 0, 5}, {9, 4, 2, 4100}}
		for _, procs := range []int{1, 2, 3} {
			old := runtime.GOMAXPROCS(procs)
			for _, sz := range sizes {
				for _, tA := range []bool{false, true} {
					k := sz.rows * sz.nblk
					p1 := newProblem(rng, tA, false, sz.m, sz.n, k, 1, 1, 3)
					p2 := newProblem(rng, tA, true, sz.m, 24, k, -0.5, 0, 3)
					p2.a, p2.lda = p1.a, p1.lda
					// B by blocks: copies of p1's rows, each block in a slice of its own.
					blocks := make([][]float32, sz.nblk)
					for q := range blocks {
						blocks[q] = append([]float32(nil), p1.b[q*sz.rows*p1.ldb:][:(sz.rows-1)*p1.ldb+sz.n]...)
					}
					want := [2][]float32{append([]float32(nil), p1.c...), append([]float32(nil), p2.c...)}
					got := [2][]float32{append([]float32(nil), p1.c...), append([]float32(nil), p2.c...)}
					s0 := randSlice(rng, sz.m)
					wantS, gotS := append([]float32(nil), s0...), append([]float32(nil), s0...)
					SgemmShareASums(tA, sz.m, k, p1.a, p1.lda, wantS,
						ProductB{N: p1.n, Alpha: 1, B: p1.b, Ldb: p1.ldb, Beta: 1, C: want[0], Ldc: p1.ldc},
						ProductB{TB: true, N: p2.n, Alpha: -0.5, B: p2.b, Ldb: p2.ldb, Beta: 0, C: want[1], Ldc: p2.ldc})
					SgemmShareASums(tA, sz.m, k, p1.a, p1.lda, gotS,
						ProductB{N: p1.n, Alpha: 1, Blocks: blocks, BlockRows: sz.rows, Ldb: p1.ldb, Beta: 1, C: got[0], Ldc: p1.ldc},
						ProductB{TB: true, N: p2.n, Alpha: -0.5, B: p2.b, Ldb: p2.ldb, Beta: 0, C: got[1], Ldc: p2.ldc})
					name := fmt.Sprintf("procs %d %+v tA=%v", procs, sz, tA)
					for i := range want {
						for j := range want[i] {
							if math.Float32bits(got[i][j]) != math.Float32bits(want[i][j]) {
								runtime.GOMAXPROCS(old)
								t.Fatalf("%s: product %d C[%d] = %v, with B whole %v", name, i, j, got[i][j], want[i][j])
							}
						}
					}
					for i := range wantS {
						if math.Float32bits(gotS[i]) != math.Float32bits(wantS[i]) {
							runtime.GOMAXPROCS(old)
							t.Fatalf("%s: sums[%d] = %v, want %v", name, i, gotS[i], wantS[i])
						}
					}
				}
			}
			runtime.GOMAXPROCS(old)
		}
	})
}

// TestSgemmShareABlocksPanics: blocks that do not make op(B) panic before
// anything is computed.
func TestSgemmShareABlocksPanics(t *testing.T) {
	a := make([]float32, 12)
	for _, tc := range []struct {
		name string
		p    ProductB
	}{
		{"too few rows", ProductB{N: 2, Alpha: 1, Blocks: [][]float32{make([]float32, 4)}, BlockRows: 2, Ldb: 2, C: make([]float32, 6), Ldc: 2}},
		{"a short block", ProductB{N: 2, Alpha: 1, Blocks: [][]float32{make([]float32, 4), make([]float32, 3)}, BlockRows: 2, Ldb: 2, C: make([]float32, 6), Ldc: 2}},
		{"transposed", ProductB{TB: true, N: 2, Alpha: 1, Blocks: [][]float32{make([]float32, 4), make([]float32, 4)}, BlockRows: 2, Ldb: 2, C: make([]float32, 6), Ldc: 2}},
		{"no rows a block", ProductB{N: 2, Alpha: 1, Blocks: [][]float32{}, BlockRows: 0, Ldb: 2, C: make([]float32, 6), Ldc: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			SgemmShareA(true, 3, 4, a, 3, tc.p)
		})
	}
}
