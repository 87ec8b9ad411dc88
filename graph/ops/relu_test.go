package ops

import (
	"math"
	"math/rand"
	"testing"
)

// TestReluBits checks the bit-level Relu loops against the plain
// definitions on the awkward values: NaN of both signs, ±0, ±Inf,
// subnormals, and random numbers.
func TestReluBits(t *testing.T) {
	negNaN := math.Float32frombits(0xffc00000)
	vals := []float32{float32(math.NaN()), negNaN, 0, float32(math.Copysign(0, -1)), float32(math.Inf(1)),
		float32(math.Inf(-1)), 1e-45, -1e-45, math.MaxFloat32, -math.MaxFloat32, 1, -1}
	r := rand.New(rand.NewSource(1))
	for range 200 {
		vals = append(vals, float32(r.NormFloat64()))
	}
	got := append([]float32(nil), vals...)
	reluSlice(got)
	for i, x := range vals {
		want := x
		if !(x > 0) && x == x {
			want = 0
		}
		if math.Float32bits(got[i]) != math.Float32bits(want) && !(want == 0 && got[i] == 0) {
			t.Errorf("relu(%v) = %v, want %v", x, got[i], want)
		}
		if x != x && got[i] == got[i] {
			t.Errorf("relu(%v) = %v, want NaN", x, got[i])
		}
	}
	dy := make([]float32, len(vals))
	for i := range dy {
		dy[i] = float32(i) + 0.5
	}
	out := make([]float32, len(vals))
	reluGradSlice(out, dy, vals)
	for i, x := range vals {
		want := dy[i]
		if x <= 0 {
			want = 0
		}
		if out[i] != want {
			t.Errorf("reluGrad at x=%v: %v, want %v", x, out[i], want)
		}
	}
}
