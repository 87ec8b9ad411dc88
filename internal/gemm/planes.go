package gemm

import (
	"fmt"
	"sync"
)

// Products over a batch of planes: a 1x1 convolution of nb samples is, for
// each sample s, C_s = A·B_s with B_s the sample's k×P input (k channels of
// P positions) and C_s its m×P output. SgemmPlanes computes them as one
// product of nb·P columns, packing B's columns straight from the samples
// (no im2col matrix gathering them first) and storing C's tiles into the
// samples' planes, so that small planes (2x2 to 8x8) make one wide product
// rather than nb narrow ones. Each element is summed as SgemmSerial sums
// it (the same packed A, k blocks and micro-kernel), so the bits are those
// of the per-sample products.

// SgemmPlanes sets, for s < nb, the m×P matrix at c[s*cs:] (row stride P)
// to A times the k×P matrix at b[s*bs:] (row stride P), on the caller's
// goroutine.
func (pa *PackedA) SgemmPlanes(nb, P int, b []float32, bs int, c []float32, cs int) {
	pa.SgemmPlanesRows(0, pa.m, nb, P, b, bs, c, cs)
}

// RowTile is the row multiple at which SgemmPlanesRows may split the rows.
func (pa *PackedA) RowTile() int { return pa.kern.mr }

// ColTile is the columns of the micro-kernel's tile: a product of fewer
// columns computes a partly empty tile.
func (pa *PackedA) ColTile() int { return pa.kern.nr }

// SgemmPlanesRows is SgemmPlanes for rows [i0, i1) of A and the C planes
// only (i0 a multiple of RowTile, i1 too or m): callers split a product
// among goroutines by rows when its planes are too few to split.
func (pa *PackedA) SgemmPlanesRows(i0, i1, nb, P int, b []float32, bs int, c []float32, cs int) {
	pa.sgemmPlanes(i0, i1, nb, P, b, bs, c, cs, nil, nil, nil)
}

// Epilogue is what SgemmPlanesRowsEpi applies to each sum of C after its
// last k block, in the micro-kernel's registers: the bias of its row
// added (x + Bias[i]; -0 leaves x as it is) and, with Clip, the result
// clamped to [Lo, Hi] as max(Lo, ·) then min(Hi, ·) with a NaN sum kept.
type Epilogue struct {
	Bias   []float32 // one a row of A
	Lo, Hi float32
	Clip   bool
}

// epiFunc is a micro-kernel with an epilogue (alpha 1): bias holds the
// tile's rows' biases; it reports an exact hit of a bound.
type epiFunc func(k int, a, b, c []float32, ldc int, beta float32, bias []float32, e *Epilogue) bool

// epiSplitFunc is epiFunc reading C (beta != 0) from cin and storing the
// tile's two halves of 16 columns at c0 and c1.
type epiSplitFunc func(k int, a, b, cin []float32, ldcin int, c0, c1 []float32, ldc int, beta float32, bias []float32, e *Epilogue) bool

// epiCall and splitCall are the kernels that SgemmPlanesRowsEpi hands to
// sgemmPlanes, noting any exact hit.
type (
	epiCall   func(k int, a, b, c []float32, ldc int, beta float32, bias []float32)
	splitCall func(k int, a, b, cin []float32, ldcin int, c0, c1 []float32, ldc int, beta float32, bias []float32)
)

// SgemmPlanesRowsEpi is SgemmPlanesRows followed by e, applied by the
// micro-kernel before it stores each tile of the last k block rather than
// in a pass of its own; the sums are those of SgemmPlanesRows. It reports
// ran false, having done nothing, when the kernel has no such variant or a
// tile would not be whole (rows [i0, i1) not whole tiles, or planes that
// tiles straddle in a block of columns not a multiple of the tile's), and
// hit true when a sum equalled e.Lo or e.Hi exactly with e.Clip (every
// tile stored clamped all the same).
func (pa *PackedA) SgemmPlanesRowsEpi(i0, i1, nb, P int, b []float32, bs int, c []float32, cs int, e *Epilogue) (ran, hit bool) {
	kn := pa.kern
	micro := epiMicro(kn)
	if micro == nil || len(e.Bias) < pa.m || (i1-i0)%kn.mr != 0 || nb <= 0 || P <= 0 || pa.k == 0 {
		return false, false
	}
	if P%kn.nr != 0 {
		// The flat blocks: nc columns (a multiple of nr) but the last.
		if (nb*P)%kn.nr != 0 {
			return false, false
		}
	}
	var split splitCall
	// Planes of half a tile's columns: the last k block's tiles go
	// straight to the two samples' planes, not through the flat block.
	if sk := epiSplit(kn); sk != nil && 2*P == kn.nr {
		split = func(k int, a, b, cin []float32, ldcin int, c0, c1 []float32, ldc int, beta float32, bias []float32) {
			if sk(k, a, b, cin, ldcin, c0, c1, ldc, beta, bias, e) {
				hit = true
			}
		}
	}
	pa.sgemmPlanes(i0, i1, nb, P, b, bs, c, cs, e, func(k int, a, b, c []float32, ldc int, beta float32, bias []float32) {
		if micro(k, a, b, c, ldc, beta, bias, e) {
			hit = true
		}
	}, split)
	return true, hit
}

