package ops

import (
	"fmt"
	"math"
	"math/rand"
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
	for k, tc := range []struct {
		dirs         int
		reverse      bool
		bias, states bool
		peep         bool
		H, T, B, I   int
	}{
		{dirs: 1, bias: true, H: 256, T: 5, B: 32, I: 16},
		{dirs: 1, reverse: true, states: true, H: 300, T: 4, B: 17, I: 5},
		{dirs: 2, bias: true, states: true, peep: true, H: 96, T: 3, B: 24, I: 2},
		{dirs: 2, bias: true, H: 40, T: 3, B: 9, I: 3},
	} {
		c := &rnnCfg{kind: kindLSTM, name: "LSTM", G: 4, H: tc.H, dirs: tc.dirs, reverse: tc.reverse,
			T: tc.T, B: tc.B, I: tc.I, iB: -1, iSeq: -1, iH: -1, iC: -1, iP: -1}
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
		if tc.peep {
			add(&c.iP, tc.dirs*3*tc.H)
		}
		c.nIn = len(sizes)
		r := rand.New(rand.NewSource(int64(k + 31)))
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
				if want := tc.dirs * tc.T * tc.B * gh; pres != want {
					t.Fatalf("%d pre-activations, want %d", pres, want)
				}
				for i := range grad {
					if math.Float64bits(grad[i]) != math.Float64bits(grad0[i]) {
						t.Fatalf("gradient[%d] = %v, with the pre-activations written %v", i, grad[i], grad0[i])
					}
				}
			})
		}
	}
}
