package ops

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph"
)

// LSTM, GRU and RNN (opsets 7 and 14: layout), every attribute PyTorch's
// exporters write and the rest of ONNX's but LSTM's input_forget: forward,
// reverse and bidirectional directions, initial states, sequence_lens,
// layout 0 and 1, GRU's linear_before_reset, activations with their alpha
// and beta, clip, LSTM's peepholes P. Differentiable w.r.t. X, W, R, B,
// the initial states and P, by backpropagation through time
// (recurrent_kernel.go).
//
// Their W, R and B hold PyTorch's parameters (nn.LSTM's weight_ih_l0,
// weight_hh_l0, bias_ih_l0, bias_hh_l0, ..._reverse) with the directions
// stacked, the gates in ONNX's order and B = [Wb, Rb]: the slots say how
// (graph.ParamSlot.Parts and Gates), and the parameter table lists each
// PyTorch tensor as a view of the file's (graph.ParamView).
func registerRecurrent(r *Registry) {
	// PyTorch's gate k is ONNX's block Gates[k]: LSTM i,f,g,o of ONNX's
	// i,o,f,c; GRU r,z,n of ONNX's z,r,h.
	slots := func(gates ...int) []graph.ParamSlot {
		return []graph.ParamSlot{
			{Input: 1, Suffix: "weight", Parts: []string{"weight_ih"}, Gates: gates},
			{Input: 2, Suffix: "weight", Parts: []string{"weight_hh"}, Gates: gates},
			{Input: 3, Suffix: "bias", Parts: []string{"bias_ih", "bias_hh"}, Gates: gates},
		}
	}
	r.add(OpInfo{Name: "LSTM", Differentiable: true, Lower: lowerRecurrent(kindLSTM), Params: slots(0, 2, 3, 1)})
	r.add(OpInfo{Name: "GRU", Differentiable: true, Lower: lowerRecurrent(kindGRU), Params: slots(1, 0, 2)})
	r.add(OpInfo{Name: "RNN", Differentiable: true, Lower: lowerRecurrent(kindRNN), Params: slots(0)})
}

// rnnDefaults are the activations of each op when the node names none.
var rnnDefaults = [...][]string{
	kindRNN:  {"Tanh"},
	kindGRU:  {"Sigmoid", "Tanh"},
	kindLSTM: {"Sigmoid", "Tanh", "Tanh"},
}

func lowerRecurrent(kind rnnKind) LowerFunc {
	name := [...]string{"RNN", "GRU", "LSTM"}[kind]
	return func(c *Ctx, in []*Value) ([]*Value, error) {
		cfg, args, err := rnnConfig(c, kind, name, in)
		if err != nil {
			return nil, err
		}
		// The pack's readers are the views of its head below and the
		// backward kernel, which reads no pre-activation of a float32 LSTM.
		cfg.noPre = true
		dt := args[0].DType
		for i, a := range args {
			if a.reshapeOf != nil && flatReads {
				args[i] = a.reshapeOf // the same elements, read flat: no copy
			}
		}
		sizes := make([]int, len(args))
		shapes := make([][]int, len(args))
		for i, a := range args {
			sizes[i], shapes[i] = a.Size(), a.Shape
		}
		if p := args[0].packOf; p != nil && p.off == 0 && flatReads && p.pack.DType == dt {
			// X is the Y of a recurrent node before (a stacked layer):
			// read in place at the head of its pack, not copied out.
			args[0], cfg.xHead = p.pack, true
		}
		s := Spec{Name: name, Shape: []int{cfg.packSize()}, DType: dt,
			Into: floatsInto(rnnForward[float32](cfg), rnnForward[float64](cfg))}
		s.WRT = make([]bool, len(args))
		for i := range args {
			s.WRT[i] = i != cfg.iSeq
		}
		s.Grad = rnnGrad(cfg, name, sizes, shapes)
		pack, err := c.Apply(s, args...)
		if err != nil {
			return nil, err
		}
		outs := make([]*Value, len(c.Node.Outputs))
		hShape := []int{cfg.dirs, cfg.B, cfg.H}
		yShape := []int{cfg.T, cfg.dirs, cfg.B, cfg.H}
		if cfg.layout == 1 {
			hShape = []int{cfg.B, cfg.dirs, cfg.H}
			yShape = []int{cfg.B, cfg.T, cfg.dirs, cfg.H}
		}
		views := []struct {
			name  string
			off   int
			shape []int
		}{{"Y", 0, yShape}, {"Y_h", cfg.offYh(), hShape}, {"Y_c", cfg.offYc(), hShape}}
		for i, o := range c.Node.Outputs {
			if o == "" {
				continue
			}
			if i >= len(views) || (i == 2 && kind != kindLSTM) {
				return nil, fmt.Errorf("%s has no output %d", name, i)
			}
			v := views[i]
			if outs[i], err = packPart(c, name+" "+v.name, pack, v.off, v.shape, cfg.offCache()); err != nil {
				return nil, err
			}
		}
		return outs, nil
	}
}

// packPart is the output of shape at offset off of a recurrent node's
// pack. Its gradient is pack-sized, but only the outputs' head (the first
// head elements) can be non-zero: the kernel writes that head and leaves
// the rest, the cache's, at the zeros of its buffer's first run, instead
// of clearing and scattering the whole pack every step.
func packPart(c *Ctx, name string, pack *Value, off int, shape []int, head int) (*Value, error) {
	n, size := sizeOf(shape), pack.Size()
	s := Spec{Name: name, Shape: shape, DType: pack.DType, Into: func(in []*tensor.Dense, dst *tensor.Dense) error {
		return copyFlat(dst, in[0], off, n)
	}}
	s.WRT = []bool{true}
	s.Grad = packPartGrad(name, size, off, n, head)
	v, err := c.Apply(s, pack)
	if err == nil && !v.IsConst() {
		v.packOf = &packView{name: name, pack: pack, off: off, head: head}
	}
	return v, err
}

// packView is a part of a recurrent node's pack (packPart's arguments).
type packView struct {
	name      string
	pack      *Value
	off, head int
}

// reshapePackPart is the Reshape (name: Squeeze, Flatten...) of a pack's
// part x to shape: the same part copied out of the pack in that shape, so
// that the forward and the backward copy it once instead of twice. Nil
// when x is no such part.
func reshapePackPart(c *Ctx, name string, x *Value, shape []int) (*Value, error) {
	p := x.packOf
	if p == nil || !x.DType.IsFloat() || !reshapePacks {
		return nil, nil
	}
	return packPart(c, p.name+" "+name, p.pack, p.off, shape, p.head)
}

// reshapePacks enables reshapePackPart (a variable so that tests can
// compare it with the copy it saves).
var reshapePacks = true

// packPartGrad is the gradient of packPart's view: pack-sized, the part
// written and the rest of the head cleared.
func packPartGrad(name string, size, off, n, head int) GradFunc {
	return func(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
		var zeroed uintptr // the buffer whose tail is known to be 0
		into := func(in []*tensor.Dense, dst *tensor.Dense) error {
			if p := dst.Uintptr(); p != zeroed {
				if err := zeroFlat(dst, size); err != nil {
					return err
				}
				zeroed = p
			} else if err := zeroFlatRange(dst, 0, off); err != nil {
				return err
			} else if err := zeroFlatRange(dst, off+n, head); err != nil {
				return err
			}
			return putFlat(dst, in[0], off, n) // the part: written, not cleared and added
		}
		g, err := NewNode(grad.Graph(), output.Name()+"/grad", Spec{Name: name + "Grad", Shape: []int{size},
			DType: DTypeOf(inputs[0]), Into: into}, grad)
		if err == nil && head <= size {
			markFlat(g, flatPart{src: grad, off: off, n: n}) // zeros but the part, as far as head (and past it, the first run's)
		}
		return G.Nodes{g}, err
	}
}

