package ops

import (
	"fmt"
	"math"
	"runtime"

	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/internal/gemm"
)

// The kernels of LSTM, GRU and RNN. One forward kernel computes every
// output of the node into one flat tensor, the "pack": Y, Y_h, Y_c (LSTM),
// then what the backward needs of each step (gate pre-activations and
// activations, the states). The node's outputs are views of the pack, so
// the gradients gorgonia brings back through them arrive as one gradient
// of the pack; the backward kernel turns it, by backpropagation through
// time, into the gradients of every float input, again in one flat tensor
// that views cut into the inputs' shapes. Per-step products go through
// the GEMM helpers (gemm.go): X·Wᵀ for all steps at once, then one
// H·Rᵀ per step and direction.

type rnnKind int

const (
	kindRNN rnnKind = iota
	kindGRU
	kindLSTM
)

// rnnAct is an activation function of a recurrent op with its
// derivative as a function of the input x and the output y.
type rnnAct struct {
	name string
	f    func(x float64) float64
	d    func(x, y float64) float64
}

// rnnActivation returns ONNX's activation function name with its alpha
// and beta (the defaults are the ops' of the same name).
func rnnActivation(name string, alpha, beta float64) (rnnAct, bool) {
	a := rnnAct{name: name}
	switch name {
	case "Sigmoid":
		a.f = func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
		a.d = func(_, y float64) float64 { return y * (1 - y) }
	case "Tanh":
		a.f = math.Tanh
		a.d = func(_, y float64) float64 { return 1 - y*y }
	case "Relu":
		a.f = func(x float64) float64 { return max(x, 0) }
		a.d = func(x, _ float64) float64 {
			if x > 0 {
				return 1
			}
			return 0
		}
	case "Affine":
		a.f = func(x float64) float64 { return alpha*x + beta }
		a.d = func(_, _ float64) float64 { return alpha }
	case "LeakyRelu":
		a.f = func(x float64) float64 {
			if x >= 0 {
				return x
			}
			return alpha * x
		}
		a.d = func(x, _ float64) float64 {
			if x > 0 {
				return 1
			}
			return alpha
		}
	case "ThresholdedRelu":
		a.f = func(x float64) float64 {
			if x > alpha {
				return x
			}
			return 0
		}
		a.d = func(x, _ float64) float64 {
			if x > alpha {
				return 1
			}
			return 0
		}
	case "ScaledTanh":
		a.f = func(x float64) float64 { return alpha * math.Tanh(beta*x) }
		a.d = func(x, _ float64) float64 { t := math.Tanh(beta * x); return alpha * beta * (1 - t*t) }
	case "HardSigmoid":
		a.f = func(x float64) float64 { return min(max(alpha*x+beta, 0), 1) }
		a.d = func(x, _ float64) float64 {
			if v := alpha*x + beta; v > 0 && v < 1 {
				return alpha
			}
			return 0
		}
	case "Elu":
		a.f = func(x float64) float64 {
			if x >= 0 {
				return x
			}
			return alpha * math.Expm1(x)
		}
		a.d = func(x, y float64) float64 {
			if x > 0 {
				return 1
			}
			return y + alpha
		}
	case "Softsign":
		a.f = func(x float64) float64 { return x / (1 + math.Abs(x)) }
		a.d = func(x, _ float64) float64 { d := 1 + math.Abs(x); return 1 / (d * d) }
	case "Softplus":
		a.f = func(x float64) float64 { return max(x, 0) + math.Log1p(math.Exp(-math.Abs(x))) }
		a.d = func(x, _ float64) float64 { return 1 / (1 + math.Exp(-x)) }
	default:
		return a, false
	}
	return a, true
}

// rnnActParams says which of alpha and beta an activation takes, and their
// defaults.
func rnnActParams(name string) (nAlpha, nBeta int, alpha, beta float64) {
	switch name {
	case "Affine":
		return 1, 1, 1, 0
	case "LeakyRelu":
		return 1, 0, 0.01, 0
	case "ThresholdedRelu":
		return 1, 0, 1, 0
	case "ScaledTanh":
		return 1, 1, 1, 1
	case "HardSigmoid":
		return 1, 1, 0.2, 0.5
	case "Elu":
		return 1, 0, 1, 0
	}
	return 0, 0, 0, 0
}

// rnnCfg is everything a recurrent node's kernels need: sizes, attributes
// and where each optional input is among the kernel's inputs (-1 when
// absent; X, W and R are 0, 1 and 2).
type rnnCfg struct {
	kind             rnnKind
	name             string
	dirs             int
	reverse          bool // one direction, backwards
	T, B, I, H, G    int  // steps, batch, input size, hidden size, gates
	layout           int
	lbr              bool    // GRU's linear_before_reset
	clip             float64 // 0: none
	acts             [][]rnnAct
	iB, iSeq, iH, iC int
	iP               int
	nIn              int
	xHead            bool // X is read as the first T·B·I elements of its input (another pack, flatReads)
	// noPre: the float32 LSTM's steps (lstmForward32) leave the cache's
	// pre-activations unwritten, since nothing reads them: their backward
	// reads the gates, and the node's outputs are views of the pack's
	// head (lowerRecurrent). The generic loops write them all the same.
	noPre bool
}

