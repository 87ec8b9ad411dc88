//go:build !purego

#include "textflag.h"

// func dwTapsAVX2(y, x *float32, steps, pm, xstep, taps int, off *int32, mask *uint32, w *float32, wstride, cstep int, bias *float32, chmap *int32)
// DI y, SI the step's x, BX steps left, CX vectors left in the step, DX
// taps left, R8 and R9 the vector's taps in off and mask, R10 and R12 the
// step's w and bias, R11 wstride in bytes, R13 the tap's w, R14 the tap's
// offset; Y15 chmap, Y0 the sum.
TEXT ·dwTapsAVX2(SB), NOSPLIT, $0-104
	MOVQ    y+0(FP), DI
	MOVQ    x+8(FP), SI
	MOVQ    steps+16(FP), BX
	MOVQ    w+64(FP), R10
	MOVQ    wstride+72(FP), R11
	SHLQ    $2, R11
	MOVQ    bias+88(FP), R12
	MOVQ    chmap+96(FP), AX
	VMOVDQU (AX), Y15

step:
	TESTQ BX, BX
	JZ    done
	MOVQ  off+48(FP), R8
	MOVQ  mask+56(FP), R9
	MOVQ  pm+24(FP), CX

vec:
	VPERMPS (R12), Y15, Y0
	MOVQ    R10, R13
	MOVQ    taps+40(FP), DX

tap:
	MOVLQSX     (R8), R14
	VMOVDQU     (R9), Y1
	VMASKMOVPS  (SI)(R14*4), Y1, Y2
	VPERMPS     (R13), Y15, Y3
	VFMADD231PS Y2, Y3, Y0
	ADDQ        $4, R8
	ADDQ        $32, R9
	ADDQ        R11, R13
	DECQ        DX
	JNZ         tap
	VMOVUPS     Y0, (DI)
	ADDQ        $32, DI
	DECQ        CX
	JNZ         vec

	MOVQ xstep+32(FP), AX
	SHLQ $2, AX
	ADDQ AX, SI
	MOVQ cstep+80(FP), AX
	SHLQ $2, AX
	ADDQ AX, R10
	ADDQ AX, R12
	DECQ BX
	JMP  step

done:
	VZEROUPPER
	RET

// func dwGatherAVX2(y, x *float32, steps, pm, xstep, taps int, off *int32, mask *uint32, w *float32, wstride, cstep int, bias *float32, chmap *int32)
// As dwTapsAVX2, R8 moving over the lanes' offsets (Y4) instead.
TEXT ·dwGatherAVX2(SB), NOSPLIT, $0-104
	MOVQ    y+0(FP), DI
	MOVQ    x+8(FP), SI
	MOVQ    steps+16(FP), BX
	MOVQ    w+64(FP), R10
	MOVQ    wstride+72(FP), R11
	SHLQ    $2, R11
	MOVQ    bias+88(FP), R12
	MOVQ    chmap+96(FP), AX
	VMOVDQU (AX), Y15

gstep:
	TESTQ BX, BX
	JZ    gdone
	MOVQ  off+48(FP), R8
	MOVQ  mask+56(FP), R9
	MOVQ  pm+24(FP), CX

gvec:
	VPERMPS (R12), Y15, Y0
	MOVQ    R10, R13
	MOVQ    taps+40(FP), DX

gtap:
	VMOVDQU     (R8), Y4
	VMOVDQU     (R9), Y1
	VXORPS      Y2, Y2, Y2
	VGATHERDPS  Y1, (SI)(Y4*4), Y2
	VPERMPS     (R13), Y15, Y3
	VFMADD231PS Y2, Y3, Y0
	ADDQ        $32, R8
	ADDQ        $32, R9
	ADDQ        R11, R13
	DECQ        DX
	JNZ         gtap
	VMOVUPS     Y0, (DI)
	ADDQ        $32, DI
	DECQ        CX
	JNZ         gvec

	MOVQ xstep+32(FP), AX
	SHLQ $2, AX
	ADDQ AX, SI
	MOVQ cstep+80(FP), AX
	SHLQ $2, AX
	ADDQ AX, R10
	ADDQ AX, R12
	DECQ BX
	JMP  gstep

