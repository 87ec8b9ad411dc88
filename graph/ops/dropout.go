package ops

import (
	"fmt"
	"math/rand"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph"
)

// registerDropout adds Dropout, whose inference form passes values
// through.
func registerDropout(r *Registry) {
	r.add(OpInfo{Name: "Dropout", Differentiable: true, Lower: lowerDropout, Inference: dropoutInference})
}

// dropoutInference: Dropout loses its training_mode input (the value it read
// is left for the caller to remove if nothing else reads it), and is_test
// becomes 1 in the versions that have it.
func dropoutInference(n *graph.Node, _ func(string) bool) (func() []string, error) {
	a := n.Attr("is_test")
	if len(n.Inputs) < 3 && (a == nil || a.I != 0) {
		return nil, nil
	}
	return func() []string {
		var detached []string
		if len(n.Inputs) >= 3 {
			if n.Inputs[2] != "" {
				detached = append(detached, n.Inputs[2])
			}
			n.Inputs = n.Inputs[:2]
		}
		if a != nil && a.I == 0 {
			a.I = 1
		}
		return detached
	}, nil
}

// lowerDropout handles every Dropout version. Compiled for training it drops
// as PyTorch's model.train() does, whatever form the export wrote (is_test,
// training_mode): fine-tuning an inference export trains with dropout.
// Otherwise the output is the input and the mask is all true.
func lowerDropout(c *Ctx, in []*Value) ([]*Value, error) {
	if len(in) == 0 || in[0] == nil {
		return nil, fmt.Errorf("missing input")
	}
	x := in[0]
	ratio, training := 0.5, c.Train
	if c.Opset < 12 {
		ratio = c.attrs().Float("ratio", 0.5)
	} else if training && len(in) > 1 && in[1] != nil {
		r, err := in[1].Float()
		if err != nil {
			return nil, fmt.Errorf("ratio: %w", err)
		}
		ratio = r
	}
	if ratio < 0 || ratio > 1 {
		return nil, fmt.Errorf("ratio %g is outside [0, 1]", ratio)
	}
	maskType := graph.Bool
	if c.Opset < 10 {
		maskType = x.DType
	}
	wantMask := len(c.Node.Outputs) > 1 && c.Node.Outputs[1] != ""
	if !training || ratio == 0 {
		outs := []*Value{x, nil}
		if wantMask {
			m, err := dropAllTrue(x.Shape, maskType)
			if err != nil {
				return nil, err
			}
			outs[1] = m
		}
		return outs, nil
	}
	if !x.DType.IsFloat() {
		return nil, fmt.Errorf("input of type %s, want a float type in training", x.DType)
	}
	st := &dropState{rng: c.Rand, ratio: ratio}
	if st.rng == nil {
		return nil, fmt.Errorf("no random source")
	}
	s := Spec{Name: "Dropout", Shape: x.Shape, DType: x.DType, Fwd: st.forward, NoFold: true, WRT: []bool{true}}
	s.Grad = func(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
		n, err := NewNode(grad.Graph(), output.Name()+"/grad", Spec{Name: "DropoutGrad", Shape: ShapeOf(inputs[0]),
			DType: DTypeOf(inputs[0]), Fwd: st.backward}, grad, output)
		return G.Nodes{n}, err
	}
	y, err := c.Apply(s, x)
	if err != nil {
		return nil, err
	}
	outs := []*Value{y, nil}
	if wantMask {
		// The mask node reads y so that it runs after the forward kernel
		// that drew the mask.
		if outs[1], err = c.Apply(Spec{Name: "DropoutMask", Shape: x.Shape, DType: maskType, Fwd: st.maskKernel(maskType), NoFold: true}, y); err != nil {
			return nil, err
		}
	}
	return outs, nil
}

