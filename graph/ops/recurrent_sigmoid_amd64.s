//go:build !purego

#include "textflag.h"
#include "sigmoid_amd64.h"

// func sigmoid32AVX512(s, x *float32, n int)
// s = 1 / (1 + exp(-x)) for n elements (a multiple of 16), 16 at a time in
// float32: t = -x clamped to [-88, 88] (NaN kept), exp(t) as Cephes' expf
// (k = round(t·log2e), r = t - k·ln2 in two parts, its degree-7 polynomial),
// scaled by 2^k with VSCALEFPS, then one division.
TEXT ·sigmoid32AVX512(SB), NOSPLIT, $0-24
	MOVQ s+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	SIGMOID_CONSTS
	XORQ AX, AX

loop:
	CMPQ AX, CX
	JGE  done
	VMOVUPS (SI)(AX*4), Z0
	SIG(Z0, Z1, Z2, Z3)
	VMOVUPS Z0, (DI)(AX*4)
	ADDQ $16, AX
	JMP  loop

done:
	VZEROUPPER
	RET

// func lstmGradAVX512(dh, dc, post, cp, hc, dx *float32, gate, n int)
// lstmGatesGradPart without peepholes for n units (a multiple of 16), 16 at
// a time, each operation in the Go loop's order (no fused multiply-adds):
// post and dx hold the gates i, o, f, c gate elements apart.
TEXT ·lstmGradAVX512(SB), NOSPLIT, $0-64
	MOVQ dh+0(FP), DI
	MOVQ dc+8(FP), SI
	MOVQ post+16(FP), R8
	MOVQ cp+24(FP), R9
	MOVQ hc+32(FP), R10
	MOVQ dx+40(FP), BX
	MOVQ gate+48(FP), AX
	SHLQ $2, AX
	LEAQ (R8)(AX*1), R11 // post o
	LEAQ (R11)(AX*1), R12 // post f
	LEAQ (R12)(AX*1), R13 // post c
	LEAQ (BX)(AX*1), CX // dx o
	LEAQ (CX)(AX*1), DX // dx f
	LEAQ (DX)(AX*1), R14 // dx c
	MOVL $0x3f800000, AX
	VPBROADCASTD AX, Z31 // 1
	XORQ AX, AX

gloop:
	CMPQ AX, n+56(FP)
	JGE  gdone
	VMOVUPS (DI)(AX*4), Z0  // dh
	VMOVUPS (SI)(AX*4), Z1  // dc
	VMOVUPS (R8)(AX*4), Z2  // i
	VMOVUPS (R11)(AX*4), Z3 // o
	VMOVUPS (R12)(AX*4), Z4 // f
	VMOVUPS (R13)(AX*4), Z5 // g
	VMOVUPS (R9)(AX*4), Z6  // cp
	VMOVUPS (R10)(AX*4), Z7 // hc
	VSUBPS  Z3, Z31, Z8     // 1 - o
	VMULPS  Z7, Z0, Z10     // dh*hc
	VMULPS  Z3, Z10, Z10    // *o
	VMULPS  Z8, Z10, Z10    // *(1-o): zo
	VMULPS  Z3, Z0, Z9      // dh*o
	VMULPS  Z7, Z7, Z11     // hc*hc
	VSUBPS  Z11, Z31, Z11   // 1 - hc*hc
	VMULPS  Z11, Z9, Z11    // dh*o*(1-hc*hc)
	VADDPS  Z11, Z1, Z12    // dct
	VMULPS  Z5, Z12, Z13    // dct*g
	VMULPS  Z2, Z13, Z13    // *i
	VSUBPS  Z2, Z31, Z14    // 1 - i
	VMULPS  Z14, Z13, Z13   // zi
	VMULPS  Z6, Z12, Z15    // dct*cp
	VMULPS  Z4, Z15, Z15    // *f
	VSUBPS  Z4, Z31, Z16    // 1 - f
	VMULPS  Z16, Z15, Z15   // zf
	VMULPS  Z2, Z12, Z17    // dct*i
	VMULPS  Z5, Z5, Z18     // g*g
	VSUBPS  Z18, Z31, Z18   // 1 - g*g
	VMULPS  Z18, Z17, Z17   // zc
	VMULPS  Z4, Z12, Z19    // dct*f
	VMOVUPS Z19, (SI)(AX*4)
	VMOVUPS Z13, (BX)(AX*4)
	VMOVUPS Z10, (CX)(AX*4)
	VMOVUPS Z15, (DX)(AX*4)
	VMOVUPS Z17, (R14)(AX*4)
	ADDQ $16, AX
	JMP  gloop