gdone:
	VZEROUPPER
	RET

// func dwPairsAVX2(y, x *float32, steps, pm, xstep, taps int, off *int32, mask *uint32, w *float32, wstride, cstep int, bias *float32, chmap *int32)
// As dwTapsAVX2 for a plan of pairs: a tap loads 16 inputs from its
// offset (R9 moving over masks of 16 lanes) and keeps the even ones.
TEXT ·dwPairsAVX2(SB), NOSPLIT, $0-104
	MOVQ    y+0(FP), DI
	MOVQ    x+8(FP), SI
	MOVQ    steps+16(FP), BX
	MOVQ    w+64(FP), R10
	MOVQ    wstride+72(FP), R11
	SHLQ    $2, R11
	MOVQ    bias+88(FP), R12
	MOVQ    chmap+96(FP), AX
	VMOVDQU (AX), Y15

pstep:
	TESTQ BX, BX
	JZ    pdone
	MOVQ  off+48(FP), R8
	MOVQ  mask+56(FP), R9
	MOVQ  pm+24(FP), CX

pvec:
	VPERMPS (R12), Y15, Y0
	MOVQ    R10, R13
	MOVQ    taps+40(FP), DX

ptap:
	MOVLQSX     (R8), R14
	VMOVDQU     (R9), Y1
	VMOVDQU     32(R9), Y4
	VMASKMOVPS  (SI)(R14*4), Y1, Y2
	VMASKMOVPS  32(SI)(R14*4), Y4, Y5
	VSHUFPS     $0x88, Y5, Y2, Y2 // per 128 bits: the even of Y2, then of Y5
	VPERMPD     $0xd8, Y2, Y2     // 64-bit quarters 0, 2, 1, 3
	VPERMPS     (R13), Y15, Y3
	VFMADD231PS Y2, Y3, Y0
	ADDQ        $4, R8
	ADDQ        $64, R9
	ADDQ        R11, R13
	DECQ        DX
	JNZ         ptap
	VMOVUPS     Y0, (DI)
	ADDQ        $32, DI
	DECQ        CX
	JNZ         pvec

	MOVQ xstep+32(FP), AX
	SHLQ $2, AX
	ADDQ AX, SI
	MOVQ cstep+80(FP), AX
	SHLQ $2, AX
	ADDQ AX, R10
	ADDQ AX, R12
	DECQ BX
	JMP  pstep

pdone:
	VZEROUPPER
	RET

// evens512 holds the indices of the even elements of two vectors of 16.
DATA evens512<>+0(SB)/4, $0
DATA evens512<>+4(SB)/4, $2
DATA evens512<>+8(SB)/4, $4
DATA evens512<>+12(SB)/4, $6
DATA evens512<>+16(SB)/4, $8
DATA evens512<>+20(SB)/4, $10
DATA evens512<>+24(SB)/4, $12
DATA evens512<>+28(SB)/4, $14
DATA evens512<>+32(SB)/4, $16
DATA evens512<>+36(SB)/4, $18
DATA evens512<>+40(SB)/4, $20
DATA evens512<>+44(SB)/4, $22
DATA evens512<>+48(SB)/4, $24
DATA evens512<>+52(SB)/4, $26
DATA evens512<>+56(SB)/4, $28
DATA evens512<>+60(SB)/4, $30
GLOBL evens512<>(SB), RODATA|NOPTR, $64

// func dwTaps512(y, x *float32, steps, pm, xstep, taps int, off *int32, kmask *uint16, w *float32, wstride, cstep int, bias *float32, chmap *int32)
// dwTapsAVX2 with vectors of 16 (AVX-512): R9 moves over the taps' lane
// masks, a 16-bit word each, loaded into K1; Z15 chmap.
TEXT ·dwTaps512(SB), NOSPLIT, $0-104
	MOVQ      y+0(FP), DI
	MOVQ      x+8(FP), SI
	MOVQ      steps+16(FP), BX
	MOVQ      w+64(FP), R10
	MOVQ      wstride+72(FP), R11
	SHLQ      $2, R11
	MOVQ      bias+88(FP), R12
	MOVQ      chmap+96(FP), AX
	VMOVDQU32 (AX), Z15

