//go:build !purego

package ops

// lstmGatesAVX512 is lstmGatesPart without peepholes for n units, a
// multiple of 16, the product's units consecutive and its gates H apart,
// that also stores h into y: see the assembly.
//
//go:noescape
func lstmGatesAVX512(x, wb, rb, r, pre, post, cp, cell, hc, h, y *float32, H, n, bias int)

// lstmGatesFused says whether lstmGatesVec runs lstmGatesAVX512 when the
// gates' separate AVX-512 loops would run (a variable so that tests can
// compare it with them).
var lstmGatesFused = true

// lstmGatesVec runs lstmGatesAVX512 on the first units of lstmGatesPart's
// slices when it can (AVX-512's loops, no peepholes, rs 1 and gr H) and
// returns how many it did: a multiple of 16, else 0. It also copies those
// units of h into y (y h itself for no copy).
func lstmGatesVec(x, wb, rb, r []float32, rs, gr, H int, pre, post, cp, cell, hc, h, y []float32) int {
	n := len(cp) &^ 15
	if !lstmGatesFused || !lstmPreAsm || !lstmSigmoidAsm || !lstmCellAsm || rs != 1 || gr != H || n == 0 {
		return 0
	}
	_, _, _ = x[3*H+n-1], r[3*H+n-1], pre[3*H+n-1]
	_, _, _, _, _, _ = post[3*H+n-1], cp[n-1], cell[n-1], hc[n-1], h[n-1], y[n-1]
	bias := 0
	var pw, pr *float32
	if wb != nil {
		_, _ = wb[3*H+n-1], rb[3*H+n-1]
		bias, pw, pr = 1, &wb[0], &rb[0]
	}
	lstmGatesAVX512(&x[0], pw, pr, &r[0], &pre[0], &post[0], &cp[0], &cell[0], &hc[0], &h[0], &y[0], H, n, bias)
	return n
}
