//go:build !purego

package ops

// dwTapsAVX2 runs steps steps of a contiguous plan (dwPlan): per vector,
// y = bias, then y += w[t] * x[off[t] + 0..7] (masked) for each tap, the
// weights and bias permuted to the lanes by chmap; x moves on xstep
// elements a step, w and bias cstep.
//
//go:noescape
func dwTapsAVX2(y, x *float32, steps, pm, xstep, taps int, off *int32, mask *uint32, w *float32, wstride, cstep int, bias *float32, chmap *int32)

// dwGatherAVX2 is dwTapsAVX2 for a plan of gathers (an offset a lane).
//
//go:noescape
func dwGatherAVX2(y, x *float32, steps, pm, xstep, taps int, off *int32, mask *uint32, w *float32, wstride, cstep int, bias *float32, chmap *int32)

// dwPairsAVX2 is dwTapsAVX2 for a plan of pairs (lane i reading off+2i).
//
//go:noescape
func dwPairsAVX2(y, x *float32, steps, pm, xstep, taps int, off *int32, mask *uint32, w *float32, wstride, cstep int, bias *float32, chmap *int32)

// dwAsm reports whether the in-place depthwise kernels run here.
var dwAsm = convTapAsm

// dwKernel runs steps steps of plan p into y from x (the first step's
// bases), the weights tap by tap ws apart and the bias from the first
// step's first channel. The caller has checked the bounds of y and x;
// every lane that reads is inside the steps' input planes.
func dwKernel(p *dwPlan, y, x []float32, steps int, wt []float32, ws int, bias []float32) {
	_ = wt[(p.taps-1)*ws+(steps-1)*p.cstep+7]
	_ = bias[(steps-1)*p.cstep+7]
	if p.pairs {
		dwPairsAVX2(&y[0], &x[0], steps, p.pm, p.cstep*p.pin, p.taps, &p.off[0], &p.mask[0], &wt[0], ws, p.cstep, &bias[0], &p.chmap[0])
		return
	}
	if p.contig {
		dwTapsAVX2(&y[0], &x[0], steps, p.pm, p.cstep*p.pin, p.taps, &p.off[0], &p.mask[0], &wt[0], ws, p.cstep, &bias[0], &p.chmap[0])
		return
	}
	dwGatherAVX2(&y[0], &x[0], steps, p.pm, p.cstep*p.pin, p.taps, &p.off[0], &p.mask[0], &wt[0], ws, p.cstep, &bias[0], &p.chmap[0])
}
