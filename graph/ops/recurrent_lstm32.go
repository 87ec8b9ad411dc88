package ops

import (
	"runtime"

	"github.com/onnxtune/onnxtune/internal/gemm"
)

// The float32 LSTM with the default activations and no sequence_lens cuts
// each step into parts, ranges of hidden units, that the cores claim
// (lstmSteps). A part computes, at each step, the recurrent term of its
// units in all four gates and then those gates, so the step's product and
// its gate math both run on every core, and the cores meet once a step.
// The product of a part is H_prev·R_partᵀ, [B, units] a gate: R's rows of
// the part are packed once a call (as op(B)), and the previous state, the
// op(A) every part of the step shares, is packed by the parts that
// computed it, each its own units' columns, into one of two buffers (the
// step reads one while its parts fill the other). The states are read
// from the previous step's cache and written to this step's, so no core
// writes what another reads within a step. Each unit's arithmetic is the
// same whatever the parts and whichever core runs them.

// lstmSlices cuts H hidden units into one range a core (even lengths), the
// units each core keeps to while both run.
func lstmSlices(H int) []int {
	w := max(1, min(runtime.GOMAXPROCS(0), H/32))
	cuts := []int{0}
	for p := 1; p < w; p++ {
		cuts = append(cuts, min(H, (H*p/w+1)/2*2))
	}
	return append(cuts, H)
}

// lstmPartUnits is the most units of a part when the step is split among
// cores. Smaller parts would even out a core that is slower than the other,
// at a cost a part: BenchmarkLSTM32 (H 256) at 2 cores, parts of 64 units
// against 128 (one a core), 20.2-20.9 ms a run against 19.6-19.9 with both
// cores free, and no faster with one of them taken by another process (a
// core that is away for a while leaves its parts to the other either way).
const lstmPartUnits = 128

// lstmParts cuts H hidden units into the parts of a step: each core's
// slice (lstmSlices) into pieces of at most lstmPartUnits (even lengths),
// or one part on one core.
func lstmParts(H int) []int {
	slices := lstmSlices(H)
	if len(slices) == 2 {
		return slices
	}
	cuts := []int{0}
	for i := 1; i < len(slices); i++ {
		lo, hi := slices[i-1], slices[i]
		n := max(1, (hi-lo+lstmPartUnits-1)/lstmPartUnits)
		for q := 1; q < n; q++ {
			cuts = append(cuts, lo+((hi-lo)*q/n+1)/2*2)
		}
		cuts = append(cuts, hi)
	}
	return cuts
}

// lstmFwd32 and lstmBwd32 are the float32 LSTM's recurrences (variables
// so that tests can compare them with the ones they replaced).
var lstmFwd32, lstmBwd32 = lstmForward32, lstmBackward32

// lstmForward32 is rnnForwardDir for a plain float32 LSTM without
// sequence_lens; xw holds X·Wᵀ by time, to which the gates add wb and rb
// (nil: no bias) as rnnForwardDir's generic loop does, (x + wb) + rb. The
// cores share the steps by examples when they can (lstmByExamples), else
// by units.
func lstmForward32(c *rnnCfg, v *rnnIn[float32], pack []float32, d int, xw, wb, rb []float32) {
	if lstmByExamples(c, v) {
		lstmForward32Batch(c, v, pack, d, xw, wb, rb)
		return
	}
	lstmForward32Units(c, v, pack, d, xw, wb, rb)
}

