//go:build !purego

#include "textflag.h"

// Even indices of two registers of 16, for the permute of stride-2 runs.
DATA gatherEven<>+0(SB)/4, $0
DATA gatherEven<>+4(SB)/4, $2
DATA gatherEven<>+8(SB)/4, $4
DATA gatherEven<>+12(SB)/4, $6
DATA gatherEven<>+16(SB)/4, $8
DATA gatherEven<>+20(SB)/4, $10
DATA gatherEven<>+24(SB)/4, $12
DATA gatherEven<>+28(SB)/4, $14
DATA gatherEven<>+32(SB)/4, $16
DATA gatherEven<>+36(SB)/4, $18
DATA gatherEven<>+40(SB)/4, $20
DATA gatherEven<>+44(SB)/4, $22
DATA gatherEven<>+48(SB)/4, $24
DATA gatherEven<>+52(SB)/4, $26
DATA gatherEven<>+56(SB)/4, $28
DATA gatherEven<>+60(SB)/4, $30
GLOBL gatherEven<>(SB), RODATA|NOPTR, $64

// func gatherPanel32(kb int, dst *float32, src *float32, row *int32, rowTap *int32, masks *uint32, cols *int32, mode int, split *uint64)
// Packs one B panel of 32 columns of a Gather (kernel.gather): for each of
// kb steps, value j is src[row[p]+cols[j]] where bit j of
// masks[rowTap[p]] is set, else zero. Masked-off lanes read no memory.
// mode (gatherAny...): 0 gathers; 1 cols[j] = cols[0]+j, masked loads;
// 2 two such runs from cols[0] and cols[16]; 3 two runs at stride 2, each
// 32 elements loaded (masks split[rowTap[p]]: 16 bits a register) and
// their even elements kept.
TEXT ·gatherPanel32(SB), NOSPLIT, $0-72
	MOVQ  kb+0(FP), CX
	MOVQ  dst+8(FP), DI
	MOVQ  src+16(FP), SI
	MOVQ  row+24(FP), R8
	MOVQ  rowTap+32(FP), R9
	MOVQ  masks+40(FP), R10
	MOVQ  cols+48(FP), R11
	MOVQ  mode+56(FP), R12
	TESTQ CX, CX
	JZ    done
	CMPQ  R12, $1
	JEQ   contiguous
	JGT   runs
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
	JMP     done

runs:
	MOVLQSX 64(R11), R13 // the second run's start, relative to the first
	MOVLQSX (R11), R11
	SUBQ    R11, R13
	SHLQ    $2, R13
	LEAQ    (SI)(R11*4), SI
	CMPQ    R12, $3
	JEQ     stride2

halves:
	MOVLQSX (R8), AX
	MOVLQSX (R9), BX
	MOVL    (R10)(BX*4), DX
	LEAQ    (SI)(AX*4), AX
	KMOVW   DX, K1
	SHRL    $16, DX
	KMOVW   DX, K2
	VMOVUPS.Z (AX), K1, Z0
	VMOVUPS.Z (AX)(R13*1), K2, Z1
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	ADDQ    $4, R8
	ADDQ    $4, R9
	ADDQ    $128, DI
	DECQ    CX
	JNZ     halves
	JMP     done

stride2:
	MOVQ      split+64(FP), R10
	VMOVDQU32 gatherEven<>+0(SB), Z30

stride2row:
	MOVLQSX   (R8), AX
	MOVLQSX   (R9), BX
	MOVQ      (R10)(BX*8), DX
	LEAQ      (SI)(AX*4), AX
	LEAQ      (AX)(R13*1), BX
	KMOVW     DX, K1
	SHRQ      $16, DX
	KMOVW     DX, K2
	SHRQ      $16, DX
	KMOVW     DX, K3
	SHRQ      $16, DX
	KMOVW     DX, K4
	VMOVUPS.Z (AX), K1, Z0
	VMOVUPS.Z 64(AX), K2, Z1
	VMOVUPS.Z (BX), K3, Z2
	VMOVUPS.Z 64(BX), K4, Z3
	VMOVDQA32 Z30, Z4
	VPERMI2PS Z1, Z0, Z4
	VMOVDQA32 Z30, Z5
	VPERMI2PS Z3, Z2, Z5
	VMOVUPS   Z4, (DI)
	VMOVUPS   Z5, 64(DI)
	ADDQ      $4, R8
	ADDQ      $4, R9
	ADDQ      $128, DI
	DECQ      CX
	JNZ       stride2row

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

