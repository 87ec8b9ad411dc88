package ops

import (
	"runtime"
	"sync"

	"github.com/onnxtune/onnxtune/internal/gemm"
)

// Depthwise convolutions (one input and one output channel a group) over
// 1-D and 2-D planes read their input in place, with no phased copy: the
// output is cut into vectors of vl lanes (8 for AVX2, 16 for AVX-512), a
// vector within one channel's plane when the plane holds a multiple of vl
// elements, or vl/P whole planes of P < vl elements (so 2x2 and 4x4 planes
// fill the vectors), and each vector is the bias plus, tap by tap in the
// weight's order, the tap's weight times the inputs it reads: a masked load
// of vl consecutive inputs (stride 1), of 2vl keeping the even ones (stride
// 2, output rows of whole vectors) or a masked gather (the rest), the
// masked-out lanes (the padding) reading zero and no memory. The tap pattern
// of every vector repeats from one channel (or group of planes) to the
// next, so it is worked out once per shape (dwPlan, kept in dwPlans) rather
// than per run. The sums are those of the direct loops (convTapRows) in the
// same order, a padding tap adding nothing, so the two paths give the same
// bits.

// dwPlan is the tap pattern of a depthwise convolution's output vectors
// of vl lanes (8 for the AVX2 kernels, 16 for the AVX-512 ones). A step is
// cstep channels' output planes, pm vectors; every step reads cstep input
// planes from its own base. off and mask hold, per vector of a step and
// tap, the input offset (from the step's base) and the lanes that read
// input: one offset a tap (contig, lanes reading off+i; pairs, off+2i) or
// one a lane (gathers, vl 8 only).
type dwPlan struct {
	vl               int
	pm, cstep, steps int
	pin, pout        int
	taps             int
	contig, pairs    bool
	off              []int32   // contig or pairs: [pm][taps]; else [pm][taps][vl]
	mask             []uint32  // vl 8: [pm][taps][8]; pairs: [pm][taps][16], lane i's at 2i
	kmask            []uint16  // vl 16: a bit a lane, [pm][taps]; pairs: [pm][taps][2], lane i's at bit 2i
	chmap            [16]int32 // per lane: its channel in the step
	// rowGap, for 16 lanes: lanes 0-7 read off+2i and lanes 8-15
	// off+rowGap+2(i-8) (stride 2, output rows of 8: a vector is two
	// rows); the masks as for pairs, lane i's at bit 2i. Only dw9x4S2
	// runs such a plan (pairs is false).
	rowGap int32
	// win, for a 16-lane plan of gathers whose vectors each read inside
	// 64 consecutive inputs of their step (stride 2 onto 4x4 planes or
	// smaller): winBase holds each vector's first input (from the step's
	// base), winOff per vector, tap and lane the input's place in those
	// 64 (0 for a lane that reads none), and winK per vector and tap the
	// lanes reading the first 32 and those reading the last 32. dwWin512
	// runs it with permutes of four vector loads instead of gathers.
	win     bool
	winBase []int32  // [pm]
	winOff  []int32  // [pm][taps][16]
	winK    []uint16 // [pm][taps][2]
	// rowsH and rowsW, for a 16-lane contiguous plan of 3x3 windows
	// (stride 1, padding 1 on every side) over planes of rows of 16 or 32
	// (a multiple of 8 or 4 rows), or of 8x8 or 4x4: the planes' rows and
	// columns, for dwRows16, dwRows32, dwPlane8 and dwPlane4; for an
	// 8-lane one, over planes of rows of 8, 16 or 32 (a multiple of 8, 4 or
	// 2 rows), or of 4x4 or 2x2 (two channels a step), for dwRows8AVX2,
	// dwRows16AVX2, dwRows32AVX2, dwPlane4AVX2 and dwPlane2AVX2; else 0.
	// With rowsS2, a plan of pairs (stride 2, padding 1 above and on the
	// left) over planes of rows of 32 (a multiple of 16 rows) onto half
	// as many rows of 16, for dwRows32S2, or a plan with a row gap from
	// 16x16 onto 8x8, for dwRows16S2; for 8 lanes, a plan of pairs from
	// rows of 16 or 32 (a multiple of 16 or 8 rows) onto half as many
	// rows of 8 or 16, for dwRows16S2AVX2 and dwRows32S2AVX2, or a plan of
	// gathers from 8x8 onto 4x4 or from 4x4 onto 2x2 (two channels a
	// step), for dwPlane8S2AVX2 and dwPlane4S2AVX2.
	rowsH, rowsW int
	rowsS2       bool
}

