//go:build unix

package gemm

import (
	"math/rand/v2"
	"syscall"
	"testing"
	"time"
)

// BenchmarkShareA_lstm: an LSTM layer's d R and d W (dGᵀ·H_prev and
// dGᵀ·X, dG 2048×1024, H = I = 256), as two Sgemm calls and as one
// SgemmShareA, and as SgemmShareASums with d Rb's sums; it reports the CPU time (every thread's) besides the wall
// time, the figure to compare on a shared machine.
func BenchmarkShareA_lstm(b *testing.B) {
	const m, k, n = 1024, 2048, 256
	rng := rand.New(rand.NewPCG(1, 2))
	a, h, x := randSlice(rng, k*m), randSlice(rng, k*n), randSlice(rng, k*n)
	dr, dw := make([]float32, m*n), make([]float32, m*n)
	run := func(b *testing.B, f func()) {
		cpu0 := cpuTime()
		for range b.N {
			f()
		}
		b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
	}
	b.Run("apart", func(b *testing.B) {
		run(b, func() {
			Sgemm(true, false, m, n, k, 1, a, m, h, n, 1, dr, n)
			Sgemm(true, false, m, n, k, 1, a, m, x, n, 0, dw, n)
		})
	})
	b.Run("shared", func(b *testing.B) {
		run(b, func() {
			SgemmShareA(true, m, k, a, m,
				ProductB{N: n, Alpha: 1, B: h, Ldb: n, Beta: 1, C: dr, Ldc: n},
				ProductB{N: n, Alpha: 1, B: x, Ldb: n, Beta: 0, C: dw, Ldc: n})
		})
	})
	sums := make([]float32, m)
	b.Run("sums", func(b *testing.B) { // with d Rb's column sums of dG
		run(b, func() {
			SgemmShareASums(true, m, k, a, m, sums,
				ProductB{N: n, Alpha: 1, B: h, Ldb: n, Beta: 1, C: dr, Ldc: n},
				ProductB{N: n, Alpha: 1, B: x, Ldb: n, Beta: 0, C: dw, Ldc: n})
		})
	})
}

// cpuTime is the CPU time the process has used (user and system).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