// lstmForward32Units is lstmForward32 with each step cut by units.
func lstmForward32Units(c *rnnCfg, v *rnnIn[float32], pack []float32, d int, xw, wb, rb []float32) {
	T_, B, H := c.T, c.B, c.H
	GH := 4 * H
	rd := v.r[d*GH*H : (d+1)*GH*H]
	var pi, po, pf []float32
	if v.p != nil {
		pd := v.p[d*3*H : (d+1)*3*H]
		pi, po, pf = pd[:H], pd[H:2*H], pd[2*H:]
	}
	h0, c0 := rnnStates0(c, v, d)
	cuts := lstmParts(H)
	n := len(cuts) - 1
	// R's rows of each part's units, a gate at a time, as op(B) = R_gᵀ.
	rt := make([][4]*gemm.PackedB, n)
	prods := make([][]float32, n)
	gemm.Ranges(n, min(n, runtime.GOMAXPROCS(0)), func(lo, hi int) {
		for p := lo; p < hi; p++ {
			j0, j1 := cuts[p], cuts[p+1]
			for g := range 4 {
				rt[p][g] = gemm.PackB(true, H, j1-j0, rd[(g*H+j0)*H:], H)
			}
			prods[p] = make([]float32, B*4*(j1-j0))
		}
	})
	// The previous state as op(A): h0 for step 0, then step s's state
	// for step s+1, in hp[(s+1)%2].
	hp := [2]*gemm.PackedA{gemm.NewPackedA(B, H), gemm.NewPackedA(B, H)}
	hp[0].SetCols(false, 0, H, h0, H)
	yOut := pack[:c.ySize()]
	lstmSteps(n, T_, func(p, s int) {
		t := c.stepTime(d, s)
		st := cacheStep(c, pack, d, s)
		cPrev := c0
		if s > 0 {
			cPrev = cacheStep(c, pack, d, s-1).ex1
		}
		j0, j1 := cuts[p], cuts[p+1]
		hw := j1 - j0
		// The part's product, [B, 4·hw]: gate g of example b at
		// b·4hw + g·hw.
		pr := prods[p]
		for g := range 4 {
			hp[s%2].SgemmPacked(rt[p][g], 1, 0, pr[g*hw:], 4*hw)
		}
		if pi == nil && hw == H { // one part: its product's gates H apart
			for b := 0; b < B; b++ {
				o, y := b*GH, c.yAt(t, d, b)
				lstmGatesY(xw[(t*B+b)*GH:], wb, rb, pr[b*GH:], H, c.preOf(st)[o:], st.post[o:], cPrev[b*H:(b+1)*H],
					st.ex1[b*H:(b+1)*H], st.ex2[b*H:(b+1)*H], st.h[b*H:(b+1)*H], yOut[y:y+H])
			}
		} else {
			for b := 0; b < B; b++ {
				o := b * GH
				lstmGatesPart(xw[(t*B+b)*GH+j0:], sub(wb, j0, GH), sub(rb, j0, GH), pr[b*4*hw:], 1, hw, H,
					c.preOf(st)[o+j0:], st.post[o+j0:], cPrev[b*H+j0:b*H+j1],
					st.ex1[b*H+j0:b*H+j1], st.ex2[b*H+j0:b*H+j1], st.h[b*H+j0:b*H+j1],
					sub(pi, j0, j1), sub(po, j0, j1), sub(pf, j0, j1))
			}
			for b := 0; b < B; b++ {
				copy(yOut[c.yAt(t, d, b)+j0:c.yAt(t, d, b)+j1], st.h[b*H+j0:b*H+j1])
			}
		}
		if s < T_-1 {
			hp[(s+1)%2].SetCols(false, j0, j1, st.h, H)
		}
	})
	for _, r := range rt {
		for _, g := range r {
			g.Release() // for the next call's packs
		}
	}
	lstmPutLast(c, pack, d)
}

// preOf is where lstmGatesPart writes a step's pre-activations: the
// cache's, or with noPre the gates' own elements (it takes each gate from
// its pre-activation element by element, in place).
func (c *rnnCfg) preOf(st rnnStep[float32]) []float32 {
	if c.noPre {
		return st.post
	}
	return st.pre
}

// lstmPutLast writes direction d's last state and cell from the cache
// into the pack's Y_h and Y_c.
func lstmPutLast(c *rnnCfg, pack []float32, d int) {
	H := c.H
	last := cacheStep(c, pack, d, c.T-1)
	for b := 0; b < c.B; b++ {
		copy(pack[c.offYh()+c.hAt(d, b):], last.h[b*H:(b+1)*H])
		copy(pack[c.offYc()+c.hAt(d, b):c.offYc()+c.hAt(d, b)+H], last.ex1[b*H:(b+1)*H])
	}
}

// sub is p[j0:j1], or nil for nil.
func sub(p []float32, j0, j1 int) []float32 {
	if p == nil {
		return nil
	}
	return p[j0:j1]
}