// dwKey is what a plan depends on.
type dwKey struct {
	g     convGeom
	c, vl int
}

// dwPlans keeps every plan made (one per depthwise shape of the compiled
// programs, a few kB each).
var dwPlans sync.Map

// dwPlanLimit bounds a plan's table entries (pm × taps × vl): a plan keeps at
// most 2 MB.
const dwPlanLimit = 1 << 18

// dwDisabled turns the in-place path off (tests compare it with the
// direct loops it replaces).
var dwDisabled bool

// dw9Off turns dw9x4 off (tests compare it with the kernels it replaces).
var dw9Off bool

// dwWinOff turns dwWin512 off: its plans then run as 8-lane gathers
// (tests compare the two).
var dwWinOff bool

// dwRowsOff turns the row kernels (dwRows16 and the like) off: its plans then run dw9x4, and the
// 8-lane ones (dwRows16AVX2 and the like) dwTapsAVX2 (tests compare the two).
var dwRowsOff bool

// dwLanes, when 8, keeps the plans at 8 lanes (tests compare both).
var dwLanes int

// dwPlanFor returns the plan of cd's forward pass, or nil when the
// in-place kernels do not run it: not depthwise with multiplier 1, a 3-D
// window, planes neither a multiple of 8 elements nor a divisor of 8, or
// no AVX2 kernels. Where the AVX-512 kernels run, a plan of 16 lanes
// reading contiguous inputs or pairs is preferred.
func dwPlanFor(cd *convDims) *dwPlan {
	if dwDisabled || !dwAsm || cd.group != cd.c || cd.m != cd.c {
		return nil
	}
	if dw512 && dwLanes != 8 {
		if p := dwPlanCached(cd, 16); p != nil && (p.contig || p.pairs || p.rowGap > 0 && dw9Takes(p) || p.win && !dwWinOff) {
			return p
		}
	}
	return dwPlanCached(cd, 8)
}

func dwPlanCached(cd *convDims, vl int) *dwPlan {
	key := dwKey{cd.g, cd.c, vl}
	if p, ok := dwPlans.Load(key); ok {
		return p.(*dwPlan)
	}
	p := newDWPlan(&cd.g, cd.c, vl)
	dwPlans.Store(key, p)
	return p
}

