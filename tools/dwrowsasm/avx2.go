package main

import "fmt"

// The AVX2 row kernels (8-lane vectors, 16 ymm registers): dwRows8AVX2,
// dwRows16AVX2 and dwRows32AVX2, dwPlane4AVX2, dwPlane2AVX2, dwRows16S2AVX2,
// dwRows32S2AVX2, dwPlane8S2AVX2 and dwPlane4S2AVX2, for machines without AVX-512 (or with
// ONNXTUNE_GEMM=avx2), where the 3x3 layers otherwise run dwTapsAVX2
// (stride 1), dwPairsAVX2 and dwGatherAVX2 (stride 2): one sum in flight,
// every tap a masked load or a gather.

// ymm is ymm register i.
func ymm(i int) string { return fmt.Sprintf("Y%d", i) }

const rowsAVX2Doc = `// func dwRows%[1]dAVX2(y, x *float32, steps, h int, w, bias *float32, lo, hi float32, clip bool) bool
// dwTapsAVX2 for 3x3 windows over planes of rows of %[1]d (%[2]d vectors of 8 a
// row, h rows, a multiple of %[3]d), stride 1, padding 1 on every side, one
// channel a step: bands of %[3]d output rows, eight sums in flight (Y0-Y7,
// row r's vector v in Y(%[2]d*r+v)). Each input row's vector is loaded once
// with its left and right taps (Y8 left, Y9 centre, Y10 right; the taps
// that cross the row's ends are masked loads, Y11 and Y12 the masks, the
// padding lanes reading +0 as dwTapsAVX2's masked loads do) and feeds the
// three output rows that read it; the rows above and below the plane are
// the zero vector Y13. Per output vector the sums are dwTapsAVX2's: the
// bias, then the taps in order (kh, then kw), each an FMA with the weight
// broadcast from the weight tensor (Y14, Y15). With clip, each sum is
// clamped to [lo, hi] (NaN kept: given a NaN, VMAXPS and VMINPS return
// their second source in Intel's order, the sum) and the result reports
// whether one equalled a bound exactly.
//
// SI the step's input plane, DI its output, R10 and R12 its weights and
// bias, BX the steps left, AX and DX the band's first input and output
// rows, CX the bands left, R13 the plane's bytes.`

// masksAVX2 writes the two lane masks of the row kernels' edge loads.
func (a *asm) masksAVX2() {
	a.p("")
	a.p("// rowsLeft8 keeps lanes 1-7 of a load (a row's left taps), rowsRight8")
	a.p("// lanes 0-6 (its right taps).")
	for i := range 8 {
		v := "$0xffffffff"
		if i == 0 {
			v = "$0"
		}
		a.p("DATA rowsLeft8<>+%d(SB)/4, %s", 4*i, v)
	}
	a.p("GLOBL rowsLeft8<>(SB), RODATA|NOPTR, $32")
	for i := range 8 {
		v := "$0xffffffff"
		if i == 7 {
			v = "$0"
		}
		a.p("DATA rowsRight8<>+%d(SB)/4, %s", 4*i, v)
	}
	a.p("GLOBL rowsRight8<>(SB), RODATA|NOPTR, $32")
	a.p("// rowsLeft2 keeps lanes 2-7 (the left taps of a row's first inputs at")
	a.p("// stride 2).")
	for i := range 8 {
		v := "$0xffffffff"
		if i < 2 {
			v = "$0"
		}
		a.p("DATA rowsLeft2<>+%d(SB)/4, %s", 4*i, v)
	}
	a.p("GLOBL rowsLeft2<>(SB), RODATA|NOPTR, $32")
}

