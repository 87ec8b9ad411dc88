//go:build !purego

#include "textflag.h"

// GELU (x·Φ(x), Φ from Numerical Recipes' erfc and Cephes' expf) and its
// gradient, 8 lanes of float32 with AVX2: the operations of fastmath.go's
// gelu32 and gelu32Grad in their order, multiplies and adds rounded one by
// one (no fused multiply-adds), so every lane gives the Go loop's bits.
// The constants come broadcast from geluTab (gelu_amd64.go), 32 bytes each.

#define C_INVSQRT2 0(R8)
#define C_HALF 32(R8)
#define C_ONE 64(R8)
#define C_ABS 96(R8)
#define C_SIGN 128(R8)
#define P0 160(R8)
#define P1 192(R8)
#define P2 224(R8)
#define P3 256(R8)
#define P4 288(R8)
#define P5 320(R8)
#define P6 352(R8)
#define P7 384(R8)
#define P8 416(R8)
#define P9 448(R8)
#define E_LO 480(R8)
#define E_HI 512(R8)
#define E_LOG2E 544(R8)
#define E_MAGIC 576(R8)
#define E_LN2HI 608(R8)
#define E_LN2LO 640(R8)
#define E0 672(R8)
#define E1 704(R8)
#define E2 736(R8)
#define E3 768(R8)
#define E4 800(R8)
#define E5 832(R8)
#define E_BIAS 864(R8)
#define G_SMALL 896(R8)
#define G_MSMALL 928(R8)
#define G_INVSQRT2PI 960(R8)
#define G_MHALF 992(R8)

// EXP sets Y5 = exp32(Y5); clobbers Y4, Y6, Y7.
#define EXP \
	VMOVUPS E_LO, Y4; \
	VMAXPS Y5, Y4, Y5; \
	VMOVUPS E_HI, Y4; \
	VMINPS Y5, Y4, Y5; \
	VMULPS E_LOG2E, Y5, Y6; \
	VADDPS E_MAGIC, Y6, Y6; \
	VSUBPS E_MAGIC, Y6, Y7; \
	VMULPS E_LN2HI, Y7, Y4; \
	VSUBPS Y4, Y5, Y5; \
	VMULPS E_LN2LO, Y7, Y4; \
	VSUBPS Y4, Y5, Y5; \
	VMULPS Y5, Y5, Y7; \
	VMULPS E0, Y5, Y4; \
	VADDPS E1, Y4, Y4; \
	VMULPS Y5, Y4, Y4; \
	VADDPS E2, Y4, Y4; \
	VMULPS Y5, Y4, Y4; \
	VADDPS E3, Y4, Y4; \
	VMULPS Y5, Y4, Y4; \
	VADDPS E4, Y4, Y4; \
	VMULPS Y5, Y4, Y4; \
	VADDPS E5, Y4, Y4; \
	VMULPS Y7, Y4, Y4; \
	VADDPS Y5, Y4, Y4; \
	VADDPS C_ONE, Y4, Y4; \
	VPADDD E_BIAS, Y6, Y6; \
	VPSLLD $23, Y6, Y6; \
	VMULPS Y6, Y4, Y5

// PHI sets Y1 = phi32(Y0); clobbers Y2-Y7.
#define PHI \
	VMULPS C_INVSQRT2, Y0, Y2; \
	VANDPS C_ABS, Y2, Y2; \
	VMULPS C_HALF, Y2, Y3; \
	VADDPS C_ONE, Y3, Y3; \
	VMOVUPS C_ONE, Y4; \
	VDIVPS Y3, Y4, Y3; \
	VMULPS P9, Y3, Y4; \
	VADDPS P8, Y4, Y4; \
	VMULPS Y3, Y4, Y4; \
	VADDPS P7, Y4, Y4; \
	VMULPS Y3, Y4, Y4; \
	VADDPS P6, Y4, Y4; \
	VMULPS Y3, Y4, Y4; \
	VADDPS P5, Y4, Y4; \
	VMULPS Y3, Y4, Y4; \
	VADDPS P4, Y4, Y4; \
	VMULPS Y3, Y4, Y4; \
	VADDPS P3, Y4, Y4; \
	VMULPS Y3, Y4, Y4; \
	VADDPS P2, Y4, Y4; \
	VMULPS Y3, Y4, Y4; \
	VADDPS P1, Y4, Y4; \
	VMULPS Y3, Y4, Y4; \
	VADDPS P0, Y4, Y4; \
	VXORPS C_SIGN, Y2, Y5; \
	VMULPS Y2, Y5, Y5; \
	VADDPS Y4, Y5, Y5; \
	EXP; \
	VMULPS C_HALF, Y3, Y3; \
	VMULPS Y5, Y3, Y3; \
	VMOVUPS C_ONE, Y4; \
	VSUBPS Y3, Y4, Y4; \
	VXORPS Y6, Y6, Y6; \
	VCMPPS $1, Y6, Y0, Y6; \
	VBLENDVPS Y6, Y3, Y4, Y1

// func gelu32AVX2(y, x *float32, n int, tab *[32][8]uint32)
// y = gelu32(x) for n elements, a multiple of 8.
TEXT ·gelu32AVX2(SB), NOSPLIT, $0-32
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	MOVQ tab+24(FP), R8
	SHRQ $3, CX
	JZ done
loop:
	VMOVUPS (SI), Y0
	PHI
	VMULPS Y1, Y0, Y1
	VMOVUPS Y1, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ loop
done:
	VZEROUPPER
	RET

// func gelu32GradAVX2(dx, dy, x, y *float32, n int, tab *[32][8]uint32)
// dx = dy·gelu32Grad(x, y) for n elements, a multiple of 8.
TEXT ·gelu32GradAVX2(SB), NOSPLIT, $0-48
	MOVQ dx+0(FP), DI
	MOVQ dy+8(FP), DX
	MOVQ x+16(FP), SI
	MOVQ y+24(FP), BX
	MOVQ n+32(FP), CX
	MOVQ tab+40(FP), R8
	SHRQ $3, CX
	JZ gdone
gloop:
	VMOVUPS (SI), Y0
	VMOVUPS (BX), Y8
	VMOVUPS (DX), Y9
	// x·φ(x)·√(2π) = (x·c)·exp32((-0.5·x)·x)
	VMULPS G_MHALF, Y0, Y5
	VMULPS Y0, Y5, Y5
	EXP
	VMULPS G_INVSQRT2PI, Y0, Y10
	VMULPS Y5, Y10, Y10
	// Φ(x) = y/x where |x| > 1e-3, else phi32(x)
	VDIVPS Y0, Y8, Y11
	VCMPPS $0x0e, G_SMALL, Y0, Y12
	VCMPPS $0x01, G_MSMALL, Y0, Y13
	VORPS Y13, Y12, Y12
	VMOVMSKPS Y12, AX
	CMPL AX, $0xff
	JEQ big
	PHI
	VBLENDVPS Y12, Y11, Y1, Y11
big:
	VADDPS Y10, Y11, Y11
	VMULPS Y11, Y9, Y11
	VMOVUPS Y11, (DI)
	ADDQ $32, SI
	ADDQ $32, BX
	ADDQ $32, DX
	ADDQ $32, DI
	DECQ CX
	JNZ gloop
gdone:
	VZEROUPPER
	RET
