package train

import "math"

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
// m = b1*m + (1-b1)*d; v = b2*v + (1-b2)*d*d;
// p = p - lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps).
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
	fb1, fb2 := float32(b1), float32(b2)
	for i := range p {
		d := g[i]
		if l2 != 0 {
			d += l2 * p[i]
		}
		ma[i] = ma[i]*fb1 + (1-fb1)*d
		va[i] = va[i]*fb2 + (1-fb2)*d*d
		denom := float32(math.Sqrt(float64(va[i])))/bc2sqrt + float32(eps)
		p[i] -= stepSize * ma[i] / denom
	}
}
