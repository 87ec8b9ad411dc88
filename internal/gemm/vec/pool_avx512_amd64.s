//go:build !purego

#include "textflag.h"

// Permutes that split 33 consecutive elements a, b, c (registers of 16)
// into the taps of 3-wide windows at stride 2: even elements 2j, odd 2j+1,
// and 2j+2 (the even ones shifted by one lane, c's first at the end).
DATA poolSplit<>+0(SB)/4, $0
DATA poolSplit<>+4(SB)/4, $2
DATA poolSplit<>+8(SB)/4, $4
DATA poolSplit<>+12(SB)/4, $6
DATA poolSplit<>+16(SB)/4, $8
DATA poolSplit<>+20(SB)/4, $10
DATA poolSplit<>+24(SB)/4, $12
DATA poolSplit<>+28(SB)/4, $14
DATA poolSplit<>+32(SB)/4, $16
DATA poolSplit<>+36(SB)/4, $18
DATA poolSplit<>+40(SB)/4, $20
DATA poolSplit<>+44(SB)/4, $22
DATA poolSplit<>+48(SB)/4, $24
DATA poolSplit<>+52(SB)/4, $26
DATA poolSplit<>+56(SB)/4, $28
DATA poolSplit<>+60(SB)/4, $30
DATA poolSplit<>+64(SB)/4, $1
DATA poolSplit<>+68(SB)/4, $2
DATA poolSplit<>+72(SB)/4, $3
DATA poolSplit<>+76(SB)/4, $4
DATA poolSplit<>+80(SB)/4, $5
DATA poolSplit<>+84(SB)/4, $6
DATA poolSplit<>+88(SB)/4, $7
DATA poolSplit<>+92(SB)/4, $8
DATA poolSplit<>+96(SB)/4, $9
DATA poolSplit<>+100(SB)/4, $10
DATA poolSplit<>+104(SB)/4, $11
DATA poolSplit<>+108(SB)/4, $12
DATA poolSplit<>+112(SB)/4, $13
DATA poolSplit<>+116(SB)/4, $14
DATA poolSplit<>+120(SB)/4, $15
DATA poolSplit<>+124(SB)/4, $16
GLOBL poolSplit<>(SB), RODATA|NOPTR, $128

// SPLITROW loads 48 elements from BX (masks K5, K6, K7) and leaves taps 0,
// 1 and 2 of 16 windows in Z13, Z14 and Z15. Z26: the even indices, Z27:
// the shift by one lane; Z24 holds 1s, so odd indices are Z26+1.
#define SPLITROW \
	VMOVUPS.Z (BX), K5, Z10 \
	VMOVUPS.Z 64(BX), K6, Z11 \
	VMOVUPS.Z 128(BX), K7, Z12 \
	VMOVDQA32 Z26, Z13 \
	VPERMI2PS Z11, Z10, Z13 \
	VPADDD    Z24, Z26, Z14 \
	VPERMI2PS Z11, Z10, Z14 \
	VMOVDQA32 Z27, Z15 \
	VPERMI2PS Z12, Z13, Z15

// func maxPoolRowAVX512(src *float32, rows *int32, nrows int, cols *int32, masks *uint16, ntaps int, y *float32, arg *int64, lanes int, loads *uint16)
// One output row of a max pool, up to 16 outputs (lanes: a bit an output
// to store): lane j's window reads row offsets rows[0..nrows) at columns
// cols[j]+t for taps t < ntaps where bit j of masks[t] is set. With
// arg == nil the value is Go's max over the window, else the first
// maximum (a NaN: the last NaN) and its index row+column into arg.
//
// loads == nil: each tap of a row is a masked gather. Otherwise the
// windows are 3 wide at stride 2 (cols[j] = 2j, ntaps 3, the rows' offsets
// include the first window's column): the 48 elements from a row's offset
// are loaded, masked by loads[0..2] (the elements inside the row), and
// split into the taps by permutes.
TEXT ·maxPoolRowAVX512(SB), NOSPLIT, $0-80
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
	KXORW        K5, K5, K5        // split mode off
	MOVQ         loads+72(FP), AX
	TESTQ        AX, AX
	JZ           modeset
	VMOVDQU32    poolSplit<>+0(SB), Z26
	VMOVDQU32    poolSplit<>+64(SB), Z27
	MOVWLZX      (AX), DX
	KMOVW        DX, K5 // never 0: the first window has an element
	MOVWLZX      2(AX), DX
	KMOVW        DX, K6
	MOVWLZX      4(AX), DX
	KMOVW        DX, K7

