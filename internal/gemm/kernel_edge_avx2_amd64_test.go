//go:build !purego

package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
)

// avx2Kernels returns the avx2 kernel and a copy of it without edge
// kernels (every edge tile through kernel6x16 on the scratch tile, as
// before them); the test fails where the CPU has no AVX2.
func avx2Kernels(t *testing.T) (withEdge, tileOnly *kernel) {
	t.Helper()
	if !slices.Contains(available(), avx2) {
		t.Fatal("this CPU does not run the avx2 kernel")
	}
	k := *avx2
	k.edge, k.edgePanels = nil, nil
	return avx2, &k
}

// TestEdgeAVX2Kernels checks each edge kernel against kernel6x16 on the
// same panels, bit for bit: rows 1 to 5 of a 6-row panel, k from 1 to past
// the unrolled loop, alpha 1 and other, C overwritten (NaN in it) or added
// to; C's elements around the tile must stay as they were.
func TestEdgeAVX2Kernels(t *testing.T) {
	avx2Kernels(t)
	rng := rand.New(rand.NewPCG(81, 82))
	for mh := 1; mh < 6; mh++ {
		np := edgePanelsAVX2[mh]
		for _, k := range []int{1, 2, 3, 4, 5, 7, 8, 31, 256} {
			for _, alpha := range []float32{1, -1.25} {
				for _, add := range []bool{false, true} {
					name := fmt.Sprintf("rows %d k %d alpha %v add %v", mh, k, alpha, add)
					a := randSlice(rng, 6*k)
					b := randSlice(rng, np*16*k)
					ldc := 16*np + 3
					c := randSlice(rng, 7*ldc)
					if !add {
						for i := range c {
							if i/ldc < mh && i%ldc < 16*np {
								c[i] = float32(math.NaN())
							}
						}
					}
					want := slices.Clone(c)
					beta := float32(0)
					if add {
						beta = 1
					}
					for q := range np {
						var tile [96]float32
						for i := range 6 {
							for j := range 16 {
								tile[i*16+j] = c[i*ldc+16*q+j]
							}
						}
						kernel6x16(k, &a[0], &b[q*16*k], &tile[0], 16, alpha, beta)
						for i := range mh {
							copy(want[i*ldc+16*q:][:16], tile[i*16:][:16])
						}
					}
					got := slices.Clone(c)
					edgeAVX2(mh, k, a, b, got, ldc, alpha, add)
					for i := range got {
						if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
							t.Fatalf("%s: C[%d][%d] = %v, kernel6x16 gives %v", name, i/ldc, i%ldc, got[i], want[i])
						}
					}
				}
			}
		}
	}
}

