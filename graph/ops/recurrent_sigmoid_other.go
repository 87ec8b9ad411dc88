//go:build !amd64 || purego

package ops

// lstmSigmoid sets s = sigmoid(x) (no assembly in this build).
func lstmSigmoid(s, x []float32) { sigmoidSlice32(s, x) }