// lstmGatesPart is lstmGates for the units [j0, j0+len(cp)) of one
// example: x, pre and post (and the biases wb and rb, nil for none) start
// at unit j0 with gates H apart; r (the part's product) has its gate blocks
// gr apart and elements rs apart. The pre-activations are
// ((x + wb) + rb) + r, rnnForwardDir's bias sums first. It also writes the
// new state h. The activations run over the units at once through
// lstmSigmoid (vectorised), tanh as 2σ(2x) - 1 (within about 1.2e-7
// absolute).
func lstmGatesPart(x, wb, rb, r []float32, rs, gr, H int, pre, post, cp, cell, hc, h, pi, po, pf []float32) {
	hw := len(cp)
	if pi == nil && po == nil {
		// In one pass on the first units where it can (the same
		// operations as below), then the rest below.
		if n := lstmGatesVec(x, wb, rb, r, rs, gr, H, pre, post, cp, cell, hc, h, h); n > 0 {
			if n < hw {
				if wb != nil {
					wb, rb = wb[n:], rb[n:]
				}
				lstmGatesPart(x[n:], wb, rb, r[n*rs:], rs, gr, H, pre[n:], post[n:], cp[n:], cell[n:], hc[n:], h[n:], nil, nil, nil)
			}
			return
		}
	}
	x, pre, post = x[:3*H+hw], pre[:3*H+hw], post[:3*H+hw]
	r = r[:3*gr+(hw-1)*rs+1]
	cell, hc, h = cell[:hw], hc[:hw], h[:hw]
	zi, zo, zf, zc := pre[:hw], pre[H:H+hw], pre[2*H:2*H+hw], pre[3*H:3*H+hw]
	i, o, f, g := post[:hw], post[H:H+hw], post[2*H:2*H+hw], post[3*H:3*H+hw]
	j0 := lstmPreVec(x, wb, rb, r, rs, gr, H, pre, g) // 16 units at a time, then the rest
	if wb != nil {
		wb, rb = wb[:3*H+hw], rb[:3*H+hw]
		for j := j0; j < hw; j++ {
			zi[j] = ((x[j] + wb[j]) + rb[j]) + r[j*rs]
			zo[j] = ((x[H+j] + wb[H+j]) + rb[H+j]) + r[gr+j*rs]
			zf[j] = ((x[2*H+j] + wb[2*H+j]) + rb[2*H+j]) + r[2*gr+j*rs]
			zc[j] = ((x[3*H+j] + wb[3*H+j]) + rb[3*H+j]) + r[3*gr+j*rs]
			g[j] = 2 * zc[j]
		}
	} else {
		for j := j0; j < hw; j++ {
			zi[j], zo[j] = x[j]+r[j*rs], x[H+j]+r[gr+j*rs]
			zf[j], zc[j] = x[2*H+j]+r[2*gr+j*rs], x[3*H+j]+r[3*gr+j*rs]
			g[j] = 2 * zc[j]
		}
	}
	if pi != nil {
		pi, pf = pi[:hw], pf[:hw]
		for j := range zi {
			zi[j] += pi[j] * cp[j]
			zf[j] += pf[j] * cp[j]
		}
	}
	lstmSigmoid(i, zi)
	lstmSigmoid(f, zf)
	lstmSigmoid(g, g)
	for j := lstmCellVec(i, f, g, cp, cell, hc); j < hw; j++ { // 16 units at a time, then the rest
		g[j] = 2*g[j] - 1
		ct := f[j]*cp[j] + i[j]*g[j]
		cell[j], hc[j] = ct, 2*ct
	}
	if po != nil {
		po = po[:hw]
		for j := range zo {
			zo[j] += po[j] * cell[j]
		}
	}
	lstmSigmoid(o, zo)
	lstmSigmoid(hc, hc)
	for j := lstmHVec(o, hc, h); j < hw; j++ {
		hc[j] = 2*hc[j] - 1
		h[j] = o[j] * hc[j]
	}
}

// lstmGatesY is lstmGatesPart without peepholes, the product's units
// consecutive and its gates H apart (rs 1, gr H), that also copies the new
// state h into y: with lstmGatesAVX512, as it stores h, instead of in a
// pass of its own.
func lstmGatesY(x, wb, rb, r []float32, H int, pre, post, cp, cell, hc, h, y []float32) {
	n := lstmGatesVec(x, wb, rb, r, 1, H, H, pre, post, cp, cell, hc, h, y)
	if hw := len(cp); n < hw {
		if wb != nil {
			wb, rb = wb[n:], rb[n:]
		}
		lstmGatesPart(x[n:], wb, rb, r[n:], 1, H, H, pre[n:], post[n:], cp[n:], cell[n:], hc[n:], h[n:], nil, nil, nil)
		copy(y[n:hw], h[n:hw])
	}
}

// lstmBackward32 is the recurrence of rnnBackwardDir for a plain float32
// LSTM without sequence_lens: it fills dxw (d pre-activations by time,
// which is also dG, the blocks by step order through block) and hs (each
// step's previous state; nil: not kept), and leaves d H_0 and d C_0 in dH
// and dC. The
// cores share the steps by examples when they can (lstmByExamples), else
// by units.
func lstmBackward32(c *rnnCfg, v, g *rnnIn[float32], pack, dpack []float32, d int,
	dxw, hs, dH, dC, h0, c0 []float32, block func(int) int) {
	if lstmByExamples(c, v) {
		lstmBackward32Batch(c, v, g, pack, dpack, d, dxw, hs, dH, dC, h0, c0, block)
		return
	}
	lstmBackward32Units(c, v, g, pack, dpack, d, dxw, hs, dH, dC, h0, c0, block)
}