// dropAllTrue is the mask of an inactive Dropout.
func dropAllTrue(shape []int, dt graph.DType) (*Value, error) {
	n := sizeOf(shape)
	switch dt {
	case graph.Bool:
		m := make([]bool, n)
		for i := range m {
			m[i] = true
		}
		return ConstValue(Dense(shape, m))
	case graph.Float32:
		m := make([]float32, n)
		for i := range m {
			m[i] = 1
		}
		return ConstValue(Dense(shape, m))
	case graph.Float64:
		m := make([]float64, n)
		for i := range m {
			m[i] = 1
		}
		return ConstValue(Dense(shape, m))
	}
	return nil, fmt.Errorf("mask of type %s is not supported", dt)
}

// dropState is shared by the kernels of one Dropout node: the forward kernel
// draws a fresh mask every run and keeps it for the gradient and the mask
// output, which run after it in the same pass.
type dropState struct {
	rng   *rand.Rand
	ratio float64
	mask  []bool // kept elements of the last forward run
}

// draw fills the mask: each element is kept with probability 1-ratio. Two
// 32-bit draws come from each 64-bit random number.
func (s *dropState) draw(n int) {
	if cap(s.mask) < n {
		s.mask = make([]bool, n)
	}
	s.mask = s.mask[:n]
	thr := uint64(s.ratio * (1 << 32)) // drop when the draw is below
	if s.ratio >= 1 {
		thr = 1 << 32
	}
	for i := 0; i < n; i += 2 {
		u := s.rng.Uint64()
		s.mask[i] = u&0xffffffff >= thr
		if i+1 < n {
			s.mask[i+1] = u>>32 >= thr
		}
	}
}

func (s *dropState) scale() float64 {
	if s.ratio >= 1 {
		return 0
	}
	return 1 / (1 - s.ratio)
}

func (s *dropState) forward(in []*tensor.Dense) (*tensor.Dense, error) {
	s.draw(in[0].Size())
	return s.apply(in)
}

// backward gets (dy, y) and returns dy * mask / (1-ratio).
func (s *dropState) backward(in []*tensor.Dense) (*tensor.Dense, error) {
	if len(s.mask) != in[0].Size() {
		return nil, fmt.Errorf("no mask for %d elements (the forward did not run)", in[0].Size())
	}
	return s.apply(in)
}

// apply returns in[0] * mask / (1-ratio).
func (s *dropState) apply(in []*tensor.Dense) (*tensor.Dense, error) {
	run, err := pick(byType[func() (*tensor.Dense, error)]{
		Float32: func() (*tensor.Dense, error) { return dropApply(in[0], s.mask, float32(s.scale())) },
		Float64: func() (*tensor.Dense, error) { return dropApply(in[0], s.mask, s.scale()) },
	}, in[0].Dtype())
	if err != nil {
		return nil, err
	}
	return run()
}

func dropApply[T Float](t *tensor.Dense, mask []bool, scale T) (*tensor.Dense, error) {
	x, err := Data[T](t)
	if err != nil {
		return nil, err
	}
	out := make([]T, len(x))
	for i, v := range x {
		if mask[i] {
			out[i] = v * scale
		}
	}
	return Dense(Shape(t), out), nil
}

// maskKernel returns the last mask drawn, as booleans (opset 10+) or as
// the input's float type (before 10).
func (s *dropState) maskKernel(dt graph.DType) Kernel {
	return func(in []*tensor.Dense) (*tensor.Dense, error) {
		shape := Shape(in[0])
		if len(s.mask) != sizeOf(shape) {
			return nil, fmt.Errorf("no mask for %d elements (the forward did not run)", sizeOf(shape))
		}
		switch dt {
		case graph.Bool:
			return Dense(shape, append([]bool(nil), s.mask...)), nil
		case graph.Float32:
			return Dense(shape, dropMaskAs[float32](s.mask)), nil
		case graph.Float64:
			return Dense(shape, dropMaskAs[float64](s.mask)), nil
		}
		return nil, fmt.Errorf("mask of type %s is not supported", dt)
	}
}

func dropMaskAs[T Float](mask []bool) []T {
	out := make([]T, len(mask))
	for i, m := range mask {
		if m {
			out[i] = 1
		}
	}
	return out
}
