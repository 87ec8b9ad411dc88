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
	// On the float32 bits, so that the sign of x (about half negative in
	// a network) does not drive a mispredicted branch; the NaN branch is
	// almost never taken.
	for ; i < n; i++ {
		u := math.Float32bits(x[i])
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
	for ; i < n; i++ {
		v := x[i]*a + b
		if relu && !(v > 0) && v == v {
			v = 0
		}
		dst[i] = v
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

// SGDMomentum is the SGD step with momentum after the first step, without
// Nesterov: d = g + wd*p; b = m*b + damp*d; p -= lr*b, each operation
// rounded to float32.
func SGDMomentum(p, g, b []float32, wd, m, damp, lr float32) {
	n := len(p)
	g, b = g[:n], b[:n]
	i := 0
	if lv := level(); lv != generic && n >= 8 {
		i = sgdMomentumAsm(lv, p, g, b, wd, m, damp, lr)
	}
	for ; i < n; i++ {
		d := g[i] + wd*p[i]
		b[i] = m*b[i] + damp*d
		p[i] -= lr * b[i]
	}
}

// Sum returns the sum of v in float64.
func Sum(v []float32) float64 {
	var s float64
	i := 0
	if lv := level(); lv != generic && len(v) >= 16 {
		s, i = sumAsm(lv, v)
	}
	for ; i < len(v); i++ {
		s += float64(v[i])
	}
	return s
}

// SqDev returns the sum of (v[i] - m)² in float64.
func SqDev(v []float32, m float64) float64 {
	var s float64
	i := 0
	if lv := level(); lv != generic && len(v) >= 16 {
		s, i = sqDevAsm(lv, v, m)
	}
	for ; i < len(v); i++ {
		d := float64(v[i]) - m
		s += d * d
	}
	return s
}

// DotDev returns the sum of g and the sum of g[i]*(x[i] - m), in float64.
func DotDev(g, x []float32, m float64) (sg, sgx float64) {
	x = x[:len(g)]
	i := 0
	if lv := level(); lv != generic && len(g) >= 16 {
		sg, sgx, i = dotDevAsm(lv, g, x, m)
	}
	for ; i < len(g); i++ {
		sg += float64(g[i])
		sgx += float64(g[i]) * (float64(x[i]) - m)
	}
	return sg, sgx
}
