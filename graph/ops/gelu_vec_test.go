package ops

import (
	"math"
	"math/rand"
	"testing"
)

// geluInputs is values across GELU's range: normals at several scales,
// the |x| = 1e-3 switch of the gradient and its neighbours, zeros of both
// signs, the exponential's clamps, tiny and huge values and infinities.
func geluInputs() []float32 {
	r := rand.New(rand.NewSource(7))
	var x []float32
	for _, s := range []float64{1e-4, 1e-3, 0.1, 1, 3, 10, 30} {
		for range 2000 {
			x = append(x, float32(r.NormFloat64()*s))
		}
	}
	for _, v := range []float32{0, float32(math.Copysign(0, -1)), 1e-3, -1e-3, 1e-38, -1e-38, 5, -5, 13.2, -13.2,
		87.3, -87.3, 88.3, -88.3, 200, -200, 3e38, -3e38, float32(math.Inf(1)), float32(math.Inf(-1))} {
		x = append(x, v, math.Nextafter32(v, 1), math.Nextafter32(v, -1))
	}
	return x
}

// TestGeluSliceMatchesScalar checks the vector GELU loops against
// gelu32 and gelu32Grad element by element, bit for bit, at every length
// from 0 to 40 (the tails) and on geluInputs; NaN gives NaN.
func TestGeluSliceMatchesScalar(t *testing.T) {
	x := geluInputs()
	r := rand.New(rand.NewSource(8))
	dy := make([]float32, len(x))
	for i := range dy {
		dy[i] = float32(r.NormFloat64())
	}
	check := func(x, dy []float32) {
		t.Helper()
		y := make([]float32, len(x))
		geluSlice32(y, x)
		dx := make([]float32, len(x))
		geluGradSlice32(dx, dy, x, y)
		for i, v := range x {
			if w := gelu32(v); math.Float32bits(y[i]) != math.Float32bits(w) {
				t.Fatalf("gelu(%v) = %v (%#x), gelu32 gives %v (%#x)", v, y[i], math.Float32bits(y[i]), w, math.Float32bits(w))
			}
			if w := dy[i] * gelu32Grad(v, y[i]); math.Float32bits(dx[i]) != math.Float32bits(w) {
				t.Fatalf("gelu'(%v)·%v = %v, gelu32Grad gives %v", v, dy[i], dx[i], w)
			}
		}
	}
	for n := 0; n <= 40; n++ {
		check(x[len(x)-n:], dy[:n])
	}
	check(x, dy)
	nan := []float32{float32(math.NaN()), 1, 2, 3, 4, 5, 6, 7, 8}
	y := make([]float32, len(nan))
	geluSlice32(y, nan)
	dx := make([]float32, len(nan))
	geluGradSlice32(dx, nan, nan, y)
	if !math.IsNaN(float64(y[0])) || !math.IsNaN(float64(dx[0])) {
		t.Fatalf("gelu(NaN) = %v, its gradient %v: want NaN", y[0], dx[0])
	}
}

func BenchmarkGeluSlice(b *testing.B) {
	x := geluInputs()[:8*1024]
	y, dx := make([]float32, len(x)), make([]float32, len(x))
	b.Run("fwd", func(b *testing.B) {
		for range b.N {
			geluSlice32(y, x)
		}
	})
	b.Run("fwd_scalar", func(b *testing.B) {
		for range b.N {
			for i, v := range x {
				y[i] = gelu32(v)
			}
		}
	})
	b.Run("grad", func(b *testing.B) {
		for range b.N {
			geluGradSlice32(dx, x, x, y)
		}
	})
	b.Run("grad_scalar", func(b *testing.B) {
		for range b.N {
			for i, v := range x {
				dx[i] = x[i] * gelu32Grad(v, y[i])
			}
		}
	})
}