zstep:
	TESTQ BX, BX
	JZ    zdone
	MOVQ  off+48(FP), R8
	MOVQ  kmask+56(FP), R9
	MOVQ  pm+24(FP), CX

zvec:
	VPERMPS (R12), Z15, Z0
	MOVQ    R10, R13
	MOVQ    taps+40(FP), DX

ztap:
	MOVLQSX     (R8), R14
	KMOVW       (R9), K1
	VMOVUPS.Z   (SI)(R14*4), K1, Z2
	VPERMPS     (R13), Z15, Z3
	VFMADD231PS Z2, Z3, Z0
	ADDQ        $4, R8
	ADDQ        $2, R9
	ADDQ        R11, R13
	DECQ        DX
	JNZ         ztap
	VMOVUPS     Z0, (DI)
	ADDQ        $64, DI
	DECQ        CX
	JNZ         zvec

	MOVQ xstep+32(FP), AX
	SHLQ $2, AX
	ADDQ AX, SI
	MOVQ cstep+80(FP), AX
	SHLQ $2, AX
	ADDQ AX, R10
	ADDQ AX, R12
	DECQ BX
	JMP  zstep

zdone:
	VZEROUPPER
	RET

// func dwPairs512(y, x *float32, steps, pm, xstep, taps int, off *int32, kmask *uint16, w *float32, wstride, cstep int, bias *float32, chmap *int32)
// dwTaps512 for a plan of pairs: a tap loads 32 inputs (two masks of 16
// lanes, K1 and K2) and keeps the even ones (VPERMT2PS with Z14).
TEXT ·dwPairs512(SB), NOSPLIT, $0-104
	MOVQ      y+0(FP), DI
	MOVQ      x+8(FP), SI
	MOVQ      steps+16(FP), BX
	MOVQ      w+64(FP), R10
	MOVQ      wstride+72(FP), R11
	SHLQ      $2, R11
	MOVQ      bias+88(FP), R12
	MOVQ      chmap+96(FP), AX
	VMOVDQU32 (AX), Z15
	LEAQ      evens512<>(SB), AX
	VMOVDQU32 (AX), Z14

qstep:
	TESTQ BX, BX
	JZ    qdone
	MOVQ  off+48(FP), R8
	MOVQ  kmask+56(FP), R9
	MOVQ  pm+24(FP), CX

qvec:
	VPERMPS (R12), Z15, Z0
	MOVQ    R10, R13
	MOVQ    taps+40(FP), DX

qtap:
	MOVLQSX     (R8), R14
	KMOVW       (R9), K1
	KMOVW       2(R9), K2
	VMOVUPS.Z   (SI)(R14*4), K1, Z2
	VMOVUPS.Z   64(SI)(R14*4), K2, Z5
	VPERMT2PS   Z5, Z14, Z2
	VPERMPS     (R13), Z15, Z3
	VFMADD231PS Z2, Z3, Z0
	ADDQ        $4, R8
	ADDQ        $4, R9
	ADDQ        R11, R13
	DECQ        DX
	JNZ         qtap
	VMOVUPS     Z0, (DI)
	ADDQ        $64, DI
	DECQ        CX
	JNZ         qvec

	MOVQ xstep+32(FP), AX
	SHLQ $2, AX
	ADDQ AX, SI
	MOVQ cstep+80(FP), AX
	SHLQ $2, AX
	ADDQ AX, R10
	ADDQ AX, R12
	DECQ BX
	JMP  qstep

qdone:
	VZEROUPPER
	RET