// sizes of the pack.
func (c *rnnCfg) ySize() int  { return c.T * c.dirs * c.B * c.H }
func (c *rnnCfg) hSize() int  { return c.dirs * c.B * c.H }
func (c *rnnCfg) offYh() int  { return c.ySize() }
func (c *rnnCfg) offYc() int  { return c.ySize() + c.hSize() }
func (c *rnnCfg) extras() int { return [...]int{1, 2, 3}[c.kind] } // per step: H; GRU +lin; LSTM +C, h(C)
func (c *rnnCfg) stepSize() int {
	return c.B * (2*c.G*c.H + c.extras()*c.H)
}
func (c *rnnCfg) offCache() int {
	n := c.ySize() + c.hSize()
	if c.kind == kindLSTM {
		n += c.hSize()
	}
	return n
}
func (c *rnnCfg) packSize() int { return c.offCache() + c.dirs*c.T*c.stepSize() }

// yAt is the offset in Y of the hidden vector of step t, direction d,
// example b.
func (c *rnnCfg) yAt(t, d, b int) int {
	if c.layout == 0 {
		return ((t*c.dirs+d)*c.B + b) * c.H
	}
	return ((b*c.T+t)*c.dirs + d) * c.H
}

// hAt is the offset in Y_h, Y_c, initial_h and initial_c of direction d,
// example b.
func (c *rnnCfg) hAt(d, b int) int {
	if c.layout == 0 {
		return (d*c.B + b) * c.H
	}
	return (b*c.dirs + d) * c.H
}

// xAt is the offset in X of step t, example b.
func (c *rnnCfg) xAt(t, b int) int {
	if c.layout == 0 {
		return (t*c.B + b) * c.I
	}
	return (b*c.T + t) * c.I
}

// step is one step's part of the cache: gate pre-activations and
// activations [B, G*H], the state after the step [B, H], and the extras.
type rnnStep[T Float] struct {
	pre, post, h, ex1, ex2 []T
}

func cacheStep[T Float](c *rnnCfg, pack []T, d, s int) rnnStep[T] {
	gh, bh := c.B*c.G*c.H, c.B*c.H
	o := c.offCache() + (d*c.T+s)*c.stepSize()
	st := rnnStep[T]{pre: pack[o : o+gh], post: pack[o+gh : o+2*gh], h: pack[o+2*gh : o+2*gh+bh]}
	o += 2*gh + bh
	if c.extras() > 1 {
		st.ex1 = pack[o : o+bh]
	}
	if c.extras() > 2 {
		st.ex2 = pack[o+bh : o+2*bh]
	}
	return st
}

// lens returns each example's sequence length (T without sequence_lens).
func rnnLens(c *rnnCfg, in []*tensor.Dense) ([]int, error) {
	lens := make([]int, c.B)
	for b := range lens {
		lens[b] = c.T
	}
	if c.iSeq < 0 {
		return lens, nil
	}
	var vals []int64
	switch d := in[c.iSeq].Data().(type) {
	case []int32:
		for _, v := range d {
			vals = append(vals, int64(v))
		}
	case []int64:
		vals = d
	default:
		return nil, fmt.Errorf("sequence_lens holds %v, want int32", in[c.iSeq].Dtype())
	}
	if len(vals) != c.B {
		return nil, fmt.Errorf("sequence_lens has %d values for a batch of %d", len(vals), c.B)
	}
	for b, v := range vals {
		if v < 0 || v > int64(c.T) {
			return nil, fmt.Errorf("sequence_lens[%d] is %d, want 0 to %d", b, v, c.T)
		}
		lens[b] = int(v)
	}
	return lens, nil
}

// timeOf is the time index example b is at on step s of direction d, and
// whether the step is within its sequence.
func (c *rnnCfg) timeOf(d, s, b int, lens []int) (int, bool) {
	if s >= lens[b] {
		return 0, false
	}
	if d == 1 || c.reverse {
		return lens[b] - 1 - s, true
	}
	return s, true
}

// stepTime is the time step s of direction d reads when every example runs
// all T steps (no sequence_lens).
func (c *rnnCfg) stepTime(d, s int) int {
	if d == 1 || c.reverse {
		return c.T - 1 - s
	}
	return s
}

// rnnStates0 is direction d's initial states by example, [B, H] each: the
// inputs' (initial_h, initial_c), or zeros where an input is absent.
func rnnStates0[T Float](c *rnnCfg, v *rnnIn[T], d int) (h0, c0 []T) {
	B, H := c.B, c.H
	h0, c0 = make([]T, B*H), make([]T, B*H)
	for b := 0; b < B; b++ {
		if v.h0 != nil {
			copy(h0[b*H:(b+1)*H], v.h0[c.hAt(d, b):c.hAt(d, b)+H])
		}
		if v.c0 != nil {
			copy(c0[b*H:(b+1)*H], v.c0[c.hAt(d, b):c.hAt(d, b)+H])
		}
	}
	return h0, c0
}

// rnnInputs reads the kernel's float inputs.
type rnnIn[T Float] struct {
	x, w, r, bias, h0, c0, p []T
	xt                       []T // X as [T*B, I], step-major
}

func readRNNIn[T Float](c *rnnCfg, in []*tensor.Dense) (rnnIn[T], error) {
	var r rnnIn[T]
	get := func(i int) ([]T, error) {
		if i < 0 {
			return nil, nil
		}
		return Data[T](in[i])
	}
	var err error
	for _, f := range []struct {
		dst *[]T
		i   int
	}{{&r.x, 0}, {&r.w, 1}, {&r.r, 2}, {&r.bias, c.iB}, {&r.h0, c.iH}, {&r.c0, c.iC}, {&r.p, c.iP}} {
		if *f.dst, err = get(f.i); err != nil {
			return r, err
		}
	}
	if n := c.T * c.B * c.I; c.xHead && len(r.x) > n {
		r.x = r.x[:n]
	}
	r.xt = r.x
	if c.layout == 1 {
		r.xt = make([]T, len(r.x))
		for t := 0; t < c.T; t++ {
			for b := 0; b < c.B; b++ {
				copy(r.xt[(t*c.B+b)*c.I:(t*c.B+b+1)*c.I], r.x[c.xAt(t, b):c.xAt(t, b)+c.I])
			}
		}
	}
	return r, nil
}

// clipped is x limited to [-clip, clip] (clip 0: unchanged), and whether
// it was inside.
func (c *rnnCfg) clipped(x float64) (float64, bool) {
	if c.clip > 0 {
		if x > c.clip {
			return c.clip, false
		}
		if x < -c.clip {
			return -c.clip, false
		}
	}
	return x, true
}

// rnnForward computes the pack into dst, which it keeps from one step to
// the next.
func rnnForward[T Float](c *rnnCfg) IntoKernel {
	return func(in []*tensor.Dense, dst *tensor.Dense) error {
		v, err := readRNNIn[T](c, in)
		if err != nil {
			return err
		}
		lens, err := rnnLens(c, in)
		if err != nil {
			return err
		}
		pack, err := Data[T](dst)
		if err != nil {
			return err
		}
		if c.iSeq >= 0 || c.kind == kindGRU {
			// Steps past an example's length, and GRU's extra without
			// linear_before_reset, are not written below.
			clear(pack)
		}
		for d := 0; d < c.dirs; d++ {
			rnnForwardDir(c, &v, lens, pack, d)
		}
		return nil
	}
}

// lstmPlain says whether an LSTM has the default activations (sigmoid,
// tanh, tanh) and no clip: its gates then skip the generic activation
// functions.
func (c *rnnCfg) lstmPlain(d int) bool {
	a := c.acts[d]
	return c.kind == kindLSTM && c.clip == 0 && a[0].name == "Sigmoid" && a[1].name == "Tanh" && a[2].name == "Tanh"
}

func rnnForwardDir[T Float](c *rnnCfg, v *rnnIn[T], lens []int, pack []T, d int) {
	T_, B, I, H, G := c.T, c.B, c.I, c.H, c.G
	GH := G * H
	wd := v.w[d*GH*I : (d+1)*GH*I]
	rd := v.r[d*GH*H : (d+1)*GH*H]
	var wb, rb []T
	if v.bias != nil {
		wb, rb = v.bias[d*2*GH:d*2*GH+GH], v.bias[d*2*GH+GH:(d+1)*2*GH]
	}
	var pi, po, pf []T
	if v.p != nil {
		pd := v.p[d*3*H : (d+1)*3*H]
		pi, po, pf = pd[:H], pd[H:2*H], pd[2*H:]
	}
	acts := c.acts[d]
	v32, fast := any(v).(*rnnIn[float32])
	fast = fast && c.lstmPlain(d) && c.iSeq < 0 && c.T > 0 && c.B > 0
	if fast && I > 0 && lstmXWShares && sgemmShareA != nil && lstmByExamples(c, v32) {
		// Each core computes its own examples' X·Wᵀ a step at a time
		// (lstmForward32Batch), on internal/gemm as blasGemm below.
		lstmForward32Batch(c, v32, any(pack).([]float32), d, nil, any(wb).([]float32), any(rb).([]float32))
		return
	}
	// X·Wᵀ + Wb (+ Rb but GRU's h gate's), all steps at once.
	xw := getScratch[T](T_ * B * GH)
	defer putScratch(xw)
	blasGemm(false, true, T_*B, GH, I, 1, v.xt, wd, 0, xw)
	if fast {
		// Its gates add the biases, in the same order as below.
		lstmFwd32(c, v32, any(pack).([]float32), d, any(xw).([]float32), any(wb).([]float32), any(rb).([]float32))
		return
	}
	if wb != nil {
		addBias := GH
		if c.kind == kindGRU {
			addBias = 2 * H
		}
		for row := 0; row < T_*B; row++ {
			x := xw[row*GH : (row+1)*GH]
			for j := range x {
				x[j] += wb[j]
				if j < addBias {
					x[j] += rb[j]
				}
			}
		}
	}
	hPrev, cPrev := rnnStates0(c, v, d)
	rec := make([]T, B*GH)
	var rh []T // GRU without linear_before_reset: r ⊙ H
	if c.kind == kindGRU && !c.lbr {
		rh = make([]T, B*H)
	}
	var packed *recPacked // float32: R packed once, H·Rᵀ as (R·Hᵀ)ᵀ
	var recT []T
	if rh == nil {
		if packed = packRec(false, GH, H, rd, H); packed != nil {
			recT = make([]T, GH*B)
		}
	}
	yOut := pack[:c.ySize()]
	plain := c.lstmPlain(d)
	act := func(a rnnAct, x T) (T, T) {
		cx, _ := c.clipped(float64(x))
		return x, T(a.f(cx))
	}
	for s := 0; s < T_; s++ {
		st := cacheStep(c, pack, d, s)
		// H·Rᵀ for the gates the previous state enters directly.
		n := GH
		if rh != nil {
			n = 2 * H
		}
		if packed != nil {
			packed.mul(B, any(hPrev).([]float32), H, any(recT).([]float32))
			if !plain { // plain LSTM gates read recT as it is
				transposeTo(recT, GH, B, rec)
			}
		} else {
			gemmStrided(false, true, B, n, H, 1, hPrev, H, rd, H, 0, rec, GH)
		}
		for b := 0; b < B; b++ {
			t, ok := c.timeOf(d, s, b, lens)
			if !ok {
				continue
			}
			pre, post := st.pre[b*GH:(b+1)*GH], st.post[b*GH:(b+1)*GH]
			x, r := xw[(t*B+b)*GH:(t*B+b+1)*GH], rec[b*GH:(b+1)*GH]
			hp := hPrev[b*H : (b+1)*H]
			switch c.kind {
			case kindRNN:
				for j := 0; j < H; j++ {
					pre[j], post[j] = act(acts[0], x[j]+r[j])
				}
			case kindLSTM:
				cp := cPrev[b*H : (b+1)*H]
				cell, hc := st.ex1[b*H:(b+1)*H], st.ex2[b*H:(b+1)*H]
				if plain {
					if recT != nil {
						lstmGates(x, recT[b:], B, pre, post, cp, cell, hc, pi, po, pf)
					} else {
						lstmGates(x, r, 1, pre, post, cp, cell, hc, pi, po, pf)
					}
					continue
				}
				for j := 0; j < H; j++ {
					zi, zo, zf, zc := x[j]+r[j], x[H+j]+r[H+j], x[2*H+j]+r[2*H+j], x[3*H+j]+r[3*H+j]
					if pi != nil {
						zi += pi[j] * cp[j]
						zf += pf[j] * cp[j]
					}
					var i, f, g T
					pre[j], i = act(acts[0], zi)
					pre[2*H+j], f = act(acts[0], zf)
					pre[3*H+j], g = act(acts[1], zc)
					ct := f*cp[j] + i*g
					if po != nil {
						zo += po[j] * ct
					}
					var o T
					pre[H+j], o = act(acts[0], zo)
					post[j], post[H+j], post[2*H+j], post[3*H+j] = i, o, f, g
					cell[j], hc[j] = ct, T(acts[2].f(float64(ct)))
				}
			case kindGRU:
				for j := 0; j < 2*H; j++ {
					pre[j], post[j] = act(acts[0], x[j]+r[j])
				}
				if rh != nil {
					for j := 0; j < H; j++ {
						rh[b*H+j] = post[H+j] * hp[j]
					}
				} else {
					lin := st.ex1[b*H : (b+1)*H]
					for j := 0; j < H; j++ {
						lin[j] = r[2*H+j]
						if rb != nil {
							lin[j] += rb[2*H+j]
						}
						pre[2*H+j], post[2*H+j] = act(acts[1], x[2*H+j]+post[H+j]*lin[j])
					}
				}
			}
		}
		if rh != nil {
			// The h gate reads r ⊙ H: one more product, then the gate.
			gemmStrided(false, true, B, H, H, 1, rh, H, rd[2*H*H:], H, 0, rec[2*H:], GH)
			for b := 0; b < B; b++ {
				t, ok := c.timeOf(d, s, b, lens)
				if !ok {
					continue
				}
				pre, post := st.pre[b*GH:(b+1)*GH], st.post[b*GH:(b+1)*GH]
				x, r := xw[(t*B+b)*GH:(t*B+b+1)*GH], rec[b*GH:(b+1)*GH]
				for j := 0; j < H; j++ {
					z := x[2*H+j] + r[2*H+j]
					if rb != nil {
						z += rb[2*H+j]
					}
					pre[2*H+j], post[2*H+j] = act(acts[1], z)
				}
			}
		}
		// The new states, into the cache and Y.
		for b := 0; b < B; b++ {
			t, ok := c.timeOf(d, s, b, lens)
			hp, hs := hPrev[b*H:(b+1)*H], st.h[b*H:(b+1)*H]
			if !ok {
				copy(hs, hp)
				continue
			}
			post := st.post[b*GH : (b+1)*GH]
			switch c.kind {
			case kindRNN:
				copy(hs, post[:H])
			case kindLSTM:
				cell, hc := st.ex1[b*H:(b+1)*H], st.ex2[b*H:(b+1)*H]
				for j := 0; j < H; j++ {
					hs[j] = post[H+j] * hc[j]
				}
				copy(cPrev[b*H:(b+1)*H], cell)
			case kindGRU:
				for j := 0; j < H; j++ {
					z := post[j]
					hs[j] = (1-z)*post[2*H+j] + z*hp[j]
				}
			}
			copy(hp, hs)
			copy(yOut[c.yAt(t, d, b):c.yAt(t, d, b)+H], hs)
		}
		if c.kind == kindLSTM {
			// Examples past their length carry their cell too.
			for b := 0; b < B; b++ {
				if _, ok := c.timeOf(d, s, b, lens); !ok {
					copy(st.ex1[b*H:(b+1)*H], cPrev[b*H:(b+1)*H])
				}
			}
		}
	}
	for b := 0; b < B; b++ {
		copy(pack[c.offYh()+c.hAt(d, b):], hPrev[b*H:(b+1)*H])
		if c.kind == kindLSTM {
			copy(pack[c.offYc()+c.hAt(d, b):c.offYc()+c.hAt(d, b)+H], cPrev[b*H:(b+1)*H])
		}
	}
}

