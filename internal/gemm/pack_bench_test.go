package gemm

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkPack times each kernel's packing of a 128×256 block of A and a
// 256×128 block of B, both layouts, out of matrices of row stride 1024: 4
// KiB rows, as the engine's im2col matrices of 32×32 planes have, whose
// reads fall in the same cache sets.
func BenchmarkPack(b *testing.B) {
	const kb, rows, ld = 256, 128, 1024
	rng := rand.New(rand.NewPCG(1, 1))
	src := randSlice(rng, max(rows, kb)*ld)
	dst := make([]float32, (rows+64)*kb)
	for _, kn := range available() {
		for _, trans := range []bool{false, true} {
			name := "N"
			if trans {
				name = "T"
			}
			b.Run(kn.name+"/A"+name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					packA(kn, dst, trans, src, ld, rows, kb)
				}
				b.ReportMetric(float64(rows*kb)*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gelem/s")
			})
			b.Run(kn.name+"/B"+name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					packB(kn, dst, trans, src, ld, kb, rows)
				}
				b.ReportMetric(float64(rows*kb)*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gelem/s")
			})
		}
	}
}
