//go:build !amd64 || purego

package ops

// geluAsm reports whether vector loops run (none in this build).
const geluAsm = false

// geluSlice32 sets y = gelu32(x) (len(y) == len(x)).
func geluSlice32(y, x []float32) {
	for i := range y {
		y[i] = gelu32(x[i])
	}
}

// geluGradSlice32 sets dx = dy·gelu32Grad(x, y) (all of dx's length).
func geluGradSlice32(dx, dy, x, y []float32) {
	for i := range dx {
		dx[i] = dy[i] * gelu32Grad(x[i], y[i])
	}
}
