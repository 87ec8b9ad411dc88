package ops

import (
	"math"
	"math/rand"
	"testing"
)

// lstmCase is a float32 LSTM of the recurrences' tests: its shape, and
// which optional inputs it has (B; initial_h and initial_c; P).
type lstmCase struct {
	dirs                int
	reverse             bool
	layout              int
	noPre               bool
	bias, states, peeps bool
	H, T, B, I          int
}

// build returns the case's config, its inputs' sizes (X, W, R, then the
// optional ones in ONNX's order) and lstmTestInputs' values from seed.
func (tc lstmCase) build(seed int64) (c *rnnCfg, sizes []int, in [][]float64, dpack []float64) {
	c = lstmTestCfg(tc.dirs, tc.reverse, tc.H, tc.T, tc.B, tc.I)
	c.layout, c.noPre = tc.layout, tc.noPre
	gh := 4 * tc.H
	sizes = []int{tc.T * tc.B * tc.I, tc.dirs * gh * tc.I, tc.dirs * gh * tc.H}
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
	if tc.peeps {
		add(&c.iP, tc.dirs*3*tc.H)
	}
	c.nIn = len(sizes)
	in, dpack = lstmTestInputs(c, sizes, seed)
	return c, sizes, in, dpack
}

// lstmTestCfg is an LSTM's config with the default activations and no
// optional input (the caller sets their indices and nIn).
func lstmTestCfg(dirs int, reverse bool, H, T, B, I int) *rnnCfg {
	c := &rnnCfg{kind: kindLSTM, name: "LSTM", G: 4, H: H, dirs: dirs, reverse: reverse,
		T: T, B: B, I: I, iB: -1, iSeq: -1, iH: -1, iC: -1, iP: -1}
	for range dirs {
		var acts []rnnAct
		for _, n := range []string{"Sigmoid", "Tanh", "Tanh"} {
			a, _ := rnnActivation(n, 0, 0)
			acts = append(acts, a)
		}
		c.acts = append(c.acts, acts)
	}
	return c
}

// lstmTestInputs draws, from seed, inputs of the given sizes uniform in
// ±1/√H and then the d of c's outputs uniform in ±1 (the cache's d 0),
// every value a float32.
func lstmTestInputs(c *rnnCfg, sizes []int, seed int64) (in [][]float64, dpack []float64) {
	r := rand.New(rand.NewSource(seed))
	in = make([][]float64, len(sizes))
	for i, n := range sizes {
		in[i] = make([]float64, n)
		for j := range in[i] {
			in[i][j] = float64(float32((2*r.Float64() - 1) / math.Sqrt(float64(c.H))))
		}
	}
	dpack = make([]float64, c.packSize())
	for j := range dpack[:c.offCache()] {
		dpack[j] = float64(float32(2*r.Float64() - 1))
	}
	return in, dpack
}

// sameBits64 fails t at the first element of got whose bits are not want's.
func sameBits64(t *testing.T, what string, got, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if math.Float64bits(got[i]) != math.Float64bits(want[i]) {
			t.Fatalf("%s[%d] = %v, want %v", what, i, got[i], want[i])
		}
	}
}
