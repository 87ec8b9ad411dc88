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

// The wrappers below check with Go's bounds checks that every element the
// assembly touches is inside the slices, then call it.

func rows6(k, np int, src []float32, ld int, dst []float32) {
	if k == 0 || np == 0 {
		return
	}
	_ = src[(k-1)*ld+np*mr-1]
	_ = dst[np*k*mr-1]
	packRows6(k, np, &src[0], ld, &dst[0])
}

func rows16(k, np int, src []float32, ld int, dst []float32) {
	if k == 0 || np == 0 {
		return
	}
	_ = src[(k-1)*ld+np*nr-1]
	_ = dst[np*k*nr-1]
	packRows16(k, np, &src[0], ld, &dst[0])
}

func cols6(k int, src []float32, ld int, dst []float32) {
	if k8 := k / 8; k8 > 0 {
		_ = src[(mr-1)*ld+k8*8-1]
		_ = dst[k8*8*mr-1]
		packCols6(k8, &src[0], ld, &dst[0])
	}
	cols6Go(k&^7, k, src, ld, dst)
}

func cols16(k int, src []float32, ld int, dst []float32) {
	if k8 := k / 8; k8 > 0 {
		_ = src[(nr-1)*ld+k8*8-1]
		_ = dst[k8*8*nr-1]
		packCols16(k8, &src[0], ld, &dst[0])
	}
	cols16Go(k&^7, k, src, ld, dst)
}