gdone:
	VZEROUPPER
	RET

// func lstmPreAVX512(x, wb, rb, r, pre, g2 *float32, idx *int32, H, rstep, gr, n, bias int)
// The gates' pre-activations of lstmGatesPart for n units (a multiple of
// 16), 16 at a time: pre = ((x + wb) + rb) + r with bias != 0, else x + r,
// for the gates i, o, f, c (H elements apart in x, wb, rb and pre; gr apart
// in r, whose units' elements are gathered at the offsets idx), and
// g2 = 2·pre_c, each operation in the Go loop's order. rstep is the bytes
// of r between a unit and the unit 16 on; at 64 (units consecutive) r is
// read with plain loads.
TEXT ·lstmPreAVX512(SB), NOSPLIT, $0-96
	MOVQ x+0(FP), SI
	MOVQ wb+8(FP), DI
	MOVQ rb+16(FP), R12
	MOVQ r+24(FP), R8
	MOVQ pre+32(FP), R13
	MOVQ g2+40(FP), R14
	MOVQ idx+48(FP), AX
	VMOVDQU32 (AX), Z30
	MOVL $0x40000000, AX
	VPBROADCASTD AX, Z31        // 2
	MOVQ H+56(FP), BX
	SHLQ $2, BX                 // H, in bytes
	LEAQ (BX)(BX*2), DX         // 3H
	MOVQ rstep+64(FP), R15
	MOVQ gr+72(FP), AX
	SHLQ $2, AX
	LEAQ (R8)(AX*1), R9         // r of gate o
	LEAQ (R9)(AX*1), R10        // f
	LEAQ (R10)(AX*1), R11       // c
	MOVQ n+80(FP), CX
	TESTQ CX, CX
	JLE  pdone
	MOVQ bias+88(FP), AX
	CMPQ R15, $64
	JEQ  pcontig
	TESTQ AX, AX
	JZ   ploopn

ploopb:
	KXNORW  K1, K1, K1
	VGATHERDPS (R8)(Z30*4), K1, Z1
	KXNORW  K2, K2, K2
	VGATHERDPS (R9)(Z30*4), K2, Z2
	KXNORW  K3, K3, K3
	VGATHERDPS (R10)(Z30*4), K3, Z3
	KXNORW  K4, K4, K4
	VGATHERDPS (R11)(Z30*4), K4, Z4
	VMOVUPS (SI), Z5
	VADDPS  (DI), Z5, Z5
	VADDPS  (R12), Z5, Z5
	VADDPS  Z1, Z5, Z5
	VMOVUPS Z5, (R13)
	VMOVUPS (SI)(BX*1), Z6
	VADDPS  (DI)(BX*1), Z6, Z6
	VADDPS  (R12)(BX*1), Z6, Z6
	VADDPS  Z2, Z6, Z6
	VMOVUPS Z6, (R13)(BX*1)
	VMOVUPS (SI)(BX*2), Z7
	VADDPS  (DI)(BX*2), Z7, Z7
	VADDPS  (R12)(BX*2), Z7, Z7
	VADDPS  Z3, Z7, Z7
	VMOVUPS Z7, (R13)(BX*2)
	VMOVUPS (SI)(DX*1), Z8
	VADDPS  (DI)(DX*1), Z8, Z8
	VADDPS  (R12)(DX*1), Z8, Z8
	VADDPS  Z4, Z8, Z8
	VMOVUPS Z8, (R13)(DX*1)
	VMULPS  Z31, Z8, Z9             // 2·pre_c
	VMOVUPS Z9, (R14)
	ADDQ    $64, SI
	ADDQ    $64, DI
	ADDQ    $64, R12
	ADDQ    $64, R13
	ADDQ    $64, R14
	ADDQ    R15, R8
	ADDQ    R15, R9
	ADDQ    R15, R10
	ADDQ    R15, R11
	SUBQ    $16, CX
	JG      ploopb
	JMP     pdone