// Bit j of a panel's mask at the even lanes of the 32 elements a run of 16
// columns at stride 2 covers (lane 2j of four registers of 8); the odd
// lanes get bit 31, never set in a panel of 16, so they load nothing.
DATA gatherBits2<>+0(SB)/4, $1
DATA gatherBits2<>+4(SB)/4, $0x80000000
DATA gatherBits2<>+8(SB)/4, $2
DATA gatherBits2<>+12(SB)/4, $0x80000000
DATA gatherBits2<>+16(SB)/4, $4
DATA gatherBits2<>+20(SB)/4, $0x80000000
DATA gatherBits2<>+24(SB)/4, $8
DATA gatherBits2<>+28(SB)/4, $0x80000000
DATA gatherBits2<>+32(SB)/4, $16
DATA gatherBits2<>+36(SB)/4, $0x80000000
DATA gatherBits2<>+40(SB)/4, $32
DATA gatherBits2<>+44(SB)/4, $0x80000000
DATA gatherBits2<>+48(SB)/4, $64
DATA gatherBits2<>+52(SB)/4, $0x80000000
DATA gatherBits2<>+56(SB)/4, $128
DATA gatherBits2<>+60(SB)/4, $0x80000000
DATA gatherBits2<>+64(SB)/4, $256
DATA gatherBits2<>+68(SB)/4, $0x80000000
DATA gatherBits2<>+72(SB)/4, $512
DATA gatherBits2<>+76(SB)/4, $0x80000000
DATA gatherBits2<>+80(SB)/4, $1024
DATA gatherBits2<>+84(SB)/4, $0x80000000
DATA gatherBits2<>+88(SB)/4, $2048
DATA gatherBits2<>+92(SB)/4, $0x80000000
DATA gatherBits2<>+96(SB)/4, $4096
DATA gatherBits2<>+100(SB)/4, $0x80000000
DATA gatherBits2<>+104(SB)/4, $8192
DATA gatherBits2<>+108(SB)/4, $0x80000000
DATA gatherBits2<>+112(SB)/4, $16384
DATA gatherBits2<>+116(SB)/4, $0x80000000
DATA gatherBits2<>+120(SB)/4, $32768
DATA gatherBits2<>+124(SB)/4, $0x80000000
GLOBL gatherBits2<>(SB), RODATA|NOPTR, $128

// func gatherPanel16(kb int, dst *float32, src *float32, row *int32, rowTap *int32, masks *uint32, cols *int32, mode int)
// gatherPanel32 for panels of 16 columns with AVX2: the mask bits become
// lane masks (broadcast, AND with each lane's bit, compare), for
// VMASKMOVPS loads or VGATHERDPS; masked-off lanes read no memory. mode:
// 0 gathers; 1 cols[j] = cols[0]+j, two masked loads; 3 two runs of 8
// at stride 2, cols[j] = cols[h]+2(j-h) for h = 0 and 8 (one run of 16
// when cols[8] = cols[0]+16), the 16 elements from each cols[h] loaded by
// two masked loads (even lanes only) and their even elements kept
// (VSHUFPS, VPERMPD).
TEXT ·gatherPanel16(SB), NOSPLIT, $0-64
	MOVQ    kb+0(FP), CX
	MOVQ    dst+8(FP), DI
	MOVQ    src+16(FP), SI
	MOVQ    row+24(FP), R8
	MOVQ    rowTap+32(FP), R9
	MOVQ    masks+40(FP), R10
	MOVQ    cols+48(FP), R11
	MOVQ    mode+56(FP), R12
	TESTQ   CX, CX
	JZ      done16
	CMPQ    R12, $3
	JEQ     stride2_16
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
	JMP          done16

stride2_16:
	MOVLQSX 32(R11), R13 // the second half's start, relative to the first
	MOVLQSX (R11), R12
	SUBQ    R12, R13
	SHLQ    $2, R13
	LEAQ    (SI)(R12*4), SI
	VMOVDQU gatherBits2<>+0(SB), Y12
	VMOVDQU gatherBits2<>+32(SB), Y13
	VMOVDQU gatherBits2<>+64(SB), Y14
	VMOVDQU gatherBits2<>+96(SB), Y15

loaded2_16:
	MOVLQSX      (R8), AX
	MOVLQSX      (R9), BX
	MOVL         (R10)(BX*4), DX
	LEAQ         (SI)(AX*4), AX
	VMOVD        DX, X8
	VPBROADCASTD X8, Y8
	VPAND        Y12, Y8, Y4
	VPCMPEQD     Y12, Y4, Y4
	VPAND        Y13, Y8, Y5
	VPCMPEQD     Y13, Y5, Y5
	VPAND        Y14, Y8, Y6
	VPCMPEQD     Y14, Y6, Y6
	VPAND        Y15, Y8, Y7
	VPCMPEQD     Y15, Y7, Y7
	VMASKMOVPS   (AX), Y4, Y0
	VMASKMOVPS   32(AX), Y5, Y1
	VMASKMOVPS   (AX)(R13*1), Y6, Y2
	VMASKMOVPS   32(AX)(R13*1), Y7, Y3
	VSHUFPS      $0x88, Y1, Y0, Y0 // a0 a2 b0 b2 | a4 a6 b4 b6
	VSHUFPS      $0x88, Y3, Y2, Y2
	VPERMPD      $0xD8, Y0, Y0     // a0 a2 a4 a6 b0 b2 b4 b6
	VPERMPD      $0xD8, Y2, Y2
	VMOVUPS      Y0, (DI)
	VMOVUPS      Y2, 32(DI)
	ADDQ         $4, R8
	ADDQ         $4, R9
	ADDQ         $64, DI
	DECQ         CX
	JNZ          loaded2_16

done16:
	VZEROUPPER
	RET
