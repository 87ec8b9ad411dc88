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
