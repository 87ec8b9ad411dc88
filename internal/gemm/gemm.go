package gemm

import (
	"fmt"
	"runtime"
)

// Sgemm computes C = alpha*op(A)*op(B) + beta*C. op(A) is m×k, op(B) is k×n,
// C is m×n with row stride ldc; all matrices are row-major.
//
// With tA, A is stored k×m (row stride lda) and op(A) = Aᵀ; otherwise A is
// m×k with row stride lda. Likewise B is n×k with tB and k×n without.
// beta == 0 overwrites C without reading it, so NaNs in C do not propagate.
// Sgemm panics if a dimension, stride or slice length is invalid.
//
// Large products are split among up to runtime.GOMAXPROCS(0) goroutines;
// small ones run on the caller's goroutine.
func Sgemm(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	sgemm(true, tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// SgemmSerial is Sgemm on the caller's goroutine only: for callers that
// run several products at once, one per core.
func SgemmSerial(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	sgemm(false, tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// sgemm is Sgemm, on several goroutines when parallel and the product is
// large enough.
func sgemm(parallel, tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	check(tA, tB, m, n, k, a, lda, b, ldb, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scale(m, n, beta, c, ldc)
		return
	}
	p := product{tA: tA, tB: tB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, kern: current()}
	if parallel {
		if pm, pn := grid(p.kern, m, n, k, runtime.GOMAXPROCS(0)); pm*pn > 1 {
			p.parallel(pm, pn, runtime.GOMAXPROCS(0))
			return
		}
	}
	buf := pool.get()
	p.serial(buf)
	pool.put(buf)
}

// product is the arguments of one Sgemm call, already checked, or of one
// block of it.
type product struct {
	tA, tB  bool
	m, n, k int
	alpha   float32
	a       []float32
	lda     int
	b       []float32
	ldb     int
	beta    float32
	c       []float32
	ldc     int
	pre     *PackedA // op(A) packed beforehand (a is then unused)
	gb      gatherB  // B gathered from a source when gb.g != nil (b is then unused)
	kern    *kernel  // the micro-kernel and its packing and blocking
	// op(B) (tB false) by blocks of bRows rows, row stride ldb, when
	// bBlocks != nil (b is then unused; SgemmShareA only, never cut by
	// block).
	bBlocks [][]float32
	bRows   int
	pf      prefetcher // lines to ask for along the kernel's calls (none: no ranges)
}

// block returns the part of p that computes rows [i0, i1) and columns
// [j0, j1) of C.
func (p *product) block(i0, i1, j0, j1 int) product {
	q := *p
	q.m, q.n = i1-i0, j1-j0
	if p.tA {
		q.a = p.a[i0:]
	} else {
		q.a = p.a[i0*p.lda:]
	}
	switch {
	case p.gb.g != nil:
		q.gb.j0 += j0
	case p.tB:
		q.b = p.b[j0*p.ldb:]
	default:
		q.b = p.b[j0:]
	}
	q.c = p.c[i0*p.ldc+j0:]
	return q
}

// check panics unless the arguments describe valid matrices.
func check(tA, tB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("gemm: negative dimension m=%d n=%d k=%d", m, n, k))
	}
	ar, ac := m, k
	if tA {
		ar, ac = k, m
	}
	br, bc := k, n
	if tB {
		br, bc = n, k
	}
	checkMatrix("A", ar, ac, a, lda)
	checkMatrix("B", br, bc, b, ldb)
	checkMatrix("C", m, n, c, ldc)
}

// checkMatrix panics unless s holds a rows×cols row-major matrix of stride ld.
func checkMatrix(name string, rows, cols int, s []float32, ld int) {
	if ld < max(1, cols) {
		panic(fmt.Sprintf("gemm: %s is %d×%d but its row stride is %d", name, rows, cols, ld))
	}
	if rows == 0 || cols == 0 {
		return
	}
	if need := (rows-1)*ld + cols; len(s) < need {
		panic(fmt.Sprintf("gemm: %s is %d×%d with row stride %d and needs %d elements, has %d", name, rows, cols, ld, need, len(s)))
	}
}

// scale sets C = beta*C, writing zeros without reading C when beta is zero.
func scale(m, n int, beta float32, c []float32, ldc int) {
	for i := range m {
		row := c[i*ldc : i*ldc+n]
		switch beta {
		case 0:
			clear(row)
		case 1:
		default:
			for j := range row {
				row[j] *= beta
			}
		}
	}
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }
