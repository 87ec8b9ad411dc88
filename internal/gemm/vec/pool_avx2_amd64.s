//go:build !purego

#include "textflag.h"

// Bit j of a lane mask, a lane j of 8.
DATA poolBits<>+0(SB)/4, $1
DATA poolBits<>+4(SB)/4, $2
DATA poolBits<>+8(SB)/4, $4
DATA poolBits<>+12(SB)/4, $8
DATA poolBits<>+16(SB)/4, $16
DATA poolBits<>+20(SB)/4, $32
DATA poolBits<>+24(SB)/4, $64
DATA poolBits<>+28(SB)/4, $128
GLOBL poolBits<>(SB), RODATA|NOPTR, $32

// LANEMASK turns the 8 mask bits in DX into lanes of all ones in Y2 (Y15:
// poolBits).
#define LANEMASK \
	VMOVD        DX, X2 \
	VPBROADCASTD X2, Y2 \
	VPAND        Y15, Y2, Y2 \
	VPCMPEQD     Y15, Y2, Y2

// ROWSTART sets the row loops' constants and starting values: Y13 the
// sign bit, Y12 1, Y0 (the best) -Inf, Y1 (its index) -1, Y11 0.
#define ROWSTART \
	MOVL         $0x80000000, AX; \
	VMOVD        AX, X13;         \
	VPBROADCASTD X13, Y13;        \
	MOVL         $1, AX;          \
	VMOVD        AX, X12;         \
	VPBROADCASTD X12, Y12;        \
	MOVL         $0xff800000, AX; \
	VMOVD        AX, X0;          \
	VPBROADCASTD X0, Y0;          \
	VPCMPEQD     Y1, Y1, Y1;      \
	VPXOR        Y11, Y11, Y11

// func maxPoolRowAVX2(src *float32, rows *int32, nrows int, cols *int32, masks *uint16, ntaps int, y *float32, arg *int64, lanes int)
// maxPoolRowAVX512 for 8 outputs with AVX2: lane masks are vectors, the
// taps are gathered, and selections are blends.
TEXT ·maxPoolRowAVX2(SB), NOSPLIT, $0-72
	MOVQ src+0(FP), SI
	MOVQ rows+8(FP), R8
	MOVQ nrows+16(FP), R9
	MOVQ cols+24(FP), R10
	MOVQ masks+32(FP), R11
	MOVQ ntaps+40(FP), R12
	MOVQ y+48(FP), DI
	MOVQ arg+56(FP), R13

	VMOVDQU      poolBits<>+0(SB), Y15
	VMOVDQU      (R10), Y14        // tap 0's column, a lane an output
	ROWSTART
	TESTQ        R13, R13
	JNZ          argrow

valrow:
	MOVLQSX (R8), AX
	LEAQ    (SI)(AX*4), BX
	VMOVDQA Y14, Y10
	XORQ    CX, CX

valtap:
	MOVWLZX    (R11)(CX*2), DX
	LANEMASK
	VMOVDQA    Y2, Y3
	VMOVAPS    Y0, Y4              // masked-off lanes: a copy of best
	VGATHERDPS Y3, (BX)(Y10*4), Y4
	// Go's max(best, v): -min(-best, -v) as the compiler writes it.
	VXORPS    Y13, Y0, Y5
	VXORPS    Y13, Y4, Y6
	VMINPS    Y6, Y5, Y7
	VMINPS    Y5, Y7, Y8
	VORPS     Y7, Y8, Y8
	VXORPS    Y13, Y8, Y8
	VBLENDVPS Y2, Y8, Y0, Y0
	VPADDD    Y12, Y10, Y10
	INCQ      CX
	CMPQ      CX, R12
	JLT       valtap
	ADDQ      $4, R8
	DECQ      R9
	JNZ       valrow
	JMP       store

argrow:
	MOVLQSX      (R8), AX
	LEAQ         (SI)(AX*4), BX
	VMOVD        AX, X9
	VPBROADCASTD X9, Y9
	VMOVDQA      Y14, Y10
	XORQ         CX, CX

argtap:
	MOVWLZX    (R11)(CX*2), DX
	LANEMASK
	VMOVDQA    Y2, Y3
	VMOVAPS    Y0, Y4
	VGATHERDPS Y3, (BX)(Y10*4), Y4
	VCMPPS     $0x1e, Y0, Y4, Y5 // v > best
	VCMPPS     $3, Y4, Y4, Y6    // v is NaN
	VORPS      Y6, Y5, Y5
	VPCMPGTD   Y1, Y11, Y6       // no element yet: 0 > argmax
	VPOR       Y6, Y5, Y5
	VPAND      Y2, Y5, Y5
	VBLENDVPS  Y5, Y4, Y0, Y0
	VPADDD     Y9, Y10, Y7
	VBLENDVPS  Y5, Y7, Y1, Y1
	VPADDD     Y12, Y10, Y10
	INCQ       CX
	CMPQ       CX, R12
	JLT        argtap
	ADDQ       $4, R8
	DECQ       R9
	JNZ        argrow

	MOVQ          lanes+64(FP), DX
	LANEMASK
	VPMOVSXDQ     X2, Y3
	VEXTRACTI128  $1, Y2, X4
	VPMOVSXDQ     X4, Y4
	VPMOVSXDQ     X1, Y5
	VEXTRACTI128  $1, Y1, X6
	VPMOVSXDQ     X6, Y6
	VPMASKMOVQ    Y5, Y3, (R13)
	VPMASKMOVQ    Y6, Y4, 32(R13)

