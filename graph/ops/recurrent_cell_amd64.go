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

// lstmCellAVX2 and lstmHAVX2 are lstmCellAVX512 and lstmHAVX512 on 8
// lanes: n a multiple of 8.
//
//go:noescape
func lstmCellAVX2(i, f, gg, cp, cell, hc *float32, n int)

//go:noescape
func lstmHAVX2(o, hc, h *float32, n int)

// lstmCellBuild says that this build has the assembly loops.
const lstmCellBuild = true

// lstmCellAsm says whether lstmCellVec and lstmHVec run their AVX-512
// loops: where the CPU has AVX-512 and the matrix products use it, as the
// gates' other kernels (a variable so that tests can compare them with
// the Go loops).
var lstmCellAsm = cpu.X86.HasAVX512F && gemmKernelName() == "avx512"

// lstmCell8 says whether they run their AVX2 loops when not the AVX-512
// ones: as lstmAVX2 (the products run the AVX2 kernel).
var lstmCell8 = lstmAVX2

// lstmCellVec runs lstmCellAVX512 on the first units of lstmGatesPart's
// slices (all of length len(g)) and returns how many it did: a multiple
// of 16; else with lstmCell8 lstmCellAVX2's, a multiple of 8; else 0 (the
// Go loop does the rest).
func lstmCellVec(i, f, g, cp, cell, hc []float32) int {
	w := 16
	if !lstmCellAsm {
		if !lstmCell8 {
			return 0
		}
		w = 8
	}
	n := len(g) &^ (w - 1)
	if n == 0 {
		return 0
	}
	_, _, _, _, _ = i[n-1], f[n-1], cp[n-1], cell[n-1], hc[n-1]
	if w == 16 {
		lstmCellAVX512(&i[0], &f[0], &g[0], &cp[0], &cell[0], &hc[0], n)
	} else {
		lstmCellAVX2(&i[0], &f[0], &g[0], &cp[0], &cell[0], &hc[0], n)
	}
	return n
}

// lstmHVec runs lstmHAVX512 (or lstmHAVX2) on the first units of
// lstmGatesPart's slices (of length len(hc)) and returns how many it did,
// as lstmCellVec.
func lstmHVec(o, hc, h []float32) int {
	w := 16
	if !lstmCellAsm {
		if !lstmCell8 {
			return 0
		}
		w = 8
	}
	n := len(hc) &^ (w - 1)
	if n == 0 {
		return 0
	}
	_, _ = o[n-1], h[n-1]
	if w == 16 {
		lstmHAVX512(&o[0], &hc[0], &h[0], n)
	} else {
		lstmHAVX2(&o[0], &hc[0], &h[0], n)
	}
	return n
}
