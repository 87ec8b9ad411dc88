package ops

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/onnxtune/onnxtune/internal/gemm"
)

// The float32 LSTM's recurrences as they were before their steps were cut
// into parts that share the packed state (55213be..42e7a6c): each core's
// slice of R packed as op(A), the state packed as op(B) by each core at
// each step, the gates reading the product [4·units, B] B apart.
// TestLSTMPartsMatchRows compares the new ones with them.

// lstmGatesRRows packs, for each slice, the rows of R (4H×H) of the slice's units
// in gate order i, o, f, c: the part's product R_p·Hᵀ is [4·len, B].
func lstmGatesRRows(cuts []int, rd []float32, H int) []*gemm.PackedA {
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

// lstmForward32Rows is rnnForwardDir for a plain float32 LSTM without
// sequence_lens; xw holds X·Wᵀ by time, to which the gates add wb and rb
// (nil: no bias) as rnnForwardDir's generic loop does, (x + wb) + rb.
func lstmForward32Rows(c *rnnCfg, v *rnnIn[float32], pack []float32, d int, xw, wb, rb []float32) {
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
	parts := lstmGatesRRows(cuts, rd, H)
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

// lstmBackward32Rows is the recurrence of rnnBackwardDir for a plain float32
// LSTM without sequence_lens: it fills dxw (d pre-activations by time,
// which is also dG, the blocks by step order through block) and hs (each
// step's previous state), and leaves d H_0 and d C_0 in dH and dC. Core p
// owns units [lo_p, hi_p): at step s it adds its rows of Rᵀ·dG_{s+1}ᵀ to its
// columns of dH, then computes its units' gate gradients of step s.
func lstmBackward32Rows(c *rnnCfg, v, g *rnnIn[float32], pack, dpack []float32, d int,
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
			if hs != nil { // nil: d R reads the states in the cache
				copy(hs[k*B*H+b*H+j0:k*B*H+b*H+j1], hPrev[b*H+j0:b*H+j1])
			}
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

// TestLSTMPartsMatchRows checks the float32 LSTM whose steps' parts share
// the packed state (lstmForward32, lstmBackward32) against the recurrences
// they replaced (lstmForward32Rows, lstmBackward32Rows): the same pack and
// gradients bit for bit, forward, reverse and bidirectional, with and
// without biases, initial states and peepholes, hidden sizes whose
// products take one and several blocks of the sum (H = 300: R's 1200 rows
// are 5 of dG's), at GOMAXPROCS 1 to 3.
func TestLSTMPartsMatchRows(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	defer func() { lstmFwd32, lstmBwd32 = lstmForward32, lstmBackward32 }()
	for k, tc := range []lstmCase{
		{dirs: 1, bias: true, H: 256, T: 5, B: 32, I: 16},
		{dirs: 1, reverse: true, states: true, H: 130, T: 4, B: 3, I: 5},
		{dirs: 2, bias: true, states: true, peeps: true, H: 96, T: 3, B: 5, I: 2},
		{dirs: 1, bias: true, H: 300, T: 3, B: 9, I: 7},
		{dirs: 2, H: 8, T: 4, B: 2, I: 3},
	} {
		c, sizes, in, dpack := tc.build(int64(k + 11))
		for _, procs := range []int{1, 2, 3} {
			t.Run(fmt.Sprintf("%d/%dprocs", k, procs), func(t *testing.T) {
				runtime.GOMAXPROCS(procs)
				lstmFwd32, lstmBwd32 = lstmForward32Rows, lstmBackward32Rows
				pack0, grad0 := lstmRun[float32](t, c, sizes, in, dpack)
				lstmFwd32, lstmBwd32 = lstmForward32, lstmBackward32
				pack, grad := lstmRun[float32](t, c, sizes, in, dpack)
				sameBits64(t, "pack", pack, pack0)
				sameBits64(t, "gradient", grad, grad0)
			})
		}
	}
}
