//go:build !purego

#include "textflag.h"

// Constants of sigmoid32AVX2 that do not fit in its registers, each in 8
// lanes: the sign bit of float32, and the float32 exponent bias (int32).
DATA lstmSign<>+0(SB)/8, $0x8000000080000000
DATA lstmSign<>+8(SB)/8, $0x8000000080000000
DATA lstmSign<>+16(SB)/8, $0x8000000080000000
DATA lstmSign<>+24(SB)/8, $0x8000000080000000
GLOBL lstmSign<>(SB), RODATA|NOPTR, $32
DATA lstmBias<>+0(SB)/8, $0x0000007f0000007f
DATA lstmBias<>+8(SB)/8, $0x0000007f0000007f
DATA lstmBias<>+16(SB)/8, $0x0000007f0000007f
DATA lstmBias<>+24(SB)/8, $0x0000007f0000007f
GLOBL lstmBias<>(SB), RODATA|NOPTR, $32

// BCAST sets the 8 lanes of Y to the float32 bits c (through AX and X0).
#define BCAST(c, Y) MOVL c, AX; VMOVD AX, X0; VPBROADCASTD X0, Y

// func sigmoid32AVX2(s, x *float32, n int)
// sigmoid32AVX512 on 8 lanes, for n elements (a multiple of 8): the same
// operations on the same constants, with 2^k built in the exponent bits
// ((k + 127) << 23, then one multiplication) where sigmoid32AVX512 uses
// VSCALEFPS. Both round exp(r)·2^k once, so the bits agree; the one k they
// differ on, -127 (2^k not a normal float32: here 0), only comes with
// t < -87.3, where exp(t) < 2^-126 and 1 + exp(t) is 1 either way.
TEXT ·sigmoid32AVX2(SB), NOSPLIT, $0-24
	MOVQ s+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	BCAST($0xc2b00000, Y4)  // -88
	BCAST($0x42b00000, Y5)  // 88
	BCAST($0x3fb8aa3b, Y6)  // log2e
	BCAST($0x3f800000, Y7)  // 1
	BCAST($0x3f318000, Y8)  // ln2hi
	BCAST($0xb95e8083, Y9)  // ln2lo
	BCAST($0x39506967, Y10) // p0
	BCAST($0x3ab743ce, Y11) // p1
	BCAST($0x3c088908, Y12) // p2
	BCAST($0x3d2aa9c1, Y13) // p3
	BCAST($0x3e2aaaaa, Y14) // p4
	BCAST($0x3f000000, Y15) // p5
	XORQ AX, AX

sloop:
	CMPQ AX, CX
	JGE  sdone
	VMOVUPS (SI)(AX*4), Y0
	VXORPS  lstmSign<>(SB), Y0, Y0 // t = -x
	VMAXPS  Y0, Y4, Y0             // max(-88, t): t when NaN
	VMINPS  Y0, Y5, Y0             // min(88, t): t when NaN
	VMULPS  Y6, Y0, Y1
	VROUNDPS $0, Y1, Y1            // k, to nearest
	VFNMADD231PS Y8, Y1, Y0        // r = t - k*ln2hi
	VFNMADD231PS Y9, Y1, Y0        // r -= k*ln2lo
	VMOVAPS Y10, Y2
	VFMADD213PS Y11, Y0, Y2        // p = p*r + p1
	VFMADD213PS Y12, Y0, Y2
	VFMADD213PS Y13, Y0, Y2
	VFMADD213PS Y14, Y0, Y2
	VFMADD213PS Y15, Y0, Y2        // ... + 1/2
	VMULPS  Y0, Y0, Y3             // r²
	VMULPS  Y3, Y2, Y2             // p*r²
	VADDPS  Y0, Y2, Y2             // + r
	VADDPS  Y7, Y2, Y2             // + 1: exp(r)
	VCVTPS2DQ Y1, Y3               // k as int32 (exact)
	VPADDD  lstmBias<>(SB), Y3, Y3
	VPSLLD  $23, Y3, Y3            // 2^k
	VMULPS  Y3, Y2, Y2             // exp(r) * 2^k
	VADDPS  Y7, Y2, Y2             // 1 + exp(t)
	VDIVPS  Y2, Y7, Y2             // 1 / (1 + exp(t))
	VMOVUPS Y2, (DI)(AX*4)
	ADDQ $8, AX
	JMP  sloop

