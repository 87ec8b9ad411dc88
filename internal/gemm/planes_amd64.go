//go:build !purego

package gemm

// copyBlocks4 copies, for a < n1 and b < n2, 4q floats from src + a*so +
// b*si to dst + a*do + b*di (strides in floats), without bounds checks.
//
//go:noescape
func copyBlocks4(dst, src *float32, n1, n2, q, do, di, so, si int)

// copyBlocks copies, for a < n1 and b < n2, the w floats at
// src[a*so+b*si:] to dst[a*do+b*di:] (w a multiple of 4).
func copyBlocks(dst, src []float32, n1, n2, w, do, di, so, si int) {
	if n1 == 0 || n2 == 0 || w == 0 {
		return
	}
	_ = dst[(n1-1)*do+(n2-1)*di+w-1]
	_ = src[(n1-1)*so+(n2-1)*si+w-1]
	copyBlocks4(&dst[0], &src[0], n1, n2, w/4, do, di, so, si)
}