// copyFlat copies n elements at off of src into dst.
func copyFlat(dst, src *tensor.Dense, off, n int) error {
	switch d := dst.Data().(type) {
	case []float32:
		s, ok := src.Data().([]float32)
		if !ok || off+n > len(s) || n > len(d) {
			return fmt.Errorf("part %d+%d of %v", off, n, src.Shape())
		}
		copy(d, s[off:off+n])
	case []float64:
		s, ok := src.Data().([]float64)
		if !ok || off+n > len(s) || n > len(d) {
			return fmt.Errorf("part %d+%d of %v", off, n, src.Shape())
		}
		copy(d, s[off:off+n])
	default:
		return fmt.Errorf("part of %v", dst.Dtype())
	}
	return nil
}

// zeroFlat sets the first n elements of t to 0.
func zeroFlat(t *tensor.Dense, n int) error {
	switch d := t.Data().(type) {
	case []float32:
		clear(d[:n])
	case []float64:
		clear(d[:n])
	default:
		return fmt.Errorf("zeroing %v", t.Dtype())
	}
	return nil
}

// zeroFlatRange sets elements [lo, hi) of t to 0 (none when hi <= lo).
func zeroFlatRange(t *tensor.Dense, lo, hi int) error {
	if hi <= lo {
		return nil
	}
	switch d := t.Data().(type) {
	case []float32:
		clear(d[lo:hi])
	case []float64:
		clear(d[lo:hi])
	default:
		return fmt.Errorf("zeroing %v", t.Dtype())
	}
	return nil
}

// putFlat copies src's n elements into dst at off.
func putFlat(dst, src *tensor.Dense, off, n int) error {
	switch d := dst.Data().(type) {
	case []float32:
		s, ok := src.Data().([]float32)
		if !ok || len(s) != n || off+n > len(d) {
			return fmt.Errorf("gradient part %d+%d of %v", off, n, dst.Shape())
		}
		copy(d[off:], s)
	case []float64:
		s, ok := src.Data().([]float64)
		if !ok || len(s) != n || off+n > len(d) {
			return fmt.Errorf("gradient part %d+%d of %v", off, n, dst.Shape())
		}
		copy(d[off:], s)
	default:
		return fmt.Errorf("gradient of %v", dst.Dtype())
	}
	return nil
}

// rnnGrad builds the gradient of the pack: one backward node computes
// every input's gradient, flat; a view cuts out each one.
func rnnGrad(cfg *rnnCfg, name string, sizes []int, shapes [][]int) GradFunc {
	return func(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
		key := output.Name()
		off, total := rnnGradLayout(sizes, cfg)
		// When the pack's gradient is d Y alone copied from another
		// kernel's output, the backward reads it there.
		dy, from := grad, -1
		if src, at, zeros := flatSource(grad, 0, cfg.ySize()); zeros && flatReads {
			dy, from = src, at
		}
		args := append(G.Nodes{dy, output}, inputs...)
		all, err := NewNode(grad.Graph(), key+"/grad", Spec{Name: name + "Grad", Shape: []int{total}, DType: DTypeOf(output),
			Into: floatsInto(rnnBackwardY[float32](cfg, sizes, from), rnnBackwardY[float64](cfg, sizes, from))}, args...)
		if err != nil {
			return nil, err
		}
		out := make(G.Nodes, len(inputs))
		for i := range inputs {
			if i == cfg.iSeq {
				continue
			}
			shape, at, n := shapes[i], off[i], sizes[i]
			into := func(in []*tensor.Dense, dst *tensor.Dense) error {
				return copyFlat(dst, in[0], at, n) // into a kept buffer
			}
			if i == 0 && cfg.xHead {
				// The gradient of the pack X is the head of: d X, then 0
				// (left unrun when that layer reads d X in place).
				shape = ShapeOf(inputs[0])
				into = func(in []*tensor.Dense, dst *tensor.Dense) error {
					if err := copyFlat(dst, in[0], at, n); err != nil {
						return err
					}
					return zeroFlatRange(dst, n, sizeOf(shape))
				}
			}
			out[i], err = NewNode(grad.Graph(), fmt.Sprintf("%s/grad%d", key, i), Spec{Name: name + "GradPart", Shape: shape,
				DType: DTypeOf(output), Into: into}, all)
			if err != nil {
				return nil, err
			}
			markFlat(out[i], flatPart{src: all, from: at, n: n})
		}
		return out, nil
	}
}

