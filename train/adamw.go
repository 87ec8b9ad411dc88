package train

// adamW is torch.optim.AdamW (amsgrad off): weight decay decoupled from the
// gradient, applied to the weights before Adam's step.
type adamW struct{ st State }

var _ Optimizer = (*adamW)(nil)

func (*adamW) Algorithm() Algorithm { return AdamW }

func (o *adamW) State() *State { return &o.st }

func (*adamW) Buffers(Hyper) []string { return momentBuffers }

func (o *adamW) Update(name string, p, g []float32, h Hyper) error {
	if err := sameLength(name, p, g); err != nil {
		return err
	}
	if h.WeightDecay != 0 {
		k := float32(1 - h.LR*h.WeightDecay) // PyTorch's param.mul_(1 - lr * weight_decay), in Python floats
		for i := range p {
			p[i] *= k
		}
	}
	moments(&o.st, name, p, g, h.resolve(AdamW), 0)
	return nil
}
