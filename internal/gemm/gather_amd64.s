//go:build !purego

#include "textflag.h"

// func gatherPanel32(kb int, dst *float32, src *float32, row *int32, rowTap *int32, masks *uint32, cols *int32, contig int)
// Packs one B panel of 32 columns of a Gather (kernel.gather): for each of
// kb steps, value j is src[row[p]+cols[j]] where bit j of
// masks[rowTap[p]] is set, else zero. contig != 0: cols[j] = cols[0]+j,
// and masked loads replace the gathers. Masked-off lanes read no memory.
TEXT ·gatherPanel32(SB), NOSPLIT, $0-64
	MOVQ kb+0(FP), CX
	MOVQ dst+8(FP), DI
	MOVQ src+16(FP), SI
	MOVQ row+24(FP), R8
	MOVQ rowTap+32(FP), R9
	MOVQ masks+40(FP), R10
	MOVQ cols+48(FP), R11
	MOVQ contig+56(FP), R12
	TESTQ CX, CX
	JZ    done
	TESTQ R12, R12
	JNZ   contiguous
	VMOVDQU32 (R11), Z30
	VMOVDQU32 64(R11), Z31

gathered:
	MOVLQSX (R8), AX
	MOVLQSX (R9), BX
	MOVL    (R10)(BX*4), DX
	LEAQ    (SI)(AX*4), AX
	KMOVW   DX, K1
	SHRL    $16, DX
	KMOVW   DX, K2
	VPXORD  Z0, Z0, Z0
	VPXORD  Z1, Z1, Z1
	VGATHERDPS (AX)(Z30*4), K1, Z0
	VGATHERDPS (AX)(Z31*4), K2, Z1
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	ADDQ    $4, R8
	ADDQ    $4, R9
	ADDQ    $128, DI
	DECQ    CX
	JNZ     gathered
	JMP     done

contiguous:
	MOVLQSX (R11), R12
	LEAQ    (SI)(R12*4), SI

loaded:
	MOVLQSX (R8), AX
	MOVLQSX (R9), BX
	MOVL    (R10)(BX*4), DX
	LEAQ    (SI)(AX*4), AX
	KMOVW   DX, K1
	SHRL    $16, DX
	KMOVW   DX, K2
	VMOVUPS.Z (AX), K1, Z0
	VMOVUPS.Z 64(AX), K2, Z1
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	ADDQ    $4, R8
	ADDQ    $4, R9
	ADDQ    $128, DI
	DECQ    CX
	JNZ     loaded

done:
	VZEROUPPER
	RET
