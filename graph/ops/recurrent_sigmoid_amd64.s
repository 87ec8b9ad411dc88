//go:build !purego

#include "textflag.h"

// func sigmoid32AVX512(s, x *float32, n int)
// s = 1 / (1 + exp(-x)) for n elements (a multiple of 16), 16 at a time in
// float32: t = -x clamped to [-88, 88] (NaN kept), exp(t) as Cephes' expf
// (k = round(t·log2e), r = t - k·ln2 in two parts, its degree-7 polynomial),
// scaled by 2^k with VSCALEFPS, then one division.
TEXT ·sigmoid32AVX512(SB), NOSPLIT, $0-24
	MOVQ s+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	MOVL $0xc2b00000, AX
	VPBROADCASTD AX, Z9  // -88
	MOVL $0x42b00000, AX
	VPBROADCASTD AX, Z10 // 88
	MOVL $0x3fb8aa3b, AX
	VPBROADCASTD AX, Z11 // log2e
	MOVL $0x3f800000, AX
	VPBROADCASTD AX, Z12 // 1
	MOVL $0x3f318000, AX
	VPBROADCASTD AX, Z13 // ln2hi
	MOVL $0xb95e8083, AX
	VPBROADCASTD AX, Z14 // ln2lo
	MOVL $0x39506967, AX
	VPBROADCASTD AX, Z15 // p0
	MOVL $0x3ab743ce, AX
	VPBROADCASTD AX, Z16 // p1
	MOVL $0x3c088908, AX
	VPBROADCASTD AX, Z17 // p2
	MOVL $0x3d2aa9c1, AX
	VPBROADCASTD AX, Z18 // p3
	MOVL $0x3e2aaaaa, AX
	VPBROADCASTD AX, Z19 // p4
	MOVL $0x3f000000, AX
	VPBROADCASTD AX, Z20 // p5
	MOVL $0x80000000, AX
	VPBROADCASTD AX, Z21 // sign
	XORQ AX, AX

loop:
	CMPQ AX, CX
	JGE  done
	VMOVUPS (SI)(AX*4), Z0
	VPXORD  Z21, Z0, Z0      // t = -x
	VMAXPS  Z0, Z9, Z0       // max(-88, t): t when NaN
	VMINPS  Z0, Z10, Z0      // min(88, t): t when NaN
	VMULPS  Z11, Z0, Z1
	VRNDSCALEPS $0, Z1, Z1   // k, to nearest
	VFNMADD231PS Z13, Z1, Z0 // r = t - k*ln2hi
	VFNMADD231PS Z14, Z1, Z0 // r -= k*ln2lo
	VMOVAPS Z15, Z2
	VFMADD213PS Z16, Z0, Z2  // p = p*r + p1
	VFMADD213PS Z17, Z0, Z2
	VFMADD213PS Z18, Z0, Z2
	VFMADD213PS Z19, Z0, Z2
	VFMADD213PS Z20, Z0, Z2  // ... + 1/2
	VMULPS  Z0, Z0, Z3       // r²
	VMULPS  Z3, Z2, Z2       // p*r²
	VADDPS  Z0, Z2, Z2       // + r
	VADDPS  Z12, Z2, Z2      // + 1: exp(r)
	VSCALEFPS Z1, Z2, Z2     // exp(r) * 2^k
	VADDPS  Z12, Z2, Z2      // 1 + exp(t)
	VDIVPS  Z2, Z12, Z2      // 1 / (1 + exp(t))
	VMOVUPS Z2, (DI)(AX*4)
	ADDQ $16, AX
	JMP  loop

done:
	VZEROUPPER
	RET
