package ops

import (
	"math"
	"slices"
	"testing"
)

// TestDWWinMatchesGathers checks dwWin512 (16-lane window plans: stride 2
// onto 4x4 planes or smaller) against the 8-lane gathers it replaces
// (dwGatherAVX2, with dwWinOff), bit for bit: MobileNetV2's two such layers
// at 64x64 (8x8 → 4x4 with 192 channels, 4x4 → 2x2 with 576, four channels
// a vector), odd channel counts, 2x2 → 1x1 (sixteen channels a vector),
// a 5x5 window and no padding; with and without a bias, Relu and Clip
// (exact hits on both bounds, the hits recorded), NaN, infinities and
// signed zeros among the inputs and weights, and the split across the
// cores. The direct loops are checked against the gathers by
// TestDWMatchesDirect.
func TestDWWinMatchesGathers(t *testing.T) {
	if !dw512 {
		t.Skip("no 16-lane kernels here")
	}
	cases := []directCase{
		{"192ch_8px_s2", 16, 192, 192, 192, two(8, 8), two(3, 3), two(2, 2), two(1, 1), two(1, 1), two(1, 1)},
		{"576ch_4px_s2", 16, 576, 576, 576, two(4, 4), two(3, 3), two(2, 2), two(1, 1), two(1, 1), two(1, 1)},
		{"5ch_8px_s2", 3, 5, 5, 5, two(8, 8), two(3, 3), two(2, 2), two(1, 1), two(1, 1), two(1, 1)},
		{"12ch_4px_s2", 3, 12, 12, 12, two(4, 4), two(3, 3), two(2, 2), two(1, 1), two(1, 1), two(1, 1)},
		{"32ch_2px_s2_1px", 2, 32, 32, 32, two(2, 2), two(3, 3), two(2, 2), two(1, 1), two(1, 1), two(1, 1)},
		{"6ch_8px_5x5_s2", 2, 6, 6, 6, two(8, 8), two(5, 5), two(2, 2), two(1, 1), two(2, 2), two(2, 2)},
		{"8ch_4px_to_2px_nopad", 2, 8, 8, 8, two(4, 4), two(3, 3), two(1, 1), two(1, 1), two(0, 0), two(0, 0)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dwCompareOff(t, c.dims(), &dwWinOff, func(p *dwPlan) bool { return p.win && p.vl == 16 })
		})
	}
}