// func dwTaps512x9(y, x *float32, steps, pm, xstep, taps int, off *int32, kmask *uint16, w *float32, wstride, cstep int, bias *float32, chmap *int32)
// dwTaps512 for 9 taps (3x3), unrolled: the step's weights held in Z16 to
// Z24, and two vectors at a time (Z0 and Z4, independent sums) while two
// are left; each sum still adds its taps in order.
TEXT ·dwTaps512x9(SB), NOSPLIT, $0-104
	MOVQ      y+0(FP), DI
	MOVQ      x+8(FP), SI
	MOVQ      steps+16(FP), BX
	MOVQ      w+64(FP), R10
	MOVQ      wstride+72(FP), R11
	SHLQ      $2, R11
	MOVQ      bias+88(FP), R12
	MOVQ      chmap+96(FP), AX
	VMOVDQU32 (AX), Z15

nstep:
	TESTQ BX, BX
	JZ    ndone
	MOVQ  off+48(FP), R8
	MOVQ  kmask+56(FP), R9
	MOVQ  pm+24(FP), CX
	MOVQ  R10, R13
	VPERMPS (R13), Z15, Z16
	ADDQ    R11, R13
	VPERMPS (R13), Z15, Z17
	ADDQ    R11, R13
	VPERMPS (R13), Z15, Z18
	ADDQ    R11, R13
	VPERMPS (R13), Z15, Z19
	ADDQ    R11, R13
	VPERMPS (R13), Z15, Z20
	ADDQ    R11, R13
	VPERMPS (R13), Z15, Z21
	ADDQ    R11, R13
	VPERMPS (R13), Z15, Z22
	ADDQ    R11, R13
	VPERMPS (R13), Z15, Z23
	ADDQ    R11, R13
	VPERMPS (R13), Z15, Z24
	VPERMPS (R12), Z15, Z14

npair:
	CMPQ CX, $2
	JLT  nvec
	VMOVAPS Z14, Z0
	VMOVAPS Z14, Z4
	MOVLQSX     0(R8), R14
	MOVLQSX     36(R8), AX
	KMOVW       0(R9), K1
	KMOVW       18(R9), K2
	VMOVUPS.Z   (SI)(R14*4), K1, Z1
	VMOVUPS.Z   (SI)(AX*4), K2, Z5
	VFMADD231PS Z1, Z16, Z0
	VFMADD231PS Z5, Z16, Z4
	MOVLQSX     4(R8), R14
	MOVLQSX     40(R8), AX
	KMOVW       2(R9), K1
	KMOVW       20(R9), K2
	VMOVUPS.Z   (SI)(R14*4), K1, Z1
	VMOVUPS.Z   (SI)(AX*4), K2, Z5
	VFMADD231PS Z1, Z17, Z0
	VFMADD231PS Z5, Z17, Z4
	MOVLQSX     8(R8), R14
	MOVLQSX     44(R8), AX
	KMOVW       4(R9), K1
	KMOVW       22(R9), K2
	VMOVUPS.Z   (SI)(R14*4), K1, Z1
	VMOVUPS.Z   (SI)(AX*4), K2, Z5
	VFMADD231PS Z1, Z18, Z0
	VFMADD231PS Z5, Z18, Z4
	MOVLQSX     12(R8), R14
	MOVLQSX     48(R8), AX
	KMOVW       6(R9), K1
	KMOVW       24(R9), K2
	VMOVUPS.Z   (SI)(R14*4), K1, Z1
	VMOVUPS.Z   (SI)(AX*4), K2, Z5
	VFMADD231PS Z1, Z19, Z0
	VFMADD231PS Z5, Z19, Z4
	MOVLQSX     16(R8), R14
	MOVLQSX     52(R8), AX
	KMOVW       8(R9), K1
	KMOVW       26(R9), K2
	VMOVUPS.Z   (SI)(R14*4), K1, Z1
	VMOVUPS.Z   (SI)(AX*4), K2, Z5
	VFMADD231PS Z1, Z20, Z0
	VFMADD231PS Z5, Z20, Z4
	MOVLQSX     20(R8), R14
	MOVLQSX     56(R8), AX
	KMOVW       10(R9), K1
	KMOVW       28(R9), K2
	VMOVUPS.Z   (SI)(R14*4), K1, Z1
	VMOVUPS.Z   (SI)(AX*4), K2, Z5
	VFMADD231PS Z1, Z21, Z0
	VFMADD231PS Z5, Z21, Z4
	MOVLQSX     24(R8), R14
	MOVLQSX     60(R8), AX
	KMOVW       12(R9), K1
	KMOVW       30(R9), K2
	VMOVUPS.Z   (SI)(R14*4), K1, Z1
	VMOVUPS.Z   (SI)(AX*4), K2, Z5
	VFMADD231PS Z1, Z22, Z0
	VFMADD231PS Z5, Z22, Z4
	MOVLQSX     28(R8), R14
	MOVLQSX     64(R8), AX
	KMOVW       14(R9), K1
	KMOVW       32(R9), K2
	VMOVUPS.Z   (SI)(R14*4), K1, Z1
	VMOVUPS.Z   (SI)(AX*4), K2, Z5
	VFMADD231PS Z1, Z23, Z0
	VFMADD231PS Z5, Z23, Z4
	MOVLQSX     32(R8), R14
	MOVLQSX     68(R8), AX
	KMOVW       16(R9), K1
	KMOVW       34(R9), K2
	VMOVUPS.Z   (SI)(R14*4), K1, Z1
	VMOVUPS.Z   (SI)(AX*4), K2, Z5
	VFMADD231PS Z1, Z24, Z0
	VFMADD231PS Z5, Z24, Z4
	VMOVUPS Z0, (DI)
	VMOVUPS Z4, 64(DI)
	ADDQ    $128, DI
	ADDQ    $72, R8
	ADDQ    $36, R9
	SUBQ    $2, CX
	JMP     npair

