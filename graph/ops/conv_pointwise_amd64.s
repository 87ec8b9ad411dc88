//go:build !purego

#include "textflag.h"

// func biasVecClampAVX2(dst, bias *float32, n int, lo, hi float32) int
// biasClampAVX2 with a bias a element: dst[i] = min(hi, max(lo, dst[i] +
// bias[i])), 8 at a time (n a multiple of 8), stopping at the first block
// of 8 whose sum equals a bound (left holding the sums, unclamped); it
// returns the elements done before that block (n when there was none).
TEXT ·biasVecClampAVX2(SB), NOSPLIT, $0-40
	MOVQ         dst+0(FP), DI
	MOVQ         bias+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSS lo+24(FP), Y1
	VBROADCASTSS hi+28(FP), Y3
	XORQ         AX, AX

vloop:
	CMPQ      AX, CX
	JGE       vdone
	VMOVUPS   (DI)(AX*4), Y0
	VADDPS    (SI)(AX*4), Y0, Y0
	VCMPPS    $0x00, Y1, Y0, Y4 // x == lo
	VCMPPS    $0x00, Y3, Y0, Y5 // x == hi
	VORPS     Y4, Y5, Y4
	VMOVMSKPS Y4, DX
	TESTL     DX, DX
	JNZ       vhit
	VMAXPS    Y0, Y1, Y2        // max(lo, x): x when NaN
	VMINPS    Y2, Y3, Y2        // min(hi, .): . when NaN
	VMOVUPS   Y2, (DI)(AX*4)
	ADDQ      $8, AX
	JMP       vloop

vhit:
	VMOVUPS Y0, (DI)(AX*4)

vdone:
	VZEROUPPER
	MOVQ AX, ret+32(FP)
	RET
