package ops

import (
	"math/rand"
	"testing"
)

// BenchmarkLSTMGates is the forward's gates for a core's share of the
// sequence benchmark's batch (16 examples, H 256, biases): lstmGatesPart
// once an example, as lstmForward32Batch at each step.
func BenchmarkLSTMGates(b *testing.B) {
	const nb, H = 16, 256
	GH := 4 * H
	r := rand.New(rand.NewSource(1))
	vec := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(r.Float64()*2 - 1)
		}
		return v
	}
	x, pr, wb, rb, cp := vec(nb*GH), vec(nb*GH), vec(GH), vec(GH), vec(nb*H)
	pre, post := make([]float32, nb*GH), make([]float32, nb*GH)
	cell, hc, h := make([]float32, nb*H), make([]float32, nb*H), make([]float32, nb*H)
	b.SetBytes(int64(4 * nb * GH))
	for b.Loop() {
		for e := range nb {
			o, u := e*GH, e*H
			lstmGatesPart(x[o:], wb, rb, pr[o:], 1, H, H, pre[o:], post[o:], cp[u:u+H],
				cell[u:u+H], hc[u:u+H], h[u:u+H], nil, nil, nil)
		}
	}
}
