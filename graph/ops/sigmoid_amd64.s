//go:build !purego

#include "textflag.h"

// Constants of sigmoidAVX2, each in 4 lanes of float64 (sigBias: int64).
DATA sigSign<>+0(SB)/8, $0x8000000000000000
DATA sigSign<>+8(SB)/8, $0x8000000000000000
DATA sigSign<>+16(SB)/8, $0x8000000000000000
DATA sigSign<>+24(SB)/8, $0x8000000000000000
GLOBL sigSign<>(SB), RODATA|NOPTR, $32
DATA sigLo<>+0(SB)/8, $0xc05e000000000000
DATA sigLo<>+8(SB)/8, $0xc05e000000000000
DATA sigLo<>+16(SB)/8, $0xc05e000000000000
DATA sigLo<>+24(SB)/8, $0xc05e000000000000
GLOBL sigLo<>(SB), RODATA|NOPTR, $32
DATA sigHi<>+0(SB)/8, $0x405e000000000000
DATA sigHi<>+8(SB)/8, $0x405e000000000000
DATA sigHi<>+16(SB)/8, $0x405e000000000000
DATA sigHi<>+24(SB)/8, $0x405e000000000000
GLOBL sigHi<>(SB), RODATA|NOPTR, $32
DATA sigLog2e<>+0(SB)/8, $0x3ff71547652b82fe
DATA sigLog2e<>+8(SB)/8, $0x3ff71547652b82fe
DATA sigLog2e<>+16(SB)/8, $0x3ff71547652b82fe
DATA sigLog2e<>+24(SB)/8, $0x3ff71547652b82fe
GLOBL sigLog2e<>(SB), RODATA|NOPTR, $32
DATA sigLn2Hi<>+0(SB)/8, $0x3fe62e42fee00000
DATA sigLn2Hi<>+8(SB)/8, $0x3fe62e42fee00000
DATA sigLn2Hi<>+16(SB)/8, $0x3fe62e42fee00000
DATA sigLn2Hi<>+24(SB)/8, $0x3fe62e42fee00000
GLOBL sigLn2Hi<>(SB), RODATA|NOPTR, $32
DATA sigLn2Lo<>+0(SB)/8, $0x3dea39ef35793c76
DATA sigLn2Lo<>+8(SB)/8, $0x3dea39ef35793c76
DATA sigLn2Lo<>+16(SB)/8, $0x3dea39ef35793c76
DATA sigLn2Lo<>+24(SB)/8, $0x3dea39ef35793c76
GLOBL sigLn2Lo<>(SB), RODATA|NOPTR, $32
DATA sigOne<>+0(SB)/8, $0x3ff0000000000000
DATA sigOne<>+8(SB)/8, $0x3ff0000000000000
DATA sigOne<>+16(SB)/8, $0x3ff0000000000000
DATA sigOne<>+24(SB)/8, $0x3ff0000000000000
GLOBL sigOne<>(SB), RODATA|NOPTR, $32
DATA sigBias<>+0(SB)/8, $0x00000000000003ff
DATA sigBias<>+8(SB)/8, $0x00000000000003ff
DATA sigBias<>+16(SB)/8, $0x00000000000003ff
DATA sigBias<>+24(SB)/8, $0x00000000000003ff
GLOBL sigBias<>(SB), RODATA|NOPTR, $32
DATA sigC0<>+0(SB)/8, $0x3ff0000000000000
DATA sigC0<>+8(SB)/8, $0x3ff0000000000000
DATA sigC0<>+16(SB)/8, $0x3ff0000000000000
DATA sigC0<>+24(SB)/8, $0x3ff0000000000000
GLOBL sigC0<>(SB), RODATA|NOPTR, $32
DATA sigC1<>+0(SB)/8, $0x3ff0000000000000
DATA sigC1<>+8(SB)/8, $0x3ff0000000000000
DATA sigC1<>+16(SB)/8, $0x3ff0000000000000
DATA sigC1<>+24(SB)/8, $0x3ff0000000000000
GLOBL sigC1<>(SB), RODATA|NOPTR, $32
DATA sigC2<>+0(SB)/8, $0x3fe0000000000000
DATA sigC2<>+8(SB)/8, $0x3fe0000000000000
DATA sigC2<>+16(SB)/8, $0x3fe0000000000000
DATA sigC2<>+24(SB)/8, $0x3fe0000000000000
GLOBL sigC2<>(SB), RODATA|NOPTR, $32
DATA sigC3<>+0(SB)/8, $0x3fc5555555555555
DATA sigC3<>+8(SB)/8, $0x3fc5555555555555
DATA sigC3<>+16(SB)/8, $0x3fc5555555555555
DATA sigC3<>+24(SB)/8, $0x3fc5555555555555
GLOBL sigC3<>(SB), RODATA|NOPTR, $32
DATA sigC4<>+0(SB)/8, $0x3fa5555555555555
DATA sigC4<>+8(SB)/8, $0x3fa5555555555555
DATA sigC4<>+16(SB)/8, $0x3fa5555555555555
DATA sigC4<>+24(SB)/8, $0x3fa5555555555555
GLOBL sigC4<>(SB), RODATA|NOPTR, $32
DATA sigC5<>+0(SB)/8, $0x3f81111111111111
DATA sigC5<>+8(SB)/8, $0x3f81111111111111
DATA sigC5<>+16(SB)/8, $0x3f81111111111111
DATA sigC5<>+24(SB)/8, $0x3f81111111111111
GLOBL sigC5<>(SB), RODATA|NOPTR, $32
DATA sigC6<>+0(SB)/8, $0x3f56c16c16c16c17
DATA sigC6<>+8(SB)/8, $0x3f56c16c16c16c17
DATA sigC6<>+16(SB)/8, $0x3f56c16c16c16c17
DATA sigC6<>+24(SB)/8, $0x3f56c16c16c16c17
GLOBL sigC6<>(SB), RODATA|NOPTR, $32
DATA sigC7<>+0(SB)/8, $0x3f2a01a01a01a01a
DATA sigC7<>+8(SB)/8, $0x3f2a01a01a01a01a
DATA sigC7<>+16(SB)/8, $0x3f2a01a01a01a01a
DATA sigC7<>+24(SB)/8, $0x3f2a01a01a01a01a
GLOBL sigC7<>(SB), RODATA|NOPTR, $32
DATA sigC8<>+0(SB)/8, $0x3efa01a01a01a01a
DATA sigC8<>+8(SB)/8, $0x3efa01a01a01a01a
DATA sigC8<>+16(SB)/8, $0x3efa01a01a01a01a
DATA sigC8<>+24(SB)/8, $0x3efa01a01a01a01a
GLOBL sigC8<>(SB), RODATA|NOPTR, $32
DATA sigC9<>+0(SB)/8, $0x3ec71de3a556c734
DATA sigC9<>+8(SB)/8, $0x3ec71de3a556c734
DATA sigC9<>+16(SB)/8, $0x3ec71de3a556c734
DATA sigC9<>+24(SB)/8, $0x3ec71de3a556c734
GLOBL sigC9<>(SB), RODATA|NOPTR, $32
DATA sigC10<>+0(SB)/8, $0x3e927e4fb7789f5c
DATA sigC10<>+8(SB)/8, $0x3e927e4fb7789f5c
DATA sigC10<>+16(SB)/8, $0x3e927e4fb7789f5c
DATA sigC10<>+24(SB)/8, $0x3e927e4fb7789f5c
GLOBL sigC10<>(SB), RODATA|NOPTR, $32
DATA sigC11<>+0(SB)/8, $0x3e5ae64567f544e4
DATA sigC11<>+8(SB)/8, $0x3e5ae64567f544e4
DATA sigC11<>+16(SB)/8, $0x3e5ae64567f544e4
DATA sigC11<>+24(SB)/8, $0x3e5ae64567f544e4
GLOBL sigC11<>(SB), RODATA|NOPTR, $32

