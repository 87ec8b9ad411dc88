package gemm

import "sync"

// tileA holds the last rows of a block of A for packA: mr rows (8 at most)
// of kb steps (kcMax, 256, at most).
type tileA [8 * 256]float32

var tilesA = sync.Pool{New: func() any { return new(tileA) }}

// packA copies the mb×kb block of op(A) whose top-left element is a[0] into
// dst as ⌈mb/mr⌉ panels of kb steps of mr values (mr of kernel kn): element
// (i, p) of the block lands at dst[(i/mr)*mr*kb + p*mr + i%mr]. Rows past mb
// are zero. Without transposition element (i, p) is a[i*lda+p], with it
// a[p*lda+i].
func packA(kn *kernel, dst []float32, trans bool, a []float32, lda, mb, kb int) {
	mr := kn.mr
	r := mb / mr * mr
	if trans {
		kn.rowsA(kb, r/mr, a, lda, dst)
	} else {
		for i := 0; i < r; i += mr {
			kn.colsA(kb, a[i*lda:], lda, dst[i*kb:])
		}
	}
	if r == mb {
		return
	}
	d := dst[r*kb : (r+mr)*kb]
	if !trans && mr*kb <= len(tileA{}) {
		// The last rows copied into a tile of mr rows, zero past mb, and
		// packed by the vector colsA: stepping through each row alone
		// wrote every mr-th element (a third of the weight gradient of
		// a convolution with 6 output channels and a long sum).
		t := tilesA.Get().(*tileA)
		tt := t[:mr*kb]
		for i := range mr {
			if row := tt[i*kb : (i+1)*kb]; r+i < mb {
				copy(row, a[(r+i)*lda:][:kb])
			} else {
				clear(row)
			}
		}
		kn.colsA(kb, tt, kb, d)
		tilesA.Put(t)
		return
	}
	clear(d)
	if trans {
		for p := range kb {
			copy(d[p*mr:p*mr+mb-r], a[p*lda+r:p*lda+mb])
		}
		return
	}
	for i := r; i < mb; i++ {
		for p, v := range a[i*lda : i*lda+kb] {
			d[p*mr+i-r] = v
		}
	}
}

// packASum is packA that also adds each row's kb values of the block, one
// after the other in order, to sums[:mb] (so that over the blocks of a
// row, taken in order, sums[i] gets the bits of adding op(A)'s elements of
// row i one by one). The kernel's rowsASum does it while it packs; rows it
// does not pack are summed from the packed panels.
func packASum(kn *kernel, dst []float32, trans bool, a []float32, lda, mb, kb int, sums []float32) {
	r := 0
	if trans && kn.rowsASum != nil {
		r = mb / kn.mr * kn.mr
		kn.rowsASum(kb, r/kn.mr, a, lda, dst, sums[:r])
		if r < mb {
			packA(kn, dst[r*kb:], true, a[r:], lda, mb-r, kb)
		}
	} else {
		packA(kn, dst, trans, a, lda, mb, kb)
	}
	sumPanels(kn.mr, dst[r*kb:], mb-r, kb, sums[r:mb])
}

// sumPanels adds to sums[i] (i < mb) the kb values of row i of the
// panels packA wrote into pa (mr rows a panel), in order.
func sumPanels(mr int, pa []float32, mb, kb int, sums []float32) {
	for i0 := 0; i0 < mb; i0 += mr {
		panel := pa[i0*kb : i0*kb+mr*kb]
		for i := range min(mr, mb-i0) {
			v := sums[i0+i]
			for p := range kb {
				v += panel[p*mr+i]
			}
			sums[i0+i] = v
		}
	}
}

// packB copies the kb×nb block of op(B) whose top-left element is b[0] into
// dst as ⌈nb/nr⌉ panels of kb steps of nr values (nr of kernel kn): element
// (p, j) of the block lands at dst[(j/nr)*nr*kb + p*nr + j%nr]. Columns past
// nb are zero. Without transposition element (p, j) is b[p*ldb+j], with it
// b[j*ldb+p].
func packB(kn *kernel, dst []float32, trans bool, b []float32, ldb, kb, nb int) {
	nr := kn.nr
	s := nb / nr * nr
	if trans {
		for j := 0; j < s; j += nr {
			kn.colsB(kb, b[j*ldb:], ldb, dst[j*kb:])
		}
	} else {
		kn.rowsB(kb, s/nr, b, ldb, dst)
	}
	if s == nb {
		return
	}
	d := dst[s*kb : (s+nr)*kb]
	clear(d)
	if !trans {
		for p := range kb {
			copy(d[p*nr:p*nr+nb-s], b[p*ldb+s:p*ldb+nb])
		}
		return
	}
	for j := s; j < nb; j++ {
		for p, v := range b[j*ldb : j*ldb+kb] {
			d[p*nr+j-s] = v
		}
	}
}

// rows6Go packs np panels of 6 columns from k rows of src (stride ld), a
// row at a time: element (p, s*6+i) goes to dst[s*k*6 + p*6 + i].
func rows6Go(k, np int, src []float32, ld int, dst []float32) {
	const mr = 6
	for p := range k {
		row := src[p*ld : p*ld+np*mr]
		for s := range np {
			*(*[mr]float32)(dst[s*k*mr+p*mr:]) = *(*[mr]float32)(row[s*mr:])
		}
	}
}

// rows16Go packs np panels of 16 columns from k rows of src (stride ld), a
// row at a time: element (p, s*16+j) goes to dst[s*k*16 + p*16 + j].
func rows16Go(k, np int, src []float32, ld int, dst []float32) {
	const nr = 16
	for p := range k {
		row := src[p*ld : p*ld+np*nr]
		for s := range np {
			*(*[nr]float32)(dst[s*k*nr+p*nr:]) = *(*[nr]float32)(row[s*nr:])
		}
	}
}

// cols6Go writes elements p0..k-1 of each of 6 rows of src (stride ld)
// transposed: element p of row i goes to dst[p*6+i].
func cols6Go(p0, k int, src []float32, ld int, dst []float32) {
	const mr = 6
	r0 := src[:k]
	r1 := src[ld:][:k]
	r2 := src[2*ld:][:k]
	r3 := src[3*ld:][:k]
	r4 := src[4*ld:][:k]
	r5 := src[5*ld:][:k]
	for p := p0; p < k; p++ {
		q := (*[mr]float32)(dst[p*mr:])
		q[0] = r0[p]
		q[1] = r1[p]
		q[2] = r2[p]
		q[3] = r3[p]
		q[4] = r4[p]
		q[5] = r5[p]
	}
}

// cols16Go writes elements p0..k-1 of each of 16 rows of src (stride ld)
// transposed: element p of row j goes to dst[p*16+j].
func cols16Go(p0, k int, src []float32, ld int, dst []float32) {
	const nr = 16
	for j := range nr {
		row := src[j*ld:][:k]
		for p := p0; p < k; p++ {
			dst[p*nr+j] = row[p]
		}
	}
}

// colsGo writes elements p0..k-1 of each of w rows of src (stride ld)
// transposed: element p of row i goes to dst[p*w+i].
func colsGo(w, p0, k int, src []float32, ld int, dst []float32) {
	for i := range w {
		row := src[i*ld:][:k]
		for p := p0; p < k; p++ {
			dst[p*w+i] = row[p]
		}
	}
}
