package vec

import (
	"math"
	"sync"

	"github.com/onnxtune/onnxtune/internal/gemm"
)

// Vector levels.
const (
	generic = iota
	avx2
	avx512
)

var (
	levelOnce sync.Once
	chosen    int
	forced    = -1 // tests: the level to use instead of chosen
)

// level returns the vector level matching internal/gemm's kernel.
func level() int {
	if forced >= 0 {
		return forced
	}
	levelOnce.Do(func() {
		name, _ := gemm.Kernel()
		switch {
		case name == "avx512" && hasAVX512:
			chosen = avx512
		case (name == "avx512" || name == "avx2") && hasAVX2:
			chosen = avx2
		}
	})
	return chosen
}

// ReluMask sets out[i] = dy[i] where x[i] > 0 or x[i] is NaN, else +0:
// ReLU's gradient, and ReLU itself with out, dy and x the same slice.
func ReluMask(out, dy, x []float32) {
	n := len(out)
	dy, x = dy[:n], x[:n]
	i := 0
	if lv := level(); lv != generic && n >= 8 {
		i = reluMaskAsm(lv, out, dy, x)
	}
	reluMaskGo(out[i:], dy[i:], x[i:])
}

// reluMaskGo is ReluMask in Go, on the float32 bits so that the sign of x
// (about half negative in a network) does not drive a mispredicted
// branch; the NaN branch is almost never taken.
func reluMaskGo(out, dy, x []float32) {
	dy, x = dy[:len(out)], x[:len(out)]
	for i, xv := range x {
		u := math.Float32bits(xv)
		// all ones where x <= 0: the sign bit, or x == +0
		mask := uint32(int32(u)>>31) | ((u|-u)>>31 - 1)
		if u&0x7fffffff > 0x7f800000 { // NaN: dy passes
			mask = 0
		}
		out[i] = math.Float32frombits(math.Float32bits(dy[i]) &^ mask)
	}
}

// ScaleShift sets dst[i] = x[i]*a + b (a product then a sum, both rounded
// to float32), then applies ReLU (NaN kept) when relu is set.
func ScaleShift(dst, x []float32, a, b float32, relu bool) {
	n := len(dst)
	x = x[:n]
	i := 0
	if lv := level(); lv != generic && n >= 8 {
		i = scaleShiftAsm(lv, dst, x, a, b, relu)
	}
	rest := dst[i:]
	for j, v := range x[i:] {
		rest[j] = v*a + b
	}
	if relu {
		reluMaskGo(rest, rest, rest)
	}
}

// Affine2 sets dst[i] = (A*g[i] + B*x[i]) + D, each operation rounded to
// float32.
func Affine2(dst, g, x []float32, A, B, D float32) {
	n := len(dst)
	g, x = g[:n], x[:n]
	i := 0
	if lv := level(); lv != generic && n >= 8 {
		i = affine2Asm(lv, dst, g, x, A, B, D)
	}
	for ; i < n; i++ {
		dst[i] = A*g[i] + B*x[i] + D
	}
}

// SiLUGrad sets out[i] = g[i]*s[i] + (g[i]*x[i])*(s[i]*(1 - s[i])), each
// operation rounded to float32: the gradient of x*sigmoid(x) given s =
// sigmoid(x), the Mul's and then the Sigmoid's (PyTorch's autograd of the
// two ops).
func SiLUGrad(out, g, x, s []float32) {
	n := len(out)
	g, x, s = g[:n], x[:n], s[:n]
	i := 0
	if lv := level(); lv != generic && n >= 8 {
		i = siluGradAsm(lv, out, g, x, s)
	}
	for ; i < n; i++ {
		sv := s[i]
		out[i] = float32(g[i]*sv) + float32(float32(g[i]*x[i])*float32(sv*float32(1-sv)))
	}
}

