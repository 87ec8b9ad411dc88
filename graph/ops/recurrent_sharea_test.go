package ops

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/onnxtune/onnxtune/internal/gemm"
)

// TestLSTMShareA: the float32 LSTM's d W and d R computed together with
// one packing of dGᵀ (gemm.SgemmShareA) have the bits of one product
// each, every gradient, with and without biases, forward and
// bidirectional, at 1 and 2 threads (large enough to be split).
func TestLSTMShareA(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	defer func() { sgemmShareA = gemm.SgemmShareA }()
	for k, tc := range []struct {
		dirs, iB int
		H, T, B  int
	}{
		{dirs: 1, iB: 3, H: 64, T: 16, B: 32},
		{dirs: 2, iB: -1, H: 40, T: 9, B: 30},
		{dirs: 1, iB: 3, H: 5, T: 3, B: 2},
	} {
		c := lstmTestCfg(tc.dirs, false, tc.H, tc.T, tc.B, 40)
		c.iB = tc.iB
		c.iH = 4
		c.iC = 5
		gh, hs := 4*tc.H, tc.dirs*tc.B*tc.H
		sizes := []int{tc.T * tc.B * c.I, tc.dirs * gh * c.I, tc.dirs * gh * tc.H, tc.dirs * 2 * gh, hs, hs}
		c.nIn = len(sizes)
		in, dpack := lstmTestInputs(c, sizes, int64(k+11))
		for _, procs := range []int{1, 2} {
			runtime.GOMAXPROCS(procs)
			sgemmShareA = nil
			_, want := lstmRun[float32](t, c, sizes, in, dpack)
			sgemmShareA = gemm.SgemmShareA
			_, got := lstmRun[float32](t, c, sizes, in, dpack)
			sameBits64(t, fmt.Sprintf("case %d, %d procs: gradient", k, procs), got, want)
		}
	}
}

// TestLSTMSumsPacking: d Rb's (and so d Wb's) column sums of dG taken
// while internal/gemm packs dGᵀ (gemm.SgemmShareASums) have the bits of
// the pass over dG they replace, and so every gradient: forward, reverse
// and bidirectional, T·B past one block of the sum (256 rows), 4H split
// among the cores, 4H not a multiple of the kernels' panels, at
// GOMAXPROCS 1, 2 and 3. The sums are taken in the packing whatever the
// kernel (from the packed panels where it has no packer that sums).
func TestLSTMSumsPacking(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	defer func(f func() bool) { lstmSumsPacking, sumsWhilePacking = true, f }(sumsWhilePacking)
	sumsWhilePacking = func() bool { return true }
	for k, tc := range []struct {
		dirs    int
		reverse bool
		H, T, B int
	}{
		{dirs: 1, H: 256, T: 20, B: 32},
		{dirs: 1, reverse: true, H: 64, T: 16, B: 17},
		{dirs: 2, H: 40, T: 9, B: 30},
		{dirs: 1, H: 5, T: 3, B: 2},
		{dirs: 1, H: 3, T: 70, B: 9},
	} {
		c := lstmTestCfg(tc.dirs, tc.reverse, tc.H, tc.T, tc.B, 40)
		c.iB = 3
		c.iH = 4
		c.iC = 5
		gh, hs := 4*tc.H, tc.dirs*tc.B*tc.H
		sizes := []int{tc.T * tc.B * c.I, tc.dirs * gh * c.I, tc.dirs * gh * tc.H, tc.dirs * 2 * gh, hs, hs}
		c.nIn = len(sizes)
		in, dpack := lstmTestInputs(c, sizes, int64(k+31))
		for _, procs := range []int{1, 2, 3} {
			runtime.GOMAXPROCS(procs)
			lstmSumsPacking = false
			_, want := lstmRun[float32](t, c, sizes, in, dpack)
			lstmSumsPacking = true
			_, got := lstmRun[float32](t, c, sizes, in, dpack)
			sameBits64(t, fmt.Sprintf("case %d, %d procs: gradient", k, procs), got, want)
		}
	}
}

// TestLSTMStatesInPlace: the float32 LSTM's d R reading each step's
// previous state in the cache (gemm.ProductB.Blocks) gives the bits of the
// copy of them all that it replaces, every gradient: forward, reverse and
// bidirectional, with and without initial states, layouts 0 and 1, batches
// cut by examples and by units, T·B past one block of the sum, at
// GOMAXPROCS 1, 2 and 3.
func TestLSTMStatesInPlace(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	defer func() { lstmStatesInPlace = true }()
	for k, tc := range []struct {
		dirs, layout int
		reverse      bool
		iH           int
		H, T, B      int
	}{
		{dirs: 1, iH: -1, H: 256, T: 20, B: 32},
		{dirs: 1, reverse: true, iH: 4, H: 64, T: 16, B: 17},
		{dirs: 2, iH: 4, H: 40, T: 9, B: 30},
		{dirs: 2, layout: 1, iH: 4, H: 24, T: 11, B: 20},
		{dirs: 1, iH: 4, H: 5, T: 3, B: 2},
		{dirs: 1, iH: -1, H: 3, T: 70, B: 9},
	} {
		c := lstmTestCfg(tc.dirs, tc.reverse, tc.H, tc.T, tc.B, 40)
		c.layout = tc.layout
		c.iB = 3
		c.iH = tc.iH
		gh, hs := 4*tc.H, tc.dirs*tc.B*tc.H
		sizes := []int{tc.T * tc.B * c.I, tc.dirs * gh * c.I, tc.dirs * gh * tc.H, tc.dirs * 2 * gh}
		if tc.iH >= 0 {
			sizes = append(sizes, hs)
		}
		c.nIn = len(sizes)
		in, dpack := lstmTestInputs(c, sizes, int64(k+41))
		for _, procs := range []int{1, 2, 3} {
			runtime.GOMAXPROCS(procs)
			lstmStatesInPlace = false
			_, want := lstmRun[float32](t, c, sizes, in, dpack)
			lstmStatesInPlace = true
			_, got := lstmRun[float32](t, c, sizes, in, dpack)
			sameBits64(t, fmt.Sprintf("case %d, %d procs: gradient", k, procs), got, want)
		}
	}
}
