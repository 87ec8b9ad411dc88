package train

import (
	"math"

	"github.com/onnxtune/onnxtune/internal/gemm/vec"
)

// adam is torch.optim.Adam (amsgrad off): weight decay as L2 in the
// gradient.
type adam struct{ st State }

var _ Optimizer = (*adam)(nil)

func (*adam) Algorithm() Algorithm { return Adam }

func (o *adam) State() *State { return &o.st }

func (*adam) Buffers(Hyper) []string { return momentBuffers }

func (o *adam) Update(name string, p, g []float32, h Hyper) error {
	if err := sameLength(name, p, g); err != nil {
		return err
	}
	moments(&o.st, name, p, g, h.resolve(Adam), float32(h.WeightDecay))
	return nil
}

// momentBuffers are the state Adam and AdamW keep per parameter.
var momentBuffers = []string{"exp_avg", "exp_avg_sq"}

// moments is the step Adam and AdamW share: with d = g + l2*p,
// m = lerp(m, d, 1-b1); v = b2*v + (1-b2)*d*d;
// p = p - lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps),
// rounded as torch.optim.Adam's CPU kernels round it: the weights 1-b1 and
// 1-b2 taken in float64 and then rounded (PyTorch's Python floats), lerp as
// a fused multiply-add (m + w*(d-m) for w < 0.5, else d + (w-1)*(d-m)),
// v*b2 rounded and then w2*d*d added by one fused multiply-add (addcmul),
// d's weight decay too (torch.add with alpha). The moments come out as
// PyTorch's bit for bit; the parameter within a few units in the last
// place, since PyTorch's float32 sqrt is not correctly rounded
// (TestOptimizerBits).
func moments(s *State, name string, p, g []float32, h Hyper, l2 float32) {
	b1, b2, eps := h.Beta1, h.Beta2, h.Eps
	s.Steps[name]++
	t := float64(s.Steps[name])
	ma, _ := s.buf(name, "exp_avg", len(p))
	va, _ := s.buf(name, "exp_avg_sq", len(p))
	bc1 := 1 - math.Pow(b1, t)
	bc2 := 1 - math.Pow(b2, t)
	stepSize := float32(h.LR / bc1)
	bc2sqrt := float32(math.Sqrt(bc2))
	fb2 := float32(b2)
	w1, w2 := float32(1-b1), float32(1-b2)
	small := math.Abs(float64(w1)) < 0.5
	for i := range p {
		d := g[i]
		if l2 != 0 {
			d = vec.FMA(l2, p[i], d)
		}
		if small {
			ma[i] = vec.FMA(w1, d-ma[i], ma[i])
		} else {
			ma[i] = vec.FMA(w1-1, d-ma[i], d)
		}
		va[i] = vec.FMA(w2*d, d, va[i]*fb2)
		denom := float32(math.Sqrt(float64(va[i])))/bc2sqrt + float32(eps)
		p[i] -= stepSize * ma[i] / denom
	}
}
