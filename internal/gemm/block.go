package gemm

import (
	"fmt"
	"runtime"
	"sync"
)

// buffers holds one worker's packed blocks and the scratch tile of its
// edge tiles (kept here: a local array would escape to the heap through
// the kernel's function value).
type buffers struct {
	a, b []float32
	tile [maxTile]float32

	// A Gather's per-panel scratch (gatherB.pack): the tap masks of a
	// panel whose masks are not kept.
	hm, wm, masks []uint32
	split         []uint64
}

// pool keeps buffers for reuse. Unlike a sync.Pool it keeps them across
// garbage collections and whichever P a goroutine runs on, so a program
// that multiplies matrices in a loop allocates its buffers once: at most
// one set per goroutine that ever worked at the same time, each of at most
// (mcMax + ncMax)·kcMax floats of the kernel (about 4 MiB).
var pool freeList

type freeList struct {
	mu   sync.Mutex
	free []*buffers
}

// get returns a free set of buffers, or a new empty one.
func (l *freeList) get() *buffers {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n := len(l.free); n > 0 {
		b := l.free[n-1]
		l.free = l.free[:n-1]
		return b
	}
	return new(buffers)
}

// put makes b available to get.
func (l *freeList) put(b *buffers) {
	l.mu.Lock()
	l.free = append(l.free, b)
	l.mu.Unlock()
}

// grow returns s with length n, reallocating only when it is too short.
func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

// blocks returns the number of blocks and the block size (a multiple of
// unit) to cover total with blocks of at most limit, as evenly as possible.
func blocks(total, limit, unit int) (count, size int) {
	count = ceilDiv(total, limit)
	size = ceilDiv(ceilDiv(total, count), unit) * unit
	return ceilDiv(total, size), size
}

// serial computes p on the calling goroutine, packing into buf.
//
// When op(A) fits one mc block it is packed once per kc block and stays in
// L2 while small blocks of B are packed and consumed right away, from L1 and
// L2. Otherwise it runs the GotoBLAS loop nest: a kc×nc block of B is packed
// once (into L3) and reused by every mc block of A.
func (p *product) serial(buf *buffers) {
	m, n, k, kn := p.m, p.n, p.k, p.kern
	_, kc := blocks(k, kn.kcMax, 1)
	_, mc := blocks(m, kn.mcMax, kn.mr)
	nlim := kn.ncMax
	if mc >= m {
		nlim = max(kn.nr, kn.ncSmall/kc)
	}
	_, nc := blocks(n, nlim, kn.nr)
	buf.a = grow(buf.a, mc*kc)
	buf.b = grow(buf.b, kc*nc)

	// blockA returns the packed mb×kb block of op(A) at (ic, pc): packed
	// now into buf.a, or packed beforehand (PackedA).
	blockA := func(ic, pc, mb, kb int) []float32 {
		if p.pre != nil {
			return p.pre.block(ic, pc)
		}
		p.packA(buf.a, ic, pc, mb, kb)
		return buf.a
	}
	if mc >= m {
		for pc := 0; pc < k; pc += kc {
			kb := min(kc, k-pc)
			pa := blockA(0, pc, m, kb)
			for jc := 0; jc < n; jc += nc {
				nb := min(nc, n-jc)
				p.packB(buf, pc, jc, kb, nb)
				p.macro(buf, pa, 0, jc, pc, m, nb, kb)
			}
		}
		return
	}
	for jc := 0; jc < n; jc += nc {
		nb := min(nc, n-jc)
		for pc := 0; pc < k; pc += kc {
			kb := min(kc, k-pc)
			p.packB(buf, pc, jc, kb, nb)
			for ic := 0; ic < m; ic += mc {
				mb := min(mc, m-ic)
				p.macro(buf, blockA(ic, pc, mb, kb), ic, jc, pc, mb, nb, kb)
			}
		}
	}
}

