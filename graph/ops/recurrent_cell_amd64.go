//go:build !purego

package ops

import "golang.org/x/sys/cpu"

// lstmCellAVX512 is lstmGatesPart's loop from the candidate gate to the
// cell for n units, a multiple of 16: see the assembly.
//
//go:noescape
func lstmCellAVX512(i, f, gg, cp, cell, hc *float32, n int)

// lstmHAVX512 is lstmGatesPart's last loop (tanh of the cell from the
// sigmoid of twice it, and the new state) for n units, a multiple of 16.
//
//go:noescape
func lstmHAVX512(o, hc, h *float32, n int)

// lstmCellAsm says whether lstmCellVec and lstmHVec run their AVX-512
// loops: where the CPU has AVX-512 and the matrix products use it, as the
// gates' other kernels (a variable so that tests can compare them with
// the Go loops).
var lstmCellAsm = cpu.X86.HasAVX512F && gemmKernelName() == "avx512"

// lstmCellVec runs lstmCellAVX512 on the first units of lstmGatesPart's
// slices (all of length len(g)) and returns how many it did: a multiple
// of 16, 0 without AVX-512 (the Go loop does the rest).
func lstmCellVec(i, f, g, cp, cell, hc []float32) int {
	n := len(g) &^ 15
	if !lstmCellAsm || n == 0 {
		return 0
	}
	_, _, _, _, _ = i[n-1], f[n-1], cp[n-1], cell[n-1], hc[n-1]
	lstmCellAVX512(&i[0], &f[0], &g[0], &cp[0], &cell[0], &hc[0], n)
	return n
}

// lstmHVec runs lstmHAVX512 on the first units of lstmGatesPart's slices
// (of length len(hc)) and returns how many it did, as lstmCellVec.
func lstmHVec(o, hc, h []float32) int {
	n := len(hc) &^ 15
	if !lstmCellAsm || n == 0 {
		return 0
	}
	_, _ = o[n-1], h[n-1]
	lstmHAVX512(&o[0], &hc[0], &h[0], n)
	return n
}
