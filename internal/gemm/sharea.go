package gemm

import (
	"fmt"
	"runtime"
)

// ProductB is one of the products of SgemmShareA: C = alpha*op(A)*op(B) +
// beta*C with op(B) k×N (TB: B is stored N×k), the arguments meaning what
// Sgemm's do.
type ProductB struct {
	TB    bool
	N     int
	Alpha float32
	B     []float32
	Ldb   int
	Beta  float32
	C     []float32
	Ldc   int
	// Blocks, when set, holds op(B) (TB false) instead of B: rows
	// [q·BlockRows, (q+1)·BlockRows) are Blocks[q]'s, each BlockRows×N
	// with row stride Ldb, len(Blocks)·BlockRows = k. An LSTM's d R reads
	// each step's previous state where the forward left it, without a
	// copy of all of them into one matrix.
	Blocks    [][]float32
	BlockRows int
}

// checkBlocks panics unless p.Blocks holds op(B), k×p.N, by blocks.
func (p *ProductB) checkBlocks(k int) {
	if p.TB || p.BlockRows <= 0 || len(p.Blocks)*p.BlockRows != k {
		panic(fmt.Sprintf("gemm: %d blocks of %d rows (transposed %v) for op(B) of %d rows", len(p.Blocks), p.BlockRows, p.TB, k))
	}
	for _, b := range p.Blocks {
		checkMatrix("B", p.BlockRows, p.N, b, p.Ldb)
	}
}

// whole is op(B) of p.Blocks copied into one k×N matrix (the products
// that run apart).
func (p *ProductB) whole() []float32 {
	b := make([]float32, len(p.Blocks)*p.BlockRows*p.Ldb)
	for q, blk := range p.Blocks {
		for i := range p.BlockRows {
			copy(b[(q*p.BlockRows+i)*p.Ldb:][:p.N], blk[i*p.Ldb:][:p.N])
		}
	}
	return b
}

// SgemmShareA computes each product of ps with the same op(A), m×k (tA: A
// is stored k×m), packing each block of A once for all of them: an LSTM's
// d W = dGᵀ·X and d R = dGᵀ·H_prev share dGᵀ, whose packing is a third of
// their time. Each element of each C gets the bits Sgemm gives it (the
// same k blocks and micro-kernel). The rows of C are split among up to
// GOMAXPROCS goroutines when the products are large enough; each packs its
// rows of A and all of each B. Products wider than a B block of the kernel,
// or with k == 0 or alpha == 0, run as separate Sgemm calls.
func SgemmShareA(tA bool, m, k int, a []float32, lda int, ps ...ProductB) {
	SgemmShareASums(tA, m, k, a, lda, nil, ps...)
}