// SGDMomentum is the SGD step with momentum after the first step, without
// Nesterov, rounded as PyTorch's CPU kernels round it (their add with
// alpha is a fused multiply-add): d = fma(wd, p, g); b = fma(damp, d,
// m*b); p = fma(-lr, b, p).
func SGDMomentum(p, g, b []float32, wd, m, damp, lr float32) {
	n := len(p)
	g, b = g[:n], b[:n]
	i := 0
	if lv := level(); lv != generic && n >= 8 {
		i = sgdMomentumAsm(lv, p, g, b, wd, m, damp, lr)
	}
	for ; i < n; i++ {
		d := FMA(wd, p[i], g[i])
		b[i] = FMA(damp, d, m*b[i])
		p[i] = FMA(-lr, b[i], p[i])
	}
}

// FMA is a*b + c rounded once to float32, as a float32 fused multiply-add
// rounds it. It computes in float64, where the product of two float32
// values is exact, so the one rounding of the float64 sum (fused or not)
// is math.FMA's; the float32 rounding of that differs from a single
// rounding only when the float64 sum falls exactly halfway between two
// float32 values, about one case in 2^29. Written without math.FMA, whose
// fallback call on amd64 made the loops around it several times slower.
func FMA(a, b, c float32) float32 {
	return float32(float64(a)*float64(b) + float64(c))
}

// Sum returns the sum of v in float64.
func Sum(v []float32) float64 {
	var s float64
	i := 0
	if lv := level(); lv != generic && len(v) >= 16 {
		s, i = sumAsm(lv, v)
	}
	return s + SumGo(v[i:])
}

// Float is the element types of the Go loops.
type Float interface{ ~float32 | ~float64 }

// SumGo is Sum in Go, four lanes at a time, for float32 (Sum's tail and the
// generic level) or float64 (the engine's float64 path).
func SumGo[T Float](v []T) float64 {
	var a, b, c, d float64
	i := 0
	for ; i+4 <= len(v); i += 4 {
		a += float64(v[i])
		b += float64(v[i+1])
		c += float64(v[i+2])
		d += float64(v[i+3])
	}
	for ; i < len(v); i++ {
		a += float64(v[i])
	}
	return a + b + c + d
}

// SqDev returns the sum of (v[i] - m)² in float64.
func SqDev(v []float32, m float64) float64 {
	var s float64
	i := 0
	if lv := level(); lv != generic && len(v) >= 16 {
		s, i = sqDevAsm(lv, v, m)
	}
	return s + SqDevGo(v[i:], m)
}

// SqDevGo is SqDev in Go, four lanes at a time, for float32 or float64.
func SqDevGo[T Float](v []T, m float64) float64 {
	var a, b, c, d float64
	i := 0
	for ; i+4 <= len(v); i += 4 {
		x0, x1, x2, x3 := float64(v[i])-m, float64(v[i+1])-m, float64(v[i+2])-m, float64(v[i+3])-m
		a += x0 * x0
		b += x1 * x1
		c += x2 * x2
		d += x3 * x3
	}
	for ; i < len(v); i++ {
		x := float64(v[i]) - m
		a += x * x
	}
	return a + b + c + d
}

// DotDev returns the sum of g and the sum of g[i]*(x[i] - m), in float64.
func DotDev(g, x []float32, m float64) (sg, sgx float64) {
	x = x[:len(g)]
	i := 0
	if lv := level(); lv != generic && len(g) >= 16 {
		sg, sgx, i = dotDevAsm(lv, g, x, m)
	}
	a, b := DotDevGo(g[i:], x[i:], m)
	return sg + a, sgx + b
}

// DotDevGo is DotDev in Go, two lanes at a time, for float32 or float64.
func DotDevGo[T Float](g, x []T, m float64) (sg, sgx float64) {
	x = x[:len(g)]
	var a0, a1, b0, b1 float64
	i := 0
	for ; i+2 <= len(g); i += 2 {
		g0, g1 := float64(g[i]), float64(g[i+1])
		a0 += g0
		a1 += g1
		b0 += g0 * (float64(x[i]) - m)
		b1 += g1 * (float64(x[i+1]) - m)
	}
	for ; i < len(g); i++ {
		a0 += float64(g[i])
		b0 += float64(g[i]) * (float64(x[i]) - m)
	}
	return a0 + a1, b0 + b1
}
