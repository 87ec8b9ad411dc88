//go:build !purego

package ops

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"golang.org/x/sys/cpu"
)

// lstmKernels are the LSTM gate kernels this CPU runs besides the Go loops.
func lstmKernels() []string {
	var ks []string
	if cpu.X86.HasAVX512F {
		ks = append(ks, "avx512")
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		ks = append(ks, "avx2")
	}
	return ks
}

// useLSTMKernel makes the LSTM's gates run kernel k ("avx512", "avx2" or
// "go": the Go loops and sigmoidSlice32) until the function it returns is
// called.
func useLSTMKernel(k string) func() {
	s, p, a, p8 := lstmSigmoidAsm, lstmPreAsm, lstmAVX2, lstmPre8
	c, c8 := lstmCellAsm, lstmCell8
	lstmSigmoidAsm, lstmPreAsm, lstmAVX2, lstmPre8 = k == "avx512", k == "avx512", k == "avx2", k == "avx2"
	lstmCellAsm, lstmCell8 = k == "avx512", k == "avx2"
	return func() {
		lstmSigmoidAsm, lstmPreAsm, lstmAVX2, lstmPre8 = s, p, a, p8
		lstmCellAsm, lstmCell8 = c, c8
	}
}

// TestLSTMSigmoidKernels runs TestLSTMSigmoid's checks (float64's sigmoid
// within 2e-7 relative from -80 to 100, NaN, zeros, in place) on each
// kernel this CPU has.
func TestLSTMSigmoidKernels(t *testing.T) {
	for _, k := range append(lstmKernels(), "go") {
		t.Run(k, func(t *testing.T) {
			defer useLSTMKernel(k)()
			checkLSTMSigmoid(t)
		})
	}
}

// sigmoidInputs are n float32 inputs from -100 to 100 with the values the
// kernels treat apart among them: the clamps at ±88 and either side,
// infinities, NaN, zeros, subnormals and large values.
func sigmoidInputs(r *rand.Rand, n int) []float32 {
	special := []float32{88, -88, 87.5, -87.5, 88.5, -88.5, 87.33, -87.33, 103.9, -103.9,
		float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 0, float32(math.Copysign(0, -1)),
		1e-45, -1e-45, 1e-30, -1e-30, 3e38, -3e38, 1e10, -1e10, 0.3465736, -0.3465736}
	x := make([]float32, n)
	for i := range x {
		if r.Intn(3) == 0 {
			x[i] = special[r.Intn(len(special))]
		} else {
			x[i] = float32(r.Float64()*200 - 100)
		}
	}
	return x
}

// checkSigmoidAt checks s = lstmSigmoid(x) element by element against
// float64's sigmoid, as TestLSTMSigmoid does (2e-7 relative from -80 on,
// at most 1e-34 below, NaN kept), and against the Go fallback
// (sigmoidGo32, float64 rounded once) within 2e-7 relative too.
func checkSigmoidAt(t *testing.T, what string, s, x []float32) {
	t.Helper()
	ref := make([]float32, len(x))
	sigmoidGo32(ref, x)
	for i, v := range x {
		got := float64(s[i])
		switch {
		case math.IsNaN(float64(v)):
			if !math.IsNaN(got) {
				t.Fatalf("%s: sigmoid(NaN) = %v, want NaN", what, got)
			}
			continue
		case v < -80:
			if got < 0 || got > 1e-34 {
				t.Fatalf("%s: sigmoid(%v) = %v, want at most 1e-34", what, v, got)
			}
			continue
		}
		want := 1 / (1 + math.Exp(-float64(v)))
		if e := math.Abs(got-want) / want; e > 2e-7 {
			t.Fatalf("%s: sigmoid(%v) = %v, float64 gives %v (relative error %.3g)", what, v, got, want, e)
		}
		if e := math.Abs(got-float64(ref[i])) / float64(ref[i]); e > 2e-7 {
			t.Fatalf("%s: sigmoid(%v) = %v, the Go fallback gives %v (relative %.3g)", what, v, got, ref[i], e)
		}
	}
}

// TestLSTMSigmoidTails runs lstmSigmoid on every length from 0 to 40 at
// offsets 0 to 3 (unaligned), out of place and in place, on each kernel:
// every element within checkSigmoidAt's bounds, nothing written outside
// the slice.
func TestLSTMSigmoidTails(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	const guard = 12345.5
	for _, k := range append(lstmKernels(), "go") {
		t.Run(k, func(t *testing.T) {
			defer useLSTMKernel(k)()
			for n := 0; n <= 40; n++ {
				for off := 0; off < 4; off++ {
					what := fmt.Sprintf("n %d, offset %d", n, off)
					x := sigmoidInputs(r, n+off+4)
					s := make([]float32, len(x))
					for i := range s {
						s[i] = guard
					}
					lstmSigmoid(s[off:off+n], x[off:off+n])
					checkSigmoidAt(t, what, s[off:off+n], x[off:off+n])
					for i := range s {
						if (i < off || i >= off+n) && s[i] != guard {
							t.Fatalf("%s: s[%d] = %v written outside the slice", what, i, s[i])
						}
					}
					in := append([]float32(nil), x...)
					lstmSigmoid(in[off:off+n], in[off:off+n])
					for i := range in {
						a, b := in[i], x[i]
						if i >= off && i < off+n {
							b = s[i]
						}
						if math.Float32bits(a) != math.Float32bits(b) {
							t.Fatalf("%s: in place, [%d] = %v, want %v", what, i, a, b)
						}
					}
				}
			}
		})
	}
}

// TestSigmoid32AVX2 checks that sigmoid32AVX2 gives sigmoid32AVX512's bits
// (NaN: a NaN) from -110 to 110 in steps of about 2e-4, on every float32
// from -90 to -86 (where 2^k leaves the normal range) and on the special
// inputs, where the CPU has both.
func TestSigmoid32AVX2(t *testing.T) {
	if !cpu.X86.HasAVX512F || !cpu.X86.HasAVX2 || !cpu.X86.HasFMA {
		t.Skip("needs AVX-512 and AVX2 with FMA")
	}
	var x []float32
	for v := -110.0; v <= 110; v += 0.000213 {
		x = append(x, float32(v))
	}
	for v := float32(-90); v <= -86; v = math.Nextafter32(v, 0) {
		x = append(x, v, -v)
	}
	x = append(x, sigmoidInputs(rand.New(rand.NewSource(6)), 4096)...)
	n := len(x) &^ 15
	x = x[:n]
	a, b := make([]float32, n), make([]float32, n)
	sigmoid32AVX2(&a[0], &x[0], n)
	sigmoid32AVX512(&b[0], &x[0], n)
	for i := range x {
		if math.IsNaN(float64(b[i])) {
			if !math.IsNaN(float64(a[i])) {
				t.Fatalf("sigmoid(%v) = %v, AVX-512 gives NaN", x[i], a[i])
			}
			continue
		}
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			t.Fatalf("sigmoid(%v) = %v (%#x), AVX-512 gives %v (%#x)", x[i], a[i], math.Float32bits(a[i]), b[i], math.Float32bits(b[i]))
		}
	}
}