store:
	MOVQ       lanes+64(FP), DX
	LANEMASK
	VMASKMOVPS Y0, Y2, (DI)
	VZEROUPPER
	RET

// LOADTAP3 loads a tap of maxPoolRow3S2AVX2's rows into Y4: the 16
// elements from BX+off under the load masks at base+lm (two vectors),
// split by VSHUFPS imm; and the tap's lane mask at base+tm into Y2.
#define LOADTAP3(off, lm, imm, tm, base) \
	VMOVDQU    (lm)(base), Y3;      \
	VMOVDQU    (lm+32)(base), Y4;   \
	VMASKMOVPS (off)(BX), Y3, Y5;   \
	VMASKMOVPS (off+32)(BX), Y4, Y6; \
	VSHUFPS    $imm, Y6, Y5, Y4;    \
	VPERMPD    $0xD8, Y4, Y4;       \
	VMOVDQU    (tm)(base), Y2

// MAXTAP3 is a tap of the values-only rows: LOADTAP3, then best (Y0)
// updated by Go's max under the tap's lane mask.
#define MAXTAP3(off, lm, imm, tm, base) \
	LOADTAP3(off, lm, imm, tm, base); \
	VXORPS     Y13, Y0, Y5;       \
	VXORPS     Y13, Y4, Y6;       \
	VMINPS     Y6, Y5, Y7;        \
	VMINPS     Y5, Y7, Y8;        \
	VORPS      Y7, Y8, Y8;        \
	VXORPS     Y13, Y8, Y8;       \
	VBLENDVPS  Y2, Y8, Y0, Y0

// ARGTAP3 is a tap of the rows with arg: LOADTAP3, then best (Y0) and its
// index (Y1) taken where the element is greater or NaN, or no element was
// taken yet, under the tap's lane mask; Y10 (the taps' indices) steps on.
#define ARGTAP3(off, lm, imm, tm, base) \
	LOADTAP3(off, lm, imm, tm, base); \
	VCMPPS    $0x1e, Y0, Y4, Y5; \
	VCMPPS    $3, Y4, Y4, Y6;    \
	VORPS     Y6, Y5, Y5;        \
	VPCMPGTD  Y1, Y11, Y6;       \
	VPOR      Y6, Y5, Y5;        \
	VPAND     Y2, Y5, Y5;        \
	VBLENDVPS Y5, Y4, Y0, Y0;    \
	VPADDD    Y9, Y10, Y7;       \
	VBLENDVPS Y5, Y7, Y1, Y1;    \
	VPADDD    Y12, Y10, Y10

// func maxPoolRow3S2AVX2(src *float32, rows *int32, nrows int, cols *int32, masks *uint16, y *float32, arg *int64, lanes int, loads *uint32)
// maxPoolRowAVX2 for windows 3 wide at stride 2 (ResNet's stem pool):
// rows[a] already holds the chunk's first column c0 (cols[j] = 2j), and
// each row's taps are loaded instead of gathered: the 16 elements from c0
// (taps 0 and 1: the even and the odd ones) and from c0+2 (tap 2: the
// even ones), masked by loads (bit e: element c0+e inside the row), split
// by VSHUFPS and VPERMPD. The taps then go through maxPoolRowAVX2's steps
// in the same order. The lane masks are made once a call, on the stack:
// loads from c0 at 0 and 32, from c0+2 at 64 and 96, the taps' at 128,
// 160, 192.
TEXT ·maxPoolRow3S2AVX2(SB), NOSPLIT, $224-72
	MOVQ src+0(FP), SI
	MOVQ rows+8(FP), R8
	MOVQ nrows+16(FP), R9
	MOVQ cols+24(FP), R10
	MOVQ masks+32(FP), R11
	MOVQ y+40(FP), DI
	MOVQ arg+48(FP), R13
	MOVQ loads+64(FP), R14

	VMOVDQU      poolBits<>+0(SB), Y15
	VMOVDQU      (R10), Y14        // 2j, a lane an output
	MOVL         (R14), DX
	LANEMASK
	VMOVDQU      Y2, 0(SP)
	SHRL         $8, DX
	LANEMASK
	VMOVDQU      Y2, 32(SP)
	MOVL         (R14), DX
	SHRL         $2, DX
	LANEMASK
	VMOVDQU      Y2, 64(SP)
	SHRL         $8, DX
	LANEMASK
	VMOVDQU      Y2, 96(SP)
	MOVWLZX      0(R11), DX
	LANEMASK
	VMOVDQU      Y2, 128(SP)
	MOVWLZX      2(R11), DX
	LANEMASK
	VMOVDQU      Y2, 160(SP)
	MOVWLZX      4(R11), DX
	LANEMASK
	VMOVDQU      Y2, 192(SP)
	ROWSTART
	TESTQ        R13, R13
	JNZ          argrow3

