//go:build !purego

package ops

import (
	"fmt"
	"math"
	"testing"
)

// TestConvTapDots4MatchesDots checks convTapDots4AVX2 (four taps at a
// time) against convTapDotsAVX2, which it replaces, bit for bit: every run
// length up to 70 (blocks of 16, of 8 and masked tails), 1, 2 and 5 rows,
// tap counts of 4 (one group), 8, 9 and 25 (groups and a rest), sums
// starting from nonzero values, and NaN, infinities and signed zeros among
// dy and the inputs; then MobileNetV2's and EfficientNet-B0's depthwise
// weight gradients (convDirectWeight) whole.
func TestConvTapDots4MatchesDots(t *testing.T) {
	if !convTapAsm {
		t.Skip("no AVX2 kernels here")
	}
	base := to32(must(Data[float64](randF64(7, -1, 1, 900))))
	dy := to32(must(Data[float64](randF64(9, -1, 1, 5*80))))
	base[3], base[40], base[77] = float32(math.NaN()), float32(math.Inf(1)), float32(math.Copysign(0, -1))
	dy[5], dy[81], dy[170] = float32(math.Inf(-1)), float32(math.Copysign(0, -1)), float32(math.NaN())
	run := func(off bool, acc []float32, n, rows int, offs []int32) {
		old := convTapDots4Off
		convTapDots4Off = off
		defer func() { convTapDots4Off = old }()
		convTapDots(acc, dy, n, rows, 80, base, 75, offs)
	}
	for n := 1; n <= 70; n++ {
		for _, rows := range []int{1, 2, 5} {
			for _, taps := range []int{4, 8, 9, 25} {
				offs := make([]int32, taps)
				for i := range offs {
					offs[i] = int32((i * 37) % (len(base) - n - 4*75))
				}
				convTapCheck(n+4*75, len(base), offs)
				got, want := make([]float32, taps), make([]float32, taps)
				for i := range got {
					got[i], want[i] = 0.25*float32(i), 0.25*float32(i)
				}
				run(true, want, n, rows, offs)
				run(false, got, n, rows, offs)
				what := fmt.Sprintf("n=%d rows=%d taps=%d", n, rows, taps)
				for i := range want {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("%s: tap %d is %v (%#x), convTapDotsAVX2 gives %v (%#x)", what, i, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
					}
				}
			}
		}
	}
	for _, l := range groupedLayers[:13] {
		t.Run(l.name, func(t *testing.T) {
			cd := l.dims(2)
			x := to32(must(Data[float64](randF64(1, -1, 1, cd.n*cd.c*cd.g.inSize()))))
			g := to32(must(Data[float64](randF64(3, -1, 1, cd.n*cd.m*cd.g.outSize()))))
			grad := func(off bool) []float32 {
				old := convTapDots4Off
				convTapDots4Off = off
				defer func() { convTapDots4Off = old }()
				dw := make([]float32, cd.m*cd.g.kSize())
				convDirectWeight(g, x, cd, dw)
				return dw
			}
			want, got := grad(true), grad(false)
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("weight %d is %v, convTapDotsAVX2 gives %v", i, got[i], want[i])
				}
			}
		})
	}
}
