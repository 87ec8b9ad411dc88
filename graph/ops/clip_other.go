//go:build !amd64 || purego

package ops

// clipClamp32 does nothing in this build (no assembly): the Go loop runs.
func clipClamp32(v []float32, lo, hi float32) int { return 0 }

// clipGrad32 does nothing in this build (no assembly): the Go loop runs.
func clipGrad32(dx, dy, y []float32, lo, hi float32) int { return 0 }

// biasClamp32 does nothing in this build (no assembly): the Go loop runs.
func biasClamp32(dst, src []float32, b, lo, hi float32) (int, bool) { return 0, false }