// sgemmPlanes is SgemmPlanesRows, with epi (when not nil) computing the
// tiles of the last k block instead of the micro-kernel, every tile whole,
// and split (when not nil) those of the flat blocks, stored in the planes.
func (pa *PackedA) sgemmPlanes(i0, i1, nb, P int, b []float32, bs int, c []float32, cs int, e *Epilogue, epi epiCall, split splitCall) {
	m, k := pa.m, pa.k
	if nb < 0 || P < 0 {
		panic(fmt.Sprintf("gemm: negative dimension nb=%d P=%d", nb, P))
	}
	if i0 < 0 || i1 > m || i0 > i1 || i0%pa.kern.mr != 0 || (i1 != m && i1%pa.kern.mr != 0) {
		panic(fmt.Sprintf("gemm: rows [%d, %d) of %d, tile %d", i0, i1, m, pa.kern.mr))
	}
	if nb == 0 || P == 0 || i0 == i1 {
		return
	}
	if bs < k*P || cs < m*P || len(b) < (nb-1)*bs+k*P || len(c) < (nb-1)*cs+m*P {
		panic(fmt.Sprintf("gemm: planes of %d×%d and %d×%d, strides %d and %d, in slices of %d and %d", k, P, m, P, bs, cs, len(b), len(c)))
	}
	if k == 0 {
		for s := range nb {
			clear(c[s*cs+i0*P : s*cs+i1*P])
		}
		return
	}
	kn := pa.kern
	n := nb * P
	kc, mc := pa.kc, pa.mc
	nlim := kn.ncMax
	if mc >= m {
		nlim = max(kn.nr, kn.ncSmall/kc)
	}
	_, nc := blocks(n, nlim, kn.nr)
	buf := pool.get()
	defer pool.put(buf)
	buf.b = grow(buf.b, kc*nc)
	pl := planes{kn: kn, P: P, b: b, bs: bs, c: c, cs: cs}
	// Planes that tiles straddle (P not a multiple of nr): the block's
	// product goes to a flat matrix of nbk columns, scattered into the
	// planes after its last k block, rather than through the edge tile
	// at every k block.
	var flat *[]float32
	if P%kn.nr != 0 {
		flat = flatPool.Get().(*[]float32)
		defer flatPool.Put(flat)
		*flat = grow(*flat, (i1-i0)*nc)
	}
	for jc := 0; jc < n; jc += nc {
		nbk := min(nc, n-jc)
		fp := product{m: i1 - i0, n: nbk, k: k, alpha: 1, ldc: nbk, kern: kn}
		if flat != nil {
			fp.c = (*flat)[:(i1-i0)*nbk]
		}
		for pc := 0; pc < k; pc += kc {
			kb := min(kc, k-pc)
			pl.packB(buf.b, pc, jc, kb, nbk)
			for ic := i0 / mc * mc; ic < i1; ic += mc {
				// The block's rows within [i0, i1): whole panels of mr.
				r0, r1 := max(i0, ic)-ic, min(i1, ic+mc, m)-ic
				if epi != nil && pc+kb == k {
					if split != nil {
						flatSplit(&fp, &pl, buf, pa.block(ic, pc)[r0*kb:], ic+r0-i0, ic+r0, jc, pc, r1-r0, nbk, kb, e.Bias[ic+r0:], split)
						continue
					}
					if flat != nil {
						flatEpi(&fp, buf, pa.block(ic, pc)[r0*kb:], ic+r0-i0, pc, r1-r0, nbk, kb, e.Bias[ic+r0:], epi)
						continue
					}
					pl.macroEpi(buf, pa.block(ic, pc)[r0*kb:], ic+r0, jc, pc, r1-r0, nbk, kb, e.Bias[ic+r0:], epi)
					continue
				}
				if flat != nil {
					fp.macro(buf, pa.block(ic, pc)[r0*kb:], ic+r0-i0, 0, pc, r1-r0, nbk, kb)
					continue
				}
				pl.macro(buf, pa.block(ic, pc)[r0*kb:], ic+r0, jc, pc, r1-r0, nbk, kb)
			}
		}
		if flat != nil && split == nil {
			pl.scatter(fp.c, i0, i1, jc, nbk)
		}
	}
}