// rowsAVX2 writes dwRows8AVX2 (v 1), dwRows16AVX2 (v 2) or dwRows32AVX2
// (v 4): rows of v vectors of 8, bands of 8/v output rows.
func (a *asm) rowsAVX2(v int) {
	w := 8 * v   // floats a row
	nr := 8 / v  // rows a band
	rb := 32 * v // bytes a row
	p := fmt.Sprintf("a%d", w)
	shift := map[int]int{1: 5, 2: 6, 4: 7}[v] // h << shift: a plane's bytes
	a.p("")
	a.text(fmt.Sprintf(rowsAVX2Doc, w, v, nr))
	a.p("TEXT ·dwRows%dAVX2(SB), NOSPLIT, $0-65", w)
	a.args(shift)
	a.p("\tVPXOR        Y13, Y13, Y13")
	a.p("\tVMOVDQU      rowsLeft8<>(SB), Y11")
	a.p("\tVMOVDQU      rowsRight8<>(SB), Y12")
	a.stepHead(p)
	a.p("\tMOVQ         SI, AX")
	a.p("\tMOVQ         DI, DX")
	a.p("\tMOVQ         h+24(FP), CX")
	a.p("\tSHRQ         $%d, CX", map[int]int{1: 3, 2: 2, 4: 1}[v])
	a.p("\n%sband:", p)
	a.p("\tVBROADCASTSS (R12), Y0")
	for i := 1; i < 8; i++ {
		a.p("\tVMOVAPS      Y0, %s", ymm(i))
	}
	wt := 0 // alternates the weight's register
	// row feeds input row j of the band (-1 the one above, nr the one
	// below) to the output rows that read it; zero: the row is padding.
	row := func(j int, zero bool) {
		for vi := range v {
			srcs := [3]string{"Y13", "Y13", "Y13"}
			if !zero {
				base := rb*j + 32*vi
				if vi == 0 {
					a.p("\tVMASKMOVPS   %d(AX), Y11, Y8", base-4)
				} else {
					a.p("\tVMOVUPS      %d(AX), Y8", base-4)
				}
				a.p("\tVMOVUPS      %d(AX), Y9", base)
				if vi == v-1 {
					a.p("\tVMASKMOVPS   %d(AX), Y12, Y10", base+4)
				} else {
					a.p("\tVMOVUPS      %d(AX), Y10", base+4)
				}
				srcs = [3]string{"Y8", "Y9", "Y10"}
			}
			for kh, r := range []int{j + 1, j, j - 1} {
				if r < 0 || r >= nr {
					continue
				}
				for kw, src := range srcs {
					t := ymm(14 + wt)
					wt ^= 1
					a.p("\tVBROADCASTSS %d(R10), %s", 4*(3*kh+kw), t)
					a.p("\tVFMADD231PS  %s, %s, %s", src, t, ymm(r*v+vi))
				}
			}
		}
	}
	// The row above the band: zero for the plane's first band.
	a.p("\tCMPQ         AX, SI")
	a.p("\tJEQ          %stopz", p)
	row(-1, false)
	a.p("\tJMP          %stop", p)
	a.p("\n%stopz:", p)
	row(-1, true)
	a.p("\n%stop:", p)
	for j := range nr {
		row(j, false)
	}
	// The row below the band: zero for the plane's last band.
	a.p("\tCMPQ         CX, $1")
	a.p("\tJEQ          %sbotz", p)
	row(nr, false)
	a.p("\tJMP          %sbot", p)
	a.p("\n%sbotz:", p)
	row(nr, true)
	a.p("\n%sbot:", p)
	a.clipStoreAVX2(p, 8, func(i int) string { return fmt.Sprintf("%d(DX)", rb*(i/v)+32*(i%v)) })
	a.p("\tADDQ         $%d, AX", rb*nr)
	a.p("\tADDQ         $%d, DX", rb*nr)
	a.p("\tDECQ         CX")
	a.p("\tJNZ          %sband", p)
	a.p("\tADDQ         R13, SI")
	a.p("\tADDQ         R13, DI")
	a.nextStep(p)
}

