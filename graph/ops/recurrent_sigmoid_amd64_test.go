//go:build !purego

package ops

import (
	"math/rand"
	"testing"
)

// TestLSTMGradVec checks that lstmGatesGradPart gives the same bits with
// and without its AVX-512 loop (37 units: two vectors and a tail).
func TestLSTMGradVec(t *testing.T) {
	if !lstmSigmoidAsm {
		t.Skip("no AVX-512 on this CPU")
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
	run := func(asm bool) ([]float32, []float32) {
		defer func(v bool) { lstmSigmoidAsm = v }(lstmSigmoidAsm)
		lstmSigmoidAsm = asm
		c, dx := append([]float32(nil), dc...), make([]float32, 4*H)
		lstmGatesGradPart(dh, c, post, cp, cell, hc, dx, H, nil, nil, nil, nil, nil, nil)
		return c, dx
	}
	c1, dx1 := run(true)
	c0, dx0 := run(false)
	for i := range c0 {
		if c1[i] != c0[i] {
			t.Fatalf("dc[%d] = %v, the Go loop gives %v", i, c1[i], c0[i])
		}
	}
	for i := range dx0 {
		if dx1[i] != dx0[i] {
			t.Fatalf("dx[%d] = %v, the Go loop gives %v", i, dx1[i], dx0[i])
		}
	}
}
