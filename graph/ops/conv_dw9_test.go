package ops

import (
	"math"
	"slices"
	"strings"
	"testing"
)

// TestDW9MatchesKernels checks dw9x4, dw9x4S2 and dw9x4P against the
// kernels they replace (dwTaps512x9, dwTaps512x9Clip, dwPairs512 and, for
// output rows of 8, the 8-lane dwPairsAVX2, with dwWeights), bit for bit:
// the 3x3 depthwise layers of MobileNetV2 at 64x64 (stride 1 and 2) and
// odd channel counts (four steps at a time, then
// single steps of four vectors and of one; for 2x2 planes four steps at a
// time and the rest by the old kernels), with and
// without a bias, Relu and Clip (exact hits on both bounds, the hits
// recorded), NaN, infinities and signed zeros among the inputs and
// weights, and the split across the cores.
func TestDW9MatchesKernels(t *testing.T) {
	if !dw512 {
		t.Skip("no 16-lane kernels here")
	}
	cases := []directCase{
		{"32ch_32px", 3, 32, 32, 32, two(32, 32), two(3, 3), two(1, 1), two(1, 1), two(1, 1), two(1, 1)},
		{"144ch_16px", 2, 144, 144, 144, two(16, 16), two(3, 3), two(1, 1), two(1, 1), two(1, 1), two(1, 1)},
		{"192ch_8px", 3, 192, 192, 192, two(8, 8), two(3, 3), two(1, 1), two(1, 1), two(1, 1), two(1, 1)},
		{"384ch_4px", 16, 384, 384, 384, two(4, 4), two(3, 3), two(1, 1), two(1, 1), two(1, 1), two(1, 1)},
		{"7ch_8px", 3, 7, 7, 7, two(8, 8), two(3, 3), two(1, 1), two(1, 1), two(1, 1), two(1, 1)},
		{"5ch_4px", 3, 5, 5, 5, two(4, 4), two(3, 3), two(1, 1), two(1, 1), two(1, 1), two(1, 1)},
		{"6ch_12x8_dilated", 2, 6, 6, 6, two(12, 8), two(3, 3), two(1, 1), two(2, 2), two(2, 1), two(2, 3)},
		{"5ch_4x40", 2, 5, 5, 5, two(4, 40), two(3, 3), two(1, 1), two(1, 1), two(1, 1), two(1, 1)},
		// Stride 2, output rows of whole vectors: dw9x4S2.
		{"96ch_32px_s2", 3, 96, 96, 96, two(32, 32), two(3, 3), two(2, 2), two(1, 1), two(1, 1), two(1, 1)},
		{"7ch_32px_s2", 2, 7, 7, 7, two(32, 32), two(3, 3), two(2, 2), two(1, 1), two(1, 1), two(1, 1)},
		{"6ch_1d_9taps_s2", 3, 6, 6, 6, []int{64}, []int{9}, []int{2}, []int{1}, []int{4}, []int{4}},
		// Stride 2, output rows of 8 (a vector two rows): dw9x4S2 with
		// the row gap, single steps only.
		{"144ch_16px_s2rows", 16, 144, 144, 144, two(16, 16), two(3, 3), two(2, 2), two(1, 1), two(1, 1), two(1, 1)},
		{"5ch_16px_s2rows", 3, 5, 5, 5, two(16, 16), two(3, 3), two(2, 2), two(1, 1), two(1, 1), two(1, 1)},
		{"6ch_17x16_s2rows_nopad", 2, 6, 6, 6, two(17, 16), two(3, 3), two(2, 2), two(1, 1), two(0, 1), two(0, 0)},
		// 2x2 planes, four channels a vector: dw9x4P.
		{"960ch_2px", 16, 960, 960, 960, two(2, 2), two(3, 3), two(1, 1), two(1, 1), two(1, 1), two(1, 1)},
		{"12ch_2px", 3, 12, 12, 12, two(2, 2), two(3, 3), two(1, 1), two(1, 1), two(1, 1), two(1, 1)},
		{"20ch_2px", 2, 20, 20, 20, two(2, 2), two(3, 3), two(1, 1), two(1, 1), two(1, 1), two(1, 1)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cd := c.dims()
			p := dwPlanFor(cd)
			if p == nil || !dw9Takes(p) && !dw9PTakes(p) {
				t.Fatalf("none of dw9x4, dw9x4S2 and dw9x4P takes %s", c.name)
			}
			rows := strings.Contains(c.name, "_s2rows")
			if strings.Contains(c.name, "_s2") && !rows != p.pairs || rows != (p.rowGap > 0) {
				t.Fatalf("%s: a plan of pairs %v, row gap %d", c.name, p.pairs, p.rowGap)
			}
			x := to32(must(Data[float64](randF64(1, -3, 3, cd.n*cd.c*cd.g.inSize()))))
			w := to32(must(Data[float64](randF64(2, -1, 1, cd.m, cd.g.kSize()))))
			b := to32(must(Data[float64](randF64(3, -1, 1, cd.m))))
			clear(w[9:18]) // channel 1: its bias throughout, the Clip's lower bound
			w[20], w[30] = float32(math.Copysign(0, -1)), float32(math.Inf(1))
			b[4] = float32(math.Copysign(0, -1))
			x[5], x[cd.g.inSize()+7] = float32(math.NaN()), float32(math.Inf(-1))
			x[2*cd.g.inSize()+3] = float32(math.Copysign(0, -1))
			x[len(x)-1] = 0.5 / w[len(w)-5] // near the upper bound
			for _, v := range epiVariants(b) {
				run := func(off bool) ([]float32, []int) {
					old := dw9Off
					dw9Off = off
					defer func() { dw9Off = old }()
					return runEpilogue(cd, v.b, v.relu, v.clip, func(e *convDims, y []float32) {
						if q := dwPlanFor(e); q == nil || !dwForward(q, x, w, v.b, e, y) {
							t.Fatal("the in-place kernels did not run")
						}
					})
				}
				want, wantHits := run(true)
				got, gotHits := run(false)
				for i := range want {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("%s: element %d is %v (%#x), dwTaps512x9 gives %v (%#x)", v.name, i, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
					}
				}
				if v.clip && len(wantHits) == 0 {
					t.Fatal("no Clip hit to compare")
				}
				if !slices.Equal(gotHits, wantHits) {
					t.Fatalf("%s: %d Clip hits recorded, dwTaps512x9Clip records %d", v.name, len(gotHits), len(wantHits))
				}
			}
		})
	}
}