// rnnGradLayout is where each float input's gradient is in the backward
// kernel's flat output: offset and size by input position (size 0 for an
// absent input or sequence_lens).
func rnnGradLayout(sizes []int, c *rnnCfg) (off []int, total int) {
	off = make([]int, len(sizes))
	for i, n := range sizes {
		off[i] = total
		if i != c.iSeq {
			total += n
		}
	}
	return off, total
}

// rnnBackward gets (dPack, pack, inputs...) and writes the gradients of
// the float inputs into dst, flat, at the offsets rnnGradLayout gives.
func rnnBackward[T Float](c *rnnCfg, sizes []int) IntoKernel {
	return rnnBackwardY[T](c, sizes, -1)
}

// rnnBackwardY is rnnBackward, but when from >= 0 its first input holds
// only d Y, at element from (another kernel's output, read in place), and
// d Y_h and d Y_c are 0: the pack's gradient is then not copied out.
func rnnBackwardY[T Float](c *rnnCfg, sizes []int, from int) IntoKernel {
	return func(in []*tensor.Dense, dst *tensor.Dense) error {
		dpack, err := Data[T](in[0])
		if err != nil {
			return err
		}
		if from >= 0 {
			if from+c.ySize() > len(dpack) {
				return fmt.Errorf("d Y at %d of %d elements, want %d", from, len(dpack), c.ySize())
			}
			dpack = dpack[from : from+c.ySize()]
		}
		pack, err := Data[T](in[1])
		if err != nil {
			return err
		}
		ins := in[2:]
		v, err := readRNNIn[T](c, ins)
		if err != nil {
			return err
		}
		lens, err := rnnLens(c, ins)
		if err != nil {
			return err
		}
		off, total := rnnGradLayout(sizes, c)
		out, err := Data[T](dst)
		if err != nil {
			return err
		}
		if len(out) != total {
			return fmt.Errorf("%d gradient elements, want %d", len(out), total)
		}
		// X's part is set by the first direction's product (beta 0) and
		// added to by the second's, each direction's part of W set by its
		// own: the rest starts at 0.
		clear(out[:off[0]])
		clear(out[off[0]+sizes[0] : off[1]])
		clear(out[off[1]+sizes[1]:])
		part := func(i int) []T {
			if i < 0 {
				return nil
			}
			return out[off[i] : off[i]+sizes[i]]
		}
		g := rnnIn[T]{x: part(0), w: part(1), r: part(2), bias: part(c.iB), h0: part(c.iH), c0: part(c.iC), p: part(c.iP)}
		dxt := g.x
		if c.layout == 1 {
			dxt = make([]T, len(g.x))
		}
		for d := 0; d < c.dirs; d++ {
			rnnBackwardDir(c, &v, &g, dxt, lens, pack, dpack, d)
		}
		if c.layout == 1 {
			for t := 0; t < c.T; t++ {
				for b := 0; b < c.B; b++ {
					copy(g.x[c.xAt(t, b):c.xAt(t, b)+c.I], dxt[(t*c.B+b)*c.I:(t*c.B+b+1)*c.I])
				}
			}
		}
		return nil
	}
}

// lstmSumsPacking says whether the backward takes d Rb's column sums of dG
// while internal/gemm packs dGᵀ for d R and d W, where its kernel sums as
// it packs (sumsWhilePacking); variables so that tests can compare it with
// the pass over dG it replaces, and run it on every kernel.
var (
	lstmSumsPacking  = true
	sumsWhilePacking = gemm.SumsWhilePacking
)

// lstmStatesInPlace says whether the float32 LSTM's d R reads the previous
// states in the cache (gemm.ProductB.Blocks) rather than from a copy of
// them all (a variable so that tests can compare the two).
var lstmStatesInPlace = true

