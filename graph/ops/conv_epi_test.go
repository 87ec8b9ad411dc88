package ops

import (
	"math"
	"slices"
	"testing"

	"github.com/onnxtune/onnxtune/internal/gemm"
)

// TestConvPointwiseEpiMatchesPass checks the 1x1 convolutions' bias and
// Clip applied by the product's kernel (gemm.SgemmPlanesRowsEpi) against
// the product followed by the epilogue pass it replaces, bit for bit, at
// MobileNetV2's plane sizes: zero biases of both signs, exact hits of both
// Clip bounds (recorded, by the pass run again), NaN inputs, a NaN bias
// (left to the pass), on one and on several cores.
func TestConvPointwiseEpiMatchesPass(t *testing.T) {
	for _, c := range []struct {
		name         string
		n, c, m, h   int
		avx512, avx2 bool // the kernel's epilogue runs (whole tiles of 8x32, of 6x16)
	}{
		{"b16_2px", 16, 160, 960, 2, true, true}, {"b8_2px_k1280", 8, 1280, 320, 2, true, false},
		{"b16_4px", 16, 64, 384, 4, true, true}, {"b3_4px", 3, 96, 24, 4, false, true},
		{"b16_8px", 16, 32, 192, 8, true, true}, {"b4_16px", 4, 24, 144, 16, true, true},
		{"b2_32px", 2, 16, 96, 32, true, true}, {"b3_5x5", 3, 12, 20, 5, false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			cd := &convDims{n: c.n, c: c.c, m: c.m, group: 1, g: newConvGeom(two(c.h, c.h), two(c.h, c.h),
				two(1, 1), two(1, 1), two(1, 1), two(0, 0), two(0, 0))}
			P := c.h * c.h
			x := to32(must(Data[float64](randF64(1, -2, 2, c.n, c.c, P))))
			w := to32(must(Data[float64](randF64(2, -0.3, 0.3, c.m, c.c))))
			b := to32(must(Data[float64](randF64(3, -1, 1, c.m))))
			b[0], b[2] = 0, float32(math.Copysign(0, -1))
			x[c.c*P-1] = float32(math.NaN())
			// Exact hits: output channel 1 is its bias throughout (the
			// Clip's lower bound); channel 3 of the last sample, position
			// 0, is made the upper bound below.
			clear(w[c.c : 2*c.c])
			cd.packed = gemm.PackA(false, c.m, c.c, w, c.c)
			nanBias := slices.Clone(b)
			nanBias[5] = float32(math.NaN())
			ran := false
			for _, v := range []struct {
				name    string
				b       []float32
				clip    bool
				useHigh bool
			}{{"bias", b, false, false}, {"clip", b, true, false}, {"clip_high", b, true, true}, {"nan_bias", nanBias, true, false}} {
				var hi float32 = 0.5
				if v.useHigh {
					ref, _ := runEpilogue(cd, v.b, false, false, func(e *convDims, y []float32) { convForward(x, w, v.b, e, y) })
					hi = ref[((c.n-1)*c.m+3)*P]
				}
				run := func(off bool) ([]float32, []int, int64) {
					old := convEpiOff
					convEpiOff = off
					defer func() { convEpiOff = old }()
					n0 := convEpiRuns.Load()
					y, hits := runEpilogue(cd, v.b, false, v.clip, func(e *convDims, y []float32) {
						if e.clip != nil {
							e.clip.hi = float64(hi)
						}
						convForward(x, w, v.b, e, y)
					})
					return y, hits, convEpiRuns.Load() - n0
				}
				want, wantHits, _ := run(true)
				got, gotHits, runs := run(false)
				for i := range want {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("%s: element %d is %v, the epilogue pass gives %v", v.name, i, got[i], want[i])
					}
				}
				if v.clip && len(wantHits) == 0 {
					t.Fatal("no Clip hit to compare")
				}
				if v.useHigh && !slices.ContainsFunc(wantHits, func(i int) bool { return i == ((c.n-1)*c.m+3)*P }) {
					t.Fatal("no hit of the upper bound")
				}
				if !slices.Equal(gotHits, wantHits) {
					t.Fatalf("%s: %d Clip hits recorded, the epilogue pass records %d", v.name, len(gotHits), len(wantHits))
				}
				if v.name == "nan_bias" && runs != 0 {
					t.Fatalf("the kernel's epilogue ran %d times with a NaN bias", runs)
				}
				ran = ran || runs > 0
			}
			if name, _ := gemm.Kernel(); ran != (c.avx512 && name == "avx512" || c.avx2 && name == "avx2") {
				t.Fatalf("the kernel's epilogue ran: %v, with kernel %s", ran, name)
			}
		})
	}
}

// TestConvTasksWholeTiles checks the split of MobileNetV2's 1x1 products
// (alone and fused with the depthwise convolution) among 1 to 4 cores at
// batch 16 and 1: every task's product spans whole tiles of the AVX-512
// kernel (32 columns) unless the batch has fewer columns in all, and the
// cores get a range of samples each where the columns allow.
func TestConvTasksWholeTiles(t *testing.T) {
	const rowTile, colTile = 8, 32
	for _, c := range []struct{ C, M, P int }{
		{32, 16, 1024}, {16, 96, 1024}, {96, 24, 256}, {144, 32, 64}, {192, 64, 16},
		{64, 384, 16}, {384, 96, 16}, {96, 576, 16}, {576, 160, 4}, {160, 960, 4}, {960, 320, 4}, {320, 1280, 4},
	} {
		for _, n := range []int{16, 1} {
			for workers := 1; workers <= 4; workers++ {
				ns, nr := pointwiseTasks(n, c.M, c.P, c.C, workers, rowTile, colTile)
				for si := range ns {
					s0, s1 := n*si/ns, n*(si+1)/ns
					if cols := (s1 - s0) * c.P; cols%colTile != 0 && cols < n*c.P {
						t.Errorf("%+v, batch %d, %d cores: a task of %d columns (%d ranges, %d bands)", c, n, workers, cols, ns, nr)
					}
				}
				if n >= workers && n*c.P >= workers*colTile && c.M*c.P*c.C*n >= 1<<20 && ns < workers {
					t.Errorf("%+v, batch %d, %d cores: %d ranges of samples", c, n, workers, ns)
				}
				g := expandGroup(n, c.P, workers, colTile)
				for s0 := 0; s0 < n; s0 += g {
					if cols := (min(n, s0+g) - s0) * c.P; cols%colTile != 0 && cols < n*c.P {
						t.Errorf("%+v, batch %d, %d cores: a fused task of %d columns", c, n, workers, cols)
					}
				}
			}
		}
	}
}