// clipStoreAVX2 stores the n sums Y0, Y1..., sum i at dst(i); with clip,
// first clamps them to [lo, hi] (Y8, Y9; NaN kept: given a NaN, VMAXPS and
// VMINPS return their second source in Intel's order, the sum) and sets the
// result if a lane equalled a bound exactly (Y10 gathers the lanes that
// did). Y8-Y10, Y14 and Y15 are free here.
func (a *asm) clipStoreAVX2(p string, n int, dst func(int) string) {
	a.p("\tCMPB         clip+56(FP), $0")
	a.p("\tJEQ          %sstore", p)
	a.p("\tVBROADCASTSS lo+48(FP), Y8")
	a.p("\tVBROADCASTSS hi+52(FP), Y9")
	a.p("\tVXORPS       Y10, Y10, Y10")
	for i := range n {
		acc := ymm(i)
		a.p("\tVCMPPS       $0x00, Y8, %s, Y14", acc)
		a.p("\tVCMPPS       $0x00, Y9, %s, Y15", acc)
		a.p("\tVORPS        Y14, Y10, Y10")
		a.p("\tVORPS        Y15, Y10, Y10")
		a.p("\tVMAXPS       %s, Y8, %s", acc, acc)
		a.p("\tVMINPS       %s, Y9, %s", acc, acc)
	}
	a.p("\tVPTEST       Y10, Y10")
	a.p("\tJZ           2(PC)")
	a.p("\tMOVB         $1, ret+64(FP)")
	a.p("\n%sstore:", p)
	for i := range n {
		a.p("\tVMOVUPS      %s, %s", ymm(i), dst(i))
	}
}

const plane4AVX2Doc = `// func dwPlane4AVX2(y, x *float32, steps, h int, w, bias *float32, lo, hi float32, clip bool) bool
// dwRows8AVX2 for 4x4 planes (h 4): a plane is two vectors P0 (rows 0 and
// 1, Y8) and P1 (rows 2 and 3, Y9), loaded once. An output vector's rows
// above and below are VPERM2F128s of them (M, rows 1 and 2, in Y13; rows
// -1 and 0, and 3 and 4, zero rows beyond the plane, in Y10), and a
// source's left and right taps shifts by one element within each row
// (VPSLLDQ and VPSRLDQ: a 128-bit lane is a row, the lane that would cross
// it +0; Y11 and Y12). Four channels at a time (Y0-Y7 their sums, channel
// c's vector q in Y(2c+q)) while four are left, then one; the sums are
// dwTapsAVX2's.`

// plane4AVX2 writes dwPlane4AVX2.
func (a *asm) plane4AVX2() {
	const p = "a4"
	a.p("")
	a.text(plane4AVX2Doc)
	a.p("TEXT ·dwPlane4AVX2(SB), NOSPLIT, $0-65")
	a.args(0)
	wt := 0
	// channel adds channel c's nine taps to its two sums.
	channel := func(c int) {
		a.p("\tVBROADCASTSS %d(R12), %s", 4*c, ymm(2*c))
		a.p("\tVMOVAPS      %s, %s", ymm(2*c), ymm(2*c+1))
		a.p("\tVMOVUPS      %d(SI), Y8", 64*c)
		a.p("\tVMOVUPS      %d(SI), Y9", 64*c+32)
		a.p("\tVPERM2F128   $0x21, Y9, Y8, Y13")
		for q := range 2 {
			for kh := range 3 {
				var s string
				switch {
				case kh == 1:
					s = ymm(8 + q)
				case q == 0 && kh == 2 || q == 1 && kh == 0:
					s = "Y13"
				case q == 0:
					a.p("\tVPERM2F128   $0x08, Y8, Y8, Y10")
					s = "Y10"
				default:
					a.p("\tVPERM2F128   $0x81, Y9, Y9, Y10")
					s = "Y10"
				}
				a.p("\tVPSLLDQ      $4, %s, Y11", s)
				a.p("\tVPSRLDQ      $4, %s, Y12", s)
				for kw, src := range []string{"Y11", s, "Y12"} {
					t := ymm(14 + wt)
					wt ^= 1
					a.p("\tVBROADCASTSS %d(R10), %s", 36*c+4*(3*kh+kw), t)
					a.p("\tVFMADD231PS  %s, %s, %s", src, t, ymm(2*c+q))
				}
			}
		}
	}
	a.quadLoops(p, "", 2, 64, 1, channel)
}