func rnnBackwardDir[T Float](c *rnnCfg, v, g *rnnIn[T], dxt []T, lens []int, pack, dpack []T, d int) {
	T_, B, I, H, G := c.T, c.B, c.I, c.H, c.G
	GH := G * H
	wd := v.w[d*GH*I : (d+1)*GH*I]
	rd := v.r[d*GH*H : (d+1)*GH*H]
	dwd := g.w[d*GH*I : (d+1)*GH*I]
	drd := g.r[d*GH*H : (d+1)*GH*H]
	var pi, po, pf, dpi, dpo, dpf []T
	if v.p != nil {
		pd, gd := v.p[d*3*H:(d+1)*3*H], g.p[d*3*H:(d+1)*3*H]
		pi, po, pf = pd[:H], pd[H:2*H], pd[2*H:]
		dpi, dpo, dpf = gd[:H], gd[H:2*H], gd[2*H:]
	}
	acts := c.acts[d]
	plain := c.lstmPlain(d)
	grad := func(a rnnAct, pre, post T) T {
		x, in := c.clipped(float64(pre))
		if !in {
			return 0
		}
		return T(a.d(x, float64(post)))
	}
	dxw := getScratch[T](T_ * B * GH) // d pre-activations, by time
	defer putScratch(dxw)
	if c.iSeq >= 0 {
		clear(dxw) // the rows of steps past an example's length stay 0
	}
	// dGs holds, for every step, the d of the terms the previous state's
	// product enters (dG), and hs that previous state, row blocks alike:
	// after the steps one product over all of them gives d R, and column
	// sums d Rb. For LSTM and RNN without sequence_lens dG is the step's
	// block of dxw, by time.
	alias := c.kind != kindGRU && c.iSeq < 0
	dGs := dxw
	if !alias {
		dGs = getScratch[T](T_ * B * GH)
		defer putScratch(dGs)
	}
	block := func(s int) int { // the row block of step s in dGs and hs
		if alias && (d == 1 || c.reverse) {
			return T_ - 1 - s
		}
		return s
	}
	// The float32 LSTM's d R, with d W on internal/gemm (shared below),
	// reads each step's previous state where the forward left it, in the
	// cache (hsBlocks, block k's rows the state before the step at block
	// k): no copy of them all into hs.
	v32, _ := any(v).(*rnnIn[float32])
	fast := v32 != nil && plain && c.iSeq < 0 && c.T > 0 && c.B > 0
	var hs []T
	var hsBlocks [][]float32
	if fast && I > 0 && sgemmShareA != nil && lstmStatesInPlace {
		hsBlocks = make([][]float32, T_)
	} else {
		hs = getScratch[T](T_ * B * H)
		defer putScratch(hs)
	}
	dH := make([]T, B*H)
	dC := make([]T, B*H)
	dh := make([]T, B*H) // this step's d H
	var drh, rh []T
	if c.kind == kindGRU && !c.lbr {
		drh, rh = make([]T, B*H), make([]T, B*H)
	}
	dy := dpack[:c.ySize()]
	for b := 0; b < B && len(dpack) > c.ySize(); b++ { // else d Y_h and d Y_c are 0
		copy(dH[b*H:(b+1)*H], dpack[c.offYh()+c.hAt(d, b):])
		if c.kind == kindLSTM {
			copy(dC[b*H:(b+1)*H], dpack[c.offYc()+c.hAt(d, b):c.offYc()+c.hAt(d, b)+H])
		}
	}
	h0, c0 := rnnStates0(c, v, d)
	if hsBlocks != nil {
		hp := any(h0).([]float32)
		for s := range T_ {
			if s > 0 {
				hp = cacheStep(c, any(pack).([]float32), d, s-1).h
			}
			hsBlocks[block(s)] = hp[:B*H]
		}
	}
	if fast {
		lstmBwd32(c, v32, any(g).(*rnnIn[float32]), any(pack).([]float32), any(dpack).([]float32), d,
			any(dxw).([]float32), any(hs).([]float32), any(dH).([]float32), any(dC).([]float32),
			any(h0).([]float32), any(c0).([]float32), block)
	}
	var packed *recPacked // float32: Rᵀ packed once, dG·R as (Rᵀ·dGᵀ)ᵀ
	var dHT []T
	if rh == nil && !fast {
		if packed = packRec(true, H, GH, rd, H); packed != nil {
			dHT = make([]T, H*B)
		}
	}
	for s := T_ - 1; s >= 0 && !fast; s-- {
		st := cacheStep(c, pack, d, s)
		hPrev, cPrev := h0, c0
		if s > 0 {
			prev := cacheStep(c, pack, d, s-1)
			hPrev = prev.h
			if c.kind == kindLSTM {
				cPrev = prev.ex1
			}
		}
		k := block(s)
		copy(hs[k*B*H:(k+1)*B*H], hPrev)
		dG := dGs[k*B*GH : (k+1)*B*GH]
		if !alias {
			clear(dG)
		}
		for b := 0; b < B; b++ {
			t, ok := c.timeOf(d, s, b, lens)
			if !ok {
				continue
			}
			dhb := dh[b*H : (b+1)*H]
			for j := 0; j < H; j++ {
				dhb[j] = dH[b*H+j] + dy[c.yAt(t, d, b)+j]
			}
			pre, post := st.pre[b*GH:(b+1)*GH], st.post[b*GH:(b+1)*GH]
			dx, dg := dxw[(t*B+b)*GH:(t*B+b+1)*GH], dG[b*GH:(b+1)*GH]
			hp := hPrev[b*H : (b+1)*H]
			switch c.kind {
			case kindRNN:
				for j := 0; j < H; j++ {
					dx[j] = dhb[j] * grad(acts[0], pre[j], post[j])
					dH[b*H+j] = 0
				}
			case kindLSTM:
				cp := cPrev[b*H : (b+1)*H]
				cell, hc := st.ex1[b*H:(b+1)*H], st.ex2[b*H:(b+1)*H]
				if plain {
					lstmGatesGrad(dhb, dC[b*H:(b+1)*H], post, cp, cell, hc, dx, pi, po, pf, dpi, dpo, dpf)
					clear(dH[b*H : (b+1)*H])
					break
				}
				for j := 0; j < H; j++ {
					i, o, f, gg := post[j], post[H+j], post[2*H+j], post[3*H+j]
					zo := dhb[j] * hc[j] * grad(acts[0], pre[H+j], o)
					dct := dC[b*H+j] + dhb[j]*o*T(acts[2].d(float64(cell[j]), float64(hc[j])))
					if po != nil {
						dct += zo * po[j]
						dpo[j] += zo * cell[j]
					}
					zi := dct * gg * grad(acts[0], pre[j], i)
					zf := dct * cp[j] * grad(acts[0], pre[2*H+j], f)
					zc := dct * i * grad(acts[1], pre[3*H+j], gg)
					dcp := dct * f
					if pi != nil {
						dcp += zi*pi[j] + zf*pf[j]
						dpi[j] += zi * cp[j]
						dpf[j] += zf * cp[j]
					}
					dC[b*H+j] = dcp
					dx[j], dx[H+j], dx[2*H+j], dx[3*H+j] = zi, zo, zf, zc
					dH[b*H+j] = 0
				}
			case kindGRU:
				for j := 0; j < H; j++ {
					z, r, hh := post[j], post[H+j], post[2*H+j]
					dx[j] = dhb[j] * (hp[j] - hh) * grad(acts[0], pre[j], z)
					dx[2*H+j] = dhb[j] * (1 - z) * grad(acts[1], pre[2*H+j], hh)
					dH[b*H+j] = dhb[j] * z
					if c.lbr {
						lin := st.ex1[b*H+j]
						dx[H+j] = dx[2*H+j] * lin * grad(acts[0], pre[H+j], r)
						dg[2*H+j] = dx[2*H+j] * r
					} else {
						dg[2*H+j] = dx[2*H+j]
					}
				}
				copy(dg[:H], dx[:H])
				if c.lbr {
					copy(dg[H:2*H], dx[H:2*H])
				}
			}
			if !alias && c.kind != kindGRU {
				copy(dg, dx)
			}
		}
		if rh != nil {
			// d (r ⊙ H) = d ph · Rh; then r's gradient and H's share.
			clear(drh)
			for b := 0; b < B; b++ {
				if _, ok := c.timeOf(d, s, b, lens); !ok {
					clear(rh[b*H : (b+1)*H])
					continue
				}
				for j := 0; j < H; j++ {
					rh[b*H+j] = st.post[b*GH+H+j] * hPrev[b*H+j]
				}
			}
			gemmStrided(false, false, B, H, H, 1, dG[2*H:], GH, rd[2*H*H:], H, 0, drh, H)
			gemmStrided(true, false, H, H, B, 1, dG[2*H:], GH, rh, H, 1, drd[2*H*H:], H)
			for b := 0; b < B; b++ {
				t, ok := c.timeOf(d, s, b, lens)
				if !ok {
					continue
				}
				pre, post := st.pre[b*GH:(b+1)*GH], st.post[b*GH:(b+1)*GH]
				dx, dg := dxw[(t*B+b)*GH:(t*B+b+1)*GH], dG[b*GH:(b+1)*GH]
				for j := 0; j < H; j++ {
					r := post[H+j]
					dx[H+j] = drh[b*H+j] * hPrev[b*H+j] * grad(acts[0], pre[H+j], r)
					dg[H+j] = dx[H+j]
					dH[b*H+j] += drh[b*H+j] * r
				}
			}
		}
		n := GH
		if rh != nil {
			n = 2 * H
		}
		// d H_prev += dG·R.
		if packed != nil {
			packed.mul(B, any(dG).([]float32), GH, any(dHT).([]float32))
			addTransposed(dHT, H, B, dH)
		} else {
			gemmStrided(false, false, B, H, n, 1, dG, GH, rd, H, 1, dH, H)
		}
	}
	n := GH
	if rh != nil {
		n = 2 * H
	}
	// d R += Σ_steps dGᵀ·H_prev, as one product; d Rb = Σ dG. When dG is
	// dXW (alias) and d W = dXWᵀ·X runs on internal/gemm, the two
	// products share the packing of dGᵀ (the same bits), and d Rb's column
	// sums are taken while dG is packed, row after row as below, where
	// the kernel does it in its packing (no pass of their own over dG).
	shared, summed := false, false
	if d32, ok := any(dGs).([]float32); ok && alias && n == GH && I > 0 && sgemmShareA != nil {
		shared = true
		prods := []gemm.ProductB{
			{N: H, Alpha: 1, B: any(hs).([]float32), Blocks: hsBlocks, BlockRows: B, Ldb: H, Beta: 1, C: any(drd).([]float32), Ldc: H},
			{N: I, Alpha: 1, B: any(v.xt).([]float32), Ldb: I, Beta: 0, C: any(dwd).([]float32), Ldc: I}}
		if g.bias != nil && lstmSumsPacking && sumsWhilePacking() {
			summed = true
			drb := any(g.bias[d*2*GH+GH : (d+1)*2*GH]).([]float32)
			gemm.SgemmShareASums(true, GH, T_*B, d32, GH, drb, prods...)
		} else {
			sgemmShareA(true, GH, T_*B, d32, GH, prods...)
		}
	} else {
		gemmStrided(true, false, n, H, T_*B, 1, dGs, GH, hs, H, 1, drd, H)
	}
	if g.bias != nil && !summed {
		// Column sums, the columns split among the cores (each column
		// summed row by row, whatever the split).
		drb := g.bias[d*2*GH+GH : (d+1)*2*GH]
		gemm.Ranges(GH, min(runtime.GOMAXPROCS(0), GH/256), func(lo, hi int) {
			for row := 0; row < T_*B; row++ {
				addTo(drb[lo:hi], dGs[row*GH+lo:row*GH+hi])
			}
		})
	}
	// d X += dXW·W (set by the first direction: its part is not cleared);
	// d W = dXWᵀ·X (the direction's own part); d Wb = Σ dXW.
	var beta T
	if d > 0 {
		beta = 1
	}
	blasGemm(false, false, T_*B, I, GH, 1, dxw, wd, beta, dxt)
	if !shared {
		blasGemm(true, false, GH, I, T_*B, 1, dxw, v.xt, 0, dwd)
	}
	if g.bias != nil && alias {
		// dG is dXW: d Wb is d Rb, summed above in the same order.
		drb := g.bias[d*2*GH+GH : (d+1)*2*GH]
		for j, x := range drb {
			g.bias[d*2*GH+j] += x
		}
	} else if g.bias != nil {
		dwb := g.bias[d*2*GH : d*2*GH+GH]
		for row := 0; row < T_*B; row++ {
			for j, x := range dxw[row*GH : (row+1)*GH] {
				dwb[j] += x
			}
		}
	}
	for b := 0; b < B; b++ {
		if g.h0 != nil {
			copy(g.h0[c.hAt(d, b):c.hAt(d, b)+H], dH[b*H:(b+1)*H])
		}
		if g.c0 != nil {
			copy(g.c0[c.hAt(d, b):c.hAt(d, b)+H], dC[b*H:(b+1)*H])
		}
	}
}

