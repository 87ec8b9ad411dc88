package ops

import (
	"math"
)

// registerMoreUnary adds the elementwise ops PyTorch writes for
// F.softsign, F.celu, F.threshold, F.hardshrink and F.softshrink (Shrink),
// torch.sign and torch.round. Sign and Round have no gradient (PyTorch's
// is zero everywhere).
func registerMoreUnary(r *Registry) {
	r.add(OpInfo{Name: "Softsign", Differentiable: true, Lower: actFixed("Softsign", actSoftsign[float32], actSoftsign[float64], actSoftsignGrad[float32], actSoftsignGrad[float64])})
	r.add(OpInfo{Name: "Celu", Differentiable: true, Lower: actLower("Celu", actWith("alpha", 1, "", 0, actCelu[float32], actCelu[float64]))})
	r.add(OpInfo{Name: "ThresholdedRelu", Differentiable: true, Lower: actLower("ThresholdedRelu", actWith("alpha", 1, "", 0, actThresholdedRelu[float32], actThresholdedRelu[float64]))})
	r.add(OpInfo{Name: "Shrink", Differentiable: true, Lower: actLower("Shrink", actWith("lambd", 0.5, "bias", 0, actShrink[float32], actShrink[float64]))})
	r.add(OpInfo{Name: "Sign", Lower: lowerRounding("Sign", func(v float64) float64 {
		if v == 0 || math.IsNaN(v) {
			return v
		}
		return math.Copysign(1, v)
	})})
	r.add(OpInfo{Name: "Round", Lower: lowerRounding("Round", math.RoundToEven)})
}

// actSoftsign is x / (1 + |x|).
func actSoftsign[T Float](x T) T { return x / (1 + T(math.Abs(float64(x)))) }

func actSoftsignGrad[T Float](x, _ T) T {
	d := 1 + T(math.Abs(float64(x)))
	return 1 / (d * d)
}

// actCelu is max(0, x) + min(0, alpha*(e^(x/alpha) - 1)); the derivative is
// 1 for x > 0, else e^(x/alpha) (PyTorch's: 1 at 0).
func actCelu[T Float](alpha, _ T) (func(T) T, func(x, y T) T) {
	return func(x T) T {
			if x > 0 {
				return x
			}
			return alpha * T(math.Expm1(float64(x/alpha)))
		}, func(x, _ T) T {
			if x > 0 {
				return 1
			}
			return T(math.Exp(float64(x / alpha)))
		}
}

// actThresholdedRelu is x where x > alpha, else 0; so is its derivative's
// 1 (PyTorch's threshold: 0 at x == alpha).
func actThresholdedRelu[T Float](alpha, _ T) (func(T) T, func(x, y T) T) {
	return func(x T) T {
			if x > alpha {
				return x
			}
			return 0
		}, func(x, _ T) T {
			if x > alpha {
				return 1
			}
			return 0
		}
}

// actShrink is x + bias below -lambd, x - bias above lambd, else 0; the
// derivative is 1 outside [-lambd, lambd] (PyTorch's hardshrink and
// softshrink: 0 at the bounds).
func actShrink[T Float](lambd, bias T) (func(T) T, func(x, y T) T) {
	return func(x T) T {
			switch {
			case x < -lambd:
				return x + bias
			case x > lambd:
				return x - bias
			}
			return 0
		}, func(x, _ T) T {
			if x < -lambd || x > lambd {
				return 1
			}
			return 0
		}
}
