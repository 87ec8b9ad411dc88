package gemm

import (
	"math/rand/v2"
	"testing"
)

func BenchmarkPack(b *testing.B) {
	const kb, rows, ld = 256, 144, 1152
	rng := rand.New(rand.NewPCG(1, 1))
	src := randSlice(rng, max(rows, kb)*ld)
	dst := make([]float32, rows*kb+64)
	for _, trans := range []bool{false, true} {
		name := "N"
		if trans {
			name = "T"
		}
		b.Run("A"+name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				packA(current(), dst, trans, src, ld, rows, kb)
			}
			b.ReportMetric(float64(rows*kb)*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gelem/s")
		})
		b.Run("B"+name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				packB(current(), dst, trans, src, ld, kb, rows)
			}
			b.ReportMetric(float64(rows*kb)*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gelem/s")
		})
	}
}
