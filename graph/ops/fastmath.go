package ops

import (
	"math"
	"unsafe"
)

// Activations of float32 kernels in float32 arithmetic, inlined into the
// loops that use them (LSTM's gates): exp32 is Cephes' expf (within 2 ulp
// of the exact value), where math.Exp through a float64 conversion and a
// function value costs several times more. Float64 kernels (the gradient
// checks) keep math.Exp.

// exp32 is e^x in float32, for x clamped to [-87.3, 88.3] (the result
// stays a normal float32; beyond, sigmoid and tanh are saturated anyway).
func exp32(x float32) float32 {
	if x < -87.3 { // comparisons: min and max on floats also order NaNs and zeros
		x = -87.3
	}
	if x > 88.3 {
		x = 88.3
	}
	// n = round(x·log2 e): adding 1.5·2²³ leaves the integer in the low
	// mantissa bits.
	t := x*1.44269504088896341 + 12582912
	n := t - 12582912
	x -= n * 0.693359375
	x -= n * -2.12194440e-4
	z := x * x
	y := ((((1.9875691500e-4*x+1.3981999507e-3)*x+8.3334519073e-3)*x+4.1665795894e-2)*x+1.6666665459e-1)*x + 5.0000001201e-1
	y = y*z + x + 1
	return y * math.Float32frombits((math.Float32bits(t)-0x4B400000+127)<<23)
}

// expT is e^x: exp32 for float32, math.Exp for float64.
func expT[T Float](x T) T {
	if unsafe.Sizeof(x) == 4 {
		return T(exp32(float32(x)))
	}
	return T(math.Exp(float64(x)))
}

// sigmoidT is 1/(1+e^-x).
func sigmoidT[T Float](x T) T { return 1 / (1 + expT(-x)) }

// tanhT is tanh(x): Cephes' tanhf in float32 (a polynomial below 0.625,
// else 1 - 2/(e^2|x|+1); within about 2 ulp), math.Tanh in float64.
func tanhT[T Float](x T) T {
	if unsafe.Sizeof(x) != 4 {
		return T(math.Tanh(float64(x)))
	}
	v := float32(x)
	a := v
	if a < 0 {
		a = -a
	}
	if a < 0.625 {
		z := v * v
		return T((((((-5.70498872745e-3*z+2.06390887954e-2)*z-5.37397155531e-2)*z+1.33314422036e-1)*z-3.33332819422e-1)*z)*v + v)
	}
	t := 1 - 2/(exp32(2*a)+1)
	if v < 0 {
		t = -t
	}
	return T(t)
}

// phi32 is the standard normal distribution function Φ(x) = (1 +
// erf(x/√2))/2 in float32, from Numerical Recipes' erfc (fractional error
// below 1.2e-7 everywhere), so that Φ keeps its relative precision far into
// the lower tail where GELU's output is tiny.
func phi32(x float32) float32 {
	z := x * 0.70710678118654752
	if z < 0 {
		z = -z
	}
	t := 1 / (1 + 0.5*z)
	p := -1.26551223 + t*(1.00002368+t*(0.37409196+t*(0.09678418+t*(-0.18628806+
		t*(0.27886807+t*(-1.13520398+t*(1.48851587+t*(-0.82215223+t*0.17087277))))))))
	half := 0.5 * t * exp32(-z*z+p) // erfc(z)/2
	if x < 0 {
		return half
	}
	return 1 - half
}

// gelu32 is x·Φ(x); gelu32Grad its derivative Φ(x) + x·φ(x), given y =
// gelu32(x): Φ(x) = y/x except near 0, one exponential instead of two.
func gelu32(x float32) float32 { return x * phi32(x) }

func gelu32Grad(x, y float32) float32 {
	var p float32
	if x > 1e-3 || x < -1e-3 {
		p = y / x
	} else {
		p = phi32(x)
	}
	return p + x*0.3989422804014327*exp32(-0.5*x*x)
}
