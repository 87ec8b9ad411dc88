//go:build !amd64 || purego

package ops

// lstmSigmoid sets s = sigmoid(x) (no assembly in this build).
func lstmSigmoid(s, x []float32) { sigmoidSlice32(s, x) }

// lstmGradVec does nothing here: lstmGatesGradPart's Go loop does all units.
func lstmGradVec(dh, dc, post, cp, hc, dx []float32, H int) int { return 0 }