const rowsS2AVX2Doc = `// func dwRows%[1]dS2AVX2(y, x *float32, steps, h int, w, bias *float32, lo, hi float32, clip bool) bool
// dwPairsAVX2 for 3x3 windows at stride 2 from planes of rows of %[1]d (h
// rows, a multiple of %[4]d) onto rows of %[2]d (%[3]d vectors of 8 a row), padding 1
// above and on the left, one channel a step: bands of %[5]d output rows, eight
// sums in flight (Y0-Y7, row r's vector v in Y(%[3]d*r+v)). An input row's 16
// inputs under an output vector are loaded once (two vectors) and split
// into their even (Y8, the centre taps) and odd ones (Y9, the right taps)
// by VSHUFPS and VPERMPD; the left taps (Y10) are the odd ones of the 16
// inputs two before (a masked load at the row's start, Y13 its mask: the
// padding lane +0, as dwPairsAVX2's masked loads give). Each input row
// feeds the (one or two) output rows that read it; the row above the plane
// is zero. The sums are dwPairsAVX2's: the bias, then the taps in order
// (kh, then kw), each an FMA with the weight broadcast from the weight
// tensor (Y14, Y15); the clamp and its report as dwRows16AVX2's.
//
// SI the step's input plane, DI its output, R10 and R12 its weights and
// bias, BX the steps left, AX and DX the band's first input and output
// rows, CX the bands left, R13 the input plane's bytes, R9 the output's.`

// rowsS2AVX2 writes dwRows16S2AVX2 (v 1) or dwRows32S2AVX2 (v 2): stride 2
// from rows of 16v onto rows of v vectors of 8, bands of 8/v output rows.
func (a *asm) rowsS2AVX2(v int) {
	win := 16 * v // input floats a row
	nr := 8 / v   // output rows a band
	rbi := 64 * v // input bytes a row
	rbo := 32 * v // output bytes a row
	p := fmt.Sprintf("a%ds2", win)
	shift := map[int]int{1: 6, 2: 7}[v] // h << shift: the input plane's bytes
	a.p("")
	a.text(fmt.Sprintf(rowsS2AVX2Doc, win, 8*v, v, 2*nr, nr))
	a.p("TEXT ·dwRows%dS2AVX2(SB), NOSPLIT, $0-65", win)
	a.args(shift)
	a.p("\tMOVQ         R13, R9")
	a.p("\tSHRQ         $2, R9")
	a.p("\tVMOVDQU      rowsLeft2<>(SB), Y13")
	a.stepHead(p)
	a.p("\tMOVQ         SI, AX")
	a.p("\tMOVQ         DI, DX")
	a.p("\tMOVQ         h+24(FP), CX")
	a.p("\tSHRQ         $%d, CX", map[int]int{1: 4, 2: 3}[v])
	a.p("\n%sband:", p)
	a.p("\tVBROADCASTSS (R12), Y0")
	for i := 1; i < 8; i++ {
		a.p("\tVMOVAPS      Y0, %s", ymm(i))
	}
	wt := 0
	// row feeds input row j of the band (relative to the band's first, -1
	// the one above) to the output rows that read it; zero: the row is
	// padding.
	row := func(j int, zero bool) {
		for vi := range v {
			srcs := [3]string{"Y11", "Y11", "Y11"}
			if zero {
				a.p("\tVXORPS       Y11, Y11, Y11")
			} else {
				base := rbi*j + 64*vi
				a.p("\tVMOVUPS      %d(AX), Y11", base)
				a.p("\tVMOVUPS      %d(AX), Y12", base+32)
				a.p("\tVSHUFPS      $0x88, Y12, Y11, Y8")
				a.p("\tVPERMPD      $0xd8, Y8, Y8")
				a.p("\tVSHUFPS      $0xdd, Y12, Y11, Y9")
				a.p("\tVPERMPD      $0xd8, Y9, Y9")
				if vi == 0 {
					a.p("\tVMASKMOVPS   %d(AX), Y13, Y11", base-8)
				} else {
					a.p("\tVMOVUPS      %d(AX), Y11", base-8)
				}
				a.p("\tVMOVUPS      %d(AX), Y12", base+24)
				a.p("\tVSHUFPS      $0xdd, Y12, Y11, Y10")
				a.p("\tVPERMPD      $0xd8, Y10, Y10")
				srcs = [3]string{"Y10", "Y8", "Y9"}
			}
			for kh := range 3 {
				// Output row o reads input rows 2o-1+kh.
				if (j+1-kh)%2 != 0 {
					continue
				}
				o := (j + 1 - kh) / 2
				if o < 0 || o >= nr {
					continue
				}
				for kw, src := range srcs {
					t := ymm(14 + wt)
					wt ^= 1
					a.p("\tVBROADCASTSS %d(R10), %s", 4*(3*kh+kw), t)
					a.p("\tVFMADD231PS  %s, %s, %s", src, t, ymm(o*v+vi))
				}
			}
		}
	}
	// The row above the band: zero for the plane's first band.
	a.p("\tCMPQ         AX, SI")
	a.p("\tJEQ          %stopz", p)
	row(-1, false)
	a.p("\tJMP          %stop", p)
	a.p("\n%stopz:", p)
	row(-1, true)
	a.p("\n%stop:", p)
	for j := range 2 * nr {
		row(j, false)
	}
	a.clipStoreAVX2(p, 8, func(i int) string { return fmt.Sprintf("%d(DX)", rbo*(i/v)+32*(i%v)) })
	a.p("\tADDQ         $%d, AX", 2*rbi*nr)
	a.p("\tADDQ         $%d, DX", rbo*nr)
	a.p("\tDECQ         CX")
	a.p("\tJNZ          %sband", p)
	a.p("\tADDQ         R13, SI")
	a.p("\tADDQ         R9, DI")
	a.nextStep(p)
}

