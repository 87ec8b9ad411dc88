//go:build !purego

#include "textflag.h"

// The AVX-512F loops: the AVX2 ones (vec_avx2_amd64.s) on zmm registers.
// Each takes a count n that is a multiple of its block (16 floats, 32 for
// sumAVX512 and sqDevAVX512).

// func reluMaskAVX512(out, dy, x *float32, n int)
TEXT ·reluMaskAVX512(SB), NOSPLIT, $0-32
	MOVQ   out+0(FP), DI
	MOVQ   dy+8(FP), SI
	MOVQ   x+16(FP), DX
	MOVQ   n+24(FP), CX
	SHRQ   $4, CX
	JZ     done
	VPXORD Z15, Z15, Z15

loop:
	VMOVUPS   (DX), Z0
	VCMPPS    $6, Z15, Z0, K1 // !(x <= 0): x > 0 or NaN
	VMOVUPS.Z (SI), K1, Z2
	VMOVUPS   Z2, (DI)
	ADDQ      $64, DX
	ADDQ      $64, SI
	ADDQ      $64, DI
	DECQ      CX
	JNZ       loop

done:
	VZEROUPPER
	RET

// func scaleShiftAVX512(dst, x *float32, n int, a, b float32, relu bool)
TEXT ·scaleShiftAVX512(SB), NOSPLIT, $0-33
	MOVQ         dst+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSS a+24(FP), Z14
	VBROADCASTSS b+28(FP), Z13
	VPXORD       Z15, Z15, Z15
	MOVBLZX      relu+32(FP), AX
	SHRQ         $4, CX
	JZ           done
	TESTL        AX, AX
	JNZ          rloop

loop:
	VMULPS  (SI), Z14, Z0
	VADDPS  Z13, Z0, Z0
	VMOVUPS Z0, (DI)
	ADDQ    $64, SI
	ADDQ    $64, DI
	DECQ    CX
	JNZ     loop
	JMP     done

rloop:
	VMULPS    (SI), Z14, Z0
	VADDPS    Z13, Z0, Z0
	VCMPPS    $6, Z15, Z0, K1
	VMOVUPS.Z Z0, K1, Z0
	VMOVUPS   Z0, (DI)
	ADDQ      $64, SI
	ADDQ      $64, DI
	DECQ      CX
	JNZ       rloop

done:
	VZEROUPPER
	RET

// func affine2AVX512(dst, dy, x *float32, n int, A, B, D float32)
TEXT ·affine2AVX512(SB), NOSPLIT, $0-44
	MOVQ         dst+0(FP), DI
	MOVQ         dy+8(FP), SI
	MOVQ         x+16(FP), DX
	MOVQ         n+24(FP), CX
	VBROADCASTSS A+32(FP), Z14
	VBROADCASTSS B+36(FP), Z13
	VBROADCASTSS D+40(FP), Z12
	SHRQ         $4, CX
	JZ           done

loop:
	VMULPS  (SI), Z14, Z0
	VMULPS  (DX), Z13, Z1
	VADDPS  Z1, Z0, Z0
	VADDPS  Z12, Z0, Z0
	VMOVUPS Z0, (DI)
	ADDQ    $64, SI
	ADDQ    $64, DX
	ADDQ    $64, DI
	DECQ    CX
	JNZ     loop

done:
	VZEROUPPER
	RET

// func sgdMomentumAVX512(p, dy, b *float32, n int, wd, m, damp, lr float32)
TEXT ·sgdMomentumAVX512(SB), NOSPLIT, $0-48
	MOVQ         p+0(FP), DI
	MOVQ         dy+8(FP), SI
	MOVQ         b+16(FP), DX
	MOVQ         n+24(FP), CX
	VBROADCASTSS wd+32(FP), Z15
	VBROADCASTSS m+36(FP), Z14
	VBROADCASTSS damp+40(FP), Z13
	VBROADCASTSS lr+44(FP), Z12
	SHRQ         $4, CX
	JZ           done

loop:
	VMOVUPS      (DI), Z4
	VMOVUPS      (SI), Z0
	VFMADD231PS  Z4, Z15, Z0 // d = fma(wd, p, g)
	VMULPS       (DX), Z14, Z1 // m*b
	VFMADD231PS  Z0, Z13, Z1 // b = fma(damp, d, m*b)
	VMOVUPS      Z1, (DX)
	VFNMADD231PS Z1, Z12, Z4 // p = fma(-lr, b, p)
	VMOVUPS      Z4, (DI)
	ADDQ    $64, DI
	ADDQ    $64, SI
	ADDQ    $64, DX
	DECQ    CX
	JNZ     loop

done:
	VZEROUPPER
	RET

// HSUM4Z adds Z0..Z3 (float64 lanes) into the low double of X0.
#define HSUM4Z \
	VADDPD        Z1, Z0, Z0; \
	VADDPD        Z3, Z2, Z2; \
	VADDPD        Z2, Z0, Z0; \
	VEXTRACTF64X4 $1, Z0, Y1; \
	VADDPD        Y1, Y0, Y0; \
	VEXTRACTF128  $1, Y0, X1; \
	VADDPD        X1, X0, X0; \
	VUNPCKHPD     X0, X0, X1; \
	VADDSD        X1, X0, X0

