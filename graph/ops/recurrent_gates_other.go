//go:build !amd64 || purego

package ops

// lstmGatesVec does nothing here.
func lstmGatesVec(x, wb, rb, r []float32, rs, gr, H int, pre, post, cp, cell, hc, h, y []float32) int {
	return 0
}
