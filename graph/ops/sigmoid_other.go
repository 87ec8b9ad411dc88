//go:build !amd64 || purego

package ops

// sigmoidSlice32 sets s = sigmoid(x) (no assembly in this build).
func sigmoidSlice32(s, x []float32) { sigmoidGo32(s, x) }