// SgemmShareASums is SgemmShareA that also adds to sums[i], for each row i
// of op(A), that row's k elements one after the other in order: sums gets
// the bits of adding A's rows to it one by one (tA), here while A is
// packed, which reads them anyway. An LSTM's bias gradient is such a sum
// of d G's rows, and d G is the shared op(A) of d W and d R. sums nil:
// none; else it must hold m elements. The sums are taken during the
// packing where the kernel packs with them (SumsWhilePacking), else from
// the packed panels.
func SgemmShareASums(tA bool, m, k int, a []float32, lda int, sums []float32, ps ...ProductB) {
	if m < 0 || k < 0 {
		panic(fmt.Sprintf("gemm: negative dimension m=%d k=%d", m, k))
	}
	if sums != nil && len(sums) < m {
		panic(fmt.Sprintf("gemm: %d sums for %d rows", len(sums), m))
	}
	kn := current()
	work, apart := 0, k == 0
	for _, p := range ps {
		if p.Blocks != nil {
			p.checkBlocks(k)
			checkMatrix("C", m, p.N, p.C, p.Ldc)
			if tA {
				checkMatrix("A", k, m, a, lda)
			} else {
				checkMatrix("A", m, k, a, lda)
			}
		} else {
			check(tA, p.TB, m, p.N, k, a, lda, p.B, p.Ldb, p.C, p.Ldc)
		}
		work += m * p.N * k
		apart = apart || p.N > kn.ncMax || p.Alpha == 0
	}
	if sums != nil && (apart || m == 0 || len(ps) == 0) {
		if tA {
			checkMatrix("A", k, m, a, lda)
		} else {
			checkMatrix("A", m, k, a, lda)
		}
		sumRows(tA, m, k, a, lda, sums)
	}
	if apart {
		for _, p := range ps {
			b := p.B
			if p.Blocks != nil {
				b = p.whole()
			}
			Sgemm(tA, p.TB, m, p.N, k, p.Alpha, a, lda, b, p.Ldb, p.Beta, p.C, p.Ldc)
		}
		return
	}
	if m == 0 || len(ps) == 0 {
		return
	}
	prods := make([]product, len(ps))
	for q, p := range ps {
		prods[q] = product{tA: tA, tB: p.TB, m: m, n: p.N, k: k, alpha: p.Alpha, a: a, lda: lda,
			b: p.B, ldb: p.Ldb, beta: p.Beta, c: p.C, ldc: p.Ldc, kern: kn, bBlocks: p.Blocks, bRows: p.BlockRows}
	}
	tasks := 1
	if procs := runtime.GOMAXPROCS(0); procs > 1 && work >= parallelMin {
		tasks = min(procs, ceilDiv(m, kn.mr))
	}
	rows := ceilDiv(ceilDiv(m, kn.mr), tasks) * kn.mr
	Parallel(tasks, func(t int) {
		if i0, i1 := t*rows, min(m, (t+1)*rows); i0 < i1 {
			shareA(prods, i0, i1, sums)
		}
	})
}

// sumRows adds to sums[i] the elements of row i of op(A), m×k, in order.
func sumRows(tA bool, m, k int, a []float32, lda int, sums []float32) {
	for p := range k {
		for i := range m {
			if tA {
				sums[i] += a[p*lda+i]
			} else {
				sums[i] += a[i*lda+p]
			}
		}
	}
}

// SumsWhilePacking says whether the kernel in use takes SgemmShareASums'
// sums while it packs A stored transposed (no pass of their own over the
// packed panels).
func SumsWhilePacking() bool { return current().rowsASum != nil }

// shareA computes rows [i0, i1) of each product of ps (all with the same
// A): for each k block it packs every B whole, then each mc block of A's
// rows once, and multiplies it with each B. With sums, it adds each row
// of A's blocks to sums[i] as it packs them, the k blocks in order.
func shareA(ps []product, i0, i1 int, sums []float32) {
	kn, k := ps[0].kern, ps[0].k
	_, kc := blocks(k, kn.kcMax, 1)
	_, mc := blocks(i1-i0, kn.mcMax, kn.mr)
	bufs := make([]*buffers, len(ps))
	for q := range bufs {
		bufs[q] = pool.get()
		defer pool.put(bufs[q])
	}
	pa := grow(bufs[0].a, mc*kc)
	bufs[0].a = pa
	for pc := 0; pc < k; pc += kc {
		kb := min(kc, k-pc)
		for q := range ps {
			bufs[q].b = grow(bufs[q].b, kb*ceilDiv(ps[q].n, kn.nr)*kn.nr)
			ps[q].packB(bufs[q], pc, 0, kb, ps[q].n)
		}
		for ic := i0; ic < i1; ic += mc {
			mb := min(mc, i1-ic)
			if sums != nil {
				ps[0].packASum(pa, ic, pc, mb, kb, sums[ic:ic+mb])
			} else {
				ps[0].packA(pa, ic, pc, mb, kb)
			}
			for q := range ps {
				ps[q].macro(bufs[q], pa, ic, 0, pc, mb, ps[q].n, kb)
			}
		}
	}
}