// flatPool keeps SgemmPlanesRows's flat matrices.
var flatPool = sync.Pool{New: func() any { return new([]float32) }}

// scatter copies rows [i0, i1) of the flat block of columns [jc, jc+nbk)
// into the planes.
func (pl *planes) scatter(flat []float32, i0, i1, jc, nbk int) {
	P := pl.P
	if pl.whole() {
		s := jc / P
		copyBlocks(pl.c[s*pl.cs+i0*P:], flat, i1-i0, nbk/P, P, P, pl.cs, nbk, P)
		return
	}
	for t := 0; t < nbk; {
		s, pos := (jc+t)/P, (jc+t)%P
		run := min(nbk-t, P-pos)
		dst := pl.c[s*pl.cs+pos:]
		for i := i0; i < i1; i++ {
			src := flat[(i-i0)*nbk+t:][:run]
			d := dst[i*P:][:run]
			if run == 4 {
				d[0], d[1], d[2], d[3] = src[0], src[1], src[2], src[3]
				continue
			}
			copy(d, src)
		}
		t += run
	}
}

// planes is the B and C of a SgemmPlanes call.
type planes struct {
	kn *kernel
	P  int
	b  []float32
	bs int
	c  []float32
	cs int
}

// whole reports whether every panel and flat block holds whole samples:
// P a multiple of 4 that divides nr (the blocks start at multiples of nr).
func (pl *planes) whole() bool { return pl.P%4 == 0 && pl.kn.nr%pl.P == 0 }

// packB packs the kb×nbk block of B at (pc, jc) into dst as packB does,
// column j being position j%P of sample j/P.
func (pl *planes) packB(dst []float32, pc, jc, kb, nbk int) {
	nr, P := pl.kn.nr, pl.P
	for j0 := 0; j0 < nbk; j0 += nr {
		w := min(nr, nbk-j0)
		d := dst[j0*kb : (j0+nr)*kb]
		col := jc + j0
		if s, pos := col/P, col%P; w == nr && pos+nr <= P {
			pl.kn.rowsB(kb, 1, pl.b[s*pl.bs+pc*P+pos:], P, d)
			continue
		}
		if w < nr {
			clear(d)
		}
		if pl.whole() {
			// Whole samples (P divides nr and w): row p of the panel is
			// row p of each sample's block, P floats apiece.
			s := col / P
			copyBlocks(d, pl.b[s*pl.bs+pc*P:], kb, w/P, P, nr, P, P, pl.bs)
			continue
		}
		for t := 0; t < w; {
			s, pos := (col+t)/P, (col+t)%P
			run := min(w-t, P-pos)
			src := pl.b[s*pl.bs+pc*P+pos:]
			switch run {
			case 4:
				for p := range kb {
					dd, ss := d[p*nr+t:][:4], src[p*P:][:4]
					dd[0], dd[1], dd[2], dd[3] = ss[0], ss[1], ss[2], ss[3]
				}
			default:
				for p := range kb {
					copy(d[p*nr+t:][:run], src[p*P:][:run])
				}
			}
			t += run
		}
	}
}

