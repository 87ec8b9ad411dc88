package gemm

// kernel is one micro-kernel with the packing routines and cache blocking
// that go with its tile. A micro-kernel call computes C = alpha*A·B + beta*C
// for an mr×nr tile of C (row stride ldc) from a packed A panel (k steps of
// mr values) and a packed B panel (k steps of nr values); beta == 0 stores
// without reading C. Packed blocks of A are at most mcMax×kcMax (in L2) and
// of B at most kcMax×ncMax (in L3), or ncSmall elements (in L1 and L2) when
// all of op(A) fits one block.
type kernel struct {
	name                         string // the ONNXTUNE_GEMM value that selects it
	mr, nr                       int
	kcMax, mcMax, ncMax, ncSmall int

	micro func(k int, a, b, c []float32, ldc int, alpha, beta float32)

	// edge computes the last mh rows (0 < mh < mr) of a block from their
	// packed A panel (padded to mr rows) and edgePanels[mh] whole B
	// panels, kb steps each, into C (row stride ldc): alpha times the
	// sums, plus C when add. Each element gets the bits micro gives it
	// (with beta 0, or 1 when add), without computing the padding rows.
	// nil: the edge tiles run micro on a scratch tile.
	edge       func(mh, kb int, a, b, c []float32, ldc int, alpha float32, add bool)
	edgePanels []int

	// Whole panels: rowsA packs np panels of mr columns from k rows
	// (op(A) stored transposed), colsA the first k elements of mr rows
	// transposed (A stored as is); rowsB and colsB the same with nr for B
	// (rowsB for B stored as is). The edge panels are packed by packA and
	// packB in Go.
	rowsA, rowsB func(k, np int, src []float32, ld int, dst []float32)
	colsA, colsB func(k int, src []float32, ld int, dst []float32)
	// rowsASum is rowsA that also adds each of the np·mr columns' k
	// values, one after the other in the order of the rows, to sums
	// (SgemmShareASums). nil: packASum sums the packed panels in Go.
	rowsASum func(k, np int, src []float32, ld int, dst, sums []float32)

	// gather packs one B panel of a Gather with vector loads: kb steps
	// of nr values, value j of step p src[row[p]+cols[j]] when bit j of
	// masks[rowTap[p]] is set, else zero. mode says how cols lie
	// (gatherContig...); split holds the tap masks spread for
	// gatherStride2. nil: gatherGo.
	gather func(kb int, dst, src []float32, row, rowTap []int32, masks []uint32, split []uint64, cols *[32]int32, mode int)

	// transpose packs 16 steps of a B panel of nr columns of a Gather
	// whose rows are consecutive in the source (Gather.run16): step i
	// value j is src[base+i+cols[j]] where bit j of masks[i] is set, else
	// zero; every run src[base+cols[j]:][:16] is inside src. nil: gather.
	transpose func(dst, src []float32, base int, cols *[32]int32, masks *[16]uint32)
	// transpose2 is transpose for rows at stride 2 (Gather.run2): step i
	// value j is src[base+2i+cols[j]]; every src[base+cols[j]:][:32] is
	// inside src. nil: gather.
	transpose2 func(dst, src []float32, base int, cols *[32]int32, masks *[16]uint32)
	// transpose2x8 is transpose2 for 8 rows (Gather.run2x8): steps 0-7,
	// masks[:8]; every src[base+cols[j]:][:16] is inside src. nil: gather.
	transpose2x8 func(dst, src []float32, base int, cols *[32]int32, masks *[16]uint32)
}

// maxTile bounds mr·nr over the kernels: the scratch tile of edge tiles.
const maxTile = 512

// generic is the portable kernel: 6×16 tiles in Go.
var generic = &kernel{
	name: "generic", mr: 6, nr: 16,
	kcMax: 256, mcMax: 144, ncMax: 4080, ncSmall: 1 << 13,
	micro: kernelGo,
	rowsA: rows6Go, rowsB: rows16Go,
	colsA: func(k int, src []float32, ld int, dst []float32) { cols6Go(0, k, src, ld, dst) },
	colsB: func(k int, src []float32, ld int, dst []float32) { cols16Go(0, k, src, ld, dst) },
}

// kernelGo is the portable 6×16 micro-kernel (kernel.micro): C =
// alpha*A·B + beta*C over k steps of the packed panels a (6 values a step)
// and b (16 values a step), with C of row stride ldc. beta == 0 stores
// without reading C.
//
// It works on 6×4 column strips so that the 24 sums stay in registers where
// the architecture has enough of them.
func kernelGo(k int, a, b, c []float32, ldc int, alpha, beta float32) {
	const mr, nr = 6, 16
	a = a[:k*mr]
	b = b[:k*nr]
	for j := 0; j < nr; j += 4 {
		var c00, c01, c02, c03 float32
		var c10, c11, c12, c13 float32
		var c20, c21, c22, c23 float32
		var c30, c31, c32, c33 float32
		var c40, c41, c42, c43 float32
		var c50, c51, c52, c53 float32
		for p := 0; p < k; p++ {
			bp := b[p*nr+j : p*nr+j+4 : p*nr+j+4]
			b0, b1, b2, b3 := bp[0], bp[1], bp[2], bp[3]
			ap := a[p*mr : p*mr+mr : p*mr+mr]
			a0 := ap[0]
			c00 += a0 * b0
			c01 += a0 * b1
			c02 += a0 * b2
			c03 += a0 * b3
			a1 := ap[1]
			c10 += a1 * b0
			c11 += a1 * b1
			c12 += a1 * b2
			c13 += a1 * b3
			a2 := ap[2]
			c20 += a2 * b0
			c21 += a2 * b1
			c22 += a2 * b2
			c23 += a2 * b3
			a3 := ap[3]
			c30 += a3 * b0
			c31 += a3 * b1
			c32 += a3 * b2
			c33 += a3 * b3
			a4 := ap[4]
			c40 += a4 * b0
			c41 += a4 * b1
			c42 += a4 * b2
			c43 += a4 * b3
			a5 := ap[5]
			c50 += a5 * b0
			c51 += a5 * b1
			c52 += a5 * b2
			c53 += a5 * b3
		}
		store4(c[j:], alpha, beta, c00, c01, c02, c03)
		store4(c[ldc+j:], alpha, beta, c10, c11, c12, c13)
		store4(c[2*ldc+j:], alpha, beta, c20, c21, c22, c23)
		store4(c[3*ldc+j:], alpha, beta, c30, c31, c32, c33)
		store4(c[4*ldc+j:], alpha, beta, c40, c41, c42, c43)
		store4(c[5*ldc+j:], alpha, beta, c50, c51, c52, c53)
	}
}

// store4 writes alpha*(s0..s3) + beta*c[0:4] into c[0:4], not reading c
// when beta is zero.
func store4(c []float32, alpha, beta, s0, s1, s2, s3 float32) {
	c = c[:4:4]
	if beta == 0 {
		c[0] = alpha * s0
		c[1] = alpha * s1
		c[2] = alpha * s2
		c[3] = alpha * s3
		return
	}
	c[0] = alpha*s0 + beta*c[0]
	c[1] = alpha*s1 + beta*c[1]
	c[2] = alpha*s2 + beta*c[2]
	c[3] = alpha*s3 + beta*c[3]
}
