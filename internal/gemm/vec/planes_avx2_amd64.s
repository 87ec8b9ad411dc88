//go:build !purego

#include "textflag.h"

// The loops of planes.go on ymm registers (AVX2 and FMA): each takes a
// count n that is a multiple of 8.

// func mulAddVecAVX2(dst, x, a, b *float32, n int)
TEXT ·mulAddVecAVX2(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ a+16(FP), DX
	MOVQ b+24(FP), R8
	MOVQ n+32(FP), CX
	SHRQ $3, CX
	JZ   done

loop:
	VMOVUPS (SI), Y0
	VMULPS  (DX), Y0, Y0
	VADDPS  (R8), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DX
	ADDQ    $32, R8
	ADDQ    $32, DI
	DECQ    CX
	JNZ     loop

done:
	VZEROUPPER
	RET

// func affine2VecAVX2(dst, gs, x, A, B, D *float32, n int)
TEXT ·affine2VecAVX2(SB), NOSPLIT, $0-56
	MOVQ dst+0(FP), DI
	MOVQ gs+8(FP), SI
	MOVQ x+16(FP), DX
	MOVQ A+24(FP), R8
	MOVQ B+32(FP), R9
	MOVQ D+40(FP), R10
	MOVQ n+48(FP), CX
	SHRQ $3, CX
	JZ   done

loop:
	VMOVUPS (SI), Y0
	VMULPS  (R8), Y0, Y0 // A*g
	VMOVUPS (DX), Y1
	VMULPS  (R9), Y1, Y1 // B*x
	VADDPS  Y1, Y0, Y0
	VADDPS  (R10), Y0, Y0 // + D
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DX
	ADDQ    $32, R8
	ADDQ    $32, R9
	ADDQ    $32, R10
	ADDQ    $32, DI
	DECQ    CX
	JNZ     loop

done:
	VZEROUPPER
	RET

// func widenAddAVX2(acc *float64, x *float32, n int)
TEXT ·widenAddAVX2(SB), NOSPLIT, $0-24
	MOVQ acc+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $3, CX
	JZ   done

loop:
	VCVTPS2PD (SI), Y0
	VCVTPS2PD 16(SI), Y1
	VADDPD    (DI), Y0, Y0
	VADDPD    32(DI), Y1, Y1
	VMOVUPD   Y0, (DI)
	VMOVUPD   Y1, 32(DI)
	ADDQ      $32, SI
	ADDQ      $64, DI
	DECQ      CX
	JNZ       loop

done:
	VZEROUPPER
	RET

// func widenSqDevAddAVX2(acc *float64, x *float32, m *float64, n int)
TEXT ·widenSqDevAddAVX2(SB), NOSPLIT, $0-32
	MOVQ acc+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ m+16(FP), DX
	MOVQ n+24(FP), CX
	SHRQ $3, CX
	JZ   done

loop:
	VCVTPS2PD   (SI), Y0
	VCVTPS2PD   16(SI), Y1
	VSUBPD      (DX), Y0, Y0 // x - m
	VSUBPD      32(DX), Y1, Y1
	VMOVUPD     (DI), Y2
	VMOVUPD     32(DI), Y3
	VFMADD231PD Y0, Y0, Y2
	VFMADD231PD Y1, Y1, Y3
	VMOVUPD     Y2, (DI)
	VMOVUPD     Y3, 32(DI)
	ADDQ        $32, SI
	ADDQ        $64, DX
	ADDQ        $64, DI
	DECQ        CX
	JNZ         loop

done:
	VZEROUPPER
	RET

// func widenDotDevAddAVX2(ag, agx *float64, gs, x *float32, m *float64, n int)
TEXT ·widenDotDevAddAVX2(SB), NOSPLIT, $0-48
	MOVQ ag+0(FP), DI
	MOVQ agx+8(FP), R9
	MOVQ gs+16(FP), SI
	MOVQ x+24(FP), DX
	MOVQ m+32(FP), R8
	MOVQ n+40(FP), CX
	SHRQ $3, CX
	JZ   done

loop:
	VCVTPS2PD   (SI), Y0
	VCVTPS2PD   16(SI), Y1
	VCVTPS2PD   (DX), Y4
	VCVTPS2PD   16(DX), Y5
	VSUBPD      (R8), Y4, Y4 // x - m
	VSUBPD      32(R8), Y5, Y5
	VADDPD      (DI), Y0, Y2
	VADDPD      32(DI), Y1, Y3
	VMOVUPD     Y2, (DI)
	VMOVUPD     Y3, 32(DI)
	VMOVUPD     (R9), Y6
	VMOVUPD     32(R9), Y7
	VFMADD231PD Y4, Y0, Y6 // += g*(x-m)
	VFMADD231PD Y5, Y1, Y7
	VMOVUPD     Y6, (R9)
	VMOVUPD     Y7, 32(R9)
	ADDQ        $32, SI
	ADDQ        $32, DX
	ADDQ        $64, R8
	ADDQ        $64, DI
	ADDQ        $64, R9
	DECQ        CX
	JNZ         loop

done:
	VZEROUPPER
	RET