const plane2AVX2Doc = `// func dwPlane2AVX2(y, x *float32, steps, h int, w, bias *float32, lo, hi float32, clip bool) bool
// dwTapsAVX2 for 2x2 planes (h 2) of two channels a step (a vector, P in
// Y4: a 128-bit lane a channel's plane): the rows above and below a
// plane's are in-lane shifts of P by two elements (Y5), a source's left
// and right taps shifts by one with the element that would cross a row
// zeroed (VBLENDPS with the zero vector Y8; Y6 and Y7). The weights and
// bias of a lane are its channel's, two broadcasts joined by VINSERTF128
// (Y12-Y15). Four steps at a time (Y0-Y3 their sums) while four are left,
// then one; the sums are dwTapsAVX2's.`

// plane2AVX2 writes dwPlane2AVX2.
func (a *asm) plane2AVX2() {
	const p = "a2"
	a.p("")
	a.text(plane2AVX2Doc)
	a.p("TEXT ·dwPlane2AVX2(SB), NOSPLIT, $0-65")
	a.args(0)
	wt := 0
	// pair broadcasts the two channels' values at off(base) and off+step
	// into the halves of dst.
	pair := func(base string, off, step int, dst string) {
		t := ymm(12 + 2*wt)
		wt ^= 1
		a.p("\tVBROADCASTSS %d(%s), X%s", off, base, dst[1:])
		a.p("\tVBROADCASTSS %d(%s), X%s", off+step, base, t[1:])
		a.p("\tVINSERTF128  $1, X%s, %s, %s", t[1:], dst, dst)
	}
	// step adds step k's nine taps to its sum Y(k).
	step := func(k int) {
		acc := ymm(k)
		pair("R12", 8*k, 4, acc)
		a.p("\tVMOVUPS      %d(SI), Y4", 32*k)
		for kh := range 3 {
			s := "Y4"
			switch kh {
			case 0:
				a.p("\tVPSLLDQ      $8, Y4, Y5")
				s = "Y5"
			case 2:
				a.p("\tVPSRLDQ      $8, Y4, Y5")
				s = "Y5"
			}
			a.p("\tVPSLLDQ      $4, %s, Y6", s)
			a.p("\tVBLENDPS     $0x44, Y8, Y6, Y6")
			a.p("\tVPSRLDQ      $4, %s, Y7", s)
			a.p("\tVBLENDPS     $0x22, Y8, Y7, Y7")
			for kw, src := range []string{"Y6", s, "Y7"} {
				wr := ymm(13 + 2*wt)
				pair("R10", 72*k+4*(3*kh+kw), 36, wr)
				a.p("\tVFMADD231PS  %s, %s, %s", src, wr, acc)
			}
		}
	}
	a.quadLoops(p, "VPXOR        Y8, Y8, Y8", 1, 32, 2, step)
}

