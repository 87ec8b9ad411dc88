package vec

import (
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// levels runs f at every vector level this machine runs.
func levels(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	names := []string{"generic", "avx2", "avx512"}
	for lv, ok := range []bool{true, hasAVX2, hasAVX512} {
		if !ok {
			continue
		}
		t.Run(names[lv], func(t *testing.T) {
			defer func(old int) { forced = old }(forced)
			forced = lv
			f(t)
		})
	}
}

// lengths cover every tail of the 8- and 16-float blocks and a few long
// slices.
var lengths = func() []int {
	var ns []int
	for n := range 70 {
		ns = append(ns, n)
	}
	return append(ns, 255, 1000, 4099)
}()

// special values: signed zeros, infinities, NaNs of both signs.
var specials = []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)),
	float32(math.NaN()), math.Float32frombits(0xffc00001), 1e-40, -1e-40}

func randVec(rng *rand.Rand, n int, special bool) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
		if special && rng.IntN(8) == 0 {
			v[i] = specials[rng.IntN(len(specials))]
		}
	}
	return v
}

func sameBits(t *testing.T, what string, got, want []float32) {
	t.Helper()
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s: [%d] = %v (%#x), want %v (%#x)", what, i, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
		}
	}
}

func TestElementwise(t *testing.T) {
	levels(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(1, 2))
		for _, n := range lengths {
			dy, x := randVec(rng, n, true), randVec(rng, n, true)
			name := fmt.Sprint("n=", n)

			want := make([]float32, n)
			for i := range want {
				if x[i] > 0 || x[i] != x[i] {
					want[i] = dy[i]
				}
			}
			got := make([]float32, n)
			ReluMask(got, dy, x)
			sameBits(t, name+" ReluMask", got, want)
			inplace := append([]float32(nil), x...)
			ReluMask(inplace, inplace, inplace)
			for i := range want {
				want[i] = 0
				if x[i] > 0 || x[i] != x[i] {
					want[i] = x[i]
				}
			}
			sameBits(t, name+" ReluMask in place", inplace, want)

			a, b := float32(rng.NormFloat64()), float32(rng.NormFloat64())
			for _, relu := range []bool{false, true} {
				for i := range want {
					v := x[i]*a + b
					if relu && !(v > 0) && v == v {
						v = 0
					}
					want[i] = v
				}
				ScaleShift(got, x, a, b, relu)
				sameBits(t, fmt.Sprintf("%s ScaleShift relu=%v", name, relu), got, want)
			}

			A, B, D := float32(rng.NormFloat64()), float32(rng.NormFloat64()), float32(rng.NormFloat64())
			for i := range want {
				want[i] = A*dy[i] + B*x[i] + D
			}
			Affine2(got, dy, x, A, B, D)
			sameBits(t, name+" Affine2", got, want)

			p, g, mb := randVec(rng, n, false), randVec(rng, n, false), randVec(rng, n, false)
			wp, wb := append([]float32(nil), p...), append([]float32(nil), mb...)
			wd, m, damp, lr := float32(1e-4), float32(0.9), float32(0.75), float32(0.01)
			for i := range wp { // PyTorch's rounding: fused multiply-adds (fmaRef)
				d := fmaRef(wd, wp[i], g[i])
				wb[i] = fmaRef(damp, d, m*wb[i])
				wp[i] = fmaRef(-lr, wb[i], wp[i])
			}
			SGDMomentum(p, g, mb, wd, m, damp, lr)
			sameBits(t, name+" SGDMomentum p", p, wp)
			sameBits(t, name+" SGDMomentum b", mb, wb)
		}
	})
}

func TestReductions(t *testing.T) {
	levels(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(3, 4))
		for _, n := range lengths {
			g, x := randVec(rng, n, false), randVec(rng, n, false)
			for i := range x {
				x[i] += 3 // a mean far from zero
			}
			m := 2.9
			var s, sq, sg, sgx, mag float64
			for i := range x {
				s += float64(x[i])
				d := float64(x[i]) - m
				sq += d * d
				sg += float64(g[i])
				sgx += float64(g[i]) * d
				mag += math.Abs(float64(x[i])) + math.Abs(float64(g[i]))*(1+math.Abs(d))
			}
			tol := 1e-13 * (mag + sq + 1)
			check := func(what string, got, want float64) {
				if math.Abs(got-want) > tol {
					t.Errorf("n=%d %s = %v, want %v", n, what, got, want)
				}
			}
			check("Sum", Sum(x), s)
			check("SqDev", SqDev(x, m), sq)
			a, b := DotDev(g, x, m)
			check("DotDev sum", a, sg)
			check("DotDev dot", b, sgx)
		}
		nan := []float32{1, 2, float32(math.NaN()), 4}
		nan = append(nan, make([]float32, 60)...)
		if s := Sum(nan); !math.IsNaN(s) {
			t.Errorf("Sum with a NaN = %v", s)
		}
	})
}

func TestShortSlicePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("ReluMask with a short dy did not panic")
		}
	}()
	ReluMask(make([]float32, 40), make([]float32, 39), make([]float32, 40))
}

// fmaRef is a*b + c rounded once to float32, computed exactly in
// math/big: the reference for FMA.
func fmaRef(a, b, c float32) float32 {
	x := new(big.Float).SetPrec(400).SetFloat64(float64(a))
	x.Mul(x, new(big.Float).SetFloat64(float64(b)))
	x.Add(x, new(big.Float).SetFloat64(float64(c)))
	f, _ := x.Float32()
	return f
}

// TestFMA checks FMA against fmaRef on random operands of several
// magnitudes, including sums that cancel and addends far below the
// product.
func TestFMA(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 200000 {
		a := float32(rng.NormFloat64() * math.Pow(2, float64(rng.IntN(40)-20)))
		b := float32(rng.NormFloat64() * math.Pow(2, float64(rng.IntN(40)-20)))
		c := float32(rng.NormFloat64() * math.Pow(2, float64(rng.IntN(80)-40)))
		if i%4 == 0 {
			c = -a * b // cancellation
		}
		if got, want := FMA(a, b, c), fmaRef(a, b, c); math.Float32bits(got) != math.Float32bits(want) {
			t.Fatalf("FMA(%g, %g, %g) = %g, want %g", a, b, c, got, want)
		}
	}
}