ploopn:
	KXNORW  K1, K1, K1
	VGATHERDPS (R8)(Z30*4), K1, Z1
	KXNORW  K2, K2, K2
	VGATHERDPS (R9)(Z30*4), K2, Z2
	KXNORW  K3, K3, K3
	VGATHERDPS (R10)(Z30*4), K3, Z3
	KXNORW  K4, K4, K4
	VGATHERDPS (R11)(Z30*4), K4, Z4
	VMOVUPS (SI), Z5
	VADDPS  Z1, Z5, Z5
	VMOVUPS Z5, (R13)
	VMOVUPS (SI)(BX*1), Z6
	VADDPS  Z2, Z6, Z6
	VMOVUPS Z6, (R13)(BX*1)
	VMOVUPS (SI)(BX*2), Z7
	VADDPS  Z3, Z7, Z7
	VMOVUPS Z7, (R13)(BX*2)
	VMOVUPS (SI)(DX*1), Z8
	VADDPS  Z4, Z8, Z8
	VMOVUPS Z8, (R13)(DX*1)
	VMULPS  Z31, Z8, Z9             // 2·pre_c
	VMOVUPS Z9, (R14)
	ADDQ    $64, SI
	ADDQ    $64, DI
	ADDQ    $64, R12
	ADDQ    $64, R13
	ADDQ    $64, R14
	ADDQ    R15, R8
	ADDQ    R15, R9
	ADDQ    R15, R10
	ADDQ    R15, R11
	SUBQ    $16, CX
	JG      ploopn
	JMP     pdone

	// rstep 64: the units of r are consecutive, read with plain loads (a
	// gather of 16 lanes costs several times a load on these cores).
pcontig:
	TESTQ AX, AX
	JZ   pcloopn

pcloopb:
	VMOVUPS (SI), Z5
	VADDPS  (DI), Z5, Z5
	VADDPS  (R12), Z5, Z5
	VADDPS  (R8), Z5, Z5
	VMOVUPS Z5, (R13)
	VMOVUPS (SI)(BX*1), Z6
	VADDPS  (DI)(BX*1), Z6, Z6
	VADDPS  (R12)(BX*1), Z6, Z6
	VADDPS  (R9), Z6, Z6
	VMOVUPS Z6, (R13)(BX*1)
	VMOVUPS (SI)(BX*2), Z7
	VADDPS  (DI)(BX*2), Z7, Z7
	VADDPS  (R12)(BX*2), Z7, Z7
	VADDPS  (R10), Z7, Z7
	VMOVUPS Z7, (R13)(BX*2)
	VMOVUPS (SI)(DX*1), Z8
	VADDPS  (DI)(DX*1), Z8, Z8
	VADDPS  (R12)(DX*1), Z8, Z8
	VADDPS  (R11), Z8, Z8
	VMOVUPS Z8, (R13)(DX*1)
	VMULPS  Z31, Z8, Z9             // 2·pre_c
	VMOVUPS Z9, (R14)
	ADDQ    $64, SI
	ADDQ    $64, DI
	ADDQ    $64, R12
	ADDQ    $64, R13
	ADDQ    $64, R14
	ADDQ    $64, R8
	ADDQ    $64, R9
	ADDQ    $64, R10
	ADDQ    $64, R11
	SUBQ    $16, CX
	JG      pcloopb
	JMP     pdone

pcloopn:
	VMOVUPS (SI), Z5
	VADDPS  (R8), Z5, Z5
	VMOVUPS Z5, (R13)
	VMOVUPS (SI)(BX*1), Z6
	VADDPS  (R9), Z6, Z6
	VMOVUPS Z6, (R13)(BX*1)
	VMOVUPS (SI)(BX*2), Z7
	VADDPS  (R10), Z7, Z7
	VMOVUPS Z7, (R13)(BX*2)
	VMOVUPS (SI)(DX*1), Z8
	VADDPS  (R11), Z8, Z8
	VMOVUPS Z8, (R13)(DX*1)
	VMULPS  Z31, Z8, Z9             // 2·pre_c
	VMOVUPS Z9, (R14)
	ADDQ    $64, SI
	ADDQ    $64, R13
	ADDQ    $64, R14
	ADDQ    $64, R8
	ADDQ    $64, R9
	ADDQ    $64, R10
	ADDQ    $64, R11
	SUBQ    $16, CX
	JG      pcloopn

pdone:
	VZEROUPPER
	RET

// func addAVX512(dst, src *float32, n int)
// dst += src for n elements (a multiple of 16).
TEXT ·addAVX512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	XORQ AX, AX

aloop:
	CMPQ AX, CX
	JGE  adone
	VMOVUPS (DI)(AX*4), Z0
	VADDPS  (SI)(AX*4), Z0, Z0
	VMOVUPS Z0, (DI)(AX*4)
	ADDQ $16, AX
	JMP  aloop

adone:
	VZEROUPPER
	RET
