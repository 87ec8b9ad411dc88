//go:build !purego

#include "textflag.h"

// The loops of planes.go on zmm registers: each takes a count n that is a
// multiple of 16.

// func mulAddVecAVX512(dst, x, a, b *float32, n int)
TEXT ·mulAddVecAVX512(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ a+16(FP), DX
	MOVQ b+24(FP), R8
	MOVQ n+32(FP), CX
	SHRQ $4, CX
	JZ   done

loop:
	VMOVUPS (SI), Z0
	VMULPS  (DX), Z0, Z0
	VADDPS  (R8), Z0, Z0
	VMOVUPS Z0, (DI)
	ADDQ    $64, SI
	ADDQ    $64, DX
	ADDQ    $64, R8
	ADDQ    $64, DI
	DECQ    CX
	JNZ     loop

done:
	VZEROUPPER
	RET

// func affine2VecAVX512(dst, gs, x, A, B, D *float32, n int)
TEXT ·affine2VecAVX512(SB), NOSPLIT, $0-56
	MOVQ dst+0(FP), DI
	MOVQ gs+8(FP), SI
	MOVQ x+16(FP), DX
	MOVQ A+24(FP), R8
	MOVQ B+32(FP), R9
	MOVQ D+40(FP), R10
	MOVQ n+48(FP), CX
	SHRQ $4, CX
	JZ   done

loop:
	VMOVUPS (SI), Z0
	VMULPS  (R8), Z0, Z0 // A*g
	VMOVUPS (DX), Z1
	VMULPS  (R9), Z1, Z1 // B*x
	VADDPS  Z1, Z0, Z0
	VADDPS  (R10), Z0, Z0 // + D
	VMOVUPS Z0, (DI)
	ADDQ    $64, SI
	ADDQ    $64, DX
	ADDQ    $64, R8
	ADDQ    $64, R9
	ADDQ    $64, R10
	ADDQ    $64, DI
	DECQ    CX
	JNZ     loop

done:
	VZEROUPPER
	RET

// func widenAddAVX512(acc *float64, x *float32, n int)
TEXT ·widenAddAVX512(SB), NOSPLIT, $0-24
	MOVQ acc+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $4, CX
	JZ   done

loop:
	VCVTPS2PD (SI), Z0
	VCVTPS2PD 32(SI), Z1
	VADDPD    (DI), Z0, Z0
	VADDPD    64(DI), Z1, Z1
	VMOVUPD   Z0, (DI)
	VMOVUPD   Z1, 64(DI)
	ADDQ      $64, SI
	ADDQ      $128, DI
	DECQ      CX
	JNZ       loop

done:
	VZEROUPPER
	RET

// func widenSqDevAddAVX512(acc *float64, x *float32, m *float64, n int)
TEXT ·widenSqDevAddAVX512(SB), NOSPLIT, $0-32
	MOVQ acc+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ m+16(FP), DX
	MOVQ n+24(FP), CX
	SHRQ $4, CX
	JZ   done

loop:
	VCVTPS2PD   (SI), Z0
	VCVTPS2PD   32(SI), Z1
	VSUBPD      (DX), Z0, Z0 // x - m
	VSUBPD      64(DX), Z1, Z1
	VMOVUPD     (DI), Z2
	VMOVUPD     64(DI), Z3
	VFMADD231PD Z0, Z0, Z2
	VFMADD231PD Z1, Z1, Z3
	VMOVUPD     Z2, (DI)
	VMOVUPD     Z3, 64(DI)
	ADDQ        $64, SI
	ADDQ        $128, DX
	ADDQ        $128, DI
	DECQ        CX
	JNZ         loop

done:
	VZEROUPPER
	RET

// func widenDotDevAddAVX512(ag, agx *float64, gs, x *float32, m *float64, n int)
TEXT ·widenDotDevAddAVX512(SB), NOSPLIT, $0-48
	MOVQ ag+0(FP), DI
	MOVQ agx+8(FP), R9
	MOVQ gs+16(FP), SI
	MOVQ x+24(FP), DX
	MOVQ m+32(FP), R8
	MOVQ n+40(FP), CX
	SHRQ $4, CX
	JZ   done

loop:
	VCVTPS2PD   (SI), Z0
	VCVTPS2PD   32(SI), Z1
	VCVTPS2PD   (DX), Z4
	VCVTPS2PD   32(DX), Z5
	VSUBPD      (R8), Z4, Z4 // x - m
	VSUBPD      64(R8), Z5, Z5
	VADDPD      (DI), Z0, Z2
	VADDPD      64(DI), Z1, Z3
	VMOVUPD     Z2, (DI)
	VMOVUPD     Z3, 64(DI)
	VMOVUPD     (R9), Z6
	VMOVUPD     64(R9), Z7
	VFMADD231PD Z4, Z0, Z6 // += g*(x-m)
	VFMADD231PD Z5, Z1, Z7
	VMOVUPD     Z6, (R9)
	VMOVUPD     Z7, 64(R9)
	ADDQ        $64, SI
	ADDQ        $64, DX
	ADDQ        $128, R8
	ADDQ        $128, DI
	ADDQ        $128, R9
	DECQ        CX
	JNZ         loop

done:
	VZEROUPPER
	RET
