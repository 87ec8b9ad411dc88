package ops

import (
	"runtime"

	"github.com/onnxtune/onnxtune/internal/gemm"
)

// Splitting work across the cores (through internal/gemm's worker pool);
// the scratch buffers kernels reuse from one call to the next are in
// scratch.go.

// parallelRangeIf is parallelRange, or f(0, n) on this goroutine when
// serial (a caller that already runs one range a core).
func parallelRangeIf(serial bool, n, per int, f func(lo, hi int)) {
	if serial {
		f(0, n)
		return
	}
	parallelRange(n, per, f)
}

// parallelSamples runs f over samples [0, n) in one range a core, each
// call told to keep its GEMMs on its own goroutine (serial), when the work
// (n samples of perSample multiply-adds) pays; else f(0, n, false), whose
// GEMMs may use every core.
func parallelSamples(n, perSample int, f func(s0, s1 int, serial bool)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 || n*perSample < 1<<20 {
		f(0, n, false)
		return
	}
	gemm.Ranges(n, workers, func(lo, hi int) { f(lo, hi, true) })
}

// parallelRange runs f over [0, n) split across the cores (gemm.Parallel) when
// the work (n items of per operations each) is worth it.
func parallelRange(n, per int, f func(lo, hi int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if n*per < 1<<16 {
		workers = 1
	}
	gemm.Ranges(n, workers, f)
}
