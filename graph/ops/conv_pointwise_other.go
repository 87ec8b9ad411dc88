//go:build !amd64 || purego

package ops

// biasVecClamp32 does nothing in this build (no assembly): the Go loop runs.
func biasVecClamp32(dst, bias []float32, lo, hi float32) (int, bool) { return 0, false }