// func sigmoidAVX2(s, x *float32, n int)
// s = 1 / (1 + exp(-x)) for n elements (a multiple of 4), 4 at a time in
// float64: -x clamped to [-120, 120] (NaN kept), exp by k = round(t/ln2),
// r = t - k*ln2 (ln2 in two parts) and the degree-11 Taylor polynomial of
// exp(r), |r| <= ln2/2 (relative error below 1e-14), times 2^k; then one
// rounding to float32, as the float64 formula's.
TEXT ·sigmoidAVX2(SB), NOSPLIT, $0-24
	MOVQ s+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	VMOVUPD sigSign<>(SB), Y8
	VMOVUPD sigLo<>(SB), Y9
	VMOVUPD sigHi<>(SB), Y10
	VMOVUPD sigLog2e<>(SB), Y11
	VMOVUPD sigOne<>(SB), Y12
	XORQ AX, AX

loop:
	CMPQ AX, CX
	JGE  done
	VCVTPS2PD (SI)(AX*4), Y0
	VXORPD    Y8, Y0, Y0         // t = -x
	VMAXPD    Y0, Y9, Y0         // max(-120, t): t when NaN
	VMINPD    Y0, Y10, Y0        // min(120, t): t when NaN
	VMULPD    Y11, Y0, Y1
	VROUNDPD  $0, Y1, Y1         // k, to nearest
	VFNMADD231PD sigLn2Hi<>(SB), Y1, Y0 // r = t - k*ln2hi
	VFNMADD231PD sigLn2Lo<>(SB), Y1, Y0 // r -= k*ln2lo
	VMOVUPD   sigC11<>(SB), Y2
	VFMADD213PD sigC10<>(SB), Y0, Y2 // p = p*r + 1/10!
	VFMADD213PD sigC9<>(SB), Y0, Y2 // p = p*r + 1/9!
	VFMADD213PD sigC8<>(SB), Y0, Y2 // p = p*r + 1/8!
	VFMADD213PD sigC7<>(SB), Y0, Y2 // p = p*r + 1/7!
	VFMADD213PD sigC6<>(SB), Y0, Y2 // p = p*r + 1/6!
	VFMADD213PD sigC5<>(SB), Y0, Y2 // p = p*r + 1/5!
	VFMADD213PD sigC4<>(SB), Y0, Y2 // p = p*r + 1/4!
	VFMADD213PD sigC3<>(SB), Y0, Y2 // p = p*r + 1/3!
	VFMADD213PD sigC2<>(SB), Y0, Y2 // p = p*r + 1/2!
	VFMADD213PD sigC1<>(SB), Y0, Y2 // p = p*r + 1/1!
	VFMADD213PD sigC0<>(SB), Y0, Y2 // p = p*r + 1/0!
	VCVTPD2DQY Y1, X3
	VPMOVSXDQ  X3, Y3
	VPADDQ     sigBias<>(SB), Y3, Y3
	VPSLLQ     $52, Y3, Y3       // 2^k
	VMULPD     Y3, Y2, Y2        // exp(t)
	VADDPD     Y12, Y2, Y2
	VDIVPD     Y2, Y12, Y2       // 1 / (1 + exp(t))
	VCVTPD2PSY Y2, X2
	VMOVUPS    X2, (DI)(AX*4)
	ADDQ       $4, AX
	JMP        loop

