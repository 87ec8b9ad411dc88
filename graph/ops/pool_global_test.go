package ops

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestPoolGlobalAverageMatchesLoop: the global average pool (planes of 4
// unrolled) gives the bits of the loop it replaces (each plane's elements
// added in order to +0, the sum divided by the size), for planes of 1 to
// 16 elements, with signed zeros (a plane of -0 only included), NaN and
// infinities among the values.
func TestPoolGlobalAverageMatchesLoop(t *testing.T) {
	old := func(x []float32, planes, size int) []float32 {
		y := make([]float32, planes)
		for p := range y {
			var s float32
			for _, v := range x[p*size : (p+1)*size] {
				s += v
			}
			y[p] = s / float32(size)
		}
		return y
	}
	rng := rand.New(rand.NewPCG(5, 6))
	specials := []float32{float32(math.Copysign(0, -1)), 0, float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 3e38, -3e38, 1e-45}
	for _, size := range []int{1, 2, 3, 4, 5, 16} {
		for _, planes := range []int{1, 7, 20480} {
			x := make([]float32, planes*size)
			for i := range x {
				switch r := rng.IntN(8); {
				case r == 0:
					x[i] = specials[rng.IntN(len(specials))]
				case r == 1: // whole planes of -0 (a sum of -0 from +0 is +0)
					x[i] = float32(math.Copysign(0, -1))
				default:
					x[i] = float32(rng.NormFloat64())
				}
			}
			if planes > 1 {
				for i := range size { // a plane of -0 only
					x[size+i] = float32(math.Copysign(0, -1))
				}
			}
			want, got := old(x, planes, size), poolGlobalAverage(x, planes, size)
			for p := range want {
				if math.Float32bits(got[p]) != math.Float32bits(want[p]) {
					t.Fatalf("size %d, %d planes: plane %d = %v (%#x), the loop gives %v (%#x)", size, planes, p, got[p], math.Float32bits(got[p]), want[p], math.Float32bits(want[p]))
				}
			}
		}
	}
}

func BenchmarkPoolGlobalAverage(b *testing.B) {
	x := make([]float32, 16*1280*4)
	for i := range x {
		x[i] = float32(i%97) - 40
	}
	for b.Loop() {
		poolGlobalAverage(x, 16*1280, 4)
	}
}