// lstmBackward32Units is lstmBackward32 with each step cut by units. A
// part owns units [lo, hi): at step s it adds dG_{s+1}·R's columns of its
// units to its columns of dH, then computes its units' gate gradients of
// step s and packs them, its columns of dG_s, as the op(A) of step s-1's
// products.
func lstmBackward32Units(c *rnnCfg, v, g *rnnIn[float32], pack, dpack []float32, d int,
	dxw, hs, dH, dC, h0, c0 []float32, block func(int) int) {
	T_, B, H := c.T, c.B, c.H
	GH := 4 * H
	rd := v.r[d*GH*H : (d+1)*GH*H]
	var peep [6][]float32 // the peepholes i, o, f and their gradients
	if v.p != nil {
		pd, gd := v.p[d*3*H:(d+1)*3*H], g.p[d*3*H:(d+1)*3*H]
		peep = [6][]float32{pd[:H], pd[H : 2*H], pd[2*H:], gd[:H], gd[H : 2*H], gd[2*H:]}
	}
	cuts := lstmParts(H)
	n := len(cuts) - 1
	rs := make([]*gemm.PackedB, n) // R's columns of the part's units: GH × hw
	prods := make([][]float32, n)
	dhs := make([][]float32, n)
	gemm.Ranges(n, min(n, runtime.GOMAXPROCS(0)), func(lo, hi int) {
		for p := lo; p < hi; p++ {
			j0, j1 := cuts[p], cuts[p+1]
			rs[p] = gemm.PackB(false, GH, j1-j0, rd[j0:], H)
			if !lstmDHDirect {
				prods[p] = make([]float32, B*(j1-j0))
				dhs[p] = make([]float32, B*(j1-j0))
			}
		}
	})
	// dG of the step after, as op(A): step i reads gp[i%2] and fills the
	// other.
	gp := [2]*gemm.PackedA{gemm.NewPackedA(B, GH), gemm.NewPackedA(B, GH)}
	pf := make([][][]float32, n) // each part's rows to ask for, reused
	for p := range pf {
		pf[p] = make([][]float32, 0, lstmStepRowsLen(B))
	}
	dy := dpack[:c.ySize()]
	// Step i is step s = T-1-i; the last one, s = -1, only takes d H_0 from
	// the first step's dG.
	lstmSteps(n, T_+1, func(p, i int) {
		s := T_ - 1 - i
		j0, j1 := cuts[p], cuts[p+1]
		hw := j1 - j0
		if s < T_-1 && lstmDHDirect {
			// d H += dG_{s+1}·R, the part's columns, into d H itself (0
			// here: the previous step cleared them), asking meanwhile
			// for the rows of the part's gate gradients below.
			var rows [][]float32
			if lstmPrefetch && s >= 0 {
				rows = lstmStepRows(pf[p][:0], c, pack, dy, dxw, c0, d, s, block(s), 0, B, j0, j1)
				pf[p] = rows
			}
			gp[i%2].SgemmPackedPrefetch(rs[p], 1, 1, dH[j0:], H, rows)
		} else if s < T_-1 {
			// d H += dG_{s+1}·R, the part's columns.
			pr := prods[p]
			gp[i%2].SgemmPacked(rs[p], 1, 0, pr, hw)
			for b := 0; b < B; b++ {
				addTo(dH[b*H+j0:b*H+j1], pr[b*hw:(b+1)*hw])
			}
		}
		if s < 0 {
			return
		}
		k := block(s)
		lstmStepGrads(c, pack, dy, dxw, hs, dH, dC, h0, c0, dhs[p], d, s, k, 0, B, j0, j1, peep)
		dG := dxw[k*B*GH : (k+1)*B*GH]
		for q := range 4 {
			gp[(i+1)%2].SetCols(false, q*H+j0, q*H+j1, dG, GH)
		}
	})
	for _, r := range rs {
		r.Release() // for the next call's packs
	}
}

// lstmDHDirect says whether the backward recurrences add each step's
// dG·R straight into d H (beta 1 onto the cleared d H: the sums start from
// +0 as 0 + the product did) and sum d H + d Y in d H itself, rather than
// through a product buffer and a copy (a variable so that tests can
// compare the two).
var lstmDHDirect = true

