package gemm

import (
	"fmt"
	"runtime"
	"slices"
)

// Gather describes a matrix B (k×n) that is not stored but picked from a
// source slice by separable offsets: the im2col matrix of a convolution,
// packed straight from the input image (an implicit GEMM). With the
// offsets given to NewGather, element (p, j) is src[row[p]+col[j]] when
// the window position is inside the input, 0 <= colH[j]+tapH[th] < h and
// 0 <= colW[j]+tapW[tw] < w for row p's tap rowTap[p] = th*len(tapW)+tw,
// and zero otherwise (padding).
//
// A Gather holds no source: each product names its own (a convolution's
// offsets are the same for every run and batch chunk; its input is not).
//
// Its offsets are kept unexported: the assembly packers read the source at
// them without bounds checks, trusting what NewGather checked.
type Gather struct {
	row, rowTap []int32
	tapH, tapW  []int32
	col         []int32
	colH, colW  []int32
	h, w        int32

	lo   int   // the smallest source index read
	need []int // need[j]: the source length columns 0..j read

	// The tap masks of every whole panel of 16 and of 32 columns (and of
	// the last panel, however wide), computed once: a panel's masks are
	// the same for every block of rows. cols is col padded to whole
	// panels for the assembly's loads.
	p16, p32 panelMasks
	cols     []int32

	// run16[p]: rows p..p+15 are consecutive in the source (row[p+i] =
	// row[p]+i), so each column's 16 values are one run (the transposed
	// im2col of a weight gradient); nil when no row starts such a run.
	// run2 the same at stride 2 (row[p+i] = row[p]+2i: a stride-2
	// convolution's), run2x8 for 8 rows at stride 2.
	run16, run2, run2x8 []bool
}

// panelMasks holds, panel after panel, a mask of its columns per tap and
// whether the panel's columns are contiguous in the source.
type panelMasks struct {
	masks []uint32
	mode  []uint8
	split []uint64 // panels of 32 at stride 2: splitMasks of masks
}

// How a panel's columns lie in the source (kernel.gather packs each way).
const (
	gatherAny     = iota // anywhere: gathers
	gatherContig         // one run: col[j] = col[0]+j
	gatherHalves         // panels of 32, two runs of 16: col[j] = col[h]+j-h, h = 0 and 16
	gatherStride2        // two runs at stride 2, col[j] = col[h]+2(j-h): of 16 (panels of 32, h = 0, 16) or 8 (panels of 16, h = 0, 8)
)

// splitMasks spreads the masks of a 32-wide panel at stride 2 to the
// elements its loads cover: bit j of a half (16 lanes) to bit 2j of that
// half's 32 elements.
func splitMasks(ms []uint32, sp []uint64) {
	for t, m := range ms {
		var v uint64
		for j := range 32 {
			if m>>j&1 != 0 {
				v |= 1 << (j/16*32 + 2*(j%16))
			}
		}
		sp[t] = v
	}
}

