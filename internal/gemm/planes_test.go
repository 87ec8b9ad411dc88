package gemm

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestSgemmPlanes checks the batched planes against one SgemmSerial per
// sample with the same packed A, bit for bit: planes smaller than a tile,
// not dividing it, larger, k and m past one block, padded strides.
func TestSgemmPlanes(t *testing.T) {
	kernels(t, testSgemmPlanes)
}

func testSgemmPlanes(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	for _, c := range []struct{ nb, P, m, k, pad int }{
		{1, 1, 1, 1, 0}, {16, 4, 960, 160, 0}, {16, 4, 40, 600, 3}, {8, 16, 64, 384, 0}, {5, 16, 13, 7, 1},
		{16, 64, 192, 32, 0}, {3, 33, 20, 50, 2}, {4, 100, 150, 300, 0}, {2, 2, 7, 9, 0}, {9, 1, 17, 5, 0},
		{3, 256, 24, 96, 0}, {2, 1024, 16, 32, 5},
	} {
		bs, cs := c.k*c.P+c.pad, c.m*c.P+2*c.pad
		a := randSlice(rng, c.m*c.k)
		b := randSlice(rng, (c.nb-1)*bs+c.k*c.P)
		pa := PackA(false, c.m, c.k, a, c.k)
		want := make([]float32, (c.nb-1)*cs+c.m*c.P)
		got := make([]float32, len(want))
		for i := range got {
			got[i] = float32(math.NaN())
			want[i] = got[i]
		}
		for s := range c.nb {
			pa.SgemmSerial(false, c.P, 1, b[s*bs:], c.P, 0, want[s*cs:], c.P)
		}
		pa.SgemmPlanes(c.nb, c.P, b, bs, got, cs)
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) && !(math.IsNaN(float64(got[i])) && math.IsNaN(float64(want[i]))) {
				t.Fatalf("%+v: C[%d] = %v, one product a sample gives %v", c, i, got[i], want[i])
			}
		}
	}
}
