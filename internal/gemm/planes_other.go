//go:build !amd64 || purego

package gemm

// copyBlocks copies, for a < n1 and b < n2, the w floats at
// src[a*so+b*si:] to dst[a*do+b*di:].
func copyBlocks(dst, src []float32, n1, n2, w, do, di, so, si int) {
	for a := range n1 {
		for b := range n2 {
			copy(dst[a*do+b*di:][:w], src[a*so+b*si:][:w])
		}
	}
}