// lstmStepGrads is step s of the float32 LSTM's backward recurrence for
// examples [b0, b1) and units [j0, j1), once d H holds dG_{s+1}·R: it keeps
// the step's previous state in hs and writes the gate gradients (dG_s)
// into dxw, both at row block k, from d H + d Y through the gates, carrying
// d C; it then clears the range of d H. hs nil: the states are not kept
// (d R reads them in the cache). dh is the range's scratch for d H + d Y,
// (b1-b0)·(j1-j0), or nil to sum them in d H itself; peep the peepholes
// i, o, f and their gradients (nil: none).
func lstmStepGrads(c *rnnCfg, pack, dy, dxw, hs, dH, dC, h0, c0, dh []float32, d, s, k, b0, b1, j0, j1 int, peep [6][]float32) {
	B, H := c.B, c.H
	GH, hw := 4*H, j1-j0
	t := c.stepTime(d, s)
	st := cacheStep(c, pack, d, s)
	hPrev, cPrev := h0, c0
	if s > 0 {
		prev := cacheStep(c, pack, d, s-1)
		hPrev, cPrev = prev.h, prev.ex1
	}
	for b := b0; b < b1; b++ {
		if hs != nil {
			copy(hs[k*B*H+b*H+j0:k*B*H+b*H+j1], hPrev[b*H+j0:b*H+j1])
		}
		yo := c.yAt(t, d, b)
		dhb := dH[b*H+j0 : b*H+j1] // dH + dy, in place (cleared below)
		if dh != nil {
			dhb = dh[(b-b0)*hw : (b-b0+1)*hw]
			copy(dhb, dH[b*H+j0:b*H+j1])
		}
		addTo(dhb, dy[yo+j0:yo+j1])
		o := b * GH
		lstmGatesGradPart(dhb, dC[b*H+j0:b*H+j1], st.post[o+j0:], cPrev[b*H+j0:b*H+j1],
			st.ex1[b*H+j0:b*H+j1], st.ex2[b*H+j0:b*H+j1], dxw[k*B*GH+o+j0:], H,
			sub(peep[0], j0, j1), sub(peep[1], j0, j1), sub(peep[2], j0, j1),
			sub(peep[3], j0, j1), sub(peep[4], j0, j1), sub(peep[5], j0, j1))
		clear(dH[b*H+j0 : b*H+j1])
	}
}

// lstmPrefetch says whether the backward recurrences ask for the rows
// of each step's gate gradients during the product before them
// (lstmStepRows; a variable so that tests and benchmarks can compare).
var lstmPrefetch = true

// lstmStepRows appends to dst the rows lstmStepGrads reads and writes at
// step s for examples [b0, b1) and units [j0, j1) (the step's gates and
// tanh of the cell, the cell before it, d Y, and dG in dxw's row block
// k), example by example: the product before the step asks for them
// (gemm's SgemmPackedPrefetch), since they come cold from the forward's
// cache. Peepholes' reads of the step's cell and the copy into hs are
// left out (a hint: leaving rows out costs time, never a value).
func lstmStepRows(dst [][]float32, c *rnnCfg, pack, dy, dxw, c0 []float32, d, s, k, b0, b1, j0, j1 int) [][]float32 {
	B, H := c.B, c.H
	GH := 4 * H
	t := c.stepTime(d, s)
	st := cacheStep(c, pack, d, s)
	cPrev := c0
	if s > 0 {
		cPrev = cacheStep(c, pack, d, s-1).ex1
	}
	for b := b0; b < b1; b++ {
		o := b * GH
		for q := range 4 {
			dst = append(dst, st.post[o+q*H+j0:o+q*H+j1], dxw[k*B*GH+o+q*H+j0:k*B*GH+o+q*H+j1])
		}
		yo := c.yAt(t, d, b)
		dst = append(dst, cPrev[b*H+j0:b*H+j1], st.ex2[b*H+j0:b*H+j1], dy[yo+j0:yo+j1])
	}
	return dst
}

// lstmStepRowsLen is how many rows lstmStepRows appends for n examples.
func lstmStepRowsLen(n int) int { return 11 * n }

// lstmGatesGradPart is lstmGatesGrad for hw units of one example: post and
// dx start at the first unit with gates H apart.
func lstmGatesGradPart(dh, dc, post, cp, cell, hc, dx []float32, H int, pi, po, pf, dpi, dpo, dpf []float32) {
	hw := len(dh)
	j0 := 0
	if pi == nil && po == nil {
		// the same operations, 16 units at a time
		j0 = lstmGradVec(dh, dc[:hw], post[:3*H+hw], cp[:hw], hc[:hw], dx[:3*H+hw], H)
	}
	lstmGatesGradFrom(j0, dh, dc, post, cp, cell, hc, dx, H, pi, po, pf, dpi, dpo, dpf)
}