sdone:
	VZEROUPPER
	RET

// func lstmGradAVX2(dh, dc, post, cp, hc, dx *float32, gate, n int)
// lstmGradAVX512 on 8 lanes, for n units (a multiple of 8): each operation
// in the Go loop's order (no fused multiply-adds); post and dx hold the
// gates i, o, f, c gate elements apart.
TEXT ·lstmGradAVX2(SB), NOSPLIT, $0-64
	MOVQ dh+0(FP), DI
	MOVQ dc+8(FP), SI
	MOVQ post+16(FP), R8
	MOVQ cp+24(FP), R9
	MOVQ hc+32(FP), R10
	MOVQ dx+40(FP), BX
	MOVQ gate+48(FP), AX
	SHLQ $2, AX
	LEAQ (R8)(AX*1), R11  // post o
	LEAQ (R11)(AX*1), R12 // post f
	LEAQ (R12)(AX*1), R13 // post c
	LEAQ (BX)(AX*1), CX   // dx o
	LEAQ (CX)(AX*1), DX   // dx f
	LEAQ (DX)(AX*1), R14  // dx c
	MOVQ n+56(FP), R15
	MOVL $0x3f800000, AX
	VMOVD AX, X15
	VPBROADCASTD X15, Y15 // 1
	XORQ AX, AX

gloop:
	CMPQ AX, R15
	JGE  gdone
	VMOVUPS (DI)(AX*4), Y0  // dh
	VMOVUPS (SI)(AX*4), Y1  // dc
	VMOVUPS (R8)(AX*4), Y2  // i
	VMOVUPS (R11)(AX*4), Y3 // o
	VMOVUPS (R12)(AX*4), Y4 // f
	VMOVUPS (R13)(AX*4), Y5 // g
	VMOVUPS (R9)(AX*4), Y6  // cp
	VMOVUPS (R10)(AX*4), Y7 // hc
	VSUBPS  Y3, Y15, Y8     // 1 - o
	VMULPS  Y7, Y0, Y9      // dh*hc
	VMULPS  Y3, Y9, Y9      // *o
	VMULPS  Y8, Y9, Y9      // *(1-o): zo
	VMULPS  Y3, Y0, Y10     // dh*o
	VMULPS  Y7, Y7, Y11     // hc*hc
	VSUBPS  Y11, Y15, Y11   // 1 - hc*hc
	VMULPS  Y11, Y10, Y11   // dh*o*(1-hc*hc)
	VADDPS  Y11, Y1, Y12    // dct
	VMULPS  Y5, Y12, Y13    // dct*g
	VMULPS  Y2, Y13, Y13    // *i
	VSUBPS  Y2, Y15, Y14    // 1 - i
	VMULPS  Y14, Y13, Y13   // zi
	VMULPS  Y6, Y12, Y10    // dct*cp
	VMULPS  Y4, Y10, Y10    // *f
	VSUBPS  Y4, Y15, Y14    // 1 - f
	VMULPS  Y14, Y10, Y10   // zf
	VMULPS  Y2, Y12, Y11    // dct*i
	VMULPS  Y5, Y5, Y14     // g*g
	VSUBPS  Y14, Y15, Y14   // 1 - g*g
	VMULPS  Y14, Y11, Y11   // zc
	VMULPS  Y4, Y12, Y8     // dct*f
	VMOVUPS Y8, (SI)(AX*4)
	VMOVUPS Y13, (BX)(AX*4)
	VMOVUPS Y9, (CX)(AX*4)
	VMOVUPS Y10, (DX)(AX*4)
	VMOVUPS Y11, (R14)(AX*4)
	ADDQ $8, AX
	JMP  gloop

gdone:
	VZEROUPPER
	RET

