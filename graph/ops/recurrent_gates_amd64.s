//go:build !purego

#include "textflag.h"
#include "sigmoid_amd64.h"

// SIG4 is SIG on four registers at once, an instruction of each in turn
// (four independent chains side by side for the out-of-order core).
#define SIG4(A, TA1, TA2, TA3, B, TB1, TB2, TB3, C, TC1, TC2, TC3, D, TD1, TD2, TD3) \
	VPXORD  Z21, A, A; \
	VPXORD  Z21, B, B; \
	VPXORD  Z21, C, C; \
	VPXORD  Z21, D, D; \
	VMAXPS  A, Z9, A; \
	VMAXPS  B, Z9, B; \
	VMAXPS  C, Z9, C; \
	VMAXPS  D, Z9, D; \
	VMINPS  A, Z10, A; \
	VMINPS  B, Z10, B; \
	VMINPS  C, Z10, C; \
	VMINPS  D, Z10, D; \
	VMULPS  Z11, A, TA1; \
	VMULPS  Z11, B, TB1; \
	VMULPS  Z11, C, TC1; \
	VMULPS  Z11, D, TD1; \
	VRNDSCALEPS $0, TA1, TA1; \
	VRNDSCALEPS $0, TB1, TB1; \
	VRNDSCALEPS $0, TC1, TC1; \
	VRNDSCALEPS $0, TD1, TD1; \
	VFNMADD231PS Z13, TA1, A; \
	VFNMADD231PS Z13, TB1, B; \
	VFNMADD231PS Z13, TC1, C; \
	VFNMADD231PS Z13, TD1, D; \
	VFNMADD231PS Z14, TA1, A; \
	VFNMADD231PS Z14, TB1, B; \
	VFNMADD231PS Z14, TC1, C; \
	VFNMADD231PS Z14, TD1, D; \
	VMOVAPS Z15, TA2; \
	VMOVAPS Z15, TB2; \
	VMOVAPS Z15, TC2; \
	VMOVAPS Z15, TD2; \
	VFMADD213PS Z16, A, TA2; \
	VFMADD213PS Z16, B, TB2; \
	VFMADD213PS Z16, C, TC2; \
	VFMADD213PS Z16, D, TD2; \
	VFMADD213PS Z17, A, TA2; \
	VFMADD213PS Z17, B, TB2; \
	VFMADD213PS Z17, C, TC2; \
	VFMADD213PS Z17, D, TD2; \
	VFMADD213PS Z18, A, TA2; \
	VFMADD213PS Z18, B, TB2; \
	VFMADD213PS Z18, C, TC2; \
	VFMADD213PS Z18, D, TD2; \
	VFMADD213PS Z19, A, TA2; \
	VFMADD213PS Z19, B, TB2; \
	VFMADD213PS Z19, C, TC2; \
	VFMADD213PS Z19, D, TD2; \
	VFMADD213PS Z20, A, TA2; \
	VFMADD213PS Z20, B, TB2; \
	VFMADD213PS Z20, C, TC2; \
	VFMADD213PS Z20, D, TD2; \
	VMULPS  A, A, TA3; \
	VMULPS  B, B, TB3; \
	VMULPS  C, C, TC3; \
	VMULPS  D, D, TD3; \
	VMULPS  TA3, TA2, TA2; \
	VMULPS  TB3, TB2, TB2; \
	VMULPS  TC3, TC2, TC2; \
	VMULPS  TD3, TD2, TD2; \
	VADDPS  A, TA2, TA2; \
	VADDPS  B, TB2, TB2; \
	VADDPS  C, TC2, TC2; \
	VADDPS  D, TD2, TD2; \
	VADDPS  Z12, TA2, TA2; \
	VADDPS  Z12, TB2, TB2; \
	VADDPS  Z12, TC2, TC2; \
	VADDPS  Z12, TD2, TD2; \
	VSCALEFPS TA1, TA2, TA2; \
	VSCALEFPS TB1, TB2, TB2; \
	VSCALEFPS TC1, TC2, TC2; \
	VSCALEFPS TD1, TD2, TD2; \
	VADDPS  Z12, TA2, TA2; \
	VADDPS  Z12, TB2, TB2; \
	VADDPS  Z12, TC2, TC2; \
	VADDPS  Z12, TD2, TD2; \
	VDIVPS  TA2, Z12, A; \
	VDIVPS  TB2, Z12, B; \
	VDIVPS  TC2, Z12, C; \
	VDIVPS  TD2, Z12, D

// GATES is the rest of the gates for 16 units, from the pre-activations
// zi, zo, zf, zc in Z1-Z4: lstmPreAVX512's g2, sigmoid32AVX512 of i, o, f
// and g2, lstmCellAVX512, sigmoid32AVX512 of 2·ct, lstmHAVX512.
#define GATES \
	VMULPS  Z31, Z4, Z4; \
	SIG4(Z1, Z5, Z6, Z7, Z2, Z8, Z22, Z23, Z3, Z24, Z25, Z26, Z4, Z27, Z28, Z29); \
	VMOVUPS Z1, (R14); \
	VMOVUPS Z2, (R14)(BX*1); \
	VMOVUPS Z3, (R14)(BX*2); \
	VADDPS  Z4, Z4, Z4; \
	VSUBPS  Z12, Z4, Z4; \
	VMOVUPS Z4, (R14)(DX*1); \
	VMULPS  (R9), Z3, Z3; \
	VMULPS  Z1, Z4, Z0; \
	VADDPS  Z0, Z3, Z3; \
	VMOVUPS Z3, (R10); \
	VADDPS  Z3, Z3, Z3; \
	VMOVUPS Z3, (R11)

