package ops

import (
	"runtime"

	"github.com/onnxtune/onnxtune/internal/gemm"
)

// The float32 LSTM with the default activations and no sequence_lens splits
// each step across the cores by hidden units: core p owns the units
// [lo_p, hi_p) and computes, at each step, the rows of the recurrent
// product for its units of all four gates and then those gates, so the
// step's product and its gate math both run on every core and the cores
// meet once a step (lstmSteps: one goroutine a core for the whole
// recurrence, a spinning barrier between steps). The states are read from
// the previous step's cache and written to this step's, so no core writes
// what another reads within a step. Each unit's arithmetic is the same
// whatever the number of slices.

// lstmSlices cuts H hidden units into one range a core (even lengths, so
// that a part's 4·len rows fill the GEMM's 8-row tiles).
func lstmSlices(H int) []int {
	w := max(1, min(runtime.GOMAXPROCS(0), H/32))
	cuts := []int{0}
	for p := 1; p < w; p++ {
		cuts = append(cuts, min(H, (H*p/w+1)/2*2))
	}
	return append(cuts, H)
}

// lstmGatesR packs, for each slice, the rows of R (4H×H) of the slice's units
// in gate order i, o, f, c: the part's product R_p·Hᵀ is [4·len, B].
func lstmGatesR(cuts []int, rd []float32, H int) []*gemm.PackedA {
	parts := make([]*gemm.PackedA, len(cuts)-1)
	gemm.Ranges(len(parts), len(parts), func(lo, hi int) {
		for p := lo; p < hi; p++ {
			j0, j1 := cuts[p], cuts[p+1]
			hw := j1 - j0
			rp := getScratch[float32](4 * hw * H)
			for g := 0; g < 4; g++ {
				copy(rp[g*hw*H:(g+1)*hw*H], rd[(g*H+j0)*H:(g*H+j1)*H])
			}
			parts[p] = gemm.PackA(false, 4*hw, H, rp, H)
			putScratch(rp)
		}
	})
	return parts
}