// PackedA is op(A) packed once for many products with different B (the
// weights of a convolution at inference): SgemmSerial then skips packing A.
// It is packed for the kernel in use when PackA runs, and its products use
// that kernel.
type PackedA struct {
	kern              *kernel
	m, k, kc, mc, nic int
	blocks            [][]float32 // by k block, then m block
}

// PackA packs op(A), m×k (tA: A is stored k×m), for PackedA.SgemmSerial.
func PackA(tA bool, m, k int, a []float32, lda int) *PackedA {
	if m < 0 || k < 0 {
		panic(fmt.Sprintf("gemm: negative dimension m=%d k=%d", m, k))
	}
	ar, ac := m, k
	if tA {
		ar, ac = k, m
	}
	checkMatrix("A", ar, ac, a, lda)
	// The layout is NewPackedA's; each block is packed whole.
	pa := NewPackedA(m, k)
	if m == 0 || k == 0 {
		return pa
	}
	p := product{tA: tA, m: m, k: k, a: a, lda: lda, kern: pa.kern}
	for pc := 0; pc < k; pc += pa.kc {
		kb := min(pa.kc, k-pc)
		for ic := 0; ic < m; ic += pa.mc {
			p.packA(pa.block(ic, pc), ic, pc, min(pa.mc, m-ic), kb)
		}
	}
	return pa
}

func (pa *PackedA) block(ic, pc int) []float32 { return pa.blocks[(pc/pa.kc)*pa.nic+ic/pa.mc] }

// SgemmSerial computes C = alpha*A*op(B) + beta*C with the packed A (m×k),
// op(B) k×n, on the caller's goroutine; the arguments mean what Sgemm's do.
func (pa *PackedA) SgemmSerial(tB bool, n int, alpha float32, b []float32, ldb int, beta float32, c []float32, ldc int) {
	m, k := pa.m, pa.k
	if n < 0 {
		panic(fmt.Sprintf("gemm: negative dimension n=%d", n))
	}
	br, bc := k, n
	if tB {
		br, bc = n, k
	}
	checkMatrix("B", br, bc, b, ldb)
	checkMatrix("C", m, n, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scale(m, n, beta, c, ldc)
		return
	}
	p := product{tB: tB, m: m, n: n, k: k, alpha: alpha, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, pre: pa, kern: pa.kern}
	buf := pool.get()
	p.serial(buf)
	pool.put(buf)
}

// Sgemm is SgemmSerial split among up to runtime.GOMAXPROCS(0) goroutines
// when the product is large enough, as Sgemm splits products; the blocks
// are ranges of columns of C, each using the whole packed A, or bands of
// rows when the columns are too few to split.
func (pa *PackedA) Sgemm(tB bool, n int, alpha float32, b []float32, ldb int, beta float32, c []float32, ldc int) {
	procs := runtime.GOMAXPROCS(0)
	pm, pn := gridRows(pa.kern, pa.m, n, pa.k, procs, 1)
	if pm*pn <= 1 {
		// A narrow product (one tile's columns: a classifier's
		// transposed product at a small batch) splits by rows.
		pm = rowBandsFor(pa.kern, pa.m, n, pa.k, procs)
	}
	if pm*pn <= 1 || alpha == 0 {
		pa.SgemmSerial(tB, n, alpha, b, ldb, beta, c, ldc)
		return
	}
	br, bc := pa.k, n
	if tB {
		br, bc = n, pa.k
	}
	checkMatrix("B", br, bc, b, ldb)
	checkMatrix("C", pa.m, n, c, ldc)
	p := product{tB: tB, m: pa.m, n: n, k: pa.k, alpha: alpha, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, pre: pa, kern: pa.kern}
	if pn == 1 {
		pa.rowBands(&p, pm)
		return
	}
	p.parallel(pm, pn, procs)
}

// rowBandsFor is how many bands of rows rowBands cuts a product of m×n×k
// into for procs workers: two a worker (so that one that starts late
// takes fewer), none (1) where grid would keep the product on one
// goroutine or the rows are too few.
func rowBandsFor(kn *kernel, m, n, k, procs int) int {
	if procs <= 1 || m*n*k < parallelMin {
		return 1
	}
	return max(1, min(ceilDiv(m, kn.mr), 2*procs, m*n*k/blockMin))
}