// func lstmGatesAVX512(x, wb, rb, r, pre, post, cp, cell, hc, h, y *float32, H, n, bias int)
// lstmGatesPart without peepholes for n units (a multiple of 16), 16 at a
// time, in one pass: the instructions of lstmPreAVX512 (r's units
// consecutive, its gates H apart as x's), sigmoid32AVX512, lstmCellAVX512
// and lstmHAVX512 in the order each element meets them there, the values
// kept in registers between them instead of stored and loaded; h is also
// stored into y (h itself for none).
TEXT ·lstmGatesAVX512(SB), NOSPLIT, $0-112
	MOVQ x+0(FP), SI
	MOVQ wb+8(FP), DI
	MOVQ rb+16(FP), R12
	MOVQ r+24(FP), R8
	MOVQ pre+32(FP), R13
	MOVQ post+40(FP), R14
	MOVQ cp+48(FP), R9
	MOVQ cell+56(FP), R10
	MOVQ hc+64(FP), R11
	MOVQ h+72(FP), R15
	MOVQ H+88(FP), BX
	SHLQ $2, BX                 // H, in bytes
	LEAQ (BX)(BX*2), DX         // 3H
	SIGMOID_CONSTS
	MOVL $0x40000000, AX
	VPBROADCASTD AX, Z31 // 2
	MOVQ n+96(FP), CX
	TESTQ CX, CX
	JLE  gdone
	MOVQ bias+104(FP), AX
	TESTQ AX, AX
	JZ   gloopn

gloopb:
	VMOVUPS (SI), Z1
	VADDPS  (DI), Z1, Z1
	VADDPS  (R12), Z1, Z1
	VADDPS  (R8), Z1, Z1
	VMOVUPS Z1, (R13)
	VMOVUPS (SI)(BX*1), Z2
	VADDPS  (DI)(BX*1), Z2, Z2
	VADDPS  (R12)(BX*1), Z2, Z2
	VADDPS  (R8)(BX*1), Z2, Z2
	VMOVUPS Z2, (R13)(BX*1)
	VMOVUPS (SI)(BX*2), Z3
	VADDPS  (DI)(BX*2), Z3, Z3
	VADDPS  (R12)(BX*2), Z3, Z3
	VADDPS  (R8)(BX*2), Z3, Z3
	VMOVUPS Z3, (R13)(BX*2)
	VMOVUPS (SI)(DX*1), Z4
	VADDPS  (DI)(DX*1), Z4, Z4
	VADDPS  (R12)(DX*1), Z4, Z4
	VADDPS  (R8)(DX*1), Z4, Z4
	VMOVUPS Z4, (R13)(DX*1)
	GATES
	ADDQ    $64, DI
	ADDQ    $64, R12
	ADDQ    $64, SI
	ADDQ    $64, R8
	ADDQ    $64, R13
	ADDQ    $64, R14
	ADDQ    $64, R9
	ADDQ    $64, R10
	ADDQ    $64, R11
	ADDQ    $64, R15
	SUBQ    $16, CX
	JG      gloopb
	JMP     hpass

gloopn:
	VMOVUPS (SI), Z1
	VADDPS  (R8), Z1, Z1
	VMOVUPS Z1, (R13)
	VMOVUPS (SI)(BX*1), Z2
	VADDPS  (R8)(BX*1), Z2, Z2
	VMOVUPS Z2, (R13)(BX*1)
	VMOVUPS (SI)(BX*2), Z3
	VADDPS  (R8)(BX*2), Z3, Z3
	VMOVUPS Z3, (R13)(BX*2)
	VMOVUPS (SI)(DX*1), Z4
	VADDPS  (R8)(DX*1), Z4, Z4
	VMOVUPS Z4, (R13)(DX*1)
	GATES
	ADDQ    $64, SI
	ADDQ    $64, R8
	ADDQ    $64, R13
	ADDQ    $64, R14
	ADDQ    $64, R9
	ADDQ    $64, R10
	ADDQ    $64, R11
	ADDQ    $64, R15
	SUBQ    $16, CX
	JG      gloopn

	// The second pass, from 2·ct in hc: sigmoid32AVX512 of it and
	// lstmHAVX512, h into h and y.
hpass:
	MOVQ post+40(FP), R14
	ADDQ BX, R14                // post o
	MOVQ hc+64(FP), R11
	MOVQ h+72(FP), R15
	MOVQ y+80(FP), R12
	MOVQ n+96(FP), CX

hloop:
	VMOVUPS (R11), Z3
	SIG(Z3, Z5, Z6, Z7)
	VADDPS  Z3, Z3, Z3
	VSUBPS  Z12, Z3, Z3
	VMOVUPS Z3, (R11)
	VMULPS  (R14), Z3, Z0
	VMOVUPS Z0, (R15)
	VMOVUPS Z0, (R12)
	ADDQ    $64, R11
	ADDQ    $64, R14
	ADDQ    $64, R15
	ADDQ    $64, R12
	SUBQ    $16, CX
	JG      hloop

gdone:
	VZEROUPPER
	RET