done:
	VZEROUPPER
	RET

// func sigmoidAVX512(s, x *float32, n int)
// sigmoidAVX2's arithmetic lane for lane, 8 at a time in float64 (n a
// multiple of 8), the constants held in registers: the same bits.
TEXT ·sigmoidAVX512(SB), NOSPLIT, $0-24
	MOVQ         s+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSD sigSign<>(SB), Z8
	VBROADCASTSD sigLo<>(SB), Z9
	VBROADCASTSD sigHi<>(SB), Z10
	VBROADCASTSD sigLog2e<>(SB), Z11
	VBROADCASTSD sigOne<>(SB), Z12
	VBROADCASTSD sigLn2Hi<>(SB), Z13
	VBROADCASTSD sigLn2Lo<>(SB), Z14
	VPBROADCASTQ sigBias<>(SB), Z15
	VBROADCASTSD sigC11<>(SB), Z16
	VBROADCASTSD sigC10<>(SB), Z17
	VBROADCASTSD sigC9<>(SB), Z18
	VBROADCASTSD sigC8<>(SB), Z19
	VBROADCASTSD sigC7<>(SB), Z20
	VBROADCASTSD sigC6<>(SB), Z21
	VBROADCASTSD sigC5<>(SB), Z22
	VBROADCASTSD sigC4<>(SB), Z23
	VBROADCASTSD sigC3<>(SB), Z24
	VBROADCASTSD sigC2<>(SB), Z25
	VBROADCASTSD sigC1<>(SB), Z26
	VBROADCASTSD sigC0<>(SB), Z27
	XORQ         AX, AX

loop:
	CMPQ         AX, CX
	JGE          done
	VCVTPS2PD    (SI)(AX*4), Z0
	VXORPD       Z8, Z0, Z0   // t = -x
	VMAXPD       Z0, Z9, Z0   // max(-120, t): t when NaN
	VMINPD       Z0, Z10, Z0  // min(120, t): t when NaN
	VMULPD       Z11, Z0, Z1
	VRNDSCALEPD  $0, Z1, Z1   // k, to nearest
	VFNMADD231PD Z13, Z1, Z0  // r = t - k*ln2hi
	VFNMADD231PD Z14, Z1, Z0  // r -= k*ln2lo
	VMOVAPD      Z16, Z2
	VFMADD213PD  Z17, Z0, Z2  // p = p*r + 1/10!
	VFMADD213PD  Z18, Z0, Z2
	VFMADD213PD  Z19, Z0, Z2
	VFMADD213PD  Z20, Z0, Z2
	VFMADD213PD  Z21, Z0, Z2
	VFMADD213PD  Z22, Z0, Z2
	VFMADD213PD  Z23, Z0, Z2
	VFMADD213PD  Z24, Z0, Z2
	VFMADD213PD  Z25, Z0, Z2
	VFMADD213PD  Z26, Z0, Z2
	VFMADD213PD  Z27, Z0, Z2  // p = p*r + 1/0!
	VCVTPD2DQ    Z1, Y3
	VPMOVSXDQ    Y3, Z3
	VPADDQ       Z15, Z3, Z3
	VPSLLQ       $52, Z3, Z3  // 2^k
	VMULPD       Z3, Z2, Z2   // exp(t)
	VADDPD       Z12, Z2, Z2
	VDIVPD       Z2, Z12, Z2  // 1 / (1 + exp(t))
	VCVTPD2PS    Z2, Y2
	VMOVUPS      Y2, (DI)(AX*4)
	ADDQ         $8, AX
	JMP          loop

done:
	VZEROUPPER
	RET