const plane8S2AVX2Doc = `// func dwPlane8S2AVX2(y, x *float32, steps, h int, w, bias *float32, lo, hi float32, clip bool) bool
// dwGatherAVX2 for 3x3 windows at stride 2 from 8x8 planes onto 4x4 (h 8),
// padding 1 above and on the left, one channel a step: an output vector
// is two output rows, whose lanes read two input rows a and b (a row is a
// vector). For each kh, VSHUFPS and VPERMPD of the pair make the even
// inputs of a then of b (Y9, the centre taps) and the odd ones (Y10, the
// right taps), VPSLLDQ of the odd ones the left taps (Y11: within each
// 128-bit lane, a row's four, the padding lane +0 as the gathers give);
// the row above the plane is the zero vector Y12. Four channels at a time
// (Y0-Y7, channel c's vector q in Y(2c+q)) while four are left, then one;
// the sums are dwGatherAVX2's.`

// plane8S2AVX2 writes dwPlane8S2AVX2.
func (a *asm) plane8S2AVX2() {
	const p = "a8s2"
	a.p("")
	a.text(plane8S2AVX2Doc)
	a.p("TEXT ·dwPlane8S2AVX2(SB), NOSPLIT, $0-65")
	a.args(0)
	wt := 0
	channel := func(c int) {
		a.p("\tVBROADCASTSS %d(R12), %s", 4*c, ymm(2*c))
		a.p("\tVMOVAPS      %s, %s", ymm(2*c), ymm(2*c+1))
		for q := range 2 {
			for kh := range 3 {
				ra, rb := 4*q+kh-1, 4*q+2+kh-1
				src1 := "Y12"
				if ra >= 0 {
					a.p("\tVMOVUPS      %d(SI), Y8", 256*c+32*ra)
					src1 = "Y8"
				}
				b := fmt.Sprintf("%d(SI)", 256*c+32*rb)
				a.p("\tVSHUFPS      $0x88, %s, %s, Y9", b, src1)
				a.p("\tVPERMPD      $0xd8, Y9, Y9")
				a.p("\tVSHUFPS      $0xdd, %s, %s, Y10", b, src1)
				a.p("\tVPERMPD      $0xd8, Y10, Y10")
				a.p("\tVPSLLDQ      $4, Y10, Y11")
				for kw, src := range []string{"Y11", "Y9", "Y10"} {
					t := ymm(14 + wt)
					wt ^= 1
					a.p("\tVBROADCASTSS %d(R10), %s", 36*c+4*(3*kh+kw), t)
					a.p("\tVFMADD231PS  %s, %s, %s", src, t, ymm(2*c+q))
				}
			}
		}
	}
	a.quadLoops(p, "VXORPS       Y12, Y12, Y12", 2, 256, 1, channel)
}

const plane4S2AVX2Doc = `// func dwPlane4S2AVX2(y, x *float32, steps, h int, w, bias *float32, lo, hi float32, clip bool) bool
// dwGatherAVX2 for 3x3 windows at stride 2 from 4x4 planes onto 2x2 (h 4),
// padding 1 above and on the left, two channels a step (a vector, a
// 128-bit lane a channel's output plane). Input row k of both channels is
// R_k, a 128-bit lane each (two loads). An output plane's two rows read
// input rows a = kh-1 and b = kh+1: VSHUFPS of R_a and R_b makes the
// even inputs of a then of b (Y9, the centre taps) and the odd ones (Y10,
// the right taps), VPERMILPS and VBLENDPS with the zero vector Y12 the
// left taps (Y11, the padding lanes +0 as the gathers give); row -1 is
// zero. The weights and bias of a lane are its channel's (as
// dwPlane2AVX2's). Four steps at a time (Y0-Y3) while four are left, then
// one; the sums are dwGatherAVX2's.`

