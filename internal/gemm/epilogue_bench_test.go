package gemm

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkSgemmPlanesEpi times MobileNetV2's expansion products (batch
// 16, Clip 0 to 6) with the epilogue in the kernel (epi) and without any
// epilogue (plain: the product alone, the pass it replaces not counted),
// on the caller's goroutine.
func BenchmarkSgemmPlanesEpi(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct{ nb, P, m, k int }{
		{16, 1024, 96, 16}, {16, 256, 144, 24}, {16, 64, 192, 32}, {16, 16, 384, 64}, {16, 4, 960, 160},
	} {
		a := randSlice(rng, c.m*c.k)
		x := randSlice(rng, c.nb*c.k*c.P)
		y := make([]float32, c.nb*c.m*c.P)
		pa := PackA(false, c.m, c.k, a, c.k)
		e := &Epilogue{Bias: randSlice(rng, c.m), Lo: 0, Hi: 6, Clip: true}
		name := fmt.Sprintf("%dx%d_k%d_m%d", c.nb, c.P, c.k, c.m)
		flops := float64(2 * c.nb * c.P * c.m * c.k)
		b.Run(name+"/epi", func(b *testing.B) {
			for b.Loop() {
				if ran, _ := pa.SgemmPlanesRowsEpi(0, c.m, c.nb, c.P, x, c.k*c.P, y, c.m*c.P, e); !ran {
					b.Skip("no epilogue kernel")
				}
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
		b.Run(name+"/plain", func(b *testing.B) {
			for b.Loop() {
				pa.SgemmPlanesRows(0, c.m, c.nb, c.P, x, c.k*c.P, y, c.m*c.P)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