func newDWPlan(g *convGeom, c, vl int) *dwPlan {
	if !g.planar() {
		return nil
	}
	pout, pin, T := g.outSize(), g.inSize(), g.kSize()
	p := &dwPlan{vl: vl, pin: pin, pout: pout, taps: T, contig: true}
	switch {
	case pout%vl == 0:
		p.pm, p.cstep = pout/vl, 1
	case vl%pout == 0 && c%(vl/pout) == 0:
		p.pm, p.cstep = 1, vl/pout
	default:
		return nil
	}
	p.steps = c / p.cstep
	if p.pm*T*vl > dwPlanLimit || int64(p.cstep)*int64(pin) >= 1<<30 {
		return nil
	}
	for i := range vl {
		p.chmap[i] = int32(i / min(pout, vl))
	}
	idx := make([]int32, p.pm*T*vl)
	mask := make([]uint32, p.pm*T*vl)
	W := g.out[2]
	for q := range p.pm {
		for i := range vl {
			pos := vl*q + i
			cl, pos := pos/pout, pos%pout
			oh, ow := pos/W, pos%W
			for kh := range g.k[1] {
				ih := oh*g.s[1] - g.pb[1] + kh*g.d[1]
				for kw := range g.k[2] {
					iw := ow*g.s[2] - g.pb[2] + kw*g.d[2]
					if ih < 0 || ih >= g.in[1] || iw < 0 || iw >= g.in[2] {
						continue
					}
					e := (q*T+kh*g.k[2]+kw)*vl + i
					idx[e] = int32(cl*pin + ih*g.in[2] + iw)
					mask[e] = ^uint32(0)
				}
			}
		}
	}
	// Contiguous when every tap of every vector reads off+i in lane i,
	// pairs when off+2i (stride 2: the kernel loads 2vl and keeps the
	// even ones).
	step := int32(1)
	off, ok := dwRuns(idx, mask, vl, 1)
	if !ok {
		p.contig = false
		step = 2
		off, ok = dwRuns(idx, mask, vl, 2)
		p.pairs = ok
		if !ok && vl == 16 {
			off, p.rowGap, ok = dwRowPairs(idx, mask)
		}
	}
	if !ok {
		p.off, p.mask = idx, mask
		if H, W := g.in[1], g.in[2]; vl == 8 && (H == 8 && W == 8 && p.cstep == 1 || H == 4 && W == 4 && p.cstep == 2) && 2*g.out[1] == H && 2*g.out[2] == W &&
			g.k == [3]int{1, 3, 3} && g.s == [3]int{1, 2, 2} && g.d == [3]int{1, 1, 1} && g.pb == [3]int{0, 1, 1} {
			p.rowsH, p.rowsW, p.rowsS2 = H, W, true
		}
		if vl == 16 {
			p.winBase, p.winOff, p.winK, p.win = dwWindow(idx, mask, p.pm, T, p.cstep*pin)
		}
		return p
	}
	p.off = off
	if H, W := g.in[1], g.in[2]; vl == 16 && p.contig && ((W == 16 || W == 32) && H%(128/W) == 0 || (W == 8 || W == 4) && H == W) && g.out == g.in &&
		g.k == [3]int{1, 3, 3} && g.s == [3]int{1, 1, 1} && g.d == [3]int{1, 1, 1} && g.pb == [3]int{0, 1, 1} && g.pe == [3]int{0, 1, 1} {
		p.rowsH, p.rowsW = g.in[1], W
	}
	if H, W := g.in[1], g.in[2]; vl == 8 && p.contig && ((W == 8 || W == 16 || W == 32) && H%(64/W) == 0 || W == 4 && H == 4 || W == 2 && H == 2) && g.out == g.in &&
		g.k == [3]int{1, 3, 3} && g.s == [3]int{1, 1, 1} && g.d == [3]int{1, 1, 1} && g.pb == [3]int{0, 1, 1} && g.pe == [3]int{0, 1, 1} {
		p.rowsH, p.rowsW = H, W
	}
	if H, W := g.in[1], g.in[2]; vl == 8 && p.pairs && (W == 16 && H%16 == 0 || W == 32 && H%8 == 0) && 2*g.out[1] == H && 2*g.out[2] == W &&
		g.k == [3]int{1, 3, 3} && g.s == [3]int{1, 2, 2} && g.d == [3]int{1, 1, 1} && g.pb == [3]int{0, 1, 1} {
		p.rowsH, p.rowsW, p.rowsS2 = H, W, true
	}
	if H, W := g.in[1], g.in[2]; vl == 16 && p.pairs && W == 32 && H%16 == 0 && 2*g.out[1] == H && 2*g.out[2] == W &&
		g.k == [3]int{1, 3, 3} && g.s == [3]int{1, 2, 2} && g.d == [3]int{1, 1, 1} && g.pb == [3]int{0, 1, 1} {
		p.rowsH, p.rowsW, p.rowsS2 = H, W, true
	}
	if H, W := g.in[1], g.in[2]; vl == 16 && p.rowGap > 0 && H == 16 && W == 16 && g.out[1] == 8 && g.out[2] == 8 &&
		g.k == [3]int{1, 3, 3} && g.s == [3]int{1, 2, 2} && g.d == [3]int{1, 1, 1} && g.pb == [3]int{0, 1, 1} {
		p.rowsH, p.rowsW, p.rowsS2 = H, W, true
	}
	// The lanes of the loads: vl of them (contig), or 2vl, lane i's at
	// 2i (pairs).
	lanes := make([]bool, int(step)*len(mask))
	for e, v := range mask {
		lanes[int(step)*e] = v != 0
	}
	if vl == 8 {
		p.mask = make([]uint32, len(lanes))
		for e, v := range lanes {
			if v {
				p.mask[e] = ^uint32(0)
			}
		}
		return p
	}
	p.kmask = make([]uint16, len(lanes)/16)
	for e, v := range lanes {
		if v {
			p.kmask[e/16] |= 1 << (e % 16)
		}
	}
	return p
}

// dwWindowLen is how many consecutive inputs a vector of a window plan
// reads inside: four vectors of 16.
const dwWindowLen = 64

