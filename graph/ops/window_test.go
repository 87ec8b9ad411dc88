package ops

import (
	"math/rand"
	"slices"
	"testing"
)

// TestIm2colShift checks the one-pass im2col and col2im of sameWidth
// geometries against the row-by-row ones, bit for bit, at column offsets
// inside a wider matrix (samples batched side by side).
func TestIm2colShift(t *testing.T) {
	cases := []struct {
		name               string
		h, w, k1, k2, d, p int
	}{
		{"3x3 pad 1", 16, 16, 3, 3, 1, 1},
		{"3x3 pad 1 2x2 plane", 2, 2, 3, 3, 1, 1},
		{"3x3 pad 1 1x1 plane", 1, 1, 3, 3, 1, 1},
		{"5x5 pad 2", 7, 9, 5, 5, 1, 2},
		{"3x3 dilation 2 pad 2", 6, 8, 3, 3, 2, 2},
		{"1x3 pad 1", 4, 5, 1, 3, 1, 1},
		{"1x1", 3, 4, 1, 1, 1, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			oh := tc.h + 2*tc.p - (tc.k1-1)*tc.d
			if tc.k1 == 1 {
				oh = tc.h
			}
			pb := []int{tc.p, tc.p}
			if tc.k1 == 1 {
				pb[0] = 0
			}
			g := newConvGeom([]int{tc.h, tc.w}, []int{oh, tc.w}, []int{tc.k1, tc.k2}, []int{1, 1},
				[]int{tc.d, tc.d}, pb, pb)
			if !g.sameWidth() {
				t.Fatalf("geometry %+v is not sameWidth", g)
			}
			const cg, samples = 3, 2
			P, K := g.outSize(), g.kSize()
			ld := samples*P + 5
			r := rand.New(rand.NewSource(1))
			col := make([]float32, cg*K*ld)
			for i := range col {
				col[i] = float32(r.NormFloat64())
			}
			for s := range samples {
				off := s * P
				want := make([]float32, cg*g.inSize())
				for i := range want {
					want[i] = float32(i % 7)
				}
				got := slices.Clone(want)
				convCol2imRows(col, ld, off, cg, &g, want)
				convCol2imShift(slices.Clone(col), ld, off, cg, &g, got)
				if !slices.Equal(got, want) {
					t.Fatalf("col2im sample %d: shift %v, rows %v", s, got, want)
				}
				x := want
				colRows, colShift := slices.Clone(col), slices.Clone(col)
				convIm2colRows(x, cg, &g, colRows, ld, off)
				convIm2colShift(x, cg, &g, colShift, ld, off)
				if !slices.Equal(colShift, colRows) {
					t.Fatalf("im2col sample %d: shift %v, rows %v", s, colShift, colRows)
				}
			}
		})
	}
}
