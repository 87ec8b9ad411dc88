//go:build !purego

package gemm

//go:noescape
func packRows6(k, np int, src *float32, ld int, dst *float32)

//go:noescape
func packRows16(k, np int, src *float32, ld int, dst *float32)

//go:noescape
func packCols6(k8 int, src *float32, ld int, dst *float32)

//go:noescape
func packCols16(k8 int, src *float32, ld int, dst *float32)

//go:noescape
func packRowsW(k, np int, src *float32, ld int, dst *float32, w int)

//go:noescape
func packRows8(k, np int, src *float32, ld int, dst *float32)

//go:noescape
func packRows8Sum(k, np int, src *float32, ld int, dst, sums *float32)

//go:noescape
func packRows32(k, np int, src *float32, ld int, dst *float32)

//go:noescape
func packCols32(k8 int, src *float32, ld int, dst *float32)

//go:noescape
func packCols8(k8 int, src *float32, ld int, dst *float32, dstride int)

//go:noescape
func packCols4(k8 int, src *float32, ld int, dst *float32, dstride int)

// The wrappers below check with Go's bounds checks that every element the
// assembly touches is inside the slices, then call it.

func rows6(k, np int, src []float32, ld int, dst []float32) {
	const mr = 6
	if k == 0 || np == 0 {
		return
	}
	_ = src[(k-1)*ld+np*mr-1]
	_ = dst[np*k*mr-1]
	packRows6(k, np, &src[0], ld, &dst[0])
}

func rows16(k, np int, src []float32, ld int, dst []float32) {
	const nr = 16
	if k == 0 || np == 0 {
		return
	}
	_ = src[(k-1)*ld+np*nr-1]
	_ = dst[np*k*nr-1]
	packRows16(k, np, &src[0], ld, &dst[0])
}

func cols6(k int, src []float32, ld int, dst []float32) {
	const mr = 6
	if k8 := k / 8; k8 > 0 {
		_ = src[(mr-1)*ld+k8*8-1]
		_ = dst[k8*8*mr-1]
		packCols6(k8, &src[0], ld, &dst[0])
	}
	cols6Go(k&^7, k, src, ld, dst)
}

func cols16(k int, src []float32, ld int, dst []float32) {
	const nr = 16
	if k8 := k / 8; k8 > 0 {
		_ = src[(nr-1)*ld+k8*8-1]
		_ = dst[k8*8*nr-1]
		packCols16(k8, &src[0], ld, &dst[0])
	}
	cols16Go(k&^7, k, src, ld, dst)
}

// rowsW returns the packer of np panels of w columns (w a multiple of 4)
// from k rows: element (p, s*w+j) goes to dst[s*k*w + p*w + j]. Widths 8
// and 32 have loops of their own, panel by panel.
func rowsW(w int) func(k, np int, src []float32, ld int, dst []float32) {
	pack := func(k, np int, src *float32, ld int, dst *float32) { packRowsW(k, np, src, ld, dst, w) }
	switch w {
	case 8:
		pack = packRows8
	case 32:
		pack = packRows32
	}
	return func(k, np int, src []float32, ld int, dst []float32) {
		if k == 0 || np == 0 {
			return
		}
		_ = src[(k-1)*ld+np*w-1]
		_ = dst[np*k*w-1]
		pack(k, np, &src[0], ld, &dst[0])
	}
}

// colsW returns the packer that transposes the first k elements of w rows
// (w a multiple of 4): element p of row i goes to dst[p*w+i]. Width 32 has
// a loop of its own that writes whole rows of dst.
func colsW(w int) func(k int, src []float32, ld int, dst []float32) {
	return func(k int, src []float32, ld int, dst []float32) {
		if k8 := k / 8; k8 > 0 && w == 32 {
			_ = src[(w-1)*ld+k8*8-1]
			_ = dst[k8*8*w-1]
			packCols32(k8, &src[0], ld, &dst[0])
		} else if k8 > 0 {
			_ = src[(w-1)*ld+k8*8-1]
			_ = dst[(k8*8-1)*w+w-1]
			i := 0
			for ; i+8 <= w; i += 8 {
				packCols8(k8, &src[i*ld], ld, &dst[i], w)
			}
			if i < w {
				packCols4(k8, &src[i*ld], ld, &dst[i], w)
			}
		}
		colsGo(w, k&^7, k, src, ld, dst)
	}
}

// rows8Sum is rowsW(8) that also adds each column's k values, row after
// row, to sums[:np*8] (kernel.rowsASum).
func rows8Sum(k, np int, src []float32, ld int, dst, sums []float32) {
	const w = 8
	if k == 0 || np == 0 {
		return
	}
	_ = src[(k-1)*ld+np*w-1]
	_ = dst[np*k*w-1]
	_ = sums[np*w-1]
	packRows8Sum(k, np, &src[0], ld, &dst[0], &sums[0])
}
