package ops

import (
	"math"
	"testing"
)

// TestFastMath checks the float32 activations against float64's exact
// ones at the same float32 inputs, over the whole range the LSTM's gates
// meet: exp32 within 3e-7 relative, sigmoid and tanh within 2e-7.
func TestFastMath(t *testing.T) {
	cases := []struct {
		name  string
		fast  func(float32) float32
		exact func(float64) float64
		lo    float64
		hi    float64
		tol   float64
		floor float64 // errors are relative to max(|exact|, floor)
	}{
		{"exp32", exp32, math.Exp, -87, 88, 3e-7, 1e-30},
		{"sigmoid", sigmoidT[float32], func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }, -80, 80, 2e-7, 1e-30},
		{"tanh", tanhT[float32], math.Tanh, -20, 20, 2e-7, 1e-30},
		// Φ(x) = erfc(-x/√2)/2 keeps float64's precision in the lower tail.
		{"gelu", gelu32, gelu64, -4, 12, 2e-6, 1e-30},
		// Below -4 (|GELU| < 1.3e-4) float32's x² limits e^(-x²/2) to about
		// 2e-5 relative.
		{"gelu_tail", gelu32, gelu64, -12, -4, 3e-5, 1e-30},
		// The derivative crosses 0 near -0.75: there the error is absolute.
		{"gelu'", func(x float32) float32 { return gelu32Grad(x, gelu32(x)) }, gelu64Grad, -4, 12, 1.5e-6, 0.1},
		{"gelu'_tail", func(x float32) float32 { return gelu32Grad(x, gelu32(x)) }, gelu64Grad, -12, -4, 3e-5, 1e-30},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			worst, at := 0.0, 0.0
			for x := c.lo; x <= c.hi; x += 0.000731 {
				x32 := float64(float32(x))
				want := c.exact(x32)
				got := float64(c.fast(float32(x32)))
				if e := math.Abs(got-want) / max(math.Abs(want), c.floor); e > worst {
					worst, at = e, x32
				}
			}
			if worst > c.tol {
				t.Errorf("relative error %.3g at %v, want at most %g", worst, at, c.tol)
			}
		})
	}
	if got := exp32(-200); got <= 0 || got > 1e-37 {
		t.Errorf("exp32(-200) = %g, want a tiny positive number", got)
	}
	if got := sigmoidT(float32(200)); got != 1 {
		t.Errorf("sigmoid(200) = %g, want 1", got)
	}
}

func gelu64(x float64) float64 { return x * math.Erfc(-x/math.Sqrt2) / 2 }

func gelu64Grad(x float64) float64 {
	return math.Erfc(-x/math.Sqrt2)/2 + x*math.Exp(-x*x/2)/math.Sqrt(2*math.Pi)
}