// rowBands computes p (p.pre == pa) in bands of whole row tiles, one
// task a band: each band packs op(B) for itself and takes its rows of
// pa's blocks, so bands need not start at pa's blocks (mc rows) as
// product.block's do.
func (pa *PackedA) rowBands(p *product, bands int) {
	mt := ceilDiv(pa.m, pa.kern.mr)
	Parallel(bands, func(t int) {
		i0 := min(pa.m, mt*t/bands*pa.kern.mr)
		i1 := min(pa.m, mt*(t+1)/bands*pa.kern.mr)
		if i0 == i1 {
			return
		}
		buf := pool.get()
		pa.rows(p, i0, i1, buf)
		pool.put(buf)
	})
}

// rows computes rows [i0, i1) of p (p.pre == pa; i0 a multiple of the
// row tile, i1 too or m) with buf: serial's loops over pa's blocks,
// restricted to those rows. Each element gets the same k blocks in the
// same order by the same kernel (the last rows, fewer than a tile, by its
// edge where serial takes it), so the bits are serial's.
func (pa *PackedA) rows(p *product, i0, i1 int, buf *buffers) {
	kn := pa.kern
	m, n, k, kc, mc := pa.m, p.n, pa.k, pa.kc, pa.mc
	nlim := kn.ncMax
	if mc >= m {
		nlim = max(kn.nr, kn.ncSmall/kc)
	}
	_, nc := blocks(n, nlim, kn.nr)
	buf.b = grow(buf.b, kc*nc)
	for jc := 0; jc < n; jc += nc {
		nb := min(nc, n-jc)
		for pc := 0; pc < k; pc += kc {
			kb := min(kc, k-pc)
			p.packB(buf, pc, jc, kb, nb)
			for ic := i0 / mc * mc; ic < i1; ic += mc {
				r0, r1 := max(i0, ic)-ic, min(i1, ic+mc, m)-ic
				p.macro(buf, pa.block(ic, pc)[r0*kb:], ic+r0, jc, pc, r1-r0, nb, kb)
			}
		}
	}
}

// packA packs the mb×kb block of op(A) at (ic, pc) into dst.
func (p *product) packA(dst []float32, ic, pc, mb, kb int) {
	if p.tA {
		packA(p.kern, dst, true, p.a[pc*p.lda+ic:], p.lda, mb, kb)
	} else {
		packA(p.kern, dst, false, p.a[ic*p.lda+pc:], p.lda, mb, kb)
	}
}

// packASum is packA that also adds each row's kb values to sums[:mb]
// (packASum's order).
func (p *product) packASum(dst []float32, ic, pc, mb, kb int, sums []float32) {
	if p.tA {
		packASum(p.kern, dst, true, p.a[pc*p.lda+ic:], p.lda, mb, kb, sums)
	} else {
		packASum(p.kern, dst, false, p.a[ic*p.lda+pc:], p.lda, mb, kb, sums)
	}
}

// packB packs the kb×nb block of op(B) at (pc, jc) into buf.b.
func (p *product) packB(buf *buffers, pc, jc, kb, nb int) {
	dst := buf.b
	if p.gb.g != nil {
		p.gb.pack(p.kern, buf, pc, jc, kb, nb)
		return
	}
	if p.bBlocks != nil {
		p.packBBlocks(dst, pc, jc, kb, nb)
		return
	}
	if p.tB {
		packB(p.kern, dst, true, p.b[jc*p.ldb+pc:], p.ldb, kb, nb)
	} else {
		packB(p.kern, dst, false, p.b[pc*p.ldb+jc:], p.ldb, kb, nb)
	}
}

