//go:build !purego

#include "textflag.h"

// func maxPoolRowAVX512(src *float32, rows *int32, nrows int, cols *int32, masks *uint16, ntaps int, y *float32, arg *int64, lanes int)
// One output row of a max pool, up to 16 outputs (lanes: a bit an output
// to store): lane j's window reads row offsets rows[0..nrows) (row*width)
// at columns cols[j]+t for taps t < ntaps where bit j of masks[t] is set.
// With arg == nil the value is Go's max over the window, else the first
// maximum (a NaN: the last NaN) and its index row+column into arg.
TEXT ·maxPoolRowAVX512(SB), NOSPLIT, $0-72
	MOVQ src+0(FP), SI
	MOVQ rows+8(FP), R8
	MOVQ nrows+16(FP), R9
	MOVQ cols+24(FP), R10
	MOVQ masks+32(FP), R11
	MOVQ ntaps+40(FP), R12
	MOVQ y+48(FP), DI
	MOVQ arg+56(FP), R13
	MOVQ lanes+64(FP), R14

	VMOVDQU32    (R10), Z20        // tap 0's column, a lane an output
	MOVL         $0x80000000, AX
	VPBROADCASTD AX, Z21           // sign bit
	MOVL         $1, AX
	VPBROADCASTD AX, Z24           // 1
	MOVL         $0xff800000, AX
	VPBROADCASTD AX, Z0            // best: -Inf
	VPTERNLOGD   $0xff, Z1, Z1, Z1 // argmax: -1
	TESTQ        R13, R13
	JNZ          argrow

valrow:
	MOVLQSX   (R8), AX
	LEAQ      (SI)(AX*4), BX
	VMOVDQA32 Z20, Z22
	XORQ      CX, CX

valtap:
	MOVWLZX    (R11)(CX*2), DX
	KMOVW      DX, K1
	KMOVW      DX, K2
	VGATHERDPS (BX)(Z22*4), K1, Z2
	// Go's max(best, v): -min(-best, -v) as the compiler writes it, two
	// MINs whose OR gives NaN for a NaN and +0 for zeros of either sign.
	VPXORD     Z21, Z0, Z3
	VPXORD     Z21, Z2, Z4
	VMINPS     Z4, Z3, Z5
	VMINPS     Z3, Z5, Z6
	VPORD      Z5, Z6, Z6
	VPXORD     Z21, Z6, K2, Z0
	VPADDD     Z24, Z22, Z22
	INCQ       CX
	CMPQ       CX, R12
	JLT        valtap
	ADDQ       $4, R8
	DECQ       R9
	JNZ        valrow
	JMP        store

argrow:
	VPXORD Z25, Z25, Z25 // 0

argrow1:
	MOVLQSX      (R8), AX
	LEAQ         (SI)(AX*4), BX
	VPBROADCASTD AX, Z23
	VMOVDQA32    Z20, Z22
	XORQ         CX, CX

argtap:
	MOVWLZX    (R11)(CX*2), DX
	KMOVW      DX, K1
	KMOVW      DX, K2
	VGATHERDPS (BX)(Z22*4), K1, Z2
	VCMPPS     $0x1e, Z0, Z2, K2, K3 // v > best
	VCMPPS     $3, Z2, Z2, K2, K4    // v is NaN
	VPCMPD     $1, Z25, Z1, K2, K5   // no element yet
	KORW       K3, K4, K3
	KORW       K3, K5, K3
	VMOVAPS    Z2, K3, Z0
	VPADDD     Z23, Z22, K3, Z1
	VPADDD     Z24, Z22, Z22
	INCQ       CX
	CMPQ       CX, R12
	JLT        argtap
	ADDQ       $4, R8
	DECQ       R9
	JNZ        argrow1

	KMOVW          R14, K6
	SHRQ           $8, R14
	KMOVW          R14, K7
	VPMOVSXDQ      Y1, Z7
	VEXTRACTI64X4  $1, Z1, Y8
	VPMOVSXDQ      Y8, Z8
	VMOVDQU64      Z7, K6, (R13)
	VMOVDQU64      Z8, K7, 64(R13)
	MOVQ           lanes+64(FP), R14

store:
	KMOVW   R14, K1
	VMOVUPS Z0, K1, (DI)
	VZEROUPPER
	RET
