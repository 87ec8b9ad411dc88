package ops

import (
	"runtime"
	"sync"

	"github.com/onnxtune/onnxtune/internal/gemm"
)

// Depthwise convolutions (one input and one output channel a group) over
// 1-D and 2-D planes read their input in place, with no phased copy: the
// output is cut into vectors of 8 elements (a vector within one channel's
// plane when the plane holds a multiple of 8 elements, or 8/P whole planes
// of P < 8 elements, so 2x2 and 4x4 planes fill the vectors), and each
// vector is the bias plus, tap by tap in the weight's order, the tap's
// weight times the input it reads: a masked load of 8 consecutive inputs
// (stride 1) or a masked gather (other strides), the masked-out lanes (the
// padding) reading zero. The tap pattern of every vector repeats from one
// channel (or group of planes) to the next, so it is worked out once per
// shape (dwPlan, kept in dwPlans) rather than per run. The sums are those
// of the direct loops (convTapRows) in the same order, a padding tap
// adding nothing, so the two paths give the same bits.

// dwPlan is the tap pattern of a depthwise convolution's output vectors.
// A step is cstep channels' output planes, pm vectors; every step reads
// cstep input planes from its own base. off and mask hold, per vector of a
// step and tap, the input offset (from the step's base) and the lanes
// that read input: one offset a tap (contig, lanes reading off+i) or one
// a lane (gathers).
type dwPlan struct {
	pm, cstep, steps int
	pin, pout        int
	taps             int
	contig, pairs    bool
	off              []int32  // contig or pairs: [pm][taps]; else [pm][taps][8]
	mask             []uint32 // [pm][taps][8]; pairs: [pm][taps][16], lane i's at 2i
	chmap            [8]int32 // per lane: its channel in the step
}

// dwKey is what a plan depends on.
type dwKey struct {
	g convGeom
	c int
}

// dwPlans keeps every plan made (one per depthwise shape of the compiled
// programs, a few kB each).
var dwPlans sync.Map

// dwPlanLimit bounds a plan's table entries (pm × taps × 8).
const dwPlanLimit = 1 << 20

// dwDisabled turns the in-place path off (tests compare it with the
// direct loops it replaces).
var dwDisabled bool

// dwPlanFor returns the plan of cd's forward pass, or nil when the
// in-place kernels do not run it: not depthwise with multiplier 1, a 3-D
// window, planes neither a multiple of 8 elements nor a divisor of 8, or
// no AVX2 kernels.
func dwPlanFor(cd *convDims) *dwPlan {
	if dwDisabled || !dwAsm || cd.group != cd.c || cd.m != cd.c {
		return nil
	}
	key := dwKey{cd.g, cd.c}
	if p, ok := dwPlans.Load(key); ok {
		return p.(*dwPlan)
	}
	p := newDWPlan(&cd.g, cd.c)
	dwPlans.Store(key, p)
	return p
}

func newDWPlan(g *convGeom, c int) *dwPlan {
	if g.in[0] != 1 || g.out[0] != 1 || g.k[0] != 1 {
		return nil
	}
	pout, pin, T := g.outSize(), g.inSize(), g.kSize()
	p := &dwPlan{pin: pin, pout: pout, taps: T, contig: true}
	switch {
	case pout%8 == 0:
		p.pm, p.cstep = pout/8, 1
	case 8%pout == 0 && c%(8/pout) == 0:
		p.pm, p.cstep = 1, 8/pout
	default:
		return nil
	}
	p.steps = c / p.cstep
	if p.pm*T*8 > dwPlanLimit || int64(p.cstep)*int64(pin) >= 1<<30 {
		return nil
	}
	for i := range 8 {
		p.chmap[i] = int32(i / min(pout, 8))
	}
	idx := make([]int32, p.pm*T*8)
	p.mask = make([]uint32, p.pm*T*8)
	W := g.out[2]
	for q := range p.pm {
		for i := range 8 {
			pos := 8*q + i
			cl, pos := pos/pout, pos%pout
			oh, ow := pos/W, pos%W
			for kh := range g.k[1] {
				ih := oh*g.s[1] - g.pb[1] + kh*g.d[1]
				for kw := range g.k[2] {
					iw := ow*g.s[2] - g.pb[2] + kw*g.d[2]
					if ih < 0 || ih >= g.in[1] || iw < 0 || iw >= g.in[2] {
						continue
					}
					e := (q*T+kh*g.k[2]+kw)*8 + i
					idx[e] = int32(cl*pin + ih*g.in[2] + iw)
					p.mask[e] = ^uint32(0)
				}
			}
		}
	}
	// Contiguous when every tap of every vector reads off+i in lane i,
	// pairs when off+2i (stride 2: the kernel loads 16 and keeps the
	// even ones).
	if off, ok := dwRuns(idx, p.mask, 1); ok {
		p.off = off
		return p
	}
	p.contig = false
	if off, ok := dwRuns(idx, p.mask, 2); ok {
		p.off, p.pairs = off, true
		m16 := make([]uint32, 2*len(p.mask))
		for e, v := range p.mask {
			m16[2*e] = v
		}
		p.mask = m16
		return p
	}
	p.off = idx
	return p
}

// dwRuns returns, when every vector of 8 lanes of idx reads off + step*i
// in each lane i that mask keeps, the off of each vector.
func dwRuns(idx []int32, mask []uint32, step int32) ([]int32, bool) {
	off := make([]int32, len(idx)/8)
	for v := range off {
		first := true
		for i := range int32(8) {
			if mask[v*8+int(i)] == 0 {
				continue
			}
			o := idx[v*8+int(i)] - step*i
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
	C, nt := cd.c, p.taps
	ws := C + 8
	// The weights tap by tap (a channel's weight of tap t at t*ws + c),
	// and the bias, each with 8 elements of slack for the vector loads.
	wt := getScratch[float32](nt*ws + ws)
	defer putScratch(wt)
	clear(wt)
	for c := range C {
		for t, v := range w32[c*nt : (c+1)*nt] {
			wt[t*ws+c] = v
		}
	}
	bias := wt[nt*ws:]
	copy(bias, b32)
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
		u1 := min(units, u0+chunk)
		for u := u0; u < u1; {
			s := u % p.steps
			cnt := min(u1-u, p.steps-s)
			c0 := s * p.cstep
			dwKernel(p, y32[u*per:], x32[u*p.cstep*p.pin:], cnt, wt[c0:], ws, bias[c0:])
			u += cnt
		}
		convActivate(y32[u0*per:u1*per], cd)
	}
	tasks := (units + chunk - 1) / chunk
	if runtime.GOMAXPROCS(0) == 1 || units*per*nt < 1<<16 {
		for i := range tasks {
			task(i)
		}
		return true
	}
	gemm.Parallel(tasks, task)
	return true
}
