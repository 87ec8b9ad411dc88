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

// TestConvTapRows4MatchesRows checks convTapRows4AVX2 (four rows at a
// time, rows shorter than 32) against convTapRowsAVX2, which it replaces,
// bit for bit: every row length up to 40 (past 32 the old kernel runs
// alone), 4, 5, 8 and 11 rows (blocks of four and a rest), 1, 9 and 25
// taps, a nonzero init, and NaN, infinities and signed zeros among the
// inputs and weights; then the forward pass and the data gradient of
// MobileNetV2's and EfficientNet-B0's depthwise layers (convDirectForward,
// convDirectData) whole.
func TestConvTapRows4MatchesRows(t *testing.T) {
	if !convTapAsm {
		t.Skip("no AVX2 kernels here")
	}
	base := to32(must(Data[float64](randF64(7, -1, 1, 2000))))
	wts := to32(must(Data[float64](randF64(8, -1, 1, 25))))
	base[3], base[40], base[77], base[160] = float32(math.NaN()), float32(math.Inf(1)), float32(math.Copysign(0, -1)), float32(math.Inf(-1))
	wts[4], wts[7] = float32(math.Copysign(0, -1)), float32(math.Inf(1))
	with := func(off bool, f func()) {
		old := convTapRows4Off
		convTapRows4Off = off
		defer func() { convTapRows4Off = old }()
		f()
	}
	for n := 1; n <= 40; n++ {
		for _, rows := range []int{4, 5, 8, 11} {
			for _, taps := range []int{1, 9, 25} {
				off := make([]int32, taps)
				for i := range off {
					off[i] = int32((i * 37) % (len(base) - n - 11*75))
				}
				convTapCheck(n+11*75, len(base), off)
				got, want := make([]float32, 11*80), make([]float32, 11*80)
				with(true, func() { convTapRows(want, n, rows, 80, 0.5, base, 75, off, wts[:taps]) })
				with(false, func() { convTapRows(got, n, rows, 80, 0.5, base, 75, off, wts[:taps]) })
				for i := range want {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("n=%d rows=%d taps=%d: element %d is %v, convTapRowsAVX2 gives %v", n, rows, taps, i, got[i], want[i])
					}
				}
			}
		}
	}
	for _, l := range groupedLayers[:13] {
		t.Run(l.name, func(t *testing.T) {
			cd := l.dims(2)
			x := to32(must(Data[float64](randF64(1, -1, 1, cd.n*cd.c*cd.g.inSize()))))
			w := to32(must(Data[float64](randF64(2, -1, 1, cd.m*cd.g.kSize()))))
			b := to32(must(Data[float64](randF64(4, -1, 1, cd.m))))
			g := to32(must(Data[float64](randF64(3, -1, 1, cd.n*cd.m*cd.g.outSize()))))
			pass := func(off bool) (y, dx []float32) {
				y, dx = make([]float32, len(g)), make([]float32, len(x))
				with(off, func() {
					convDirectForward(x, w, b, cd, y)
					convDirectData(g, w, cd, dx)
				})
				return y, dx
			}
			wantY, wantDx := pass(true)
			gotY, gotDx := pass(false)
			for i := range wantY {
				if math.Float32bits(gotY[i]) != math.Float32bits(wantY[i]) {
					t.Fatalf("output %d is %v, convTapRowsAVX2 gives %v", i, gotY[i], wantY[i])
				}
			}
			for i := range wantDx {
				if math.Float32bits(gotDx[i]) != math.Float32bits(wantDx[i]) {
					t.Fatalf("input gradient %d is %v, convTapRowsAVX2 gives %v", i, gotDx[i], wantDx[i])
				}
			}
		})
	}
}