// macro is product.macro for the planes: a tile within one sample's plane
// is stored there directly, any other through buf.tile, row by row and
// sample by sample.
func (pl *planes) macro(buf *buffers, pa []float32, ic, jc, pc, mb, nbk, kb int) {
	pb, tile := buf.b, buf.tile[:]
	kn, P := pl.kn, pl.P
	mr, nr, micro := kn.mr, kn.nr, kn.micro
	var beta float32
	if pc > 0 {
		beta = 1
	}
	for jr := 0; jr < nbk; jr += nr {
		nw := min(nr, nbk-jr)
		bp := pb[jr*kb : (jr+nr)*kb]
		col := jc + jr
		s0, pos0 := col/P, col%P
		direct := nw == nr && pos0+nr <= P
		for ir := 0; ir < mb; ir += mr {
			mh := min(mr, mb-ir)
			ap := pa[ir*kb : (ir+mr)*kb]
			if direct && mh == mr {
				base := s0*pl.cs + (ic+ir)*P + pos0
				micro(kb, ap, bp, pl.c[base:base+(mr-1)*P+nr], P, 1, beta)
				continue
			}
			micro(kb, ap, bp, tile[:mr*nr], nr, 1, 0)
			for t := 0; t < nw; {
				s, pos := (col+t)/P, (col+t)%P
				run := min(nw-t, P-pos)
				for i := range mh {
					row := pl.c[s*pl.cs+(ic+ir+i)*P+pos:][:run]
					tt := tile[i*nr+t:][:run]
					if beta == 0 {
						copy(row, tt)
						continue
					}
					for j := range row {
						row[j] = tt[j] + beta*row[j]
					}
				}
				t += run
			}
		}
	}
}

// flatEpi is fp.macro (columns from 0) by epi: every tile whole, row ic of
// the flat block the first, bias from the block's first row.
func flatEpi(fp *product, buf *buffers, pa []float32, ic, pc, mb, nbk, kb int, bias []float32, epi epiCall) {
	mr, nr := fp.kern.mr, fp.kern.nr
	var beta float32
	if pc > 0 {
		beta = 1
	}
	ldc := fp.ldc
	c := fp.c[ic*ldc:]
	for jr := 0; jr < nbk; jr += nr {
		bp := buf.b[jr*kb : (jr+nr)*kb]
		for ir := 0; ir < mb; ir += mr {
			epi(kb, pa[ir*kb:(ir+mr)*kb], bp, c[ir*ldc+jr:(ir+mr-1)*ldc+jr+nr], ldc, beta, bias[ir:ir+mr])
		}
	}
}

// macroEpi is macro by epi: every tile whole and within one sample's
// plane, bias from the block's first row.
func (pl *planes) macroEpi(buf *buffers, pa []float32, ic, jc, pc, mb, nbk, kb int, bias []float32, epi epiCall) {
	P, mr, nr := pl.P, pl.kn.mr, pl.kn.nr
	var beta float32
	if pc > 0 {
		beta = 1
	}
	for jr := 0; jr < nbk; jr += nr {
		bp := buf.b[jr*kb : (jr+nr)*kb]
		col := jc + jr
		s0, pos0 := col/P, col%P
		for ir := 0; ir < mb; ir += mr {
			base := s0*pl.cs + (ic+ir)*P + pos0
			epi(kb, pa[ir*kb:(ir+mr)*kb], bp, pl.c[base:base+(mr-1)*P+nr], P, beta, bias[ir:ir+mr])
		}
	}
}

// flatSplit is flatEpi storing each tile in the planes (of nr/2 positions)
// of its two samples: the flat block's rows from ic (its earlier k
// blocks' sums), the planes' rows from row, columns from jc.
func flatSplit(fp *product, pl *planes, buf *buffers, pa []float32, ic, row, jc, pc, mb, nbk, kb int, bias []float32, split splitCall) {
	mr, nr, P := fp.kern.mr, fp.kern.nr, pl.P
	var beta float32
	if pc > 0 {
		beta = 1
	}
	ldc := fp.ldc
	for jr := 0; jr < nbk; jr += nr {
		bp := buf.b[jr*kb : (jr+nr)*kb]
		s := (jc + jr) / P
		for ir := 0; ir < mb; ir += mr {
			c0 := pl.c[s*pl.cs+(row+ir)*P:][:mr*P]
			c1 := pl.c[(s+1)*pl.cs+(row+ir)*P:][:mr*P]
			split(kb, pa[ir*kb:(ir+mr)*kb], bp, fp.c[(ic+ir)*ldc+jr:(ic+ir+mr-1)*ldc+jr+nr], ldc, c0, c1, P, beta, bias[ir:ir+mr])
		}
	}
}