// NewGather checks the offsets of a Gather and returns it, with copies of
// the slices. Every slice's length must agree: row and rowTap k, col, colH
// and colW n, rowTap's taps below len(tapH)·len(tapW).
func NewGather(row, rowTap, tapH, tapW, col, colH, colW []int32, h, w int32) (*Gather, error) {
	row, rowTap, tapH, tapW = slices.Clone(row), slices.Clone(rowTap), slices.Clone(tapH), slices.Clone(tapW)
	col, colH, colW = slices.Clone(col), slices.Clone(colH), slices.Clone(colW)
	g := &Gather{row: row, rowTap: rowTap, tapH: tapH, tapW: tapW, col: col, colH: colH, colW: colW, h: h, w: w}
	taps := len(tapH) * len(tapW)
	switch {
	case len(rowTap) != len(row):
		return nil, fmt.Errorf("gemm: gather has %d row offsets and %d row taps", len(row), len(rowTap))
	case len(colH) != len(col) || len(colW) != len(col):
		return nil, fmt.Errorf("gemm: gather has %d column offsets, %d and %d window starts", len(col), len(colH), len(colW))
	case taps == 0 && len(row) > 0:
		return nil, fmt.Errorf("gemm: gather has rows but no taps")
	}
	// The rows of each tap, and the columns each tap reads, bound the
	// indices read: every such pair is read.
	rmin, rmax := make([]int, taps), make([]int, taps)
	for t := range taps {
		rmin[t], rmax[t] = 1<<62, -1<<62
	}
	for p, t := range rowTap {
		if t < 0 || int(t) >= taps {
			return nil, fmt.Errorf("gemm: gather row %d has tap %d of %d", p, t, taps)
		}
		rmin[t], rmax[t] = min(rmin[t], int(row[p])), max(rmax[t], int(row[p]))
	}
	g.lo, g.need = 0, make([]int, len(col))
	hi := -1
	for j, c := range col {
		for th, dh := range tapH {
			if y := colH[j] + dh; y < 0 || y >= h {
				continue
			}
			for tw, dw := range tapW {
				t := th*len(tapW) + tw
				if x := colW[j] + dw; x < 0 || x >= w || rmax[t] < rmin[t] {
					continue
				}
				g.lo, hi = min(g.lo, rmin[t]+int(c)), max(hi, rmax[t]+int(c))
			}
		}
		g.need[j] = hi + 1
	}
	if g.lo < 0 {
		return nil, fmt.Errorf("gemm: gather reads source index %d", g.lo)
	}
	g.cols = make([]int32, ceilDiv(len(col), 32)*32+32)
	copy(g.cols, col)
	g.run16, g.run2, g.run2x8 = runs(row, 1, 16), runs(row, 2, 16), runs(row, 2, 8)
	hm, wm := make([]uint32, len(tapH)), make([]uint32, len(tapW))
	for _, pm := range []struct {
		nr int
		p  *panelMasks
	}{{16, &g.p16}, {32, &g.p32}} {
		np := ceilDiv(len(col), pm.nr)
		pm.p.masks, pm.p.mode = make([]uint32, np*taps), make([]uint8, np)
		if pm.nr == 32 {
			pm.p.split = make([]uint64, np*taps)
		}
		for q := range np {
			c0 := q * pm.nr
			ms := pm.p.masks[q*taps : (q+1)*taps]
			mode := g.panel(c0, min(pm.nr, len(col)-c0), pm.nr, hm, wm, ms)
			if mode == gatherStride2 && pm.nr == 32 {
				splitMasks(ms, pm.p.split[q*taps:(q+1)*taps])
			}
			pm.p.mode[q] = uint8(mode)
		}
	}
	return g, nil
}

// runs returns, for each row, whether it starts m rows at step s
// (row[p+i] = row[p]+s·i), or nil when none does.
func runs(row []int32, s int32, m int) []bool {
	var rs []bool
	n := 1 // rows at step s from p
	for p := len(row) - 1; p >= 0; p-- {
		if p+1 < len(row) && row[p+1] == row[p]+s {
			n++
		} else {
			n = 1
		}
		if n >= m {
			if rs == nil {
				rs = make([]bool, len(row))
			}
			rs[p] = true
		}
	}
	return rs
}

// panel computes the tap masks ms of the w columns from c0 of a panel of
// nr (bit j: column c0+j reads inside the source for that tap), with hm
// and wm scratch for the taps of each dimension, and returns how the
// columns lie in the source (gatherAny...).
func (g *Gather) panel(c0, w, nr int, hm, wm, ms []uint32) (mode int) {
	col, colH, colW := g.col[c0:c0+w], g.colH[c0:c0+w], g.colW[c0:c0+w]
	// runs reports whether every half of h columns is a run of step s.
	runs := func(h int, s int32) bool {
		for j := range col {
			if j%h != 0 && col[j] != col[j-1]+s {
				return false
			}
		}
		return true
	}
	switch {
	case runs(nr, 1):
		mode = gatherContig
	case nr == 32 && runs(16, 1):
		mode = gatherHalves
	case nr == 32 && runs(16, 2), nr == 16 && runs(8, 2):
		mode = gatherStride2
	}
	for t, d := range g.tapH {
		var m uint32
		for j, y := range colH {
			if y += d; y >= 0 && y < g.h {
				m |= 1 << j
			}
		}
		hm[t] = m
	}
	for t, d := range g.tapW {
		var m uint32
		for j, x := range colW {
			if x += d; x >= 0 && x < g.w {
				m |= 1 << j
			}
		}
		wm[t] = m
	}
	tw := len(g.tapW)
	for a := range g.tapH {
		for c := range tw {
			ms[a*tw+c] = hm[a] & wm[c]
		}
	}
	return mode
}