// lstmGates is one example's step of an LSTM with the default activations:
// from the input's and the state's terms x and r ([4H], gates i, o, f, c;
// r's elements rs apart) it writes the pre-activations, the gates, the cell and its tanh.
func lstmGates[T Float](x, r []T, rs int, pre, post, cp, cell, hc, pi, po, pf []T) {
	H := len(cp)
	x, r, pre, post = x[:4*H], r[:(4*H-1)*rs+1], pre[:4*H], post[:4*H]
	cell, hc = cell[:H], hc[:H]
	for j := 0; j < H; j++ {
		zi, zo := x[j]+r[j*rs], x[H+j]+r[(H+j)*rs]
		zf, zc := x[2*H+j]+r[(2*H+j)*rs], x[3*H+j]+r[(3*H+j)*rs]
		if pi != nil {
			zi += pi[j] * cp[j]
			zf += pf[j] * cp[j]
		}
		i, f, g := sigmoidT(zi), sigmoidT(zf), tanhT(zc)
		ct := f*cp[j] + i*g
		if po != nil {
			zo += po[j] * ct
		}
		o := sigmoidT(zo)
		pre[j], pre[H+j], pre[2*H+j], pre[3*H+j] = zi, zo, zf, zc
		post[j], post[H+j], post[2*H+j], post[3*H+j] = i, o, f, g
		cell[j], hc[j] = ct, tanhT(ct)
	}
}

