//go:build !purego

#include "textflag.h"

// The AVX2 loops. Each takes a count n that is a multiple of its block (8
// floats, 16 for sumAVX2 and sqDevAVX2); the Go wrappers do the rest.
// Elementwise loops use separate multiplies and adds (no FMA), so that
// they round as Go's loops do.

// func reluMaskAVX2(out, dy, x *float32, n int)
TEXT ·reluMaskAVX2(SB), NOSPLIT, $0-32
	MOVQ out+0(FP), DI
	MOVQ dy+8(FP), SI
	MOVQ x+16(FP), DX
	MOVQ n+24(FP), CX
	SHRQ $3, CX
	JZ   done
	VXORPS Y15, Y15, Y15

loop:
	VMOVUPS (DX), Y0
	VCMPPS  $6, Y15, Y0, Y1 // !(x <= 0): x > 0 or NaN
	VANDPS  (SI), Y1, Y2
	VMOVUPS Y2, (DI)
	ADDQ    $32, DX
	ADDQ    $32, SI
	ADDQ    $32, DI
	DECQ    CX
	JNZ     loop

done:
	VZEROUPPER
	RET

// func scaleShiftAVX2(dst, x *float32, n int, a, b float32, relu bool)
TEXT ·scaleShiftAVX2(SB), NOSPLIT, $0-33
	MOVQ         dst+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSS a+24(FP), Y14
	VBROADCASTSS b+28(FP), Y13
	VXORPS       Y15, Y15, Y15
	MOVBLZX      relu+32(FP), AX
	SHRQ         $3, CX
	JZ           done
	TESTL        AX, AX
	JNZ          rloop

loop:
	VMULPS  (SI), Y14, Y0
	VADDPS  Y13, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	DECQ    CX
	JNZ     loop
	JMP     done

rloop:
	VMULPS  (SI), Y14, Y0
	VADDPS  Y13, Y0, Y0
	VCMPPS  $6, Y15, Y0, Y1
	VANDPS  Y1, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	DECQ    CX
	JNZ     rloop

done:
	VZEROUPPER
	RET

// func affine2AVX2(dst, dy, x *float32, n int, A, B, D float32)
TEXT ·affine2AVX2(SB), NOSPLIT, $0-44
	MOVQ         dst+0(FP), DI
	MOVQ         dy+8(FP), SI
	MOVQ         x+16(FP), DX
	MOVQ         n+24(FP), CX
	VBROADCASTSS A+32(FP), Y14
	VBROADCASTSS B+36(FP), Y13
	VBROADCASTSS D+40(FP), Y12
	SHRQ         $3, CX
	JZ           done

loop:
	VMULPS  (SI), Y14, Y0
	VMULPS  (DX), Y13, Y1
	VADDPS  Y1, Y0, Y0
	VADDPS  Y12, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DX
	ADDQ    $32, DI
	DECQ    CX
	JNZ     loop

done:
	VZEROUPPER
	RET

// func sgdMomentumAVX2(p, dy, b *float32, n int, wd, m, damp, lr float32)
TEXT ·sgdMomentumAVX2(SB), NOSPLIT, $0-48
	MOVQ         p+0(FP), DI
	MOVQ         dy+8(FP), SI
	MOVQ         b+16(FP), DX
	MOVQ         n+24(FP), CX
	VBROADCASTSS wd+32(FP), Y15
	VBROADCASTSS m+36(FP), Y14
	VBROADCASTSS damp+40(FP), Y13
	VBROADCASTSS lr+44(FP), Y12
	SHRQ         $3, CX
	JZ           done

loop:
	VMOVUPS      (DI), Y4
	VMOVUPS      (SI), Y0
	VFMADD231PS  Y4, Y15, Y0 // d = fma(wd, p, g)
	VMULPS       (DX), Y14, Y1 // m*b
	VFMADD231PS  Y0, Y13, Y1 // b = fma(damp, d, m*b)
	VMOVUPS      Y1, (DX)
	VFNMADD231PS Y1, Y12, Y4 // p = fma(-lr, b, p)
	VMOVUPS      Y4, (DI)
	ADDQ    $32, DI
	ADDQ    $32, SI
	ADDQ    $32, DX
	DECQ    CX
	JNZ     loop

done:
	VZEROUPPER
	RET

// HSUM4 adds Y0..Y3 (float64 lanes) into the low double of X0.
#define HSUM4 \
	VADDPD       Y1, Y0, Y0; \
	VADDPD       Y3, Y2, Y2; \
	VADDPD       Y2, Y0, Y0; \
	VEXTRACTF128 $1, Y0, X1; \
	VADDPD       X1, X0, X0; \
	VUNPCKHPD    X0, X0, X1; \
	VADDSD       X1, X0, X0

// func sumAVX2(v *float32, n int) float64
TEXT ·sumAVX2(SB), NOSPLIT, $0-24
	MOVQ   v+0(FP), SI
	MOVQ   n+8(FP), CX
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3
	SHRQ   $4, CX
	JZ     done