modeset:
	TESTQ R13, R13
	JNZ   argrow

valrow:
	MOVLQSX   (R8), AX
	LEAQ      (SI)(AX*4), BX
	VMOVDQA32 Z20, Z22
	XORQ      CX, CX
	KORTESTW  K5, K5
	JZ        valtap
	SPLITROW

valtap:
	MOVWLZX  (R11)(CX*2), DX
	KMOVW    DX, K1
	KMOVW    DX, K2
	KORTESTW K5, K5
	JNZ      valsplit
	VGATHERDPS (BX)(Z22*4), K1, Z2
	JMP      valgot

valsplit:
	VMOVAPS Z13, Z2 // tap 0, then 1 and 2: the registers move down
	VMOVAPS Z14, Z13
	VMOVAPS Z15, Z14

valgot:
	// Go's max(best, v): -min(-best, -v) as the compiler writes it, two
	// MINs whose OR gives NaN for a NaN and +0 for zeros of either sign.
	VPXORD Z21, Z0, Z3
	VPXORD Z21, Z2, Z4
	VMINPS Z4, Z3, Z5
	VMINPS Z3, Z5, Z6
	VPORD  Z5, Z6, Z6
	VPXORD Z21, Z6, K2, Z0
	VPADDD Z24, Z22, Z22
	INCQ   CX
	CMPQ   CX, R12
	JLT    valtap
	ADDQ   $4, R8
	DECQ   R9
	JNZ    valrow
	JMP    store

argrow:
	VPXORD Z25, Z25, Z25 // 0

argrow1:
	MOVLQSX      (R8), AX
	LEAQ         (SI)(AX*4), BX
	VPBROADCASTD AX, Z23
	VMOVDQA32    Z20, Z22
	XORQ         CX, CX
	KORTESTW     K5, K5
	JZ           argtap
	SPLITROW

argtap:
	MOVWLZX  (R11)(CX*2), DX
	KMOVW    DX, K1
	KMOVW    DX, K2
	KORTESTW K5, K5
	JNZ      argsplit
	VGATHERDPS (BX)(Z22*4), K1, Z2
	JMP      arggot

argsplit:
	VMOVAPS Z13, Z2
	VMOVAPS Z14, Z13
	VMOVAPS Z15, Z14

arggot:
	VCMPPS  $0x1e, Z0, Z2, K2, K3 // v > best
	VCMPPS  $3, Z2, Z2, K2, K4    // v is NaN
	KORW    K3, K4, K3
	VPCMPD  $1, Z25, Z1, K2, K4   // no element yet
	KORW    K3, K4, K3
	VMOVAPS Z2, K3, Z0
	VPADDD  Z23, Z22, K3, Z1
	VPADDD  Z24, Z22, Z22
	INCQ    CX
	CMPQ    CX, R12
	JLT     argtap
	ADDQ    $4, R8
	DECQ    R9
	JNZ     argrow1

	KMOVW         R14, K6
	SHRQ          $8, R14
	KMOVW         R14, K7
	VPMOVSXDQ     Y1, Z7
	VEXTRACTI64X4 $1, Z1, Y8
	VPMOVSXDQ     Y8, Z8
	VMOVDQU64     Z7, K6, (R13)
	VMOVDQU64     Z8, K7, 64(R13)
	MOVQ          lanes+64(FP), R14

store:
	KMOVW   R14, K1
	VMOVUPS Z0, K1, (DI)
	VZEROUPPER
	RET
