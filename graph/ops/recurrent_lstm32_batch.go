package ops

import (
	"runtime"
	"sync/atomic"
	"time"

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

// lstmRPieces is how many pieces the backward packs R in (ranges of its
// columns; the forward's pieces are its four gates): the cores pack them
// as they come, at the start of the call, instead of one core packing the
// whole while the other waits (0.27 ms for H 256, and internal/gemm's
// helper parks meanwhile and then takes about as long to wake).
const lstmRPieces = 4

// sharedPack packs pieces of an operand on every core that asks for it:
// each claims pieces until none is left, then waits for the others', and
// after packWait packs its own copies of those still in flight (getOwn).
type sharedPack struct {
	next, done atomic.Int32
	ready      []atomic.Bool // piece i packed (or its pack panicked)
	pieces     []*gemm.PackedB
	pack       func(i int) *gemm.PackedB
}

func newSharedPack(n int, pack func(i int) *gemm.PackedB) *sharedPack {
	return &sharedPack{ready: make([]atomic.Bool, n), pieces: make([]*gemm.PackedB, n), pack: pack}
}

// packShared packs piece i for every member.
func (sp *sharedPack) packShared(i int) {
	defer func() { // a panic leaves a nil piece, not a waiter for ever
		sp.ready[i].Store(true)
		sp.done.Add(1)
	}()
	sp.pieces[i] = sp.pack(i)
}

// packWait is how long getOwn waits for pieces that another member is
// packing before it packs its own copies of them: about a piece's time
// (R's gate for H 256 takes some 70 µs).
var packWait = 50 * time.Microsecond

// getOwn returns the pieces once all are packed, packing what it claims
// (a member that comes late finds them packed); it does not wait long for
// the others: the pieces another member has claimed but not packed after
// packWait it packs
// again itself, into copies of its own (own, for the member to release;
// a pack is a copy, so the bits are the same). A member whose partner is
// off its core (its thread waiting for the CPU this member runs on, or
// its virtual CPU stopped by the host) would otherwise spin through its
// turns on the CPU while the partner's piece waits for them: in the train
// step at 2 threads, for 0.6-8 ms in a few calls in a hundred.
func (sp *sharedPack) getOwn() (pieces, own []*gemm.PackedB) {
	n := int32(len(sp.pieces))
	for {
		i := sp.next.Add(1) - 1
		if i >= n {
			break
		}
		sp.packShared(int(i))
	}
	start := time.Now()
	for sp.done.Load() < n {
		if time.Since(start) >= packWait {
			pieces = make([]*gemm.PackedB, n)
			for i := range pieces {
				if sp.ready[i].Load() {
					pieces[i] = sp.pieces[i]
				} else {
					pieces[i] = sp.pack(i)
					own = append(own, pieces[i])
				}
			}
			return pieces, own
		}
		runtime.Gosched()
	}
	return sp.pieces, nil
}

// release hands the pieces back to internal/gemm for later packs (the
// next call's: the weights are packed at every call), once no member
// reads them.
func (sp *sharedPack) release() { releasePacks(sp.pieces) }

// releasePacks hands packs back to internal/gemm (nil ones skipped).
func releasePacks(ps []*gemm.PackedB) {
	for _, p := range ps {
		if p != nil {
			p.Release()
		}
	}
}

// lstmXWShares says whether the forward cut by examples computes X·Wᵀ
// within each core's share (a variable so that tests can compare it with
// the product over all steps that it replaces).
var lstmXWShares = true

// lstmForward32Batch is lstmForward32 cut by examples. With xw nil, each
// core computes its own examples' rows of X·Wᵀ a step at a time, Wᵀ packed
// a gate a piece as Rᵀ: the product over every step and example before the
// recurrence then has no start and end of its own on the cores, and its
// result (T·B·4H elements, 8 MB in the sequence benchmark) makes no pass
// through memory. The sums run over the same k blocks with the same
// kernel as that product's (internal/gemm), so the bits are the same.
func lstmForward32Batch(c *rnnCfg, v *rnnIn[float32], pack []float32, d int, xw, wb, rb []float32) {
	T_, B, H, I := c.T, c.B, c.H, c.I
	GH := 4 * H
	rd := v.r[d*GH*H : (d+1)*GH*H]
	h0, c0 := rnnStates0(c, v, d)
	// Rᵀ as op(B), a gate a piece: the product H_prev·Rᵀ is [examples,
	// 4H], gate g of example b at b·4H + g·H.
	rp := newSharedPack(4, func(g int) *gemm.PackedB { return gemm.PackB(true, H, H, rd[g*H*H:], H) })
	var wp *sharedPack // Wᵀ likewise, when the cores compute X·Wᵀ
	if xw == nil {
		wd := v.w[d*GH*I : (d+1)*GH*I]
		wp = newSharedPack(4, func(g int) *gemm.PackedB { return gemm.PackB(true, I, H, wd[g*H*I:], I) })
	}
	cuts := lstmBatches(B)
	yOut := pack[:c.ySize()]
	wb, rb = sub(wb, 0, GH), sub(rb, 0, GH)
	gemm.Parallel(len(cuts)-1, func(q int) {
		b0, b1 := cuts[q], cuts[q+1]
		rt, rOwn := rp.getOwn()
		defer releasePacks(rOwn)
		// The previous state as op(A), packed by this core after each
		// step (the step's product has read it by then).
		hp := gemm.NewPackedA(b1-b0, H)
		hp.SetCols(false, 0, H, h0[b0*H:], H)
		// The products' buffers are the scratch pool's (each step
		// overwrites them: beta 0), not new ones at every call.
		pr := getScratch[float32]((b1 - b0) * GH)
		defer putScratch(pr)
		// This core's rows of X_t·Wᵀ, as the step's op(A) times Wᵀ.
		var wt []*gemm.PackedB
		var xa *gemm.PackedA
		var xs []float32
		if wp != nil {
			var wOwn []*gemm.PackedB
			wt, wOwn = wp.getOwn()
			xa, xs = gemm.NewPackedA(b1-b0, I), getScratch[float32]((b1-b0)*GH)
			defer releasePacks(wOwn)
			defer putScratch(xs)
		}
		for s := range T_ {
			t := c.stepTime(d, s)
			// Example b's X·Wᵀ at x[xo+b·4H].
			x, xo := xw, t*B*GH
			if xa != nil {
				xa.SetCols(false, 0, I, v.xt[(t*B+b0)*I:], I)
				for g, w := range wt {
					xa.SgemmPacked(w, 1, 0, xs[g*H:], GH)
				}
				x, xo = xs, -b0*GH
			}
			st := cacheStep(c, pack, d, s)
			cPrev := c0
			if s > 0 {
				cPrev = cacheStep(c, pack, d, s-1).ex1
			}
			for g, r := range rt {
				hp.SgemmPacked(r, 1, 0, pr[g*H:], GH)
			}
			for b := b0; b < b1; b++ {
				o, y := b*GH, c.yAt(t, d, b)
				lstmGatesY(x[xo+b*GH:], wb, rb, pr[(b-b0)*GH:], H,
					c.preOf(st)[o:], st.post[o:], cPrev[b*H:(b+1)*H],
					st.ex1[b*H:(b+1)*H], st.ex2[b*H:(b+1)*H], st.h[b*H:(b+1)*H], yOut[y:y+H])
			}
			if s < T_-1 {
				hp.SetCols(false, 0, H, st.h[b0*H:], H)
			}
		}
	})
	rp.release()
	if wp != nil {
		wp.release()
	}
	lstmPutLast(c, pack, d)
}

// lstmBackward32Batch is lstmBackward32 cut by examples (no peepholes).
func lstmBackward32Batch(c *rnnCfg, v, g *rnnIn[float32], pack, dpack []float32, d int,
	dxw, hs, dH, dC, h0, c0 []float32, block func(int) int) {
	T_, B, H := c.T, c.B, c.H
	GH := 4 * H
	rd := v.r[d*GH*H : (d+1)*GH*H]
	// R as op(B) (d H_prev = dG·R), by ranges of its columns.
	cols := make([]int, lstmRPieces+1)
	for i := range cols {
		cols[i] = H * i / lstmRPieces
	}
	rp := newSharedPack(lstmRPieces, func(i int) *gemm.PackedB {
		return gemm.PackB(false, GH, cols[i+1]-cols[i], rd[cols[i]:], H)
	})
	cuts := lstmBatches(B)
	dy := dpack[:c.ySize()]
	gemm.Parallel(len(cuts)-1, func(q int) {
		b0, b1 := cuts[q], cuts[q+1]
		nb := b1 - b0
		rs, rOwn := rp.getOwn()
		defer releasePacks(rOwn)
		// This core's rows of dG of the step after, as op(A).
		gp := gemm.NewPackedA(nb, GH)
		var pr, dh []float32 // the product's and d H + d Y's buffers, unless d H takes both
		// The rows a product asks for (reused).
		pf := make([][]float32, 0, lstmStepRowsLen((nb+lstmRPieces-1)/lstmRPieces))
		if !lstmDHDirect {
			pr, dh = getScratch[float32](nb*H), getScratch[float32](nb*H) // overwritten at each step
			defer putScratch(pr)
			defer putScratch(dh)
		}
		for i := 0; i <= T_; i++ {
			s := T_ - 1 - i
			if s < T_-1 && lstmDHDirect {
				// d H += dG_{s+1}·R, into d H itself (0 here: the
				// previous step cleared it); each piece's product asks
				// meanwhile for a share of the rows of this step's gate
				// gradients below.
				for j, r := range rs {
					var rows [][]float32
					if lstmPrefetch && s >= 0 {
						rows = lstmStepRows(pf[:0], c, pack, dy, dxw, c0, d, s, block(s),
							b0+nb*j/len(rs), b0+nb*(j+1)/len(rs), 0, H)
						pf = rows
					}
					gp.SgemmPackedPrefetch(r, 1, 1, dH[b0*H+cols[j]:], H, rows)
				}
			} else if s < T_-1 {
				// d H += dG_{s+1}·R.
				for j, r := range rs {
					gp.SgemmPacked(r, 1, 0, pr[cols[j]:], H)
				}
				for b := b0; b < b1; b++ {
					addTo(dH[b*H:(b+1)*H], pr[(b-b0)*H:(b-b0+1)*H])
				}
			}
			if s < 0 {
				break
			}
			k := block(s)
			lstmStepGrads(c, pack, dy, dxw, hs, dH, dC, h0, c0, dh, d, s, k, b0, b1, 0, H, [6][]float32{})
			gp.SetCols(false, 0, GH, dxw[k*B*GH+b0*GH:], GH)
		}
	})
	rp.release()
}