// dwWindow returns, when every vector of 16 lanes of idx ([pm][taps][16])
// reads (in the lanes mask keeps) inside dwWindowLen consecutive inputs of
// the span inputs of its step, each vector's first input, the lanes'
// places in the window and the taps' masks of the lanes reading its first
// and its second half (see dwPlan.win).
func dwWindow(idx []int32, mask []uint32, pm, taps, span int) (base, off []int32, k []uint16, ok bool) {
	const vl = 16
	if span < dwWindowLen {
		return nil, nil, nil, false
	}
	base = make([]int32, pm)
	off = make([]int32, len(idx))
	k = make([]uint16, pm*taps*2)
	for q := range pm {
		lo, hi := int32(span), int32(-1)
		for e := q * taps * vl; e < (q+1)*taps*vl; e++ {
			if mask[e] != 0 {
				lo, hi = min(lo, idx[e]), max(hi, idx[e])
			}
		}
		if hi < 0 {
			continue // reads nothing: every lane its bias
		}
		b := min(lo, int32(span-dwWindowLen))
		if hi-b >= dwWindowLen {
			return nil, nil, nil, false
		}
		base[q] = b
		for t := range taps {
			for i := range vl {
				e := (q*taps+t)*vl + i
				if mask[e] == 0 {
					continue
				}
				o := idx[e] - b
				off[e] = o
				k[(q*taps+t)*2+int(o/32)] |= 1 << i
			}
		}
	}
	return base, off, k, true
}

// dwRowPairs returns, when every vector of 16 lanes of idx reads off + 2i
// in lanes i < 8 and off + gap + 2(i-8) in lanes i >= 8 (those that mask
// keeps), with one gap for all, the off of each vector and the gap.
func dwRowPairs(idx []int32, mask []uint32) ([]int32, int32, bool) {
	const vl = 16
	gap, known := int32(0), false
	for v := 0; v < len(idx)/vl && !known; v++ {
		lo, hi := -1, -1
		for i := range vl {
			if mask[v*vl+i] == 0 {
				continue
			}
			if i < 8 && lo < 0 {
				lo = i
			}
			if i >= 8 && hi < 0 {
				hi = i
			}
		}
		if lo >= 0 && hi >= 0 {
			gap = (idx[v*vl+hi] - 2*int32(hi-8)) - (idx[v*vl+lo] - 2*int32(lo))
			known = true
		}
	}
	if !known || gap < 16 {
		return nil, 0, false
	}
	off := make([]int32, len(idx)/vl)
	for v := range off {
		first := true
		for i := range vl {
			if mask[v*vl+i] == 0 {
				continue
			}
			o := idx[v*vl+i] - 2*int32(i)
			if i >= 8 {
				o = idx[v*vl+i] - gap - 2*int32(i-8)
			}
			if first {
				off[v], first = o, false
			} else if off[v] != o {
				return nil, 0, false
			}
		}
	}
	return off, gap, true
}

// dwRuns returns, when every vector of vl lanes of idx reads off + step*i
// in each lane i that mask keeps, the off of each vector.
func dwRuns(idx []int32, mask []uint32, vl int, step int32) ([]int32, bool) {
	off := make([]int32, len(idx)/vl)
	for v := range off {
		first := true
		for i := range vl {
			if mask[v*vl+i] == 0 {
				continue
			}
			o := idx[v*vl+i] - step*int32(i)
			if first {
				off[v], first = o, false
			} else if off[v] != o {
				return nil, false
			}
		}
	}
	return off, true
}

// dwForward computes y = conv(x, w) + b (and the fused activation) by the
// plan's kernels, float32 only: it reports false, having done nothing, for
// any other type.
func dwForward[T Float](p *dwPlan, x, w, b []T, cd *convDims, y []T) bool {
	x32, ok := any(x).([]float32)
	if !ok {
		return false
	}
	w32, y32 := any(w).([]float32), any(y).([]float32)
	var b32 []float32
	if b != nil {
		b32 = any(b).([]float32)
	}
	dw := dwWeightsFor(p, w32, b32, cd.c)
	defer dw.release()
	units := cd.n * p.steps
	per := p.cstep * p.pout
	_ = x32[units*p.cstep*p.pin-1]
	_ = y32[units*per-1]
	// Tasks of a few thousand outputs (so that the fused activation runs
	// over what the kernel just wrote), claimed by the cores as they come
	// free.
	chunk := max(1, convActivateBlock/per, units/64)
	task := func(i int) {
		u0 := i * chunk
		dwUnits(p, cd, x32, y32, &dw, u0, min(units, u0+chunk))
	}
	tasks := (units + chunk - 1) / chunk
	if runtime.GOMAXPROCS(0) == 1 || units*per*p.taps < 1<<16 {
		for i := range tasks {
			task(i)
		}
		return true
	}
	gemm.Parallel(tasks, task)
	return true
}