// rnnConfig reads a recurrent node's attributes and checks its inputs'
// shapes; it returns the kernel's inputs (the node's that are present).
func rnnConfig(c *Ctx, kind rnnKind, name string, in []*Value) (*rnnCfg, []*Value, error) {
	if len(in) < 3 || in[0] == nil || in[1] == nil || in[2] == nil {
		return nil, nil, fmt.Errorf("%s wants inputs X, W and R", name)
	}
	at := c.attrs()
	cfg := &rnnCfg{kind: kind, name: name, G: [...]int{1, 3, 4}[kind], iB: -1, iSeq: -1, iH: -1, iC: -1, iP: -1}
	cfg.H = int(at.Int("hidden_size", 0))
	switch dir := at.String("direction", "forward"); dir {
	case "forward":
		cfg.dirs = 1
	case "reverse":
		cfg.dirs, cfg.reverse = 1, true
	case "bidirectional":
		cfg.dirs = 2
	default:
		return nil, nil, fmt.Errorf("%s: direction %q, want forward, reverse or bidirectional", name, dir)
	}
	if c.Opset >= 14 {
		cfg.layout = int(at.Int("layout", 0))
	}
	if cfg.layout != 0 && cfg.layout != 1 {
		return nil, nil, fmt.Errorf("%s: layout %d, want 0 or 1", name, cfg.layout)
	}
	if kind == kindGRU {
		cfg.lbr = at.Int("linear_before_reset", 0) != 0
	}
	if kind == kindLSTM && at.Int("input_forget", 0) != 0 {
		return nil, nil, fmt.Errorf("%s: input_forget=1 is not supported (PyTorch never writes it)", name)
	}
	if at.Has("clip") {
		cfg.clip = at.Float("clip", 0)
		if !(cfg.clip > 0) {
			return nil, nil, fmt.Errorf("%s: clip %v, want a positive threshold", name, cfg.clip)
		}
	}
	if err := at.Err(); err != nil {
		return nil, nil, err
	}
	if err := rnnActs(c, cfg); err != nil {
		return nil, nil, err
	}
	x, w, r := in[0], in[1], in[2]
	if !x.DType.IsFloat() || w.DType != x.DType || r.DType != x.DType {
		return nil, nil, fmt.Errorf("%s: X, W and R are %s, %s and %s: want one float type", name, x.DType, w.DType, r.DType)
	}
	if x.Rank() != 3 {
		return nil, nil, fmt.Errorf("%s: X has shape %v, want rank 3", name, x.Shape)
	}
	cfg.T, cfg.B, cfg.I = x.Shape[0], x.Shape[1], x.Shape[2]
	if cfg.layout == 1 {
		cfg.T, cfg.B = cfg.B, cfg.T
	}
	gh := cfg.G * cfg.H
	if cfg.H <= 0 && w.Rank() == 3 {
		cfg.H = w.Shape[1] / cfg.G // hidden_size is optional: W's shape gives it
		gh = cfg.G * cfg.H
	}
	want := func(what string, v *Value, shape ...int) error {
		if !sameInts(v.Shape, shape) {
			return fmt.Errorf("%s: %s has shape %v, want %v (hidden_size %d, %d direction(s))", name, what, v.Shape, shape, cfg.H, cfg.dirs)
		}
		if v.DType != x.DType && what != "sequence_lens" {
			return fmt.Errorf("%s: %s is %s, X is %s", name, what, v.DType, x.DType)
		}
		return nil
	}
	if cfg.H <= 0 {
		return nil, nil, fmt.Errorf("%s: hidden_size %d, want a positive size", name, cfg.H)
	}
	if err := want("W", w, cfg.dirs, gh, cfg.I); err != nil {
		return nil, nil, err
	}
	if err := want("R", r, cfg.dirs, gh, cfg.H); err != nil {
		return nil, nil, err
	}
	args := []*Value{x, w, r}
	hShape := []int{cfg.dirs, cfg.B, cfg.H}
	if cfg.layout == 1 {
		hShape = []int{cfg.B, cfg.dirs, cfg.H}
	}
	opt := []struct {
		idx   int
		what  string
		shape []int
		pos   *int
	}{
		{3, "B", []int{cfg.dirs, 2 * gh}, &cfg.iB},
		{4, "sequence_lens", []int{cfg.B}, &cfg.iSeq},
		{5, "initial_h", hShape, &cfg.iH},
		{6, "initial_c", hShape, &cfg.iC},
		{7, "P", []int{cfg.dirs, 3 * cfg.H}, &cfg.iP},
	}
	for _, o := range opt {
		v := input(in, o.idx)
		if v == nil {
			continue
		}
		if kind != kindLSTM && o.idx > 5 {
			return nil, nil, fmt.Errorf("%s has no input %d", name, o.idx)
		}
		if err := want(o.what, v, o.shape...); err != nil {
			return nil, nil, err
		}
		if o.idx == 4 && v.DType != graph.Int32 && v.DType != graph.Int64 {
			return nil, nil, fmt.Errorf("%s: sequence_lens is %s, want int32", name, v.DType)
		}
		*o.pos = len(args)
		args = append(args, v)
	}
	cfg.nIn = len(args)
	if err := c.checkShape(name+" state", []int{cfg.packSize()}, x.DType); err != nil {
		return nil, nil, err
	}
	return cfg, args, nil
}