nvec:
	TESTQ CX, CX
	JZ    nnext
	VMOVAPS Z14, Z0
	MOVLQSX     0(R8), R14
	KMOVW       0(R9), K1
	VMOVUPS.Z   (SI)(R14*4), K1, Z1
	VFMADD231PS Z1, Z16, Z0
	MOVLQSX     4(R8), R14
	KMOVW       2(R9), K1
	VMOVUPS.Z   (SI)(R14*4), K1, Z1
	VFMADD231PS Z1, Z17, Z0
	MOVLQSX     8(R8), R14
	KMOVW       4(R9), K1
	VMOVUPS.Z   (SI)(R14*4), K1, Z1
	VFMADD231PS Z1, Z18, Z0
	MOVLQSX     12(R8), R14
	KMOVW       6(R9), K1
	VMOVUPS.Z   (SI)(R14*4), K1, Z1
	VFMADD231PS Z1, Z19, Z0
	MOVLQSX     16(R8), R14
	KMOVW       8(R9), K1
	VMOVUPS.Z   (SI)(R14*4), K1, Z1
	VFMADD231PS Z1, Z20, Z0
	MOVLQSX     20(R8), R14
	KMOVW       10(R9), K1
	VMOVUPS.Z   (SI)(R14*4), K1, Z1
	VFMADD231PS Z1, Z21, Z0
	MOVLQSX     24(R8), R14
	KMOVW       12(R9), K1
	VMOVUPS.Z   (SI)(R14*4), K1, Z1
	VFMADD231PS Z1, Z22, Z0
	MOVLQSX     28(R8), R14
	KMOVW       14(R9), K1
	VMOVUPS.Z   (SI)(R14*4), K1, Z1
	VFMADD231PS Z1, Z23, Z0
	MOVLQSX     32(R8), R14
	KMOVW       16(R9), K1
	VMOVUPS.Z   (SI)(R14*4), K1, Z1
	VFMADD231PS Z1, Z24, Z0
	VMOVUPS Z0, (DI)
	ADDQ    $64, DI

nnext:
	MOVQ xstep+32(FP), AX
	SHLQ $2, AX
	ADDQ AX, SI
	MOVQ cstep+80(FP), AX
	SHLQ $2, AX
	ADDQ AX, R10
	ADDQ AX, R12
	DECQ BX
	JMP  nstep

ndone:
	VZEROUPPER
	RET

