//go:build !purego

package ops

import "testing"

// withDW8 runs f with the 8-lane (AVX2) depthwise kernels, as on a machine
// without AVX-512 or with ONNXTUNE_GEMM=avx2.
func withDW8(t *testing.T, f func()) {
	t.Helper()
	if !dwAsm {
		t.Skip("no AVX2 kernels here")
	}
	old := dw512
	dw512 = false
	defer func() { dw512 = old }()
	f()
}

// TestDWRowsAVX2MatchesTaps checks the AVX2 row kernels (dwRows8AVX2,
// dwRows16AVX2, dwRows32AVX2, dwPlane4AVX2, dwPlane2AVX2: 3x3, stride 1,
// padding 1, rows of 8, 16 and 32, 4x4 and 2x2 planes) against dwTapsAVX2, and dwRows32S2AVX2 and
// dwRows16S2AVX2 (stride 2 from rows of 32 and 16, without padding below
// and on the right too) against dwPairsAVX2, and dwPlane8S2AVX2 and
// dwPlane4S2AVX2 (stride 2 onto 4x4 and 2x2) against dwGatherAVX2, which
// they replace, bit for bit:
// MobileNetV2's layers of those sizes, odd channel counts, a single band
// (4 rows of 16, 2 of 32, 8 of 8) and several (16 rows of 8, 6 of 32, 8
// of 16), 4x4 planes of 384, 7 and 5 channels and 2x2 planes of 960,
// 14 and 10 (four steps at a time and the rest); with and without a bias, Relu and Clip (exact hits on both
// bounds, the hits recorded), NaN, infinities and signed zeros among the
// inputs and weights, and the split across the cores. Shapes they must not
// take stay with dwTapsAVX2 (dilated, unpadded sides, 12 rows of 8, 6 of
// 16, 3 of 32, 8 of 4, 2 of 4, rows of 48 and 24; at stride 2, 24 rows of 16, 12 of
// 32, padded below and on the right only, 17x16 unpadded above, 8x8 padded
// below and on the right only, a 5x5 window on 4x4).
func TestDWRowsAVX2MatchesTaps(t *testing.T) {
	withDW8(t, func() {
		cases := []directCase{
			{"32ch_32px", 16, 32, 32, 32, two(32, 32), two(3, 3), two(1, 1), two(1, 1), two(1, 1), two(1, 1)},
			{"7ch_32px", 3, 7, 7, 7, two(32, 32), two(3, 3), two(1, 1), two(1, 1), two(1, 1), two(1, 1)},
			{"5ch_2x32", 3, 5, 5, 5, two(2, 32), two(3, 3), two(1, 1), two(1, 1), two(1, 1), two(1, 1)},
			{"5ch_6x32", 2, 5, 5, 5, two(6, 32), two(3, 3), two(1, 1), two(1, 1), two(1, 1), two(1, 1)},
			{"144ch_16px", 16, 144, 144, 144, two(16, 16), two(3, 3), two(1, 1), two(1, 1), two(1, 1), two(1, 1)},
			{"7ch_16px", 3, 7, 7, 7, two(16, 16), two(3, 3), two(1, 1), two(1, 1), two(1, 1), two(1, 1)},
			{"5ch_4x16", 3, 5, 5, 5, two(4, 16), two(3, 3), two(1, 1), two(1, 1), two(1, 1), two(1, 1)},
			{"5ch_8x16", 3, 5, 5, 5, two(8, 16), two(3, 3), two(1, 1), two(1, 1), two(1, 1), two(1, 1)},
			{"192ch_8px", 16, 192, 192, 192, two(8, 8), two(3, 3), two(1, 1), two(1, 1), two(1, 1), two(1, 1)},
			{"7ch_8px", 3, 7, 7, 7, two(8, 8), two(3, 3), two(1, 1), two(1, 1), two(1, 1), two(1, 1)},
			{"5ch_16x8", 2, 5, 5, 5, two(16, 8), two(3, 3), two(1, 1), two(1, 1), two(1, 1), two(1, 1)},
			{"384ch_4px", 16, 384, 384, 384, two(4, 4), two(3, 3), two(1, 1), two(1, 1), two(1, 1), two(1, 1)},
			{"7ch_4px", 3, 7, 7, 7, two(4, 4), two(3, 3), two(1, 1), two(1, 1), two(1, 1), two(1, 1)},
			{"960ch_2px", 16, 960, 960, 960, two(2, 2), two(3, 3), two(1, 1), two(1, 1), two(1, 1), two(1, 1)},
			{"14ch_2px", 3, 14, 14, 14, two(2, 2), two(3, 3), two(1, 1), two(1, 1), two(1, 1), two(1, 1)},
			{"10ch_2px", 2, 10, 10, 10, two(2, 2), two(3, 3), two(1, 1), two(1, 1), two(1, 1), two(1, 1)},
			{"5ch_4px", 1, 5, 5, 5, two(4, 4), two(3, 3), two(1, 1), two(1, 1), two(1, 1), two(1, 1)},
			// Stride 2 from rows of 32 and 16: dwRows32S2AVX2 and
			// dwRows16S2AVX2 (against dwPairsAVX2).
			{"96ch_32px_s2", 16, 96, 96, 96, two(32, 32), two(3, 3), two(2, 2), two(1, 1), two(1, 1), two(1, 1)},
			{"7ch_32px_s2", 3, 7, 7, 7, two(32, 32), two(3, 3), two(2, 2), two(1, 1), two(1, 1), two(1, 1)},
			{"5ch_16x32_s2_nopad_end", 2, 5, 5, 5, two(16, 32), two(3, 3), two(2, 2), two(1, 1), two(1, 1), two(0, 0)},
			{"5ch_8x32_s2", 2, 5, 5, 5, two(8, 32), two(3, 3), two(2, 2), two(1, 1), two(1, 1), two(1, 1)},
			{"144ch_16px_s2", 16, 144, 144, 144, two(16, 16), two(3, 3), two(2, 2), two(1, 1), two(1, 1), two(1, 1)},
			{"7ch_16px_s2_nopad_end", 3, 7, 7, 7, two(16, 16), two(3, 3), two(2, 2), two(1, 1), two(1, 1), two(0, 0)},
			{"5ch_32x16_s2", 2, 5, 5, 5, two(32, 16), two(3, 3), two(2, 2), two(1, 1), two(1, 1), two(1, 1)},
			// Stride 2 onto 4x4 and 2x2: dwPlane8S2AVX2 and dwPlane4S2AVX2
			// (against dwGatherAVX2).
			{"192ch_8px_s2", 16, 192, 192, 192, two(8, 8), two(3, 3), two(2, 2), two(1, 1), two(1, 1), two(1, 1)},
			{"7ch_8px_s2_nopad_end", 3, 7, 7, 7, two(8, 8), two(3, 3), two(2, 2), two(1, 1), two(1, 1), two(0, 0)},
			{"576ch_4px_s2", 16, 576, 576, 576, two(4, 4), two(3, 3), two(2, 2), two(1, 1), two(1, 1), two(1, 1)},
			{"14ch_4px_s2", 3, 14, 14, 14, two(4, 4), two(3, 3), two(2, 2), two(1, 1), two(1, 1), two(1, 1)},
			{"10ch_4px_s2_nopad_end", 2, 10, 10, 10, two(4, 4), two(3, 3), two(2, 2), two(1, 1), two(1, 1), two(0, 0)},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				dwCompareOff(t, c.dims(), &dwRowsOff, func(p *dwPlan) bool { return p.vl == 8 && p.rowsH > 0 && dw9Takes(p) })
			})
		}
		for _, c := range []directCase{
			{"16px_dilated", 2, 4, 4, 4, two(16, 16), two(3, 3), two(1, 1), two(2, 2), two(2, 2), two(2, 2)},
			{"16x18_nopad", 2, 4, 4, 4, two(16, 18), two(3, 3), two(1, 1), two(1, 1), two(1, 0), two(1, 0)},
			{"12x8", 2, 4, 4, 4, two(12, 8), two(3, 3), two(1, 1), two(1, 1), two(1, 1), two(1, 1)},
			{"6x16", 2, 4, 4, 4, two(6, 16), two(3, 3), two(1, 1), two(1, 1), two(1, 1), two(1, 1)},
			{"3x32", 2, 4, 4, 4, two(3, 32), two(3, 3), two(1, 1), two(1, 1), two(1, 1), two(1, 1)},
			{"8x48", 2, 4, 4, 4, two(8, 48), two(3, 3), two(1, 1), two(1, 1), two(1, 1), two(1, 1)},
			{"2x4", 2, 4, 4, 4, two(2, 4), two(3, 3), two(1, 1), two(1, 1), two(1, 1), two(1, 1)},
			{"8x4", 2, 4, 4, 4, two(8, 4), two(3, 3), two(1, 1), two(1, 1), two(1, 1), two(1, 1)},
			{"8x24", 2, 4, 4, 4, two(8, 24), two(3, 3), two(1, 1), two(1, 1), two(1, 1), two(1, 1)},
			{"8x8_s2_pad_end", 2, 4, 4, 4, two(8, 8), two(3, 3), two(2, 2), two(1, 1), two(0, 0), two(1, 1)},
			{"4x4_s2_5x5", 2, 4, 4, 4, two(4, 4), two(5, 5), two(2, 2), two(1, 1), two(2, 2), two(2, 2)},
			{"24x16_s2", 2, 4, 4, 4, two(24, 16), two(3, 3), two(2, 2), two(1, 1), two(1, 1), two(1, 1)},
			{"12x32_s2", 2, 4, 4, 4, two(12, 32), two(3, 3), two(2, 2), two(1, 1), two(1, 1), two(1, 1)},
			{"32px_s2_pad_end", 2, 4, 4, 4, two(32, 32), two(3, 3), two(2, 2), two(1, 1), two(0, 0), two(1, 1)},
			{"16px_s2_nopad_top", 2, 4, 4, 4, two(17, 16), two(3, 3), two(2, 2), two(1, 1), two(0, 1), two(0, 0)},
		} {
			p := dwPlanFor(c.dims())
			if p == nil || p.vl != 8 {
				t.Errorf("%s: no 8-lane plan", c.name)
			} else if p.rowsH != 0 || dw9Takes(p) {
				t.Errorf("%s: an AVX2 row kernel takes it", c.name)
			}
		}
	})
}
