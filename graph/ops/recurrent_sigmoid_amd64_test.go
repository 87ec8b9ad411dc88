//go:build !purego

package ops

import (
	"math"
	"math/rand"
	"testing"
)

// TestLSTMGradVec checks that lstmGatesGradPart gives the same bits with
// its AVX-512 and AVX2 loops as with the Go loop alone (37 units: vectors
// and a tail).
func TestLSTMGradVec(t *testing.T) {
	if len(lstmKernels()) == 0 {
		t.Skip("no AVX2 or AVX-512 on this CPU")
	}
	const hw, H = 37, 45
	r := rand.New(rand.NewSource(1))
	vec := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(r.Float64()*2 - 1)
		}
		return v
	}
	dh, dc, post, cp, cell, hc := vec(hw), vec(hw), vec(4*H), vec(hw), vec(hw), vec(hw)
	run := func(k string) ([]float32, []float32) {
		defer useLSTMKernel(k)()
		c, dx := append([]float32(nil), dc...), make([]float32, 4*H)
		lstmGatesGradPart(dh, c, post, cp, cell, hc, dx, H, nil, nil, nil, nil, nil, nil)
		return c, dx
	}
	c0, dx0 := run("go")
	for _, k := range lstmKernels() {
		c1, dx1 := run(k)
		for i := range c0 {
			if c1[i] != c0[i] {
				t.Fatalf("%s: dc[%d] = %v, the Go loop gives %v", k, i, c1[i], c0[i])
			}
		}
		for i := range dx0 {
			if dx1[i] != dx0[i] {
				t.Fatalf("%s: dx[%d] = %v, the Go loop gives %v", k, i, dx1[i], dx0[i])
			}
		}
	}
}

// TestLSTMPreVec checks that lstmGatesPart's pre-activations give the
// same bits with lstmPreAVX512 and with lstmPreAVX2 as with the Go loop
// alone (37 units: vectors and a tail), with and without biases, the
// product's elements 1 and 5 apart. The gates' sigmoids are the same
// kernel's in both runs.
func TestLSTMPreVec(t *testing.T) {
	if len(lstmKernels()) == 0 {
		t.Skip("no AVX2 or AVX-512 on this CPU")
	}
	const hw, H = 37, 45
	r := rand.New(rand.NewSource(2))
	vec := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(r.Float64()*8 - 4)
		}
		return v
	}
	x, wb, rb, cp := vec(4*H), vec(4*H), vec(4*H), vec(hw)
	for _, rs := range []int{1, 5} {
		rt := vec(4 * hw * rs)
		for _, bias := range []bool{false, true} {
			run := func(k string, vec bool) [][]float32 {
				defer useLSTMKernel(k)()
				if !vec {
					lstmPreAsm, lstmPre8 = false, false
				}
				pre, post := make([]float32, 4*H), make([]float32, 4*H)
				cell, hc, h := make([]float32, hw), make([]float32, hw), make([]float32, hw)
				w, b := wb, rb
				if !bias {
					w, b = nil, nil
				}
				lstmGatesPart(x, w, b, rt, rs, hw*rs, H, pre, post, cp, cell, hc, h, nil, nil, nil)
				return [][]float32{pre, post, cell, hc, h}
			}
			for _, kn := range lstmKernels() {
				got, want := run(kn, true), run(kn, false)
				for k := range want {
					for i := range want[k] {
						if math.Float32bits(got[k][i]) != math.Float32bits(want[k][i]) {
							t.Fatalf("%s: rs %d, bias %v: output %d [%d] = %v, the Go loop gives %v", kn, rs, bias, k, i, got[k][i], want[k][i])
						}
					}
				}
			}
		}
	}
}

// TestAddTo checks addTo's AVX-512 and AVX2 loops against the Go loop,
// bit for bit, on lengths around their 16 and 8 lanes.
func TestAddTo(t *testing.T) {
	r := rand.New(rand.NewSource(4))
	for _, n := range []int{0, 5, 8, 13, 16, 37, 512} {
		src, dst := make([]float32, n), make([]float32, n+3)
		for i := range src {
			src[i] = float32(r.NormFloat64())
		}
		for i := range dst {
			dst[i] = float32(r.NormFloat64())
		}
		run := func(k string) []float32 {
			defer useLSTMKernel(k)()
			d := append([]float32(nil), dst...)
			addTo(d, src)
			return d
		}
		want := run("go")
		for _, k := range lstmKernels() {
			got := run(k)
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("%s: n %d: [%d] = %v, the Go loop gives %v", k, n, i, got[i], want[i])
				}
			}
		}
		if n > 0 && want[0] != dst[0]+src[0] {
			t.Fatalf("n %d: [0] = %v, want %v", n, want[0], dst[0]+src[0])
		}
	}
}
