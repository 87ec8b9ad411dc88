package ops

import (
	"fmt"
	"math"
	"math/rand"
	"testing"
)

// TestLSTMCellVec checks lstmGatesPart with its cell and state loops in
// AVX-512 (lstmCellVec, lstmHVec) against the same with the Go loops: every
// output bit for bit, for unit counts below, at and past multiples of 16,
// with and without biases and peepholes, inputs spanning the gates' range
// (saturated sigmoids included).
func TestLSTMCellVec(t *testing.T) {
	defer func(old bool) { lstmCellAsm = old }(lstmCellAsm)
	const H = 160
	r := rand.New(rand.NewSource(9))
	vec := func(n int, scale float64) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(scale * (2*r.Float64() - 1))
		}
		return v
	}
	for _, hw := range []int{1, 15, 16, 33, 64, 130, 160} {
		for _, extra := range []bool{false, true} {
			t.Run(fmt.Sprintf("%d_%v", hw, extra), func(t *testing.T) {
				x, rt, cp := vec(4*H, 6), vec(4*hw, 3), vec(hw, 2)
				var wb, rb, pi, po, pf []float32
				if extra {
					wb, rb, pi, po, pf = vec(4*H, 1), vec(4*H, 1), vec(hw, 1), vec(hw, 1), vec(hw, 1)
				}
				run := func(asm bool) [][]float32 {
					lstmCellAsm = asm
					pre, post := make([]float32, 4*H), make([]float32, 4*H)
					cell, hc, h := make([]float32, hw), make([]float32, hw), make([]float32, hw)
					lstmGatesPart(x, wb, rb, rt, 1, hw, H, pre, post, cp, cell, hc, h, pi, po, pf)
					return [][]float32{pre, post, cell, hc, h}
				}
				want, got := run(false), run(true)
				for k := range want {
					for i := range want[k] {
						if math.Float32bits(got[k][i]) != math.Float32bits(want[k][i]) {
							t.Fatalf("output %d [%d] = %v, the Go loops give %v", k, i, got[k][i], want[k][i])
						}
					}
				}
			})
		}
	}
}
