//go:build !purego

package ops

import (
	"math"
	"math/rand"
	"testing"

	"golang.org/x/sys/cpu"
)

// TestSigmoidAVX512: sigmoidAVX512 gives sigmoidAVX2's bits (the float64
// formula rounded once) on random values over the whole clamped range and
// beyond, and on zeros, infinities, NaNs, subnormals and the clamp's edges.
func TestSigmoidAVX512(t *testing.T) {
	if !sigmoidAsm || !cpu.X86.HasAVX512F {
		t.Skip("this CPU has no AVX-512 (sigmoidAVX512 is never called)")
	}
	rng := rand.New(rand.NewSource(3))
	x := make([]float32, 4096)
	for i := range x {
		x[i] = float32(rng.NormFloat64() * 30)
	}
	specials := []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)),
		float32(math.NaN()), 1e-40, -1e-40, 120, -120, 121, -121, 88.7, -88.7, 1e-8, -1e-8}
	copy(x, specials)
	a, b := make([]float32, len(x)), make([]float32, len(x))
	sigmoidAVX2(&a[0], &x[0], len(x))
	sigmoidAVX512(&b[0], &x[0], len(x))
	for i := range x {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) && !(a[i] != a[i] && b[i] != b[i]) {
			t.Fatalf("sigmoid(%v): AVX-512 %v, AVX2 %v", x[i], b[i], a[i])
		}
	}
	// Through sigmoidSlice32, every length's tail as the whole.
	for n := range 40 {
		got := make([]float32, n)
		sigmoidSlice32(got, x[:n])
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(a[i]) && !(got[i] != got[i] && a[i] != a[i]) {
				t.Fatalf("n=%d: sigmoidSlice32 [%d] = %v, want %v", n, i, got[i], a[i])
			}
		}
	}
}
