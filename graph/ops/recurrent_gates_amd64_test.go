//go:build !purego

package ops

import (
	"fmt"
	"math"
	"math/rand"
	"slices"
	"testing"
)

// TestLSTMGatesFused checks that lstmGatesPart and lstmGatesY (h also
// into y) give the same bits with lstmGatesAVX512 as with the separate
// AVX-512 loops it replaces (lstmPreAVX512, sigmoid32AVX512,
// lstmCellAVX512, lstmHAVX512) and a copy of h, with and
// without biases, on unit counts with and without a tail of fewer than 16,
// the inputs spread over the sigmoid's clamp and holding NaN and infinities.
func TestLSTMGatesFused(t *testing.T) {
	if !slices.Contains(lstmKernels(), "avx512") {
		t.Skip("no AVX-512 on this CPU")
	}
	defer useLSTMKernel("avx512")()
	r := rand.New(rand.NewSource(3))
	vec := func(n int, scale float64) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(scale * (2*r.Float64() - 1))
		}
		return v
	}
	for _, H := range []int{16, 37, 48, 256} {
		for _, bias := range []bool{false, true} {
			t.Run(fmt.Sprintf("H%d/bias%v", H, bias), func(t *testing.T) {
				x, pr, cp := vec(4*H, 60), vec(4*H, 60), vec(H, 3)
				nan, inf := float32(math.NaN()), float32(math.Inf(1))
				for g := range 4 { // a NaN and infinities in each gate
					x[g*H+1+g], x[g*H+7+g], x[g*H+12-g] = nan, inf, -inf
				}
				cp[4], cp[9] = inf, nan
				var wb, rb []float32
				if bias {
					wb, rb = vec(4*H, 1), vec(4*H, 1)
				}
				run := func(fused, viaY bool) [][]float32 {
					defer func(f bool) { lstmGatesFused = f }(lstmGatesFused)
					lstmGatesFused = fused
					pre, post := make([]float32, 4*H), make([]float32, 4*H)
					cell, hc, h, y := make([]float32, H), make([]float32, H), make([]float32, H), make([]float32, H)
					if viaY {
						lstmGatesY(x, wb, rb, pr, H, pre, post, cp, cell, hc, h, y)
					} else {
						lstmGatesPart(x, wb, rb, pr, 1, H, H, pre, post, cp, cell, hc, h, nil, nil, nil)
						copy(y, h)
					}
					return [][]float32{pre, post, cell, hc, h, y}
				}
				want := run(false, false)
				for _, viaY := range []bool{false, true} {
					got := run(true, viaY)
					for k, name := range []string{"pre", "post", "cell", "hc", "h", "y"} {
						for i := range want[k] {
							if math.Float32bits(got[k][i]) != math.Float32bits(want[k][i]) {
								t.Fatalf("lstmGatesY %v: %s[%d] = %v, the separate loops give %v", viaY, name, i, got[k][i], want[k][i])
							}
						}
					}
				}
			})
		}
	}
}