// func lstmPreAVX2(x, wb, rb, r, pre, g2 *float32, idx *int32, H, rstep, gr, n, bias int)
// lstmPreAVX512 on 8 lanes, for n units (a multiple of 8): pre = ((x + wb)
// + rb) + r with bias != 0, else x + r, for the gates i, o, f, c (H
// elements apart in x, wb, rb and pre; gr apart in r, whose units'
// elements are gathered at the 8 offsets idx), and g2 = 2·pre_c, each
// operation in the Go loop's order. rstep is the bytes of r between a unit
// and the unit 8 on; at 32 (units consecutive) r is read with plain loads.
TEXT ·lstmPreAVX2(SB), NOSPLIT, $0-96
	MOVQ x+0(FP), SI
	MOVQ wb+8(FP), DI
	MOVQ rb+16(FP), R12
	MOVQ r+24(FP), R8
	MOVQ pre+32(FP), R13
	MOVQ g2+40(FP), R14
	MOVQ idx+48(FP), AX
	VMOVDQU (AX), Y15
	MOVL $0x40000000, AX
	VMOVD AX, X14
	VPBROADCASTD X14, Y14       // 2
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
	CMPQ R15, $32
	JEQ  contig
	TESTQ AX, AX
	JZ   ploopn

ploopb:
	VPCMPEQD Y10, Y10, Y10
	VGATHERDPS Y10, (R8)(Y15*4), Y1
	VPCMPEQD Y11, Y11, Y11
	VGATHERDPS Y11, (R9)(Y15*4), Y2
	VPCMPEQD Y12, Y12, Y12
	VGATHERDPS Y12, (R10)(Y15*4), Y3
	VPCMPEQD Y13, Y13, Y13
	VGATHERDPS Y13, (R11)(Y15*4), Y4
	VMOVUPS (SI), Y5
	VADDPS  (DI), Y5, Y5
	VADDPS  (R12), Y5, Y5
	VADDPS  Y1, Y5, Y5
	VMOVUPS Y5, (R13)
	VMOVUPS (SI)(BX*1), Y6
	VADDPS  (DI)(BX*1), Y6, Y6
	VADDPS  (R12)(BX*1), Y6, Y6
	VADDPS  Y2, Y6, Y6
	VMOVUPS Y6, (R13)(BX*1)
	VMOVUPS (SI)(BX*2), Y7
	VADDPS  (DI)(BX*2), Y7, Y7
	VADDPS  (R12)(BX*2), Y7, Y7
	VADDPS  Y3, Y7, Y7
	VMOVUPS Y7, (R13)(BX*2)
	VMOVUPS (SI)(DX*1), Y8
	VADDPS  (DI)(DX*1), Y8, Y8
	VADDPS  (R12)(DX*1), Y8, Y8
	VADDPS  Y4, Y8, Y8
	VMOVUPS Y8, (R13)(DX*1)
	VMULPS  Y14, Y8, Y9             // 2·pre_c
	VMOVUPS Y9, (R14)
	ADDQ    $32, SI
	ADDQ    $32, DI
	ADDQ    $32, R12
	ADDQ    $32, R13
	ADDQ    $32, R14
	ADDQ    R15, R8
	ADDQ    R15, R9
	ADDQ    R15, R10
	ADDQ    R15, R11
	SUBQ    $8, CX
	JG      ploopb
	JMP     pdone

