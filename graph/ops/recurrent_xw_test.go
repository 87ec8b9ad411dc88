package ops

import (
	"fmt"
	"runtime"
	"testing"
)

// TestLSTMXWShares checks the forward cut by examples that computes X·Wᵀ
// within each core's share, a step at a time (lstmXWShares), against the
// product over all steps before the recurrence that it replaces: the same
// pack and gradients bit for bit, forward, reverse and bidirectional, with
// and without biases and initial states, input sizes whose products take
// one and several blocks of the sum (I 600), batches cut evenly and not,
// at GOMAXPROCS 1 to 3 (at 1 both run the product over all steps).
func TestLSTMXWShares(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	defer func() { lstmXWShares = true }()
	for k, tc := range []lstmCase{
		{dirs: 1, bias: true, H: 256, T: 5, B: 32, I: 128},
		{dirs: 1, reverse: true, states: true, H: 96, T: 4, B: 17, I: 600},
		{dirs: 2, bias: true, states: true, H: 40, T: 3, B: 24, I: 7},
		{dirs: 1, H: 8, T: 6, B: 64, I: 1},
	} {
		tc.noPre = k%2 == 0
		c, sizes, in, dpack := tc.build(int64(k + 47))
		for _, procs := range []int{1, 2, 3} {
			t.Run(fmt.Sprintf("%d/%dprocs", k, procs), func(t *testing.T) {
				runtime.GOMAXPROCS(procs)
				lstmXWShares = false
				pack0, grad0 := lstmRun[float32](t, c, sizes, in, dpack)
				lstmXWShares = true
				pack, grad := lstmRun[float32](t, c, sizes, in, dpack)
				sameBits64(t, "pack", pack, pack0)
				sameBits64(t, "gradient", grad, grad0)
			})
		}
	}
}
