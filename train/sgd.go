package train

import "github.com/onnxtune/onnxtune/internal/gemm/vec"

// sgd is torch.optim.SGD: momentum, dampening, Nesterov, weight decay.
type sgd struct{ st State }

var _ Optimizer = (*sgd)(nil)

func (*sgd) Algorithm() Algorithm { return SGD }

func (o *sgd) State() *State { return &o.st }

// Buffers: a momentum buffer when there is momentum.
func (*sgd) Buffers(h Hyper) []string {
	if h.Momentum != 0 {
		return []string{"momentum_buffer"}
	}
	return nil
}

// Update: d = g + wd*p; b = d on the first step, else
// b = m*b + (1-dampening)*d; d = d + m*b with Nesterov, else d = b;
// p = p - lr*d. Each sum with a product is one fused multiply-add, as in
// PyTorch's CPU kernels (torch.add with alpha): the same bits as
// torch.optim.SGD (TestOptimizerBits).
func (o *sgd) Update(name string, p, g []float32, h Hyper) error {
	if err := sameLength(name, p, g); err != nil {
		return err
	}
	wd, m, lr := float32(h.WeightDecay), float32(h.Momentum), float32(h.LR)
	damp := float32(1 - h.Dampening)
	var b []float32
	first := false
	if h.Momentum != 0 {
		var had bool
		b, had = o.st.buf(name, "momentum_buffer", len(p))
		first = !had
	}
	parallelChunks(len(p), func(lo, hi int) {
		p, g := p[lo:hi], g[lo:hi]
		if b != nil && !first && !h.Nesterov && wd != 0 {
			// The common case (momentum after the first step), in
			// internal/gemm/vec's AVX2/AVX-512 loop: the same
			// operations as below.
			vec.SGDMomentum(p, g, b[lo:hi], wd, m, damp, lr)
			return
		}
		var bb []float32
		if b != nil {
			bb = b[lo:hi]
		}
		for i := range p {
			d := g[i]
			if wd != 0 {
				d = vec.FMA(wd, p[i], d)
			}
			if bb != nil {
				if first {
					bb[i] = d
				} else {
					bb[i] = vec.FMA(damp, d, m*bb[i])
				}
				if h.Nesterov {
					d = vec.FMA(m, bb[i], d)
				} else {
					d = bb[i]
				}
			}
			p[i] = vec.FMA(-lr, d, p[i])
		}
	})
	o.st.Steps[name]++
	return nil
}
