package gemm

import "fmt"

// Packed operands filled a range at a time: a recurrence's state is the A
// (or B) of the next step's product, and the cores that compute its parts
// pack each part as soon as they have it, so that no core packs the whole
// of it again, and a product reads both operands packed.

// NewPackedA returns an op(A), m×k, packed for SgemmPacked with every
// element zero, to be filled by SetCols.
func NewPackedA(m, k int) *PackedA {
	if m < 0 || k < 0 {
		panic(fmt.Sprintf("gemm: negative dimension m=%d k=%d", m, k))
	}
	kn := current()
	pa := &PackedA{kern: kn, m: m, k: k}
	if m == 0 || k == 0 {
		return pa
	}
	_, pa.kc = blocks(k, kn.kcMax, 1)
	_, pa.mc = blocks(m, kn.mcMax, kn.mr)
	pa.nic = ceilDiv(m, pa.mc)
	for pc := 0; pc < k; pc += pa.kc {
		kb := min(pa.kc, k-pc)
		for ic := 0; ic < m; ic += pa.mc {
			mb := min(pa.mc, m-ic)
			pa.blocks = append(pa.blocks, make([]float32, ceilDiv(mb, kn.mr)*kn.mr*kb))
		}
	}
	return pa
}

// SetCols packs the columns [k0, k1) of op(A) (m×k; tA: A is stored k×m)
// into pa, leaving the others as they are; a and lda describe the whole
// of op(A) as for PackA, of which only those columns are read. The
// elements are those PackA packs. Calls for disjoint ranges write
// disjoint elements and may run at the same time.
func (pa *PackedA) SetCols(tA bool, k0, k1 int, a []float32, lda int) {
	m, k := pa.m, pa.k
	if k0 < 0 || k1 > k || k0 > k1 {
		panic(fmt.Sprintf("gemm: columns [%d, %d) of a %d×%d A", k0, k1, m, k))
	}
	ar, ac := m, k
	if tA {
		ar, ac = k, m
	}
	checkMatrix("A", ar, ac, a, lda)
	if m == 0 || k0 == k1 {
		return
	}
	kn := pa.kern
	mr := kn.mr
	for pc := k0 / pa.kc * pa.kc; pc < k1; pc += pa.kc {
		kb := min(pa.kc, k-pc)
		q0, q1 := max(k0, pc), min(k1, pc+kb)
		for ic := 0; ic < m; ic += pa.mc {
			mb := min(pa.mc, m-ic)
			blk := pa.block(ic, pc)
			// Panel by panel: a panel's steps q0..q1 are consecutive
			// in it (mr values a step), panels kb steps apart.
			for ir := 0; ir < mb; ir += mr {
				rows := min(mr, mb-ir)
				dst := blk[ir*kb+(q0-pc)*mr:]
				i := ic + ir
				if tA {
					packA(kn, dst, true, a[q0*lda+i:], lda, rows, q1-q0)
				} else {
					packA(kn, dst, false, a[i*lda+q0:], lda, rows, q1-q0)
				}
			}
		}
	}
}

// KBlocks is the number of blocks the sum over k is cut into (at most 256
// terms each): with one, a product with beta 1 adds each complete sum to C
// in one rounding, as adding a product computed with beta 0 would.
func (pb *PackedB) KBlocks() int { return len(pb.blocks) }

// SgemmPacked computes C = alpha*A*B + beta*C with A (m×k) and B (k×n)
// both packed, by the same kernel and for the same k, on the caller's
// goroutine. Each element is summed as SgemmSerial sums it (the same k
// blocks and micro-kernel), so the bits are those of pa.SgemmSerial with B
// not packed.
func (pa *PackedA) SgemmPacked(pb *PackedB, alpha, beta float32, c []float32, ldc int) {
	pa.SgemmPackedPrefetch(pb, alpha, beta, c, ldc, nil)
}

// SgemmPackedPrefetch is SgemmPacked that also asks for the cache lines
// of ranges, a few at each of the micro-kernel's calls (a hint: no value
// changes), so that memory read after the product, such as an LSTM's
// cache rows for the next step's gate gradients, arrives while the
// kernel computes instead of stalling the reads.
func (pa *PackedA) SgemmPackedPrefetch(pb *PackedB, alpha, beta float32, c []float32, ldc int, ranges [][]float32) {
	m, n, k := pa.m, pb.n, pa.k
	if pb.k != k || pb.kern != pa.kern {
		panic(fmt.Sprintf("gemm: A packed for k=%d (%s) times B packed for k=%d (%s)", k, pa.kern.name, pb.k, pb.kern.name))
	}
	checkMatrix("C", m, n, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scale(m, n, beta, c, ldc)
		return
	}
	p := product{m: m, n: n, k: k, alpha: alpha, beta: beta, c: c, ldc: ldc, pre: pa, kern: pa.kern}
	if ranges != nil {
		p.pf = newPrefetcher(ranges, ceilDiv(m, pa.kern.mr)*ceilDiv(n, pa.kern.nr)*len(pb.blocks))
	}
	buf := pool.get()
	own := buf.b // buf.b points into pb's blocks while in use
	for q, blk := range pb.blocks {
		pc := q * pb.kc
		kb := min(pb.kc, k-pc)
		buf.b = blk
		for ic := 0; ic < m; ic += pa.mc {
			p.macro(buf, pa.block(ic, pc), ic, 0, pc, min(pa.mc, m-ic), n, kb)
		}
	}
	buf.b = own
	pool.put(buf)
}