// Rows and Cols return B's dimensions, k and n.
func (g *Gather) Rows() int { return len(g.row) }
func (g *Gather) Cols() int { return len(g.col) }

// Need returns the length a source must have at least for the first n
// columns.
func (g *Gather) Need(n int) int {
	if n == 0 {
		return 0
	}
	return g.need[n-1]
}

// gatherB is B as a Gather over one source, from column j0 of the Gather.
type gatherB struct {
	g   *Gather
	src []float32
	j0  int
}

// SgemmGather computes C = A·B with the packed A (m×k) and B (k×n) the
// first n columns of gb over src, on the caller's goroutine when serial,
// else split in column blocks as Sgemm splits. C (m×n, row stride ldc) is
// overwritten. The packed panels of B are those of the stored matrix, so
// the result is that of SgemmSerial on it, bit for bit.
func (pa *PackedA) SgemmGather(serial bool, gb *Gather, src []float32, n int, c []float32, ldc int) {
	m, k := pa.m, pa.k
	if len(gb.row) != k {
		panic(fmt.Sprintf("gemm: gather has %d rows, packed A %d columns", len(gb.row), k))
	}
	gb.check(src, n)
	checkMatrix("C", m, n, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		scale(m, n, 0, c, ldc)
		return
	}
	p := product{m: m, n: n, k: k, alpha: 1, beta: 0, c: c, ldc: ldc, pre: pa, kern: pa.kern,
		gb: gatherB{g: gb, src: src}}
	if !serial {
		procs := runtime.GOMAXPROCS(0)
		if pm, pn := gridRows(pa.kern, m, n, k, procs, 1); pm*pn > 1 {
			p.parallel(pm, pn, procs)
			return
		}
	}
	buf := pool.get()
	p.serial(buf)
	pool.put(buf)
}

// SgemmGather is PackedA.SgemmGather with A (m×k, row stride lda) not
// packed beforehand: C = A·B for B the first n columns of gb over src.
func SgemmGather(serial bool, m int, a []float32, lda int, gb *Gather, src []float32, n int, c []float32, ldc int) {
	k := len(gb.row)
	checkMatrix("A", m, k, a, lda)
	gb.check(src, n)
	checkMatrix("C", m, n, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		scale(m, n, 0, c, ldc)
		return
	}
	p := product{m: m, n: n, k: k, alpha: 1, beta: 0, a: a, lda: lda, c: c, ldc: ldc, kern: current(),
		gb: gatherB{g: gb, src: src}}
	if !serial {
		procs := runtime.GOMAXPROCS(0)
		if pm, pn := grid(p.kern, m, n, k, procs); pm*pn > 1 {
			p.parallel(pm, pn, procs)
			return
		}
	}
	buf := pool.get()
	p.serial(buf)
	pool.put(buf)
}

// check panics unless src and n suit g.
func (g *Gather) check(src []float32, n int) {
	switch {
	case n < 0 || n > len(g.col):
		panic(fmt.Sprintf("gemm: gather has %d columns, product wants %d", len(g.col), n))
	case len(src) < g.Need(n):
		panic(fmt.Sprintf("gemm: gather source has %d elements, needs %d", len(src), g.Need(n)))
	}
}

// GatherFast reports whether the kernel in use packs Gather panels with
// vector loads and gathers (avx512, avx2); with the generic kernel a
// stored im2col matrix is faster.
func GatherFast() bool { return current().gather != nil }

