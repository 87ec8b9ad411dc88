package ops

import (
	"math"
	"math/rand"
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
		c := &rnnCfg{kind: kindLSTM, name: "LSTM", G: 4, H: tc.H, dirs: tc.dirs,
			T: tc.T, B: tc.B, I: 40, iB: tc.iB, iSeq: -1, iH: 4, iC: 5, iP: -1}
		for range tc.dirs {
			var acts []rnnAct
			for _, n := range []string{"Sigmoid", "Tanh", "Tanh"} {
				a, _ := rnnActivation(n, 0, 0)
				acts = append(acts, a)
			}
			c.acts = append(c.acts, acts)
		}
		gh, hs := 4*tc.H, tc.dirs*tc.B*tc.H
		sizes := []int{tc.T * tc.B * c.I, tc.dirs * gh * c.I, tc.dirs * gh * tc.H, tc.dirs * 2 * gh, hs, hs}
		c.nIn = len(sizes)
		r := rand.New(rand.NewSource(int64(k + 11)))
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
		for _, procs := range []int{1, 2} {
			runtime.GOMAXPROCS(procs)
			sgemmShareA = nil
			_, want := lstmRun[float32](t, c, sizes, in, dpack)
			sgemmShareA = gemm.SgemmShareA
			_, got := lstmRun[float32](t, c, sizes, in, dpack)
			for i := range got {
				if math.Float64bits(got[i]) != math.Float64bits(want[i]) {
					t.Fatalf("case %d, %d procs: gradient[%d] = %v, want %v", k, procs, i, got[i], want[i])
				}
			}
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
		c := &rnnCfg{kind: kindLSTM, name: "LSTM", G: 4, H: tc.H, dirs: tc.dirs, reverse: tc.reverse,
			T: tc.T, B: tc.B, I: 40, iB: 3, iSeq: -1, iH: 4, iC: 5, iP: -1}
		for range tc.dirs {
			var acts []rnnAct
			for _, n := range []string{"Sigmoid", "Tanh", "Tanh"} {
				a, _ := rnnActivation(n, 0, 0)
				acts = append(acts, a)
			}
			c.acts = append(c.acts, acts)
		}
		gh, hs := 4*tc.H, tc.dirs*tc.B*tc.H
		sizes := []int{tc.T * tc.B * c.I, tc.dirs * gh * c.I, tc.dirs * gh * tc.H, tc.dirs * 2 * gh, hs, hs}
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
		for _, procs := range []int{1, 2, 3} {
			runtime.GOMAXPROCS(procs)
			lstmSumsPacking = false
			_, want := lstmRun[float32](t, c, sizes, in, dpack)
			lstmSumsPacking = true
			_, got := lstmRun[float32](t, c, sizes, in, dpack)
			for i := range got {
				if math.Float64bits(got[i]) != math.Float64bits(want[i]) {
					t.Fatalf("case %d, %d procs: gradient[%d] = %v, want %v", k, procs, i, got[i], want[i])
				}
			}
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
		c := &rnnCfg{kind: kindLSTM, name: "LSTM", G: 4, H: tc.H, dirs: tc.dirs, reverse: tc.reverse, layout: tc.layout,
			T: tc.T, B: tc.B, I: 40, iB: 3, iSeq: -1, iH: tc.iH, iC: -1, iP: -1}
		for range tc.dirs {
			var acts []rnnAct
			for _, n := range []string{"Sigmoid", "Tanh", "Tanh"} {
				a, _ := rnnActivation(n, 0, 0)
				acts = append(acts, a)
			}
			c.acts = append(c.acts, acts)
		}
		gh, hs := 4*tc.H, tc.dirs*tc.B*tc.H
		sizes := []int{tc.T * tc.B * c.I, tc.dirs * gh * c.I, tc.dirs * gh * tc.H, tc.dirs * 2 * gh}
		if tc.iH >= 0 {
			sizes = append(sizes, hs)
		}
		c.nIn = len(sizes)
		r := rand.New(rand.NewSource(int64(k + 41)))
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
			runtime.GOMAXPROCS(procs)
			lstmStatesInPlace = false
			_, want := lstmRun[float32](t, c, sizes, in, dpack)
			lstmStatesInPlace = true
			_, got := lstmRun[float32](t, c, sizes, in, dpack)
			for i := range got {
				if math.Float64bits(got[i]) != math.Float64bits(want[i]) {
					t.Fatalf("case %d, %d procs: gradient[%d] = %v, want %v", k, procs, i, got[i], want[i])
				}
			}
		}
	}
}