// rnnActs reads activations, activation_alpha and activation_beta: one
// list for the directions in turn (f, g, h for LSTM; f, g for GRU; f for
// RNN); alpha and beta go, in order, to the functions that take them.
func rnnActs(c *Ctx, cfg *rnnCfg) error {
	per := len(rnnDefaults[cfg.kind])
	names := rnnDefaults[cfg.kind]
	if a := c.Node.Attr("activations"); a != nil {
		if a.Type != graph.AttrStrings && a.Type != graph.AttrUndefined {
			return fmt.Errorf("%s: attribute activations: want strings", cfg.name)
		}
		names = nil
		for _, s := range a.Strings {
			names = append(names, string(s))
		}
	}
	switch len(names) {
	case per * cfg.dirs:
	case per:
		if cfg.dirs == 2 {
			names = append(append([]string{}, names...), names...)
		}
	default:
		return fmt.Errorf("%s: %d activations, want %d per direction", cfg.name, len(names), per)
	}
	if cfg.dirs == 1 && len(names) > per {
		names = names[:per]
	}
	alphas, betas := c.attrs().Floats("activation_alpha"), c.attrs().Floats("activation_beta")
	if err := c.attrs().Err(); err != nil {
		return err
	}
	cfg.acts = make([][]rnnAct, cfg.dirs)
	for k, n := range names {
		na, nb, alpha, beta := rnnActParams(n)
		if na > 0 && len(alphas) > 0 {
			alpha, alphas = alphas[0], alphas[1:]
		}
		if nb > 0 && len(betas) > 0 {
			beta, betas = betas[0], betas[1:]
		}
		a, ok := rnnActivation(n, alpha, beta)
		if !ok {
			return fmt.Errorf("%s: activation %q is not supported", cfg.name, n)
		}
		cfg.acts[k/per] = append(cfg.acts[k/per], a)
	}
	return nil
}
