package gemm

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestSgemmPlanesEpi checks SgemmPlanesRowsEpi against SgemmPlanesRows
// followed by the epilogue in Go, bit for bit, under each kernel
// (kernel8x32AVX512Epi, kernel6x16Epi): planes whole in a tile (the
// direct stores), of half a tile (the flat blocks' sums stored in the
// planes by kernel8x32AVX512EpiSplit) and straddled (the flat blocks), k
// past one block, bands of rows, biases of -0 (no add), Clip (both bounds
// hit, only one, or none) or none, NaN sums kept, and exact hits of each
// bound reported. Where the kernel has no epilogue, or a tile would not be
// whole, it must report that it did nothing.
func TestSgemmPlanesEpi(t *testing.T) {
	kernels(t, testSgemmPlanesEpi)
}

func testSgemmPlanesEpi(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	ranOnce := false
	for _, c := range []struct{ nb, P, m, k, pad int }{
		{16, 4, 960, 160, 0}, {8, 4, 320, 1280, 0}, {16, 16, 384, 64, 0}, {4, 16, 96, 576, 3},
		{16, 64, 192, 32, 0}, {2, 256, 144, 24, 1}, {3, 1024, 96, 16, 0}, {8, 36, 24, 40, 0},
		{3, 48, 16, 8, 0}, {4, 16, 20, 16, 0}, {1, 4, 64, 32, 0}, {4, 16, 90, 24, 1},
	} {
		bs, cs := c.k*c.P+c.pad, c.m*c.P+2*c.pad
		a := randSlice(rng, c.m*c.k)
		b := randSlice(rng, (c.nb-1)*bs+c.k*c.P)
		b[1] = float32(math.NaN()) // column 1 of sample 0: NaN sums
		pa := PackA(false, c.m, c.k, a, c.k)
		// Every tile whole: rows a multiple of the row tile (8 with
		// AVX-512, 6 with AVX2) and planes, or all the columns, of the
		// column tile's (32, 16).
		mr, nr := pa.RowTile(), pa.ColTile()
		whole := c.m%mr == 0 && (c.P%nr == 0 || c.nb*c.P%nr == 0)
		bias := randSlice(rng, c.m)
		bias[1] = float32(math.Copysign(0, -1))
		// Bounds: none, both hit, only the lower one hit, only the upper.
		for bounds := range 4 {
			clip := bounds > 0
			nan := func() []float32 {
				out := make([]float32, (c.nb-1)*cs+c.m*c.P)
				for i := range out {
					out[i] = float32(math.NaN())
				}
				return out
			}
			want := nan()
			pa.SgemmPlanesRows(0, c.m, c.nb, c.P, b, bs, want, cs)
			// Bounds that some sums hit exactly: the sums of row 2 of the
			// first sample, the last one's of row 0.
			e := &Epilogue{Bias: bias, Lo: -0.25, Hi: 0.5, Clip: clip}
			if clip {
				e.Lo, e.Hi = want[2*c.P]+bias[2], want[c.P-1]+bias[0]
				if e.Lo > e.Hi {
					e.Lo, e.Hi = e.Hi, e.Lo
				}
				switch bounds {
				case 2:
					e.Hi = float32(math.Inf(1))
				case 3:
					e.Lo = float32(math.Inf(-1))
				}
			}
			hits := 0
			for s := range c.nb {
				for i := range c.m {
					row := want[s*cs+i*c.P:][:c.P]
					for j, v := range row {
						v += bias[i]
						if clip {
							if v == e.Lo || v == e.Hi {
								hits++
							}
							if !math.IsNaN(float64(v)) {
								v = min(max(v, e.Lo), e.Hi)
							}
						}
						row[j] = v
					}
				}
			}
			bands := []int{1, 3, 1000}
			if !whole {
				bands = bands[2:] // one call over every row
			}
			for _, band := range bands {
				got := nan()
				step := band * pa.RowTile()
				ran, hit := false, false
				for i0 := 0; i0 < c.m; i0 += step {
					r, h := pa.SgemmPlanesRowsEpi(i0, min(i0+step, c.m), c.nb, c.P, b, bs, got, cs, e)
					ran, hit = r, hit || h
					if !r {
						break
					}
				}
				if want := whole && epiMicro(pa.kern) != nil; ran != want {
					t.Fatalf("%+v: ran %v, want %v", c, ran, want)
				}
				if !ran {
					for i, v := range got {
						if !math.IsNaN(float64(v)) {
							t.Fatalf("%+v: C[%d] written (%v) by a call that did nothing", c, i, v)
						}
					}
					continue
				}
				ranOnce = true
				if hit != (hits > 0) {
					t.Fatalf("%+v bounds %d: hit %v, %d sums equal a bound", c, bounds, hit, hits)
				}
				for i := range want {
					g, w := got[i], want[i]
					if math.Float32bits(g) == math.Float32bits(w) || math.IsNaN(float64(g)) && math.IsNaN(float64(w)) {
						continue
					}
					if clip && (g == e.Lo || g == e.Hi) && g == w { // a bound hit: ±0 may differ
						continue
					}
					t.Fatalf("%+v bounds %d band %d: C[%d] = %v, SgemmPlanesRows and the epilogue give %v", c, bounds, band, i, g, w)
				}
			}
		}
	}
	if !ranOnce && epiMicro(forced) != nil {
		t.Fatal("the epilogue never ran")
	}
}