valrow3:
	MOVLQSX (R8), AX
	LEAQ    (SI)(AX*4), BX
	MAXTAP3(0, 0, 0x88, 128, SP)
	MAXTAP3(0, 0, 0xDD, 160, SP)
	MAXTAP3(8, 64, 0x88, 192, SP)
	ADDQ $4, R8
	DECQ R9
	JNZ  valrow3
	JMP  store3

argrow3:
	MOVLQSX      (R8), AX
	LEAQ         (SI)(AX*4), BX
	VMOVD        AX, X9
	VPBROADCASTD X9, Y9
	VMOVDQA      Y14, Y10
	ARGTAP3(0, 0, 0x88, 128, SP)
	ARGTAP3(0, 0, 0xDD, 160, SP)
	ARGTAP3(8, 64, 0x88, 192, SP)
	ADDQ $4, R8
	DECQ R9
	JNZ  argrow3

	MOVQ          lanes+56(FP), DX
	LANEMASK
	VPMOVSXDQ     X2, Y3
	VEXTRACTI128  $1, Y2, X4
	VPMOVSXDQ     X4, Y4
	VPMOVSXDQ     X1, Y5
	VEXTRACTI128  $1, Y1, X6
	VPMOVSXDQ     X6, Y6
	VPMASKMOVQ    Y5, Y3, (R13)
	VPMASKMOVQ    Y6, Y4, 32(R13)

store3:
	MOVQ       lanes+56(FP), DX
	LANEMASK
	VMASKMOVPS Y0, Y2, (DI)
	VZEROUPPER
	RET

// func maxPool3S2AVX2(src *float32, y *float32, jobs *int32, njobs int, masks *int32, planes, inN, P int)
// maxPoolRow3S2AVX2's values (no arg) for planes whole: each of planes
// planes (inN elements apart in src, P in y) runs njobs jobs of 8
// outputs, 7 int32 each: the rows (1 to 3), the rows' offsets in the
// plane with the chunk's first column c0 added (3), the outputs' offset
// in y's plane, the chunk, and whether all 8 lanes are outputs. A chunk's
// masks are 8 vectors of lanes at masks+256*chunk: the loads from c0 (2),
// from c0+2 (2), the taps' (3) and the outputs' (1). Each output gets the
// instructions that maxPoolRow3S2AVX2 gives it, in the same order.
TEXT ·maxPool3S2AVX2(SB), NOSPLIT, $0-64
	MOVQ src+0(FP), SI
	MOVQ y+8(FP), DI
	MOVQ masks+32(FP), R11
	MOVQ planes+40(FP), R12
	MOVQ inN+48(FP), R13
	SHLQ $2, R13
	MOVQ P+56(FP), R14
	SHLQ $2, R14

	MOVL         $0x80000000, AX
	VMOVD        AX, X13
	VPBROADCASTD X13, Y13          // sign bit
	MOVL         $0xff800000, AX
	VMOVD        AX, X12
	VPBROADCASTD X12, Y12          // -Inf

plane3:
	MOVQ jobs+16(FP), R8
	MOVQ njobs+24(FP), R9

job3:
	MOVL    20(R8), AX
	SHLQ    $8, AX
	LEAQ    (R11)(AX*1), R10       // the chunk's masks
	MOVL    0(R8), CX
	LEAQ    4(R8), DX
	VMOVAPS Y12, Y0                // best: -Inf

row3:
	MOVLQSX (DX), AX
	LEAQ    (SI)(AX*4), BX
	MAXTAP3(0, 0, 0x88, 128, R10)
	MAXTAP3(0, 0, 0xDD, 160, R10)
	MAXTAP3(8, 64, 0x88, 192, R10)
	ADDQ    $4, DX
	DECQ    CX
	JNZ     row3

	MOVLQSX 16(R8), AX
	CMPL    24(R8), $0
	JEQ     part3
	VMOVUPS Y0, (DI)(AX*4)
	JMP     next3

part3:
	VMOVDQU    224(R10), Y2
	VMASKMOVPS Y0, Y2, (DI)(AX*4)

next3:
	ADDQ $28, R8
	DECQ R9
	JNZ  job3
	ADDQ R13, SI
	ADDQ R14, DI
	DECQ R12
	JNZ  plane3
	VZEROUPPER
	RET
