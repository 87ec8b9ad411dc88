//go:build !amd64 || purego

package ops

// lstmSigmoid sets s = sigmoid(x) (no assembly in this build).
func lstmSigmoid(s, x []float32) { sigmoidSlice32(s, x) }

// lstmGradVec does nothing here: lstmGatesGradPart's Go loop does all units.
func lstmGradVec(dh, dc, post, cp, hc, dx []float32, H int) int { return 0 }

// lstmPreVec does nothing here: lstmGatesPart's Go loop does all units.
func lstmPreVec(x, wb, rb, r []float32, rs, gr, H int, pre, g []float32) int { return 0 }

// addTo sets dst += src (len(src) elements), element by element.
func addTo[T Float](dst, src []T) {
	dst = dst[:len(src)]
	for j := range src {
		dst[j] += src[j]
	}
}