// packBBlocks is packB for op(B) held by blocks of rows (bBlocks): the
// rows of the k block that lie in one source block go into every panel at
// once, a panel at a time (a panel's rows are kb·nr apart from the next
// panel's, rowsB's own stride only when they are the whole block). The
// packed values are those packB writes from the same matrix stored whole.
func (p *product) packBBlocks(dst []float32, pc, jc, kb, nb int) {
	kn := p.kern
	nr := kn.nr
	s := nb / nr * nr
	for p0 := pc; p0 < pc+kb; {
		q, r := p0/p.bRows, p0%p.bRows
		rows := min(p.bRows-r, pc+kb-p0)
		src := p.bBlocks[q][r*p.ldb+jc:]
		o := (p0 - pc) * nr
		if rows == kb {
			kn.rowsB(kb, s/nr, src, p.ldb, dst)
		} else {
			for j := 0; j < s; j += nr {
				kn.rowsB(rows, 1, src[j:], p.ldb, dst[j*kb+o:])
			}
		}
		if s < nb { // the last panel, zero past nb
			d := dst[s*kb+o : s*kb+o+rows*nr]
			clear(d)
			for i := range rows {
				copy(d[i*nr:i*nr+nb-s], src[i*p.ldb+s:i*p.ldb+nb])
			}
		}
		p0 += rows
	}
}

// macro adds the product of the packed mb×kb block of A and the kb×nb
// block of B in buf.b into the block of C at (ic, jc), one mr×nr micro-tile
// at a time. The first k block (pc == 0) applies beta; later ones
// accumulate. Edge tiles go through buf.tile.
func (p *product) macro(buf *buffers, pa []float32, ic, jc, pc, mb, nb, kb int) {
	pb, tile := buf.b, buf.tile[:]
	kn := p.kern
	mr, nr, micro := kn.mr, kn.nr, kn.micro
	alpha, beta := p.alpha, p.beta
	if pc > 0 {
		beta = 1
	}
	ldc := p.ldc
	c := p.c[ic*ldc+jc:]
	// The last rows, when fewer than mr, go through the kernel's edge if it
	// has one (for beta 0 or 1), np whole panels of B at a time: the
	// panels then go by groups of np, each row tile over the group's
	// panels in turn, so that they stay in L1 for the edge (the order of
	// the tiles does not change an element's sum). The columns past the
	// last whole group keep the tile.
	np, grouped := 1, 0
	if me := mb % mr; me > 0 && kn.edge != nil && (beta == 0 || beta == 1) {
		np = kn.edgePanels[me]
		grouped = nb / (np * nr) * np * nr
	}
	for jg := 0; jg < nb; jg += np * nr {
		je := min(nb, jg+np*nr)
		for ir := 0; ir < mb; ir += mr {
			mh := min(mr, mb-ir)
			ap := pa[ir*kb : (ir+mr)*kb]
			if mh < mr && jg < grouped {
				for jr := jg; jr < je && p.pf.ranges != nil; jr += nr {
					p.pf.step() // a step a tile, as below
				}
				kn.edge(mh, kb, ap, pb[jg*kb:je*kb], c[ir*ldc+jg:], ldc, alpha, beta != 0)
				continue
			}
			for jr := jg; jr < je; jr += nr {
				if p.pf.ranges != nil {
					p.pf.step()
				}
				nw := min(nr, nb-jr)
				bp := pb[jr*kb : (jr+nr)*kb]
				if mh == mr && nw == nr {
					micro(kb, ap, bp, c[ir*ldc+jr:(ir+mr-1)*ldc+jr+nr], ldc, alpha, beta)
					continue
				}
				micro(kb, ap, bp, tile[:mr*nr], nr, alpha, 0)
				for i := range mh {
					row := c[(ir+i)*ldc+jr:][:nw]
					t := tile[i*nr:][:nw]
					if beta == 0 {
						copy(row, t)
						continue
					}
					for j := range row {
						row[j] = t[j] + beta*row[j]
					}
				}
			}
		}
	}
}

// Tiles returns the rows and columns of the micro-kernel's tile of the
// kernel in use (8×32 with AVX-512, 6×16 with AVX2 and the generic one):
// callers choose between orientations of a product by which has whole
// tiles.
func Tiles() (mr, nr int) {
	kn := current()
	return kn.mr, kn.nr
}