// func dwTaps512x9Clip(y, x *float32, steps, pm, xstep, taps int, off *int32, kmask *uint16, w *float32, wstride, cstep int, bias *float32, chmap *int32, lo, hi float32) bool
// dwTaps512x9 with the fused Clip: each sum clamped to [lo, hi] (Z12,
// Z13) as clipClampAVX2 clamps (NaN kept) before it is stored. It reports
// whether a sum equalled a bound exactly (the caller then redoes the
// steps without the clamp, to record the hits).
TEXT ·dwTaps512x9Clip(SB), NOSPLIT, $0-113
	MOVB         $0, ret+112(FP)
	MOVQ         y+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         steps+16(FP), BX
	MOVQ         w+64(FP), R10
	MOVQ         wstride+72(FP), R11
	SHLQ         $2, R11
	MOVQ         bias+88(FP), R12
	MOVQ         chmap+96(FP), AX
	VMOVDQU32    (AX), Z15
	VBROADCASTSS lo+104(FP), Z12
	VBROADCASTSS hi+108(FP), Z13

clstep:
	TESTQ BX, BX
	JZ    cdone
	MOVQ  off+48(FP), R8
	MOVQ  kmask+56(FP), R9
	MOVQ  pm+24(FP), CX
	MOVQ  R10, R13
	VPERMPS (R13), Z15, Z16
	ADDQ    R11, R13
	VPERMPS (R13), Z15, Z17
	ADDQ    R11, R13
	VPERMPS (R13), Z15, Z18
	ADDQ    R11, R13
	VPERMPS (R13), Z15, Z19
	ADDQ    R11, R13
	VPERMPS (R13), Z15, Z20
	ADDQ    R11, R13
	VPERMPS (R13), Z15, Z21
	ADDQ    R11, R13
	VPERMPS (R13), Z15, Z22
	ADDQ    R11, R13
	VPERMPS (R13), Z15, Z23
	ADDQ    R11, R13
	VPERMPS (R13), Z15, Z24
	VPERMPS (R12), Z15, Z14