// func sumAVX512(v *float32, n int) float64
TEXT ·sumAVX512(SB), NOSPLIT, $0-24
	MOVQ   v+0(FP), SI
	MOVQ   n+8(FP), CX
	VPXORQ Z0, Z0, Z0
	VPXORQ Z1, Z1, Z1
	VPXORQ Z2, Z2, Z2
	VPXORQ Z3, Z3, Z3
	SHRQ   $5, CX
	JZ     done

loop:
	VCVTPS2PD (SI), Z4
	VCVTPS2PD 32(SI), Z5
	VCVTPS2PD 64(SI), Z6
	VCVTPS2PD 96(SI), Z7
	VADDPD    Z4, Z0, Z0
	VADDPD    Z5, Z1, Z1
	VADDPD    Z6, Z2, Z2
	VADDPD    Z7, Z3, Z3
	ADDQ      $128, SI
	DECQ      CX
	JNZ       loop

done:
	HSUM4Z
	VMOVSD X0, ret+16(FP)
	VZEROUPPER
	RET

// func sqDevAVX512(v *float32, n int, m float64) float64
TEXT ·sqDevAVX512(SB), NOSPLIT, $0-32
	MOVQ         v+0(FP), SI
	MOVQ         n+8(FP), CX
	VBROADCASTSD m+16(FP), Z8
	VPXORQ       Z0, Z0, Z0
	VPXORQ       Z1, Z1, Z1
	VPXORQ       Z2, Z2, Z2
	VPXORQ       Z3, Z3, Z3
	SHRQ         $5, CX
	JZ           done

loop:
	VCVTPS2PD   (SI), Z4
	VCVTPS2PD   32(SI), Z5
	VCVTPS2PD   64(SI), Z6
	VCVTPS2PD   96(SI), Z7
	VSUBPD      Z8, Z4, Z4
	VSUBPD      Z8, Z5, Z5
	VSUBPD      Z8, Z6, Z6
	VSUBPD      Z8, Z7, Z7
	VFMADD231PD Z4, Z4, Z0
	VFMADD231PD Z5, Z5, Z1
	VFMADD231PD Z6, Z6, Z2
	VFMADD231PD Z7, Z7, Z3
	ADDQ        $128, SI
	DECQ        CX
	JNZ         loop

done:
	HSUM4Z
	VMOVSD X0, ret+24(FP)
	VZEROUPPER
	RET

// func dotDevAVX512(dy, x *float32, n int, m float64) (sg, sgx float64)
TEXT ·dotDevAVX512(SB), NOSPLIT, $0-48
	MOVQ         dy+0(FP), SI
	MOVQ         x+8(FP), DX
	MOVQ         n+16(FP), CX
	VBROADCASTSD m+24(FP), Z8
	VPXORQ       Z0, Z0, Z0
	VPXORQ       Z1, Z1, Z1
	VPXORQ       Z2, Z2, Z2
	VPXORQ       Z3, Z3, Z3
	SHRQ         $4, CX
	JZ           done

loop:
	VCVTPS2PD   (SI), Z4
	VCVTPS2PD   32(SI), Z5
	VCVTPS2PD   (DX), Z6
	VCVTPS2PD   32(DX), Z7
	VADDPD      Z4, Z0, Z0
	VADDPD      Z5, Z1, Z1
	VSUBPD      Z8, Z6, Z6
	VSUBPD      Z8, Z7, Z7
	VFMADD231PD Z6, Z4, Z2
	VFMADD231PD Z7, Z5, Z3
	ADDQ        $64, SI
	ADDQ        $64, DX
	DECQ        CX
	JNZ         loop

done:
	VADDPD        Z1, Z0, Z0
	VEXTRACTF64X4 $1, Z0, Y1
	VADDPD        Y1, Y0, Y0
	VEXTRACTF128  $1, Y0, X1
	VADDPD        X1, X0, X0
	VUNPCKHPD     X0, X0, X1
	VADDSD        X1, X0, X0
	VMOVSD        X0, sg+32(FP)
	VADDPD        Z3, Z2, Z2
	VEXTRACTF64X4 $1, Z2, Y3
	VADDPD        Y3, Y2, Y2
	VEXTRACTF128  $1, Y2, X3
	VADDPD        X3, X2, X2
	VUNPCKHPD     X2, X2, X3
	VADDSD        X3, X2, X2
	VMOVSD        X2, sgx+40(FP)
	VZEROUPPER
	RET

// func siluGradAVX512(out, gs, x, s *float32, n int)
TEXT ·siluGradAVX512(SB), NOSPLIT, $0-40
	MOVQ         out+0(FP), DI
	MOVQ         gs+8(FP), SI
	MOVQ         x+16(FP), DX
	MOVQ         s+24(FP), R8
	MOVQ         n+32(FP), CX
	MOVL         $0x3f800000, AX
	VPBROADCASTD AX, Z15 // 1
	SHRQ         $4, CX
	JZ           done

loop:
	VMOVUPS (SI), Z0
	VMOVUPS (R8), Z2
	VMULPS  Z2, Z0, Z3 // g*s
	VMULPS  (DX), Z0, Z4 // g*x
	VSUBPS  Z2, Z15, Z5 // 1 - s
	VMULPS  Z5, Z2, Z5 // s*(1 - s)
	VMULPS  Z5, Z4, Z4
	VADDPS  Z4, Z3, Z3
	VMOVUPS Z3, (DI)
	ADDQ    $64, SI
	ADDQ    $64, DX
	ADDQ    $64, R8
	ADDQ    $64, DI
	DECQ    CX
	JNZ     loop

done:
	VZEROUPPER
	RET