loop:
	VCVTPS2PD (SI), Y4
	VCVTPS2PD 16(SI), Y5
	VCVTPS2PD 32(SI), Y6
	VCVTPS2PD 48(SI), Y7
	VADDPD    Y4, Y0, Y0
	VADDPD    Y5, Y1, Y1
	VADDPD    Y6, Y2, Y2
	VADDPD    Y7, Y3, Y3
	ADDQ      $64, SI
	DECQ      CX
	JNZ       loop

done:
	HSUM4
	VMOVSD X0, ret+16(FP)
	VZEROUPPER
	RET

// func sqDevAVX2(v *float32, n int, m float64) float64
TEXT ·sqDevAVX2(SB), NOSPLIT, $0-32
	MOVQ         v+0(FP), SI
	MOVQ         n+8(FP), CX
	VBROADCASTSD m+16(FP), Y8
	VXORPD       Y0, Y0, Y0
	VXORPD       Y1, Y1, Y1
	VXORPD       Y2, Y2, Y2
	VXORPD       Y3, Y3, Y3
	SHRQ         $4, CX
	JZ           done

loop:
	VCVTPS2PD   (SI), Y4
	VCVTPS2PD   16(SI), Y5
	VCVTPS2PD   32(SI), Y6
	VCVTPS2PD   48(SI), Y7
	VSUBPD      Y8, Y4, Y4
	VSUBPD      Y8, Y5, Y5
	VSUBPD      Y8, Y6, Y6
	VSUBPD      Y8, Y7, Y7
	VFMADD231PD Y4, Y4, Y0
	VFMADD231PD Y5, Y5, Y1
	VFMADD231PD Y6, Y6, Y2
	VFMADD231PD Y7, Y7, Y3
	ADDQ        $64, SI
	DECQ        CX
	JNZ         loop

done:
	HSUM4
	VMOVSD X0, ret+24(FP)
	VZEROUPPER
	RET

// func dotDevAVX2(dy, x *float32, n int, m float64) (sg, sgx float64)
TEXT ·dotDevAVX2(SB), NOSPLIT, $0-48
	MOVQ         dy+0(FP), SI
	MOVQ         x+8(FP), DX
	MOVQ         n+16(FP), CX
	VBROADCASTSD m+24(FP), Y8
	VXORPD       Y0, Y0, Y0
	VXORPD       Y1, Y1, Y1
	VXORPD       Y2, Y2, Y2
	VXORPD       Y3, Y3, Y3
	SHRQ         $3, CX
	JZ           done

loop:
	VCVTPS2PD   (SI), Y4
	VCVTPS2PD   16(SI), Y5
	VCVTPS2PD   (DX), Y6
	VCVTPS2PD   16(DX), Y7
	VADDPD      Y4, Y0, Y0
	VADDPD      Y5, Y1, Y1
	VSUBPD      Y8, Y6, Y6
	VSUBPD      Y8, Y7, Y7
	VFMADD231PD Y6, Y4, Y2
	VFMADD231PD Y7, Y5, Y3
	ADDQ        $32, SI
	ADDQ        $32, DX
	DECQ        CX
	JNZ         loop

done:
	VADDPD       Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPD       X1, X0, X0
	VUNPCKHPD    X0, X0, X1
	VADDSD       X1, X0, X0
	VMOVSD       X0, sg+32(FP)
	VADDPD       Y3, Y2, Y2
	VEXTRACTF128 $1, Y2, X3
	VADDPD       X3, X2, X2
	VUNPCKHPD    X2, X2, X3
	VADDSD       X3, X2, X2
	VMOVSD       X2, sgx+40(FP)
	VZEROUPPER
	RET

// func siluGradAVX2(out, gs, x, s *float32, n int)
TEXT ·siluGradAVX2(SB), NOSPLIT, $0-40
	MOVQ         out+0(FP), DI
	MOVQ         gs+8(FP), SI
	MOVQ         x+16(FP), DX
	MOVQ         s+24(FP), R8
	MOVQ         n+32(FP), CX
	MOVL         $0x3f800000, AX
	MOVD         AX, X15
	VBROADCASTSS X15, Y15 // 1
	SHRQ         $3, CX
	JZ           done

loop:
	VMOVUPS (SI), Y0
	VMOVUPS (R8), Y2
	VMULPS  Y2, Y0, Y3 // g*s
	VMULPS  (DX), Y0, Y4 // g*x
	VSUBPS  Y2, Y15, Y5 // 1 - s
	VMULPS  Y5, Y2, Y5 // s*(1 - s)
	VMULPS  Y5, Y4, Y4
	VADDPS  Y4, Y3, Y3
	VMOVUPS Y3, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DX
	ADDQ    $32, R8
	ADDQ    $32, DI
	DECQ    CX
	JNZ     loop

done:
	VZEROUPPER
	RET
