package ops

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"golang.org/x/sys/cpu"
)

// TestLSTMCellVec checks lstmGatesPart with its cell and state loops in
// assembly (lstmCellVec, lstmHVec: AVX-512 and AVX2, those this CPU and
// build have) against the same with the Go loops: every output bit for
// bit, for every unit count from 1 to 160 (below, at and past multiples of
// 8 and 16), with and without biases and peepholes, inputs spanning the
// gates' range (saturated sigmoids included).
func TestLSTMCellVec(t *testing.T) {
	defer func(a, b bool) { lstmCellAsm, lstmCell8 = a, b }(lstmCellAsm, lstmCell8)
	type mode struct {
		name        string
		asm, asm8   bool
		unavailable bool
	}
	modes := []mode{
		{"avx512", true, false, !cpu.X86.HasAVX512F || !lstmCellBuild},
		{"avx2", false, true, !cpu.X86.HasAVX2 || !lstmCellBuild},
	}
	const H = 160
	r := rand.New(rand.NewSource(9))
	vec := func(n int, scale float64) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(scale * (2*r.Float64() - 1))
		}
		return v
	}
	for _, m := range modes {
		if m.unavailable {
			continue
		}
		for hw := 1; hw <= H; hw++ {
			for _, extra := range []bool{false, true} {
				name := fmt.Sprintf("%s_%d_%v", m.name, hw, extra)
				x, rt, cp := vec(4*H, 6), vec(4*hw, 3), vec(hw, 2)
				var wb, rb, pi, po, pf []float32
				if extra {
					wb, rb, pi, po, pf = vec(4*H, 1), vec(4*H, 1), vec(hw, 1), vec(hw, 1), vec(hw, 1)
				}
				run := func(asm, asm8 bool) [][]float32 {
					lstmCellAsm, lstmCell8 = asm, asm8
					pre, post := make([]float32, 4*H), make([]float32, 4*H)
					cell, hc, h := make([]float32, hw), make([]float32, hw), make([]float32, hw)
					lstmGatesPart(x, wb, rb, rt, 1, hw, H, pre, post, cp, cell, hc, h, pi, po, pf)
					return [][]float32{pre, post, cell, hc, h}
				}
				want, got := run(false, false), run(m.asm, m.asm8)
				for k := range want {
					for i := range want[k] {
						if math.Float32bits(got[k][i]) != math.Float32bits(want[k][i]) {
							t.Fatalf("%s: output %d [%d] = %v, the Go loops give %v", name, k, i, got[k][i], want[k][i])
						}
					}
				}
			}
		}
	}
}
