//go:build !purego

package vec

//go:noescape
func mulAddVecAVX2(dst, x, a, b *float32, n int)

//go:noescape
func affine2VecAVX2(dst, gs, x, A, B, D *float32, n int)

//go:noescape
func widenAddAVX2(acc *float64, x *float32, n int)

//go:noescape
func widenSqDevAddAVX2(acc *float64, x *float32, m *float64, n int)

//go:noescape
func widenDotDevAddAVX2(ag, agx *float64, gs, x *float32, m *float64, n int)

//go:noescape
func mulAddVecAVX512(dst, x, a, b *float32, n int)

//go:noescape
func affine2VecAVX512(dst, gs, x, A, B, D *float32, n int)

//go:noescape
func widenAddAVX512(acc *float64, x *float32, n int)

//go:noescape
func widenSqDevAddAVX512(acc *float64, x *float32, m *float64, n int)

//go:noescape
func widenDotDevAddAVX512(ag, agx *float64, gs, x *float32, m *float64, n int)

// block is how many elements the level's loops take at a time.
func block(lv int) int {
	if lv == avx512 {
		return 16
	}
	return 8
}

// The …Asm functions run the level's loop over the longest prefix of whole
// blocks (callers check that there is one) and return its length.

func mulAddVecAsm(lv int, dst, x, a, b []float32) int {
	n := len(dst) &^ (block(lv) - 1)
	if lv == avx512 {
		mulAddVecAVX512(&dst[0], &x[0], &a[0], &b[0], n)
	} else {
		mulAddVecAVX2(&dst[0], &x[0], &a[0], &b[0], n)
	}
	return n
}

func affine2VecAsm(lv int, dst, g, x, A, B, D []float32) int {
	n := len(dst) &^ (block(lv) - 1)
	if lv == avx512 {
		affine2VecAVX512(&dst[0], &g[0], &x[0], &A[0], &B[0], &D[0], n)
	} else {
		affine2VecAVX2(&dst[0], &g[0], &x[0], &A[0], &B[0], &D[0], n)
	}
	return n
}

func widenAddAsm(lv int, acc []float64, x []float32) int {
	n := len(acc) &^ (block(lv) - 1)
	if lv == avx512 {
		widenAddAVX512(&acc[0], &x[0], n)
	} else {
		widenAddAVX2(&acc[0], &x[0], n)
	}
	return n
}

func widenSqDevAddAsm(lv int, acc []float64, x []float32, m []float64) int {
	n := len(acc) &^ (block(lv) - 1)
	if lv == avx512 {
		widenSqDevAddAVX512(&acc[0], &x[0], &m[0], n)
	} else {
		widenSqDevAddAVX2(&acc[0], &x[0], &m[0], n)
	}
	return n
}

func widenDotDevAddAsm(lv int, ag, agx []float64, g, x []float32, m []float64) int {
	n := len(ag) &^ (block(lv) - 1)
	if lv == avx512 {
		widenDotDevAddAVX512(&ag[0], &agx[0], &g[0], &x[0], &m[0], n)
	} else {
		widenDotDevAddAVX2(&ag[0], &agx[0], &g[0], &x[0], &m[0], n)
	}
	return n
}
