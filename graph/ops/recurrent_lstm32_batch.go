package ops

import (
	"runtime"

	"github.com/onnxtune/onnxtune/internal/gemm"
)

// The float32 LSTM's recurrences cut by examples instead of units: each
// core runs every step of its own examples, all units, and the cores never
// meet within the recurrence (the examples of a batch are independent).
// Cut by units (lstmForward32, lstmBackward32), the cores meet at every
// step, since each unit's next step reads every unit's state: 128 meetings
// a layer, each costing the wait for the slower part and the move of the
// other core's half of the state. Cut by examples, each core multiplies
// by the whole of R (1 MB for H 256, read from the shared cache at each
// step instead of each core's half staying in its own), and packs its own
// examples' state. Each element's arithmetic is the same as with the
// units' cut: the products' sums run over the same k blocks whatever the
// rows, and the gates are per example and unit. Peepholes' gradients sum
// over the examples, so an LSTM with peepholes keeps the units' cut.

// lstmBatchMin is the fewest examples of a core's share of the batch:
// smaller shares make the products' rows too few for the kernel's tiles.
const lstmBatchMin = 8

// lstmBatches cuts B examples into one range a core of at least
// lstmBatchMin examples; a single range when the batch is too small to
// share or there is one core.
func lstmBatches(B int) []int {
	w := max(1, min(runtime.GOMAXPROCS(0), B/lstmBatchMin))
	cuts := []int{0}
	for p := 1; p < w; p++ {
		cuts = append(cuts, B*p/w)
	}
	return append(cuts, B)
}

// lstmByExamples says whether the recurrences are cut by examples: more
// than one share of the batch and no peepholes.
func lstmByExamples(c *rnnCfg, v *rnnIn[float32]) bool {
	return v.p == nil && len(lstmBatches(c.B)) > 2
}

// lstmForward32Batch is lstmForward32 cut by examples.
func lstmForward32Batch(c *rnnCfg, v *rnnIn[float32], pack []float32, d int, xw, wb, rb []float32) {
	T_, B, H := c.T, c.B, c.H
	GH := 4 * H
	rd := v.r[d*GH*H : (d+1)*GH*H]
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
	// Rᵀ as op(B): the product H_prev·Rᵀ is [examples, 4H], gate g of
	// example b at b·4H + g·H.
	rt := gemm.PackB(true, H, GH, rd, H)
	cuts := lstmBatches(B)
	yOut := pack[:c.ySize()]
	wb, rb = sub(wb, 0, GH), sub(rb, 0, GH)
	gemm.Parallel(len(cuts)-1, func(q int) {
		b0, b1 := cuts[q], cuts[q+1]
		// The previous state as op(A), packed by this core after each
		// step (the step's product has read it by then).
		hp := gemm.NewPackedA(b1-b0, H)
		hp.SetCols(false, 0, H, h0[b0*H:], H)
		pr := make([]float32, (b1-b0)*GH)
		for s := range T_ {
			t := s
			if d == 1 || c.reverse {
				t = T_ - 1 - s
			}
			st := cacheStep(c, pack, d, s)
			cPrev := c0
			if s > 0 {
				cPrev = cacheStep(c, pack, d, s-1).ex1
			}
			hp.SgemmPacked(rt, 1, 0, pr, GH)
			for b := b0; b < b1; b++ {
				o := b * GH
				lstmGatesPart(xw[(t*B+b)*GH:], wb, rb, pr[(b-b0)*GH:], 1, H, H,
					st.pre[o:], st.post[o:], cPrev[b*H:(b+1)*H],
					st.ex1[b*H:(b+1)*H], st.ex2[b*H:(b+1)*H], st.h[b*H:(b+1)*H], nil, nil, nil)
				copy(yOut[c.yAt(t, d, b):c.yAt(t, d, b)+H], st.h[b*H:(b+1)*H])
			}
			if s < T_-1 {
				hp.SetCols(false, 0, H, st.h[b0*H:], H)
			}
		}
	})
	last := cacheStep(c, pack, d, T_-1)
	for b := 0; b < B; b++ {
		copy(pack[c.offYh()+c.hAt(d, b):], last.h[b*H:(b+1)*H])
		copy(pack[c.offYc()+c.hAt(d, b):c.offYc()+c.hAt(d, b)+H], last.ex1[b*H:(b+1)*H])
	}
}

// lstmBackward32Batch is lstmBackward32 cut by examples (no peepholes).
func lstmBackward32Batch(c *rnnCfg, v, g *rnnIn[float32], pack, dpack []float32, d int,
	dxw, hs, dH, dC, h0, c0 []float32, block func(int) int) {
	T_, B, H := c.T, c.B, c.H
	GH := 4 * H
	rd := v.r[d*GH*H : (d+1)*GH*H]
	rs := gemm.PackB(false, GH, H, rd, H) // R: d H_prev = dG·R
	cuts := lstmBatches(B)
	dy := dpack[:c.ySize()]
	gemm.Parallel(len(cuts)-1, func(q int) {
		b0, b1 := cuts[q], cuts[q+1]
		nb := b1 - b0
		// This core's rows of dG of the step after, as op(A).
		gp := gemm.NewPackedA(nb, GH)
		pr := make([]float32, nb*H)
		dh := make([]float32, nb*H)
		for i := 0; i <= T_; i++ {
			s := T_ - 1 - i
			if s < T_-1 {
				// d H += dG_{s+1}·R.
				gp.SgemmPacked(rs, 1, 0, pr, H)
				for b := b0; b < b1; b++ {
					addTo(dH[b*H:(b+1)*H], pr[(b-b0)*H:(b-b0+1)*H])
				}
			}
			if s < 0 {
				break
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
			for b := b0; b < b1; b++ {
				copy(hs[k*B*H+b*H:k*B*H+(b+1)*H], hPrev[b*H:(b+1)*H])
				dhb := dh[(b-b0)*H : (b-b0+1)*H]
				yo := c.yAt(t, d, b)
				copy(dhb, dH[b*H:(b+1)*H])
				addTo(dhb, dy[yo:yo+H]) // dH + dy
				o := b * GH
				lstmGatesGradPart(dhb, dC[b*H:(b+1)*H], st.post[o:], cPrev[b*H:(b+1)*H],
					st.ex1[b*H:(b+1)*H], st.ex2[b*H:(b+1)*H], dxw[k*B*GH+o:], H,
					nil, nil, nil, nil, nil, nil)
				clear(dH[b*H : (b+1)*H])
			}
			gp.SetCols(false, 0, GH, dxw[k*B*GH+b0*GH:], GH)
		}
	})
}