// dwW is what the kernels read of a depthwise convolution's weights and
// bias: for dw9x4 (dw9Takes) the weights and bias as given (w, b; b
// zeros when there is no bias), for the other kernels their copy tap by
// tap (wt, ws, bias; see dwWeights).
type dwW struct {
	w, b, scratch []float32
	wt, bias      []float32
	ws            int
}

// dwWeightsFor returns what plan p's kernels read of the weights w32 and
// bias b32 (nil: none) of C channels; release it after the last run.
func dwWeightsFor(p *dwPlan, w32, b32 []float32, C int) dwW {
	if dw9Takes(p) {
		dw := dwW{w: w32, b: b32}
		if b32 == nil {
			dw.scratch = getScratch[float32](C)
			clear(dw.scratch)
			dw.b = dw.scratch
		}
		return dw
	}
	wt, ws := dwWeights(w32, b32, C, p.taps)
	return dwW{wt: wt, ws: ws, bias: wt[p.taps*ws:], scratch: wt}
}

func (dw *dwW) release() {
	if dw.scratch != nil {
		putScratch(dw.scratch)
	}
}

// dwWeights returns the weights of C channels tap by tap (a channel's
// weight of tap t at t*ws + c) and then the bias, each with 16 elements of
// slack for the vector loads, in a scratch buffer (putScratch it).
func dwWeights(w32, b32 []float32, C, nt int) (wt []float32, ws int) {
	ws = C + 16
	wt = getScratch[float32](nt*ws + ws)
	clear(wt)
	for c := range C {
		for t, v := range w32[c*nt : (c+1)*nt] {
			wt[t*ws+c] = v
		}
	}
	copy(wt[nt*ws:], b32)
	return wt, ws
}

// dwUnits runs the plan's kernels over units [u0, u1) (a unit is a step's
// cstep channels of one sample) of x32 into y32, then the fused
// activation. The fused Clip runs in the kernel where it can, unless an
// output equals a bound exactly: then the units again, clamped by
// clipEpiApply, which records the hits.
func dwUnits(p *dwPlan, cd *convDims, x32, y32 []float32, dw *dwW, u0, u1 int) {
	per := p.cstep * p.pout
	clip := cd.clip != nil && !cd.relu && (dw.w != nil || dwClamps(p))
	var lo, hi float32
	if clip {
		lo, hi = float32(cd.clip.lo), float32(cd.clip.hi)
	}
	hit := false
	for u := u0; u < u1; {
		s := u % p.steps
		cnt := min(u1-u, p.steps-s)
		hit = dwRun(p, y32[u*per:], x32[u*p.cstep*p.pin:], cnt, s*p.cstep, dw, clip, lo, hi) || hit
		u += cnt
	}
	if clip && !hit {
		return
	}
	if clip {
		for u := u0; u < u1; {
			s := u % p.steps
			cnt := min(u1-u, p.steps-s)
			dwRun(p, y32[u*per:], x32[u*p.cstep*p.pin:], cnt, s*p.cstep, dw, false, 0, 0)
			u += cnt
		}
	}
	convActivate(y32[u0*per:u1*per], cd)
}

// dwRun runs cnt steps of plan p from channel c0 into y from x, with the
// Clip to [lo, hi] when clip is set (a kernel dwClamps takes, or dw9x4),
// and reports whether an output equalled a bound exactly.
func dwRun(p *dwPlan, y, x []float32, cnt, c0 int, dw *dwW, clip bool, lo, hi float32) bool {
	if dw.w != nil {
		return dw9Kernel(p, y, x, cnt, dw.w[c0*9:], dw.b[c0:], clip, lo, hi)
	}
	hit := false
	if dw9PTakes(p) {
		n, h := dw9PKernel(p, y, x, cnt, dw.wt[c0:], dw.ws, dw.bias[c0:], clip, lo, hi)
		if n == cnt {
			return h
		}
		per := p.cstep * p.pout
		y, x, cnt, c0, hit = y[n*per:], x[n*p.cstep*p.pin:], cnt-n, c0+n*p.cstep, h
	}
	if clip {
		return dwKernelClip(p, y, x, cnt, dw.wt[c0:], dw.ws, dw.bias[c0:], lo, hi) || hit
	}
	dwKernel(p, y, x, cnt, dw.wt[c0:], dw.ws, dw.bias[c0:])
	return hit
}
