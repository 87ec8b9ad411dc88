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
		// The same by rows, in bands of 1, 3 and 19 tiles.
		byRows := func(band int) []float32 {
			out := make([]float32, len(want))
			for i := range out {
				out[i] = float32(math.NaN())
			}
			step := band * pa.RowTile()
			for i0 := 0; i0 < c.m; i0 += step {
				pa.SgemmPlanesRows(i0, min(i0+step, c.m), c.nb, c.P, b, bs, out, cs)
			}
			return out
		}
		for _, r := range []struct {
			what string
			got  []float32
		}{{"planes", got}, {"rows by 1", byRows(1)}, {"rows by 3", byRows(3)}, {"rows by 19", byRows(19)}} {
			for i := range want {
				if math.Float32bits(r.got[i]) != math.Float32bits(want[i]) && !(math.IsNaN(float64(r.got[i])) && math.IsNaN(float64(want[i]))) {
					t.Fatalf("%+v %s: C[%d] = %v, one product a sample gives %v", c, r.what, i, r.got[i], want[i])
				}
			}
		}
	}
}
