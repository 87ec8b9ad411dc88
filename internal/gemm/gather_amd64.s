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

// Bit j of a panel's mask, a lane j of 16.
DATA gatherBits<>+0(SB)/4, $1
DATA gatherBits<>+4(SB)/4, $2
DATA gatherBits<>+8(SB)/4, $4
DATA gatherBits<>+12(SB)/4, $8
DATA gatherBits<>+16(SB)/4, $16
DATA gatherBits<>+20(SB)/4, $32
DATA gatherBits<>+24(SB)/4, $64
DATA gatherBits<>+28(SB)/4, $128
DATA gatherBits<>+32(SB)/4, $256
DATA gatherBits<>+36(SB)/4, $512
DATA gatherBits<>+40(SB)/4, $1024
DATA gatherBits<>+44(SB)/4, $2048
DATA gatherBits<>+48(SB)/4, $4096
DATA gatherBits<>+52(SB)/4, $8192
DATA gatherBits<>+56(SB)/4, $16384
DATA gatherBits<>+60(SB)/4, $32768
GLOBL gatherBits<>(SB), RODATA|NOPTR, $64

// func gatherPanel16(kb int, dst *float32, src *float32, row *int32, rowTap *int32, masks *uint32, cols *int32, contig int)
// gatherPanel32 for panels of 16 columns with AVX2: the mask bits become
// lane masks (broadcast, AND with each lane's bit, compare), for
// VMASKMOVPS loads (contig) or VGATHERDPS; masked-off lanes read no memory.
TEXT ·gatherPanel16(SB), NOSPLIT, $0-64
	MOVQ    kb+0(FP), CX
	MOVQ    dst+8(FP), DI
	MOVQ    src+16(FP), SI
	MOVQ    row+24(FP), R8
	MOVQ    rowTap+32(FP), R9
	MOVQ    masks+40(FP), R10
	MOVQ    cols+48(FP), R11
	MOVQ    contig+56(FP), R12
	TESTQ   CX, CX
	JZ      done16
	VMOVDQU gatherBits<>+0(SB), Y14
	VMOVDQU gatherBits<>+32(SB), Y15
	TESTQ   R12, R12
	JNZ     contiguous16
	VMOVDQU (R11), Y12
	VMOVDQU 32(R11), Y13

gathered16:
	MOVLQSX      (R8), AX
	MOVLQSX      (R9), BX
	MOVL         (R10)(BX*4), DX
	LEAQ         (SI)(AX*4), AX
	VMOVD        DX, X2
	VPBROADCASTD X2, Y2
	VPAND        Y14, Y2, Y3
	VPCMPEQD     Y14, Y3, Y3
	VPAND        Y15, Y2, Y4
	VPCMPEQD     Y15, Y4, Y4
	VXORPS       Y0, Y0, Y0
	VXORPS       Y1, Y1, Y1
	VGATHERDPS   Y3, (AX)(Y12*4), Y0
	VGATHERDPS   Y4, (AX)(Y13*4), Y1
	VMOVUPS      Y0, (DI)
	VMOVUPS      Y1, 32(DI)
	ADDQ         $4, R8
	ADDQ         $4, R9
	ADDQ         $64, DI
	DECQ         CX
	JNZ          gathered16
	JMP          done16

contiguous16:
	MOVLQSX (R11), R12
	LEAQ    (SI)(R12*4), SI

loaded16:
	MOVLQSX      (R8), AX
	MOVLQSX      (R9), BX
	MOVL         (R10)(BX*4), DX
	LEAQ         (SI)(AX*4), AX
	VMOVD        DX, X2
	VPBROADCASTD X2, Y2
	VPAND        Y14, Y2, Y3
	VPCMPEQD     Y14, Y3, Y3
	VPAND        Y15, Y2, Y4
	VPCMPEQD     Y15, Y4, Y4
	VMASKMOVPS   (AX), Y3, Y0
	VMASKMOVPS   32(AX), Y4, Y1
	VMOVUPS      Y0, (DI)
	VMOVUPS      Y1, 32(DI)
	ADDQ         $4, R8
	ADDQ         $4, R9
	ADDQ         $64, DI
	DECQ         CX
	JNZ          loaded16

done16:
	VZEROUPPER
	RET