cpair:
	CMPQ CX, $2
	JLT  cvec
	VMOVAPS Z14, Z0
	VMOVAPS Z14, Z4
	MOVLQSX     0(R8), R14
	MOVLQSX     36(R8), AX
	KMOVW       0(R9), K1
	KMOVW       18(R9), K2
	VMOVUPS.Z   (SI)(R14*4), K1, Z1
	VMOVUPS.Z   (SI)(AX*4), K2, Z5
	VFMADD231PS Z1, Z16, Z0
	VFMADD231PS Z5, Z16, Z4
	MOVLQSX     4(R8), R14
	MOVLQSX     40(R8), AX
	KMOVW       2(R9), K1
	KMOVW       20(R9), K2
	VMOVUPS.Z   (SI)(R14*4), K1, Z1
	VMOVUPS.Z   (SI)(AX*4), K2, Z5
	VFMADD231PS Z1, Z17, Z0
	VFMADD231PS Z5, Z17, Z4
	MOVLQSX     8(R8), R14
	MOVLQSX     44(R8), AX
	KMOVW       4(R9), K1
	KMOVW       22(R9), K2
	VMOVUPS.Z   (SI)(R14*4), K1, Z1
	VMOVUPS.Z   (SI)(AX*4), K2, Z5
	VFMADD231PS Z1, Z18, Z0
	VFMADD231PS Z5, Z18, Z4
	MOVLQSX     12(R8), R14
	MOVLQSX     48(R8), AX
	KMOVW       6(R9), K1
	KMOVW       24(R9), K2
	VMOVUPS.Z   (SI)(R14*4), K1, Z1
	VMOVUPS.Z   (SI)(AX*4), K2, Z5
	VFMADD231PS Z1, Z19, Z0
	VFMADD231PS Z5, Z19, Z4
	MOVLQSX     16(R8), R14
	MOVLQSX     52(R8), AX
	KMOVW       8(R9), K1
	KMOVW       26(R9), K2
	VMOVUPS.Z   (SI)(R14*4), K1, Z1
	VMOVUPS.Z   (SI)(AX*4), K2, Z5
	VFMADD231PS Z1, Z20, Z0
	VFMADD231PS Z5, Z20, Z4
	MOVLQSX     20(R8), R14
	MOVLQSX     56(R8), AX
	KMOVW       10(R9), K1
	KMOVW       28(R9), K2
	VMOVUPS.Z   (SI)(R14*4), K1, Z1
	VMOVUPS.Z   (SI)(AX*4), K2, Z5
	VFMADD231PS Z1, Z21, Z0
	VFMADD231PS Z5, Z21, Z4
	MOVLQSX     24(R8), R14
	MOVLQSX     60(R8), AX
	KMOVW       12(R9), K1
	KMOVW       30(R9), K2
	VMOVUPS.Z   (SI)(R14*4), K1, Z1
	VMOVUPS.Z   (SI)(AX*4), K2, Z5
	VFMADD231PS Z1, Z22, Z0
	VFMADD231PS Z5, Z22, Z4
	MOVLQSX     28(R8), R14
	MOVLQSX     64(R8), AX
	KMOVW       14(R9), K1
	KMOVW       32(R9), K2
	VMOVUPS.Z   (SI)(R14*4), K1, Z1
	VMOVUPS.Z   (SI)(AX*4), K2, Z5
	VFMADD231PS Z1, Z23, Z0
	VFMADD231PS Z5, Z23, Z4
	MOVLQSX     32(R8), R14
	MOVLQSX     68(R8), AX
	KMOVW       16(R9), K1
	KMOVW       34(R9), K2
	VMOVUPS.Z   (SI)(R14*4), K1, Z1
	VMOVUPS.Z   (SI)(AX*4), K2, Z5
	VFMADD231PS Z1, Z24, Z0
	VFMADD231PS Z5, Z24, Z4
	VCMPPS      $0x00, Z12, Z0, K3
	VCMPPS      $0x00, Z13, Z0, K4
	KORTESTW    K3, K4
	JZ          2(PC)
	MOVB        $1, ret+112(FP)
	VMAXPS      Z0, Z12, Z0
	VMINPS      Z0, Z13, Z0
	VMOVUPS     Z0, 0(DI)
	VCMPPS      $0x00, Z12, Z4, K3
	VCMPPS      $0x00, Z13, Z4, K4
	KORTESTW    K3, K4
	JZ          2(PC)
	MOVB        $1, ret+112(FP)
	VMAXPS      Z4, Z12, Z4
	VMINPS      Z4, Z13, Z4
	VMOVUPS     Z4, 64(DI)
	ADDQ    $128, DI
	ADDQ    $72, R8
	ADDQ    $36, R9
	SUBQ    $2, CX
	JMP     cpair

cvec:
	TESTQ CX, CX
	JZ    cnext
	VMOVAPS Z14, Z0
	MOVLQSX     0(R8), R14
	KMOVW       0(R9), K1
	VMOVUPS.Z   (SI)(R14*4), K1, Z1
	VFMADD231PS Z1, Z16, Z0
	MOVLQSX     4(R8), R14
	KMOVW       2(R9), K1
	VMOVUPS.Z   (SI)(R14*4), K1, Z1
	VFMADD231PS Z1, Z17, Z0
	MOVLQSX     8(R8), R14
	KMOVW       4(R9), K1
	VMOVUPS.Z   (SI)(R14*4), K1, Z1
	VFMADD231PS Z1, Z18, Z0
	MOVLQSX     12(R8), R14
	KMOVW       6(R9), K1
	VMOVUPS.Z   (SI)(R14*4), K1, Z1
	VFMADD231PS Z1, Z19, Z0
	MOVLQSX     16(R8), R14
	KMOVW       8(R9), K1
	VMOVUPS.Z   (SI)(R14*4), K1, Z1
	VFMADD231PS Z1, Z20, Z0
	MOVLQSX     20(R8), R14
	KMOVW       10(R9), K1
	VMOVUPS.Z   (SI)(R14*4), K1, Z1
	VFMADD231PS Z1, Z21, Z0
	MOVLQSX     24(R8), R14
	KMOVW       12(R9), K1
	VMOVUPS.Z   (SI)(R14*4), K1, Z1
	VFMADD231PS Z1, Z22, Z0
	MOVLQSX     28(R8), R14
	KMOVW       14(R9), K1
	VMOVUPS.Z   (SI)(R14*4), K1, Z1
	VFMADD231PS Z1, Z23, Z0
	MOVLQSX     32(R8), R14
	KMOVW       16(R9), K1
	VMOVUPS.Z   (SI)(R14*4), K1, Z1
	VFMADD231PS Z1, Z24, Z0
	VCMPPS      $0x00, Z12, Z0, K3
	VCMPPS      $0x00, Z13, Z0, K4
	KORTESTW    K3, K4
	JZ          2(PC)
	MOVB        $1, ret+112(FP)
	VMAXPS      Z0, Z12, Z0
	VMINPS      Z0, Z13, Z0
	VMOVUPS     Z0, 0(DI)
	ADDQ    $64, DI

