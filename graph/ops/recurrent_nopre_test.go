package ops

import (
	"fmt"
	"math"
	"runtime"
	"testing"
)

// TestLSTMNoPre checks the float32 LSTM's steps that leave the cache's
// pre-activations unwritten (rnnCfg.noPre, as lowerRecurrent sets it)
// against the ones that write them: every other element of the pack and
// every gradient bit for bit, the pre-activations left at the buffer's
// zeros, for the recurrences cut by examples and by units (peepholes, a
// batch too small to share), forward, reverse and bidirectional, at
// GOMAXPROCS 1 to 3.
func TestLSTMNoPre(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for k, tc := range []lstmCase{
		{dirs: 1, bias: true, H: 256, T: 5, B: 32, I: 16},
		{dirs: 1, reverse: true, states: true, H: 300, T: 4, B: 17, I: 5},
		{dirs: 2, bias: true, states: true, peeps: true, H: 96, T: 3, B: 24, I: 2},
		{dirs: 2, bias: true, H: 40, T: 3, B: 9, I: 3},
	} {
		c, sizes, in, dpack := tc.build(int64(k + 31))
		// isPre says whether the pack's element i is a pre-activation.
		isPre := func(i int) bool {
			i -= c.offCache()
			return i >= 0 && i%c.stepSize() < c.B*c.G*c.H
		}
		for _, procs := range []int{1, 2, 3} {
			t.Run(fmt.Sprintf("%d/%dprocs", k, procs), func(t *testing.T) {
				runtime.GOMAXPROCS(procs)
				c.noPre = false
				pack0, grad0 := lstmRun[float32](t, c, sizes, in, dpack)
				c.noPre = true
				pack, grad := lstmRun[float32](t, c, sizes, in, dpack)
				c.noPre = false
				pres := 0
				for i := range pack {
					want := pack0[i]
					if isPre(i) {
						want = 0
						pres++
					}
					if math.Float64bits(pack[i]) != math.Float64bits(want) {
						t.Fatalf("pack[%d] = %v, want %v (pre-activation: %v)", i, pack[i], want, isPre(i))
					}
				}
				if want := tc.dirs * tc.T * tc.B * 4 * tc.H; pres != want {
					t.Fatalf("%d pre-activations, want %d", pres, want)
				}
				sameBits64(t, "gradient", grad, grad0)
			})
		}
	}
}
