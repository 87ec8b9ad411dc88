package vec

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestPlanes: at every level and every length (every tail of the blocks),
// the plane loops give exactly the bits of each element's operations done
// one at a time in Go: float32 products and sums rounded as written, the
// float64 sums with the fused multiply-adds the vector loops use; special
// values (zeros of both signs, infinities, NaNs, subnormals) included. The
// offsets of the inputs differ so that no loop relies on alignment.
func TestPlanes(t *testing.T) {
	levels(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(4, 5))
		for _, n := range lengths {
			x, a, b := randVec(rng, n+1, true)[1:], randVec(rng, n+2, true)[2:], randVec(rng, n, true)
			g, d := randVec(rng, n+3, true)[3:], randVec(rng, n, false)
			m := make([]float64, n)
			acc0 := make([]float64, n)
			for i := range m {
				m[i] = rng.NormFloat64()
				acc0[i] = rng.NormFloat64()
			}

			got := make([]float32, n)
			MulAddVec(got, x, a, b)
			for i := range got {
				if want := float32(x[i]*a[i]) + b[i]; !same32(got[i], want) {
					t.Fatalf("MulAddVec n=%d: [%d] = %v, want %v", n, i, got[i], want)
				}
			}
			Affine2Vec(got, g, x, a, b, d)
			for i := range got {
				if want := float32(float32(a[i]*g[i])+float32(b[i]*x[i])) + d[i]; !same32(got[i], want) {
					t.Fatalf("Affine2Vec n=%d: [%d] = %v, want %v", n, i, got[i], want)
				}
			}

			acc := append([]float64(nil), acc0...)
			WidenAdd(acc, x)
			for i := range acc {
				if want := acc0[i] + float64(x[i]); !same64(acc[i], want) {
					t.Fatalf("WidenAdd n=%d: [%d] = %v, want %v", n, i, acc[i], want)
				}
			}
			acc = append(acc[:0], acc0...)
			WidenSqDevAdd(acc, x, m)
			for i := range acc {
				dv := float64(x[i]) - m[i]
				if want := math.FMA(dv, dv, acc0[i]); !same64(acc[i], want) {
					t.Fatalf("WidenSqDevAdd n=%d: [%d] = %v, want %v", n, i, acc[i], want)
				}
			}
			ag := append([]float64(nil), acc0...)
			agx := make([]float64, n)
			for i := range agx {
				agx[i] = -acc0[i]
			}
			WidenDotDevAdd(ag, agx, g, x, m)
			for i := range ag {
				gi := float64(g[i])
				if want := acc0[i] + gi; !same64(ag[i], want) {
					t.Fatalf("WidenDotDevAdd n=%d: ag[%d] = %v, want %v", n, i, ag[i], want)
				}
				if want := math.FMA(gi, float64(x[i])-m[i], -acc0[i]); !same64(agx[i], want) {
					t.Fatalf("WidenDotDevAdd n=%d: agx[%d] = %v, want %v", n, i, agx[i], want)
				}
			}
		}
	})
}

// same32 and same64 compare bits, any NaN matching any NaN.
func same32(a, b float32) bool {
	return math.Float32bits(a) == math.Float32bits(b) || a != a && b != b
}

func same64(a, b float64) bool {
	return math.Float64bits(a) == math.Float64bits(b) || a != a && b != b
}

// TestSiLUGrad: at every level and length, SiLUGrad gives the bits of the
// Go expression, each operation rounded to float32, special values included.
func TestSiLUGrad(t *testing.T) {
	levels(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(6, 7))
		for _, n := range lengths {
			g, x, s := randVec(rng, n+1, true)[1:], randVec(rng, n+2, true)[2:], randVec(rng, n, true)
			got := make([]float32, n)
			SiLUGrad(got, g, x, s)
			for i := range got {
				sv := s[i]
				want := float32(g[i]*sv) + float32(float32(g[i]*x[i])*float32(sv*float32(1-sv)))
				if !same32(got[i], want) {
					t.Fatalf("n=%d: [%d] = %v, want %v (g %v, x %v, s %v)", n, i, got[i], want, g[i], x[i], sv)
				}
			}
		}
	})
}
