//go:build !purego

package ops

// biasVecClampAVX2 sets dst[i] to dst[i] + bias[i] clamped to [lo, hi] (n
// a multiple of 8) up to the first block of 8 whose sum equals a bound,
// which it leaves added but unclamped, and returns the elements done
// before it (n when none).
//
//go:noescape
func biasVecClampAVX2(dst, bias *float32, n int, lo, hi float32) int

// biasVecClamp32 runs biasVecClampAVX2 over the leading blocks of 8 of
// dst: the elements done, and whether it stopped at a block holding a
// bound exactly (then holding the sums, unclamped).
func biasVecClamp32(dst, bias []float32, lo, hi float32) (int, bool) {
	n := len(dst) &^ 7
	if !clipAsm || n == 0 {
		return 0, false
	}
	_ = bias[n-1]
	k := biasVecClampAVX2(&dst[0], &bias[0], n, lo, hi)
	return k, k < n
}
