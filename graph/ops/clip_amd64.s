//go:build !purego

#include "textflag.h"

// func clipClampAVX2(v *float32, n int, lo, hi float32) int
// Clamps v[0:n) to [lo, hi] in place, 8 at a time (n a multiple of 8), NaN
// kept: max(lo, x) and min(hi, .) return their second operand, x, when it
// is NaN. It stops before the first block of 8 holding an element equal
// to a bound (the caller records those) and returns the elements done.
TEXT ·clipClampAVX2(SB), NOSPLIT, $0-32
	MOVQ         v+0(FP), DI
	MOVQ         n+8(FP), CX
	VBROADCASTSS lo+16(FP), Y1
	VBROADCASTSS hi+20(FP), Y3
	XORQ         AX, AX

loop:
	CMPQ      AX, CX
	JGE       done
	VMOVUPS   (DI)(AX*4), Y0
	VCMPPS    $0x00, Y1, Y0, Y4 // x == lo
	VCMPPS    $0x00, Y3, Y0, Y5 // x == hi
	VORPS     Y4, Y5, Y4
	VMOVMSKPS Y4, DX
	TESTL     DX, DX
	JNZ       done
	VMAXPS    Y0, Y1, Y2        // max(lo, x): x when NaN
	VMINPS    Y2, Y3, Y2        // min(hi, .): . when NaN
	VMOVUPS   Y2, (DI)(AX*4)
	ADDQ      $8, AX
	JMP       loop

done:
	VZEROUPPER
	MOVQ AX, ret+24(FP)
	RET

// func clipGradAVX2(dx, dy, y *float32, n int, lo, hi float32)
// dx = dy where lo < y < hi (ordered: NaN fails), else 0, 8 at a time
// (n a multiple of 8).
TEXT ·clipGradAVX2(SB), NOSPLIT, $0-40
	MOVQ         dx+0(FP), DI
	MOVQ         dy+8(FP), SI
	MOVQ         y+16(FP), R8
	MOVQ         n+24(FP), CX
	VBROADCASTSS lo+32(FP), Y1
	VBROADCASTSS hi+36(FP), Y3
	XORQ         AX, AX

gloop:
	CMPQ    AX, CX
	JGE     gdone
	VMOVUPS (R8)(AX*4), Y0
	VCMPPS  $0x1e, Y1, Y0, Y4 // y > lo (GT_OQ)
	VCMPPS  $0x11, Y3, Y0, Y5 // y < hi (LT_OQ)
	VANDPS  Y4, Y5, Y4
	VANDPS  (SI)(AX*4), Y4, Y4
	VMOVUPS Y4, (DI)(AX*4)
	ADDQ    $8, AX
	JMP     gloop

gdone:
	VZEROUPPER
	RET

// func biasClampAVX2(dst, src *float32, n int, b, lo, hi float32) int
// Sets dst[i] = min(hi, max(lo, src[i] + b)), 8 at a time (n a multiple
// of 8; dst may be src), NaN kept as in clipClampAVX2. It stops at the
// first block of 8 whose sum src[i] + b equals a bound: that block of dst
// holds the sums, unclamped (the caller records and clamps it). It returns
// the elements done before that block (n when there was none).
TEXT ·biasClampAVX2(SB), NOSPLIT, $0-48
	MOVQ         dst+0(FP), DI
	MOVQ         src+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSS b+24(FP), Y6
	VBROADCASTSS lo+28(FP), Y1
	VBROADCASTSS hi+32(FP), Y3
	XORQ         AX, AX

bloop:
	CMPQ      AX, CX
	JGE       bdone
	VADDPS    (SI)(AX*4), Y6, Y0
	VCMPPS    $0x00, Y1, Y0, Y4 // x == lo
	VCMPPS    $0x00, Y3, Y0, Y5 // x == hi
	VORPS     Y4, Y5, Y4
	VMOVMSKPS Y4, DX
	TESTL     DX, DX
	JNZ       bhit
	VMAXPS    Y0, Y1, Y2        // max(lo, x): x when NaN
	VMINPS    Y2, Y3, Y2        // min(hi, .): . when NaN
	VMOVUPS   Y2, (DI)(AX*4)
	ADDQ      $8, AX
	JMP       bloop

bhit:
	VMOVUPS Y0, (DI)(AX*4)

bdone:
	VZEROUPPER
	MOVQ AX, ret+40(FP)
	RET
