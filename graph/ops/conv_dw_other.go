//go:build !amd64 || purego

package ops

// dwAsm reports whether the in-place depthwise kernels run here: not in
// this build (the direct loops run depthwise convolutions).
const dwAsm = false

// dw512 is false in this build.
const dw512 = false

func dwKernel(p *dwPlan, y, x []float32, steps int, wt []float32, ws int, bias []float32) {
	panic("ops: no in-place depthwise kernel in this build")
}

func dwClamps(p *dwPlan) bool { return false }

func dwKernelClip(p *dwPlan, y, x []float32, steps int, wt []float32, ws int, bias []float32, lo, hi float32) bool {
	panic("ops: no in-place depthwise kernel in this build")
}

func dw9Takes(p *dwPlan) bool { return false }

func dw9Kernel(p *dwPlan, y, x []float32, steps int, w, bias []float32, clip bool, lo, hi float32) bool {
	panic("ops: no in-place depthwise kernel in this build")
}

func dw9PTakes(p *dwPlan) bool { return false }

func dw9PKernel(p *dwPlan, y, x []float32, steps int, wt []float32, ws int, bias []float32, clip bool, lo, hi float32) (int, bool) {
	panic("ops: no in-place depthwise kernel in this build")
}