// TestDWRowsMatchesDW9 checks the row kernels (dwRows16, dwRows32 for
// planes of rows of 16 and 32, dwPlane8 and dwPlane4 for 8x8 and 4x4
// planes) against dw9x4, which they replace there, bit for bit:
// MobileNetV2's layers of those sizes (stride 1), odd channel counts,
// planes of 4, 8 and 32 rows; dwRows32S2 against dw9x4S2 (stride 2 from
// rows of 32, without padding below and on the right too), dwRows16S2
// against dw9x4S2 with the row gap (16x16 onto 8x8); with and
// without a bias, Relu and Clip (exact hits on both bounds, the hits
// recorded), NaN, infinities and signed zeros among the inputs and
// weights, and the split across the cores. Shapes it must not take run
// dw9x4 (dilated, without padding on the sides, 12 rows of 16, 6 of
// 32, rows of 48, 16 rows of 8, 8 of 4, stride 2 from 16x16 padded
// below and on the right only, from 17x16 unpadded above, from 24 rows
// of 32 or padded below and on the right only).
func TestDWRowsMatchesDW9(t *testing.T) {
	if !dw512 {
		t.Skip("no 16-lane kernels here")
	}
	cases := []directCase{
		{"144ch_16px", 16, 144, 144, 144, two(16, 16), two(3, 3), two(1, 1), two(1, 1), two(1, 1), two(1, 1)},
		{"7ch_16px", 3, 7, 7, 7, two(16, 16), two(3, 3), two(1, 1), two(1, 1), two(1, 1), two(1, 1)},
		{"5ch_8x16", 3, 5, 5, 5, two(8, 16), two(3, 3), two(1, 1), two(1, 1), two(1, 1), two(1, 1)},
		{"5ch_32x16", 2, 5, 5, 5, two(32, 16), two(3, 3), two(1, 1), two(1, 1), two(1, 1), two(1, 1)},
		{"32ch_32px", 16, 32, 32, 32, two(32, 32), two(3, 3), two(1, 1), two(1, 1), two(1, 1), two(1, 1)},
		{"7ch_32px", 3, 7, 7, 7, two(32, 32), two(3, 3), two(1, 1), two(1, 1), two(1, 1), two(1, 1)},
		{"5ch_4x32", 3, 5, 5, 5, two(4, 32), two(3, 3), two(1, 1), two(1, 1), two(1, 1), two(1, 1)},
		{"192ch_8px", 16, 192, 192, 192, two(8, 8), two(3, 3), two(1, 1), two(1, 1), two(1, 1), two(1, 1)},
		{"7ch_8px", 3, 7, 7, 7, two(8, 8), two(3, 3), two(1, 1), two(1, 1), two(1, 1), two(1, 1)},
		{"384ch_4px", 16, 384, 384, 384, two(4, 4), two(3, 3), two(1, 1), two(1, 1), two(1, 1), two(1, 1)},
		{"5ch_4px", 3, 5, 5, 5, two(4, 4), two(3, 3), two(1, 1), two(1, 1), two(1, 1), two(1, 1)},
		// Stride 2 onto rows of 16: dwRows32S2 (against dw9x4S2).
		{"96ch_32px_s2", 16, 96, 96, 96, two(32, 32), two(3, 3), two(2, 2), two(1, 1), two(1, 1), two(1, 1)},
		{"7ch_32px_s2", 3, 7, 7, 7, two(32, 32), two(3, 3), two(2, 2), two(1, 1), two(1, 1), two(1, 1)},
		{"5ch_16x32_s2_nopad_end", 2, 5, 5, 5, two(16, 32), two(3, 3), two(2, 2), two(1, 1), two(1, 1), two(0, 0)},
		// Stride 2 from 16x16 onto 8x8: dwRows16S2 (against dw9x4S2 with
		// the row gap).
		{"144ch_16px_s2", 16, 144, 144, 144, two(16, 16), two(3, 3), two(2, 2), two(1, 1), two(1, 1), two(1, 1)},
		{"7ch_16px_s2_nopad_end", 3, 7, 7, 7, two(16, 16), two(3, 3), two(2, 2), two(1, 1), two(1, 1), two(0, 0)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dwCompareOff(t, c.dims(), &dwRowsOff, func(p *dwPlan) bool { return p.rowsH > 0 && dw9Takes(p) })
		})
	}
	for _, c := range []directCase{
		{"16px_dilated", 2, 4, 4, 4, two(16, 16), two(3, 3), two(1, 1), two(2, 2), two(2, 2), two(2, 2)},
		{"16x18_nopad", 2, 4, 4, 4, two(16, 18), two(3, 3), two(1, 1), two(1, 1), two(1, 0), two(1, 0)},
		{"12x16", 2, 4, 4, 4, two(12, 16), two(3, 3), two(1, 1), two(1, 1), two(1, 1), two(1, 1)},
		{"6x32", 2, 4, 4, 4, two(6, 32), two(3, 3), two(1, 1), two(1, 1), two(1, 1), two(1, 1)},
		{"8x48", 2, 4, 4, 4, two(8, 48), two(3, 3), two(1, 1), two(1, 1), two(1, 1), two(1, 1)},
		{"24x32_s2", 2, 4, 4, 4, two(24, 32), two(3, 3), two(2, 2), two(1, 1), two(1, 1), two(1, 1)},
		{"32px_s2_pad_end", 2, 4, 4, 4, two(32, 32), two(3, 3), two(2, 2), two(1, 1), two(0, 0), two(1, 1)},
		{"16x8", 2, 4, 4, 4, two(16, 8), two(3, 3), two(1, 1), two(1, 1), two(1, 1), two(1, 1)},
		{"8x4", 2, 4, 4, 4, two(8, 4), two(3, 3), two(1, 1), two(1, 1), two(1, 1), two(1, 1)},
		{"16x16_s2_pad_end", 2, 4, 4, 4, two(16, 16), two(3, 3), two(2, 2), two(1, 1), two(0, 0), two(1, 1)},
		{"17x16_s2_nopad_top", 2, 4, 4, 4, two(17, 16), two(3, 3), two(2, 2), two(1, 1), two(0, 1), two(0, 0)},
	} {
		p := dwPlanFor(c.dims())
		if p == nil || !dw9Takes(p) {
			t.Errorf("%s: dw9x4 does not take it", c.name)
		} else if p.rowsH != 0 {
			t.Errorf("%s: dwRows16 or dwRows32 takes it", c.name)
		}
	}
}

// dwCompareOff runs cd's depthwise convolution with *off false (the plan
// taken must satisfy taken) and true (the plan must not), and compares
// the outputs and the Clip's hits bit for bit.
func dwCompareOff(t *testing.T, cd *convDims, off *bool, taken func(p *dwPlan) bool) {
	t.Helper()
	if p := dwPlanFor(cd); p == nil || !taken(p) {
		t.Fatal("the new kernel does not take it")
	}
	x := to32(must(Data[float64](randF64(1, -3, 3, cd.n*cd.c*cd.g.inSize()))))
	w := to32(must(Data[float64](randF64(2, -1, 1, cd.m, cd.g.kSize()))))
	b := to32(must(Data[float64](randF64(3, -1, 1, cd.m))))
	K := cd.g.kSize()
	clear(w[K : 2*K]) // channel 1: its bias throughout, the Clip's lower bound
	w[2*K+1], w[3*K+4] = float32(math.Copysign(0, -1)), float32(math.Inf(1))
	b[4] = float32(math.Copysign(0, -1))
	x[5], x[cd.g.inSize()+7] = float32(math.NaN()), float32(math.Inf(-1))
	x[2*cd.g.inSize()+3] = float32(math.Copysign(0, -1))
	x[len(x)-1] = 0.5 / w[len(w)-1-K/2] // near the upper bound
	for _, v := range epiVariants(b) {
		run := func(disable bool) ([]float32, []int) {
			old := *off
			*off = disable
			defer func() { *off = old }()
			return runEpilogue(cd, v.b, v.relu, v.clip, func(e *convDims, y []float32) {
				q := dwPlanFor(e)
				if q == nil || !dwForward(q, x, w, v.b, e, y) {
					t.Fatal("the in-place kernels did not run")
				}
			})
		}
		want, wantHits := run(true)
		got, gotHits := run(false)
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("%s: element %d is %v (%#x), the kernel replaced gives %v (%#x)", v.name, i, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
			}
		}
		if v.clip && len(wantHits) == 0 {
			t.Fatal("no Clip hit to compare")
		}
		if !slices.Equal(gotHits, wantHits) {
			t.Fatalf("%s: %d Clip hits recorded, the kernel replaced records %d", v.name, len(gotHits), len(wantHits))
		}
	}
}