ploopn:
	VPCMPEQD Y10, Y10, Y10
	VGATHERDPS Y10, (R8)(Y15*4), Y1
	VPCMPEQD Y11, Y11, Y11
	VGATHERDPS Y11, (R9)(Y15*4), Y2
	VPCMPEQD Y12, Y12, Y12
	VGATHERDPS Y12, (R10)(Y15*4), Y3
	VPCMPEQD Y13, Y13, Y13
	VGATHERDPS Y13, (R11)(Y15*4), Y4
	VMOVUPS (SI), Y5
	VADDPS  Y1, Y5, Y5
	VMOVUPS Y5, (R13)
	VMOVUPS (SI)(BX*1), Y6
	VADDPS  Y2, Y6, Y6
	VMOVUPS Y6, (R13)(BX*1)
	VMOVUPS (SI)(BX*2), Y7
	VADDPS  Y3, Y7, Y7
	VMOVUPS Y7, (R13)(BX*2)
	VMOVUPS (SI)(DX*1), Y8
	VADDPS  Y4, Y8, Y8
	VMOVUPS Y8, (R13)(DX*1)
	VMULPS  Y14, Y8, Y9             // 2·pre_c
	VMOVUPS Y9, (R14)
	ADDQ    $32, SI
	ADDQ    $32, DI
	ADDQ    $32, R12
	ADDQ    $32, R13
	ADDQ    $32, R14
	ADDQ    R15, R8
	ADDQ    R15, R9
	ADDQ    R15, R10
	ADDQ    R15, R11
	SUBQ    $8, CX
	JG      ploopn
	JMP     pdone

	// r's units consecutive (rstep 32 bytes): the same operations on
	// plain loads, which cost less than gathers.
contig:
	TESTQ AX, AX
	JZ   cloopn

cloopb:
	VMOVUPS (SI), Y5
	VADDPS  (DI), Y5, Y5
	VADDPS  (R12), Y5, Y5
	VADDPS  (R8), Y5, Y5
	VMOVUPS Y5, (R13)
	VMOVUPS (SI)(BX*1), Y6
	VADDPS  (DI)(BX*1), Y6, Y6
	VADDPS  (R12)(BX*1), Y6, Y6
	VADDPS  (R9), Y6, Y6
	VMOVUPS Y6, (R13)(BX*1)
	VMOVUPS (SI)(BX*2), Y7
	VADDPS  (DI)(BX*2), Y7, Y7
	VADDPS  (R12)(BX*2), Y7, Y7
	VADDPS  (R10), Y7, Y7
	VMOVUPS Y7, (R13)(BX*2)
	VMOVUPS (SI)(DX*1), Y8
	VADDPS  (DI)(DX*1), Y8, Y8
	VADDPS  (R12)(DX*1), Y8, Y8
	VADDPS  (R11), Y8, Y8
	VMOVUPS Y8, (R13)(DX*1)
	VMULPS  Y14, Y8, Y9             // 2·pre_c
	VMOVUPS Y9, (R14)
	ADDQ    $32, SI
	ADDQ    $32, DI
	ADDQ    $32, R12
	ADDQ    $32, R13
	ADDQ    $32, R14
	ADDQ    $32, R8
	ADDQ    $32, R9
	ADDQ    $32, R10
	ADDQ    $32, R11
	SUBQ    $8, CX
	JG      cloopb
	JMP     pdone

cloopn:
	VMOVUPS (SI), Y5
	VADDPS  (R8), Y5, Y5
	VMOVUPS Y5, (R13)
	VMOVUPS (SI)(BX*1), Y6
	VADDPS  (R9), Y6, Y6
	VMOVUPS Y6, (R13)(BX*1)
	VMOVUPS (SI)(BX*2), Y7
	VADDPS  (R10), Y7, Y7
	VMOVUPS Y7, (R13)(BX*2)
	VMOVUPS (SI)(DX*1), Y8
	VADDPS  (R11), Y8, Y8
	VMOVUPS Y8, (R13)(DX*1)
	VMULPS  Y14, Y8, Y9             // 2·pre_c
	VMOVUPS Y9, (R14)
	ADDQ    $32, SI
	ADDQ    $32, R13
	ADDQ    $32, R14
	ADDQ    $32, R8
	ADDQ    $32, R9
	ADDQ    $32, R10
	ADDQ    $32, R11
	SUBQ    $8, CX
	JG      cloopn

pdone:
	VZEROUPPER
	RET

// func addAVX2(dst, src *float32, n int)
// dst += src for n elements (a multiple of 8).
TEXT ·addAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	XORQ AX, AX

aloop:
	CMPQ AX, CX
	JGE  adone
	VMOVUPS (DI)(AX*4), Y0
	VADDPS  (SI)(AX*4), Y0, Y0
	VMOVUPS Y0, (DI)(AX*4)
	ADDQ $8, AX
	JMP  aloop

adone:
	VZEROUPPER
	RET
