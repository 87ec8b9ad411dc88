package vec

import "math"

// Loops over many short planes at once. BatchNormalization in training
// works per channel, and a channel's values in one batch item are a plane
// of the spatial size: 4 or 16 values in the last stages of MobileNetV2 or
// EfficientNet at 64 pixels, too short for Sum, ScaleShift and the like to
// reach their vector loops. So these take the planes of many channels of
// one batch item at once, as one contiguous run, with each channel's
// coefficient or mean repeated over its plane (a, b, m): the caller
// expands them once and reuses them for every batch item. The sums
// accumulate per element into float64 arrays, which the caller reduces
// per plane at the end.

// MulAddVec sets dst[i] = x[i]*a[i] + b[i], each operation rounded to
// float32 (as ScaleShift).
func MulAddVec(dst, x, a, b []float32) {
	n := len(dst)
	x, a, b = x[:n], a[:n], b[:n]
	i := 0
	if lv := level(); lv != generic && n >= block(lv) {
		i = mulAddVecAsm(lv, dst, x, a, b)
	}
	for ; i < n; i++ {
		dst[i] = float32(x[i]*a[i]) + b[i]
	}
}

// Affine2Vec sets dst[i] = (A[i]*g[i] + B[i]*x[i]) + D[i], each operation
// rounded to float32 (as Affine2).
func Affine2Vec(dst, g, x, A, B, D []float32) {
	n := len(dst)
	g, x, A, B, D = g[:n], x[:n], A[:n], B[:n], D[:n]
	i := 0
	if lv := level(); lv != generic && n >= block(lv) {
		i = affine2VecAsm(lv, dst, g, x, A, B, D)
	}
	for ; i < n; i++ {
		dst[i] = float32(float32(A[i]*g[i])+float32(B[i]*x[i])) + D[i]
	}
}

// WidenAdd adds x to acc element by element, in float64.
func WidenAdd(acc []float64, x []float32) {
	n := len(acc)
	x = x[:n]
	i := 0
	if lv := level(); lv != generic && n >= block(lv) {
		i = widenAddAsm(lv, acc, x)
	}
	for ; i < n; i++ {
		acc[i] += float64(x[i])
	}
}

// WidenSqDevAdd adds (x[i] - m[i])² to acc[i], in float64 (a fused
// multiply-add).
func WidenSqDevAdd(acc []float64, x []float32, m []float64) {
	n := len(acc)
	x, m = x[:n], m[:n]
	i := 0
	if lv := level(); lv != generic && n >= block(lv) {
		i = widenSqDevAddAsm(lv, acc, x, m)
	}
	for ; i < n; i++ {
		d := float64(x[i]) - m[i]
		acc[i] = math.FMA(d, d, acc[i])
	}
}

// WidenDotDevAdd adds g[i] to ag[i] and g[i]*(x[i] - m[i]) to agx[i], in
// float64 (the second a fused multiply-add).
func WidenDotDevAdd(ag, agx []float64, g, x []float32, m []float64) {
	n := len(ag)
	agx, g, x, m = agx[:n], g[:n], x[:n], m[:n]
	i := 0
	if lv := level(); lv != generic && n >= block(lv) {
		i = widenDotDevAddAsm(lv, ag, agx, g, x, m)
	}
	for ; i < n; i++ {
		gi := float64(g[i])
		ag[i] += gi
		agx[i] = math.FMA(gi, float64(x[i])-m[i], agx[i])
	}
}
