package ops

import (
	"fmt"
	"math"
	"math/rand"
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
	for k, tc := range []struct {
		dirs         int
		reverse      bool
		bias, states bool
		H, T, B, I   int
	}{
		{dirs: 1, bias: true, H: 256, T: 5, B: 32, I: 128},
		{dirs: 1, reverse: true, states: true, H: 96, T: 4, B: 17, I: 600},
		{dirs: 2, bias: true, states: true, H: 40, T: 3, B: 24, I: 7},
		{dirs: 1, H: 8, T: 6, B: 64, I: 1},
	} {
		c := &rnnCfg{kind: kindLSTM, name: "LSTM", G: 4, H: tc.H, dirs: tc.dirs, reverse: tc.reverse,
			T: tc.T, B: tc.B, I: tc.I, iB: -1, iSeq: -1, iH: -1, iC: -1, iP: -1, noPre: k%2 == 0}
		for range tc.dirs {
			var acts []rnnAct
			for _, n := range []string{"Sigmoid", "Tanh", "Tanh"} {
				a, _ := rnnActivation(n, 0, 0)
				acts = append(acts, a)
			}
			c.acts = append(c.acts, acts)
		}
		gh := 4 * tc.H
		sizes := []int{tc.T * tc.B * tc.I, tc.dirs * gh * tc.I, tc.dirs * gh * tc.H}
		add := func(pos *int, n int) {
			*pos = len(sizes)
			sizes = append(sizes, n)
		}
		if tc.bias {
			add(&c.iB, tc.dirs*2*gh)
		}
		if tc.states {
			add(&c.iH, tc.dirs*tc.B*tc.H)
			add(&c.iC, tc.dirs*tc.B*tc.H)
		}
		c.nIn = len(sizes)
		r := rand.New(rand.NewSource(int64(k + 47)))
		in := make([][]float64, len(sizes))
		for i, n := range sizes {
			in[i] = make([]float64, n)
			for j := range in[i] {
				in[i][j] = float64(float32((2*r.Float64() - 1) / math.Sqrt(float64(tc.H))))
			}
		}
		dpack := make([]float64, c.packSize())
		for j := range dpack[:c.offCache()] {
			dpack[j] = float64(float32(2*r.Float64() - 1))
		}
		for _, procs := range []int{1, 2, 3} {
			t.Run(fmt.Sprintf("%d/%dprocs", k, procs), func(t *testing.T) {
				runtime.GOMAXPROCS(procs)
				lstmXWShares = false
				pack0, grad0 := lstmRun[float32](t, c, sizes, in, dpack)
				lstmXWShares = true
				pack, grad := lstmRun[float32](t, c, sizes, in, dpack)
				for i := range pack {
					if math.Float64bits(pack[i]) != math.Float64bits(pack0[i]) {
						t.Fatalf("pack[%d] = %v, X·Wᵀ over all steps gives %v", i, pack[i], pack0[i])
					}
				}
				for i := range grad {
					if math.Float64bits(grad[i]) != math.Float64bits(grad0[i]) {
						t.Fatalf("gradient[%d] = %v, X·Wᵀ over all steps gives %v", i, grad[i], grad0[i])
					}
				}
			})
		}
	}
}