// lstmForward32 is rnnForwardDir for a plain float32 LSTM without
// sequence_lens; xw holds X·Wᵀ by time, to which the gates add wb and rb
// (nil: no bias) as rnnForwardDir's generic loop does, (x + wb) + rb.
func lstmForward32(c *rnnCfg, v *rnnIn[float32], pack []float32, d int, xw, wb, rb []float32) {
	T_, B, H := c.T, c.B, c.H
	GH := 4 * H
	rd := v.r[d*GH*H : (d+1)*GH*H]
	var pi, po, pf []float32
	if v.p != nil {
		pd := v.p[d*3*H : (d+1)*3*H]
		pi, po, pf = pd[:H], pd[H:2*H], pd[2*H:]
	}
	h0 := make([]float32, B*H)
	c0 := make([]float32, B*H)
	for b := 0; b < B; b++ {
		if v.h0 != nil {
			copy(h0[b*H:(b+1)*H], v.h0[c.hAt(d, b):c.hAt(d, b)+H])
		}
		if v.c0 != nil {
			copy(c0[b*H:(b+1)*H], v.c0[c.hAt(d, b):c.hAt(d, b)+H])
		}
	}
	cuts := lstmSlices(H)
	parts := lstmGatesR(cuts, rd, H)
	prods := make([][]float32, len(parts))
	for p := range parts {
		prods[p] = make([]float32, 4*(cuts[p+1]-cuts[p])*B)
	}
	yOut := pack[:c.ySize()]
	lstmSteps(len(parts), T_, func(p, s int) {
		t := s
		if d == 1 || c.reverse {
			t = T_ - 1 - s
		}
		st := cacheStep(c, pack, d, s)
		hPrev, cPrev := h0, c0
		if s > 0 {
			prev := cacheStep(c, pack, d, s-1)
			hPrev, cPrev = prev.h, prev.ex1
		}
		j0, j1 := cuts[p], cuts[p+1]
		hw := j1 - j0
		rt := prods[p]
		parts[p].SgemmSerial(true, B, 1, hPrev, H, 0, rt, B)
		for b := 0; b < B; b++ {
			o := b * GH
			lstmGatesPart(xw[(t*B+b)*GH+j0:], sub(wb, j0, GH), sub(rb, j0, GH), rt[b:], B, hw*B, H,
				st.pre[o+j0:], st.post[o+j0:], cPrev[b*H+j0:b*H+j1],
				st.ex1[b*H+j0:b*H+j1], st.ex2[b*H+j0:b*H+j1], st.h[b*H+j0:b*H+j1],
				sub(pi, j0, j1), sub(po, j0, j1), sub(pf, j0, j1))
		}
		for b := 0; b < B; b++ {
			copy(yOut[c.yAt(t, d, b)+j0:c.yAt(t, d, b)+j1], st.h[b*H+j0:b*H+j1])
		}
	})
	last := cacheStep(c, pack, d, T_-1)
	for b := 0; b < B; b++ {
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
	for j := range g {
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
	for j := range hc {
		hc[j] = 2*hc[j] - 1
		h[j] = o[j] * hc[j]
	}
}

// lstmBackward32 is the recurrence of rnnBackwardDir for a plain float32
// LSTM without sequence_lens: it fills dxw (d pre-activations by time,
// which is also dG, the blocks by step order through block) and hs (each
// step's previous state), and leaves d H_0 and d C_0 in dH and dC. Core p
// owns units [lo_p, hi_p): at step s it adds its rows of Rᵀ·dG_{s+1}ᵀ to its
// columns of dH, then computes its units' gate gradients of step s.
func lstmBackward32(c *rnnCfg, v, g *rnnIn[float32], pack, dpack []float32, d int,
	dxw, hs, dH, dC, h0, c0 []float32, block func(int) int) {
	T_, B, H := c.T, c.B, c.H
	GH := 4 * H
	rd := v.r[d*GH*H : (d+1)*GH*H]
	var pi, po, pf, dpi, dpo, dpf []float32
	if v.p != nil {
		pd, gd := v.p[d*3*H:(d+1)*3*H], g.p[d*3*H:(d+1)*3*H]
		pi, po, pf = pd[:H], pd[H:2*H], pd[2*H:]
		dpi, dpo, dpf = gd[:H], gd[H:2*H], gd[2*H:]
	}
	cuts := lstmSlices(H)
	n := len(cuts) - 1
	parts := make([]*gemm.PackedA, n)
	prods := make([][]float32, n)
	dhs := make([][]float32, n)
	gemm.Ranges(n, n, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			j0, j1 := cuts[p], cuts[p+1]
			// Rᵀ's rows j0..j1: R's columns, stored k×m.
			parts[p] = gemm.PackA(true, j1-j0, GH, rd[j0:], H)
			prods[p] = make([]float32, (j1-j0)*B)
			dhs[p] = make([]float32, B*(j1-j0))
		}
	})
	dy := dpack[:c.ySize()]
	// dHprev adds core p's rows of Rᵀ·dGᵀ (dG of step s+1) to dH.
	dHprev := func(p, s int) {
		j0, j1 := cuts[p], cuts[p+1]
		hw := j1 - j0
		k := block(s + 1)
		dG := dxw[k*B*GH : (k+1)*B*GH]
		rt := prods[p]
		parts[p].SgemmSerial(true, B, 1, dG, GH, 0, rt, B)
		for i := 0; i < hw; i++ {
			row := rt[i*B : (i+1)*B]
			for b, x := range row {
				dH[b*H+j0+i] += x
			}
		}
	}
	// Step i is step s = T-1-i; the last one, s = -1, only takes d H_0 from
	// the first step's dG.
	lstmSteps(n, T_+1, func(p, i int) {
		s := T_ - 1 - i
		if s < T_-1 {
			dHprev(p, s)
		}
		if s < 0 {
			return
		}
		t := s
		if d == 1 || c.reverse {
			t = T_ - 1 - s
		}
		st := cacheStep(c, pack, d, s)
		hPrev, cPrev := h0, c0
		if s > 0 {
			prev := cacheStep(c, pack, d, s-1)
			hPrev, cPrev = prev.h, prev.ex1
		}
		k := block(s)
		j0, j1 := cuts[p], cuts[p+1]
		dh := dhs[p]
		hw := j1 - j0
		for b := 0; b < B; b++ {
			copy(hs[k*B*H+b*H+j0:k*B*H+b*H+j1], hPrev[b*H+j0:b*H+j1])
			dhb := dh[b*hw : (b+1)*hw]
			yo := c.yAt(t, d, b)
			for j := range dhb {
				dhb[j] = dH[b*H+j0+j] + dy[yo+j0+j]
			}
			o := b * GH
			lstmGatesGradPart(dhb, dC[b*H+j0:b*H+j1], st.post[o+j0:], cPrev[b*H+j0:b*H+j1],
				st.ex1[b*H+j0:b*H+j1], st.ex2[b*H+j0:b*H+j1], dxw[k*B*GH+o+j0:], H,
				sub(pi, j0, j1), sub(po, j0, j1), sub(pf, j0, j1),
				sub(dpi, j0, j1), sub(dpo, j0, j1), sub(dpf, j0, j1))
			clear(dH[b*H+j0 : b*H+j1])
		}
	})
}

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