// TestEdgeAVX2Products checks the products of the avx2 kernel with its
// edge kernels against the same products without them, bit for bit, for
// every entry point that reaches the blocks (Sgemm at 1 and 2 cores,
// PackA, NewPackedA with SetCols and SgemmPacked, PackB, SgemmShareA):
// m of every remainder by 6, with one or more m blocks; n with whole
// groups of panels, leftovers and a partial panel; k within one block
// and past it; A and B plain and transposed; beta 0 (C full of NaN), 1
// and other (the tile path for the edge); strides padded.
func TestEdgeAVX2Products(t *testing.T) {
	withEdge, tileOnly := avx2Kernels(t)
	defer func(old *kernel) { forced = old }(forced)
	rng := rand.New(rand.NewPCG(83, 84))
	ms := []int{1, 2, 3, 4, 5, 7, 8, 16, 32, 33, 64, 149, 152, 290}
	ns := []int{1, 16, 31, 32, 48, 64, 80, 100, 128, 256}
	ks := []int{1, 5, 64, 256, 300, 1024}
	type run func(p *problem, c []float32)
	entries := []struct {
		name string
		f    run
	}{
		{"Sgemm", func(p *problem, c []float32) {
			Sgemm(p.tA, p.tB, p.m, p.n, p.k, p.alpha, p.a, p.lda, p.b, p.ldb, p.beta, c, p.ldc)
		}},
		{"SgemmSerial", func(p *problem, c []float32) {
			SgemmSerial(p.tA, p.tB, p.m, p.n, p.k, p.alpha, p.a, p.lda, p.b, p.ldb, p.beta, c, p.ldc)
		}},
		{"PackA", func(p *problem, c []float32) {
			PackA(p.tA, p.m, p.k, p.a, p.lda).SgemmSerial(p.tB, p.n, p.alpha, p.b, p.ldb, p.beta, c, p.ldc)
		}},
		{"SetCols+SgemmPacked", func(p *problem, c []float32) {
			pa := NewPackedA(p.m, p.k)
			fillCols(rng, pa, p.tA, p.k, p.a, p.lda)
			pa.SgemmPacked(PackB(p.tB, p.k, p.n, p.b, p.ldb), p.alpha, p.beta, c, p.ldc)
		}},
		{"PackB", func(p *problem, c []float32) {
			PackB(p.tB, p.k, p.n, p.b, p.ldb).Sgemm(p.tA, p.m, p.alpha, p.a, p.lda, p.beta, c, p.ldc)
		}},
		{"SgemmShareA", func(p *problem, c []float32) {
			SgemmShareA(p.tA, p.m, p.k, p.a, p.lda,
				ProductB{TB: p.tB, N: p.n, Alpha: p.alpha, B: p.b, Ldb: p.ldb, Beta: p.beta, C: c, Ldc: p.ldc})
		}},
	}
	for _, procs := range []int{1, 2} {
		old := runtime.GOMAXPROCS(procs)
		for i := 0; i < 300; i++ {
			m, n, k := ms[rng.IntN(len(ms))], ns[rng.IntN(len(ns))], ks[rng.IntN(len(ks))]
			beta := []float32{0, 1, -0.5}[i%3]
			p := newProblem(rng, rng.IntN(2) == 0, rng.IntN(2) == 0, m, n, k, []float32{1, 1.5}[rng.IntN(2)], beta, 3)
			e := entries[i%len(entries)]
			name := fmt.Sprintf("procs %d %s %v", procs, e.name, p)
			forced = tileOnly
			want := slices.Clone(p.c)
			e.f(p, want)
			forced = withEdge
			got := slices.Clone(p.c)
			e.f(p, got)
			for j := range want {
				if math.Float32bits(got[j]) != math.Float32bits(want[j]) {
					runtime.GOMAXPROCS(old)
					t.Fatalf("%s: C[%d][%d] = %v, without the edge kernels %v", name, j/p.ldc, j%p.ldc, got[j], want[j])
				}
			}
		}
		runtime.GOMAXPROCS(old)
	}
}

// BenchmarkEdgeAVX2 compares the avx2 kernel with and without its edge
// kernels on the products of an LSTM step (both operands packed, as
// lstmForward32 and lstmBackward32 run them): H_prev·R_gᵀ, batch × 256 ×
// 256 a gate, and dG·R, batch × 256 × 1024, for batches of 32 (5 tiles and
// 2 rows), 16 (2 and 4) and 64 (10 and 4); and 32 × 1024 × 1024, whose B
// (4 MB) streams from L3.
func BenchmarkEdgeAVX2(b *testing.B) {
	withEdge, tileOnly := avx2Kernels(&testing.T{})
	defer func(old *kernel) { forced = old }(forced)
	for _, s := range [][3]int{{32, 256, 256}, {32, 256, 1024}, {16, 256, 256}, {64, 256, 256}, {32, 1024, 1024}} {
		m, n, k := s[0], s[1], s[2]
		rng := rand.New(rand.NewPCG(1, 1))
		a, bm := randSlice(rng, m*k), randSlice(rng, k*n)
		c := make([]float32, m*n)
		for _, kn := range []*kernel{withEdge, tileOnly} {
			name := "edge"
			if kn.edge == nil {
				name = "tile"
			}
			forced = kn
			pa := PackA(false, m, k, a, k)
			pb := PackB(false, k, n, bm, n)
			b.Run(fmt.Sprintf("%dx%dx%d/%s", m, n, k, name), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					pa.SgemmPacked(pb, 1, 0, c, n)
				}
				b.ReportMetric(2*float64(m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
