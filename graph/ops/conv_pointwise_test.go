package ops

import (
	"math"
	"slices"
	"testing"

	"github.com/onnxtune/onnxtune/internal/gemm"
)

// TestConvPointwiseMatchesIm2col checks the 1x1 convolutions' planes path
// (inference, packed weights) against the im2col and GEMM path it
// replaces, bit for bit, with MobileNetV2's plane sizes (2x2 to 32x32),
// with and without a bias (zeros among it), the fused Relu and Clip (and
// the Clip's recorded hits).
func TestConvPointwiseMatchesIm2col(t *testing.T) {
	for _, c := range []struct {
		name       string
		n, c, m, h int
	}{
		{"b16_2px", 16, 160, 960, 2}, {"b16_4px", 16, 64, 384, 4}, {"b3_4px", 3, 96, 24, 4},
		{"b16_8px", 16, 32, 192, 8}, {"b5_1px", 5, 40, 13, 1}, {"b4_16px", 4, 24, 144, 16},
		{"b2_32px", 2, 16, 96, 32}, {"b3_5x5", 3, 12, 20, 5},
	} {
		t.Run(c.name, func(t *testing.T) {
			cd := &convDims{n: c.n, c: c.c, m: c.m, group: 1, g: newConvGeom(two(c.h, c.h), two(c.h, c.h),
				two(1, 1), two(1, 1), two(1, 1), two(0, 0), two(0, 0))}
			P := c.h * c.h
			x := to32(must(Data[float64](randF64(1, -2, 2, c.n, c.c, P))))
			w := to32(must(Data[float64](randF64(2, -0.3, 0.3, c.m, c.c))))
			b := to32(must(Data[float64](randF64(3, -1, 1, c.m))))
			b[0] = 0
			// Exact hits on the Clip's lower bound: output channel 1 is
			// its bias (or 0) throughout.
			clear(w[c.c : 2*c.c])
			cd.packed = gemm.PackA(false, c.m, c.c, w, c.c)
			for _, v := range epiVariants(b) {
				run := func(off bool) ([]float32, []int) {
					old := convPlanesOff
					convPlanesOff = off
					defer func() { convPlanesOff = old }()
					return runEpilogue(cd, v.b, v.relu, v.clip, func(e *convDims, y []float32) { convForward(x, w, v.b, e, y) })
				}
				want, wantHits := run(true)
				got, gotHits := run(false)
				for i := range want {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("%s: element %d is %v, the im2col path gives %v", v.name, i, got[i], want[i])
					}
				}
				if v.clip && len(wantHits) == 0 {
					t.Fatal("no Clip hit to compare")
				}
				if !slices.Equal(gotHits, wantHits) {
					t.Fatalf("%s: %d Clip hits recorded (first %v), the im2col path records %d (%v)", v.name, len(gotHits), gotHits[:min(4, len(gotHits))], len(wantHits), wantHits[:min(4, len(wantHits))])
				}
			}
		})
	}
}