cnext:
	MOVQ xstep+32(FP), AX
	SHLQ $2, AX
	ADDQ AX, SI
	MOVQ cstep+80(FP), AX
	SHLQ $2, AX
	ADDQ AX, R10
	ADDQ AX, R12
	DECQ BX
	JMP  clstep

cdone:
	VZEROUPPER
	RET

// func dwWin512(y, x *float32, steps, pm, xstep, taps int, off *int32, kmask *uint16, w *float32, wstride, cstep int, bias *float32, chmap *int32, base *int32)
// dwTaps512 for a window plan: a vector loads the 64 inputs from its base
// (R14 moving over the vectors' bases) into Z4-Z7, and a tap takes its
// lanes from them by two zero-masked VPERMI2PS (K1: the lanes of Z4 and
// Z5, K2: of Z6 and Z7; R8 moving over the lanes' places, R9 over the
// masks, two words a tap), merged by an OR (the other one is +0).
TEXT ·dwWin512(SB), NOSPLIT, $0-112
	MOVQ      y+0(FP), DI
	MOVQ      x+8(FP), SI
	MOVQ      steps+16(FP), BX
	MOVQ      w+64(FP), R10
	MOVQ      wstride+72(FP), R11
	SHLQ      $2, R11
	MOVQ      bias+88(FP), R12
	MOVQ      chmap+96(FP), AX
	VMOVDQU32 (AX), Z15

wstep:
	TESTQ BX, BX
	JZ    wdone
	MOVQ  off+48(FP), R8
	MOVQ  kmask+56(FP), R9
	MOVQ  base+104(FP), R14
	MOVQ  pm+24(FP), CX

wvec:
	MOVLQSX (R14), AX
	LEAQ    (SI)(AX*4), AX
	VMOVUPS (AX), Z4
	VMOVUPS 64(AX), Z5
	VMOVUPS 128(AX), Z6
	VMOVUPS 192(AX), Z7
	VPERMPS (R12), Z15, Z0
	MOVQ    R10, R13
	MOVQ    taps+40(FP), DX

wtap:
	VMOVDQU32   (R8), Z1
	VMOVDQA32   Z1, Z2
	KMOVW       (R9), K1
	KMOVW       2(R9), K2
	VPERMI2PS.Z Z5, Z4, K1, Z1
	VPERMI2PS.Z Z7, Z6, K2, Z2
	VPORD       Z2, Z1, Z1
	VPERMPS     (R13), Z15, Z3
	VFMADD231PS Z1, Z3, Z0
	ADDQ        $64, R8
	ADDQ        $4, R9
	ADDQ        R11, R13
	DECQ        DX
	JNZ         wtap
	VMOVUPS     Z0, (DI)
	ADDQ        $64, DI
	ADDQ        $4, R14
	DECQ        CX
	JNZ         wvec

	MOVQ xstep+32(FP), AX
	SHLQ $2, AX
	ADDQ AX, SI
	MOVQ cstep+80(FP), AX
	SHLQ $2, AX
	ADDQ AX, R10
	ADDQ AX, R12
	DECQ BX
	JMP  wstep

wdone:
	VZEROUPPER
	RET
