package train

import (
	"fmt"
	"math"
	"runtime"
	"sync/atomic"
	"testing"
)

// TestParallelChunks checks the optimizers' split of a parameter: every
// element once, chunks of at least 32 K elements (but for a single one), at
// most chunksPerProc a core, and SGD's update through it with the bits of
// the update in one range (the split it replaces, at one core) and of the
// one chunk a core it replaces, at GOMAXPROCS 1 to 3.
func TestParallelChunks(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	defer func(c int) { chunksPerProc = c }(chunksPerProc)
	for _, n := range []int{1, 1<<15 - 1, 1 << 15, 3<<15 + 5, 1<<20 + 123} {
		g, p0 := make([]float32, n), make([]float32, n)
		for i := range g {
			g[i] = float32(math.Sin(float64(i))) * 1e-2
			p0[i] = float32(math.Cos(float64(i)))
		}
		h := Hyper{LR: 0.05, Momentum: 0.9, WeightDecay: 1e-4, Dampening: 0.1}
		run := func() []float32 { // three steps: the first, then momentum
			o := &sgd{st: newState()}
			p := append([]float32(nil), p0...)
			for range 3 {
				if err := o.Update("w", p, g, h); err != nil {
					t.Fatal(err)
				}
			}
			return p
		}
		runtime.GOMAXPROCS(1)
		want := run()
		for _, procs := range []int{1, 2, 3} {
			for _, per := range []int{1, 4} {
				t.Run(fmt.Sprintf("n%d/%dprocs/%dper", n, procs, per), func(t *testing.T) {
					runtime.GOMAXPROCS(procs)
					chunksPerProc = per
					seen := make([]atomic.Int32, n)
					var chunks atomic.Int32
					var small atomic.Bool
					parallelChunks(n, func(lo, hi int) {
						chunks.Add(1)
						if hi-lo < 1<<15 {
							small.Store(true)
						}
						for i := lo; i < hi; i++ {
							seen[i].Add(1)
						}
					})
					for i := range seen {
						if c := seen[i].Load(); c != 1 {
							t.Fatalf("element %d visited %d times", i, c)
						}
					}
					if c := int(chunks.Load()); c > max(1, per*procs) || (c > 1 && small.Load()) {
						t.Errorf("%d chunks (one under 32 K: %v)", c, small.Load())
					}
					got := run()
					for i := range got {
						if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
							t.Fatalf("p[%d] = %v, in one range %v", i, got[i], want[i])
						}
					}
				})
			}
		}
	}
}