// pack packs the kb×nb block at (pc, jc) of the gathered B into buf.b
// as packB does: panels of nr columns, columns past nb zero.
func (b *gatherB) pack(kn *kernel, buf *buffers, pc, jc, kb, nb int) {
	g, nr, dst := b.g, kn.nr, buf.b
	row, rowTap := g.row[pc:pc+kb], g.rowTap[pc:pc+kb]
	taps := len(g.tapH) * len(g.tapW)
	var pm *panelMasks
	switch nr {
	case 16:
		pm = &g.p16
	case 32:
		pm = &g.p32
	}
	for j0 := 0; j0 < nb; j0 += nr {
		w := min(nr, nb-j0)
		c0 := b.j0 + jc + j0
		var ms []uint32
		var sp []uint64
		var mode int
		if q := c0 / nr; pm != nil && c0%nr == 0 && (w == nr || c0+w == len(g.col)) {
			// A panel of the Gather: its masks are ready.
			ms, mode = pm.masks[q*taps:(q+1)*taps], int(pm.mode[q])
			if mode == gatherStride2 && nr == 32 {
				sp = pm.split[q*taps : (q+1)*taps]
			}
		} else {
			buf.hm, buf.wm = growMasks(buf.hm, len(g.tapH)), growMasks(buf.wm, len(g.tapW))
			buf.masks = growMasks(buf.masks, taps)
			ms = buf.masks
			if mode = g.panel(c0, w, nr, buf.hm, buf.wm, ms); mode == gatherStride2 && nr == 32 {
				if cap(buf.split) < taps {
					buf.split = make([]uint64, taps)
				}
				sp = buf.split[:taps]
				splitMasks(ms, sp)
			}
		}
		panel := dst[j0*kb : (j0+nr)*kb]
		cols := (*[32]int32)(g.cols[c0 : c0+32])
		if kn.transpose != nil && g.run16 != nil || kn.transpose2 != nil && g.run2 != nil ||
			kn.transpose2x8 != nil && g.run2x8 != nil {
			b.packRuns(kn, panel, pc, kb, ms, sp, cols, mode)
			continue
		}
		if kn.gather != nil {
			kn.gather(kb, panel, b.src, row, rowTap, ms, sp, cols, mode)
			continue
		}
		gatherGo(nr, kb, panel, b.src, row, rowTap, ms, cols[:w])
	}
}

// growMasks returns s with length n, reallocating only when it is too
// short.
func growMasks(s []uint32, n int) []uint32 {
	if cap(s) < n {
		return make([]uint32, n)
	}
	return s[:n]
}

// gatherGo writes kb steps of nr values: value j of step p is
// src[row[p]+col[j]] when bit j of masks[rowTap[p]] is set, else zero
// (and zero for j past len(col)).
func gatherGo(nr, kb int, dst, src []float32, row, rowTap []int32, masks []uint32, col []int32) {
	for p := range kb {
		d := dst[p*nr : (p+1)*nr]
		m, base := masks[rowTap[p]], int(row[p])
		for j := range d {
			if m>>j&1 != 0 {
				d[j] = src[base+int(col[j])]
			} else {
				d[j] = 0
			}
		}
	}
}

// packRuns packs a panel of nr columns as kernel.gather does, taking the
// runs of 16 consecutive rows that lie inside the source with
// kernel.transpose (and those of 16 rows at stride 2 with
// kernel.transpose2): whole loads of each column's run, transposed,
// instead of a gather a row.
func (b *gatherB) packRuns(kn *kernel, panel []float32, pc, kb int, ms []uint32, sp []uint64, cols *[32]int32, mode int) {
	g, nr := b.g, kn.nr
	row, rowTap := g.row[pc:pc+kb], g.rowTap[pc:pc+kb]
	// The panel's columns bound its runs: a row near either end of the
	// source may still read inside it for the columns of this panel.
	colLo, colHi := slices.Min(cols[:nr]), slices.Max(cols[:nr])
	// run returns the packer of the run of rows from p and its length,
	// nil if none.
	type packer = func(dst, src []float32, base int, cols *[32]int32, masks *[16]uint32)
	run := func(p int) (packer, int) {
		r := int(row[p])
		switch {
		case r+int(colLo) < 0:
		case p+16 <= kb && kn.transpose != nil && g.run16 != nil && g.run16[pc+p] && r+int(colHi)+16 <= len(b.src):
			return kn.transpose, 16
		case p+16 <= kb && kn.transpose2 != nil && g.run2 != nil && g.run2[pc+p] && r+int(colHi)+32 <= len(b.src):
			return kn.transpose2, 16
		case p+8 <= kb && kn.transpose2x8 != nil && g.run2x8 != nil && g.run2x8[pc+p] && r+int(colHi)+16 <= len(b.src):
			return kn.transpose2x8, 8
		}
		return nil, 0
	}
	var m16 [16]uint32
	for p := 0; p < kb; {
		if tr, n := run(p); tr != nil {
			for i := range n {
				m16[i] = ms[rowTap[p+i]]
			}
			tr(panel[p*nr:], b.src, int(row[p]), cols, &m16)
			p += n
			continue
		}
		q := p + 1
		for q < kb {
			if tr, _ := run(q); tr != nil {
				break
			}
			q++
		}
		kn.gather(q-p, panel[p*nr:], b.src, row[p:q], rowTap[p:q], ms, sp, cols, mode)
		p = q
	}
}
