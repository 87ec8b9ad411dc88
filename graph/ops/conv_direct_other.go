//go:build !amd64 || purego

package ops

// convTapRows is convTapRowsGo (no assembly in this build).
func convTapRows[T Float](dst []T, n, rows, dstStride int, init T, base []T, baseStride int, off []int32, w []T) {
	convTapRowsGo(dst, n, rows, dstStride, init, base, baseStride, off, w)
}

// convTapDots is convTapDotsGo (no assembly in this build).
func convTapDots[T Float](acc, dy []T, n, rows, dyStride int, base []T, baseStride int, off []int32) {
	convTapDotsGo(acc, dy, n, rows, dyStride, base, baseStride, off)
}

// gather2 sets dst[j] = src[2j] for every j of dst.
func gather2[T Float](dst, src []T) {
	src = src[:2*len(dst)-1]
	for j := range dst {
		dst[j] = src[2*j]
	}
}