// plane4S2AVX2 writes dwPlane4S2AVX2.
func (a *asm) plane4S2AVX2() {
	const p = "a4s2"
	a.p("")
	a.text(plane4S2AVX2Doc)
	a.p("TEXT ·dwPlane4S2AVX2(SB), NOSPLIT, $0-65")
	a.args(0)
	wt := 0
	pair := func(base string, off, step int, dst string) {
		t := ymm(13 + wt)
		wt ^= 1
		a.p("\tVBROADCASTSS %d(%s), X%s", off, base, dst[1:])
		a.p("\tVBROADCASTSS %d(%s), X%s", off+step, base, t[1:])
		a.p("\tVINSERTF128  $1, X%s, %s, %s", t[1:], dst, dst)
	}
	// rowPair loads input row k of the step's two channels into dst.
	rowPair := func(k, s int, dst string) {
		a.p("\tVMOVUPS      %d(SI), X%s", 128*s+16*k, dst[1:])
		a.p("\tVINSERTF128  $1, %d(SI), %s, %s", 128*s+64+16*k, dst, dst)
	}
	step := func(s int) {
		acc := ymm(s)
		pair("R12", 8*s, 4, acc)
		for kh := range 3 {
			src1 := "Y12"
			if kh > 0 {
				rowPair(kh-1, s, "Y7")
				src1 = "Y7"
			}
			rowPair(kh+1, s, "Y8")
			a.p("\tVSHUFPS      $0x88, Y8, %s, Y9", src1)
			a.p("\tVSHUFPS      $0xdd, Y8, %s, Y10", src1)
			a.p("\tVPERMILPS    $0x80, Y10, Y11")
			a.p("\tVBLENDPS     $0x55, Y12, Y11, Y11")
			for kw, src := range []string{"Y11", "Y9", "Y10"} {
				wr := ymm(5 + wt)
				pair("R10", 72*s+4*(3*kh+kw), 36, wr)
				a.p("\tVFMADD231PS  %s, %s, %s", src, wr, acc)
			}
		}
	}
	a.quadLoops(p, "VXORPS       Y12, Y12, Y12", 1, 128, 2, step)
}

// quadLoops ends an AVX2 row or plane kernel with its two loops over the steps: four
// units a pass while four are left, then one a pass. A unit is one step
// (one channel, or two channels a vector with channels 2) whose sums unit
// emits into outVecs vectors (the store's), reading inBytes of x; zero, if
// not empty, is the instruction clearing the zero register before the units.
func (a *asm) quadLoops(p, zero string, outVecs, inBytes, channels int, unit func(int)) {
	store := func(i int) string { return fmt.Sprintf("%d(DI)", 32*i) }
	a.p("\n%squad:", p)
	a.p("\tCMPQ         BX, $4")
	a.p("\tJLT          %sstep", p)
	if zero != "" {
		a.p("\t%s", zero)
	}
	for u := range 4 {
		unit(u)
	}
	a.clipStoreAVX2(p+"q", 4*outVecs, store)
	a.p("\tADDQ         $%d, SI", 4*inBytes)
	a.p("\tADDQ         $%d, DI", 4*32*outVecs)
	a.p("\tADDQ         $%d, R10", 4*36*channels)
	a.p("\tADDQ         $%d, R12", 4*4*channels)
	a.p("\tSUBQ         $4, BX")
	a.p("\tJMP          %squad", p)
	a.stepHead(p)
	if zero != "" {
		a.p("\t%s", zero)
	}
	unit(0)
	a.clipStoreAVX2(p, outVecs, store)
	a.p("\tADDQ         $%d, SI", inBytes)
	a.p("\tADDQ         $%d, DI", 32*outVecs)
	if channels == 1 {
		a.nextStep(p)
		return
	}
	a.p("\tADDQ         $%d, R10", 36*channels)
	a.p("\tADDQ         $%d, R12", 4*channels)
	a.p("\tDECQ         BX")
	a.p("\tJMP          %sstep", p)
	a.p("\n%sdone:", p)
	a.p("\tVZEROUPPER")
	a.p("\tRET")
}