// lstmGatesGrad is lstmGates' backward for one example: from d H (dh) and
// d C (dc, replaced by d C of the previous step) it writes the gates'
// pre-activation gradients into dx and adds the peepholes'.
func lstmGatesGrad[T Float](dh, dc, post, cp, cell, hc, dx, pi, po, pf, dpi, dpo, dpf []T) {
	lstmGatesGradFrom(0, dh, dc, post, cp, cell, hc, dx, len(dh), pi, po, pf, dpi, dpo, dpf)
}

// lstmGatesGradFrom is lstmGatesGrad for units j0 to len(dh) of a run of
// len(dh) units whose gates in post and dx are H apart (H >= len(dh): a
// part of the hidden units, see lstmGatesGradPart).
func lstmGatesGradFrom[T Float](j0 int, dh, dc, post, cp, cell, hc, dx []T, H int, pi, po, pf, dpi, dpo, dpf []T) {
	hw := len(dh)
	dc, cp, cell, hc = dc[:hw], cp[:hw], cell[:hw], hc[:hw]
	post, dx = post[:3*H+hw], dx[:3*H+hw]
	for j := j0; j < hw; j++ {
		i, o, f, g := post[j], post[H+j], post[2*H+j], post[3*H+j]
		zo := dh[j] * hc[j] * o * (1 - o)
		dct := dc[j] + dh[j]*o*(1-hc[j]*hc[j])
		if po != nil {
			dct += zo * po[j]
			dpo[j] += zo * cell[j]
		}
		zi := dct * g * i * (1 - i)
		zf := dct * cp[j] * f * (1 - f)
		zc := dct * i * (1 - g*g)
		dcp := dct * f
		if pi != nil {
			dcp += zi*pi[j] + zf*pf[j]
			dpi[j] += zi * cp[j]
			dpf[j] += zf * cp[j]
		}
		dc[j] = dcp
		dx[j], dx[H+j], dx[2*H+j], dx[3*H+j] = zi, zo, zf, zc
	}
}

// transposeTo sets dst (cols×rows) to the transpose of src (rows×cols), by
// blocks of 8 rows so that each store writes 8 consecutive elements (a
// plain loop strides dst by a multiple of 4 KiB, which keeps evicting L1).
func transposeTo[T Float](src []T, rows, cols int, dst []T) {
	for i0 := 0; i0 < rows; i0 += 8 {
		i1 := min(rows, i0+8)
		for j := 0; j < cols; j++ {
			d := dst[j*rows+i0 : j*rows+i1]
			for i := range d {
				d[i] = src[(i0+i)*cols+j]
			}
		}
	}
}

// addTransposed adds the transpose of src (rows×cols) to dst (cols×rows),
// by blocks as transposeTo.
func addTransposed[T Float](src []T, rows, cols int, dst []T) {
	for i0 := 0; i0 < rows; i0 += 8 {
		i1 := min(rows, i0+8)
		for j := 0; j < cols; j++ {
			d := dst[j*rows+i0 : j*rows+i1]
			for i := range d {
				d[i] += src[(i0+i)*cols+j]
			}
		}
	}
}
