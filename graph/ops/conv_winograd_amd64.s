//go:build !purego

#include "textflag.h"

// Winograd F(2x2, 3x3)'s transforms (conv_winograd.go) for 8 tiles at a
// time. In a group of 8 tiles the transformed values are stored in the
// order 0 2 4 6 1 3 5 7 (two tiles a register, one in each 128-bit lane,
// then a 4x4 transpose in each lane); winoOutputAVX2 reads them in that
// order. Each value is the same sum, in the same order, as the Go loops'.

// -1 +1 -1 -1 in each lane: (Bᵀ d) B's column signs.
DATA winoSign<>+0(SB)/4, $0xbf800000
DATA winoSign<>+4(SB)/4, $0x3f800000
DATA winoSign<>+8(SB)/4, $0xbf800000
DATA winoSign<>+12(SB)/4, $0xbf800000
DATA winoSign<>+16(SB)/4, $0xbf800000
DATA winoSign<>+20(SB)/4, $0x3f800000
DATA winoSign<>+24(SB)/4, $0xbf800000
DATA winoSign<>+28(SB)/4, $0xbf800000
GLOBL winoSign<>(SB), RODATA|NOPTR, $32

// TRANSPOSE4 transposes the 4x4 blocks of A, B, C, D in each lane into
// E0-E3 (which may be A-D), through T0-T3.
#define TRANSPOSE4(A, B, C, D, T0, T1, T2, T3, E0, E1, E2, E3) \
	VUNPCKLPS B, A, T0          \
	VUNPCKLPS D, C, T1          \
	VUNPCKHPS B, A, T2          \
	VUNPCKHPS D, C, T3          \
	VSHUFPS   $0x44, T1, T0, E0 \
	VSHUFPS   $0xEE, T1, T0, E1 \
	VSHUFPS   $0x44, T3, T2, E2 \
	VSHUFPS   $0xEE, T3, T2, E3

// LOADPAIR loads one row of the 4x4 blocks at AX (low lane) and BX (high
// lane), the row IX bytes down.
#define LOADPAIR(IX, Y) \
	VBROADCASTF128 (AX)(IX*1), Y \
	VINSERTF128    $1, (BX)(IX*1), Y, Y

// PAIR makes one row of V for the tiles at offsets O0(SI) and O1(SI): the
// rows IXA and IXB combined by OP (Bᵀ d), then the columns' combinations,
// c0-c2, c1+c2, c2-c1, c1-c3, as c0 c1 c2 c1 plus the signs times
// c2 c2 c1 c3 (a multiply by ±1 is exact: one rounding, as the Go loop's).
#define PAIR(O0, O1, IXA, IXB, OP, W) \
	MOVLQSX     O0(SI), AX        \
	MOVLQSX     O1(SI), BX        \
	LEAQ        (DI)(AX*4), AX    \
	LEAQ        (DI)(BX*4), BX    \
	LOADPAIR(IXA, Y8)             \
	LOADPAIR(IXB, Y9)             \
	OP          Y9, Y8, Y10       \
	VPERMILPS   $0x64, Y10, W     \
	VPERMILPS   $0xDA, Y10, Y10   \
	VFMADD231PS Y15, Y10, W

// STAGE makes row i of V for the 8 tiles and stores its four values a
// tile (V_4i+j, j = 0..3) at AX, AX+R10, AX+2·R10, AX+R11, after LEA.
#define STAGE(IXA, IXB, OP) \
	PAIR(0, 4, IXA, IXB, OP, Y0)   \
	PAIR(8, 12, IXA, IXB, OP, Y1)  \
	PAIR(16, 20, IXA, IXB, OP, Y2) \
	PAIR(24, 28, IXA, IXB, OP, Y3) \
	TRANSPOSE4(Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y0, Y1, Y2, Y3)

#define STOREV \
	VMOVUPS Y0, (AX)        \
	VMOVUPS Y1, (AX)(R10*1) \
	VMOVUPS Y2, (AX)(R10*2) \
	VMOVUPS Y3, (AX)(R11*1)

// func winoInputAVX2(pad *float32, offs *int32, wp int, v *float32, vs int, n int)
// For tiles k = 0..n-1 (n a multiple of 8) whose 4x4 input blocks start
// at pad[offs[k]] (rows wp apart), V = Bᵀ d B to v[ξ·vs + k] (in the
// groups' order above).
TEXT ·winoInputAVX2(SB), NOSPLIT, $0-48
	MOVQ         pad+0(FP), DI
	MOVQ         offs+8(FP), SI
	MOVQ         wp+16(FP), DX
	SHLQ         $2, DX
	LEAQ         (DX)(DX*1), R13
	LEAQ         (DX)(DX*2), R8
	XORQ         R12, R12
	MOVQ         v+24(FP), R9
	MOVQ         vs+32(FP), R10
	SHLQ         $2, R10
	LEAQ         (R10)(R10*2), R11
	MOVQ         n+40(FP), CX
	VMOVUPS      winoSign<>(SB), Y15
	TESTQ        CX, CX
	JZ           idone

iloop:
	// Row 0 of Bᵀ d: d0 - d2.
	STAGE(R12, R13, VSUBPS)
	MOVQ R9, AX
	STOREV
	// Row 1: d1 + d2.
	STAGE(DX, R13, VADDPS)
	LEAQ (R9)(R10*4), AX
	STOREV
	// Row 2: d2 - d1.
	STAGE(R13, DX, VSUBPS)
	LEAQ (R9)(R10*8), AX
	STOREV
	// Row 3: d1 - d3.
	STAGE(DX, R8, VSUBPS)
	LEAQ (R9)(R10*8), AX
	LEAQ (AX)(R10*4), AX
	STOREV
	ADDQ $32, R9
	ADDQ $32, SI
	SUBQ $8, CX
	JNZ  iloop

idone:
	VZEROUPPER
	RET

// SUMS loads M_ξ of row IX bytes into the tiles (ξ = k, 4+k, 8+k, 12+k at
// DI, AX, BX, R12) and makes s0 = m0+m1+m2 in S0, s1 = m1-m2-m3 in S1.
#define SUMS(IX, S0, S1) \
	VMOVUPS (DI)(IX*1), S0       \
	VADDPS  (AX)(IX*1), S0, S0   \
	VADDPS  (BX)(IX*1), S0, S0   \
	VMOVUPS (AX)(IX*1), S1       \
	VSUBPS  (BX)(IX*1), S1, S1   \
	VSUBPS  (R12)(IX*1), S1, S1

// STORE2 writes the 2x2 block of one tile from the low 128 bits of X:
// its first row (2 floats) at y[offs[k]], the second wo floats further.
#define STORE2(O, X) \
	MOVLQSX O(SI), AX         \
	LEAQ    (R9)(AX*4), AX    \
	VMOVLPS X, (AX)           \
	VMOVHPS X, (AX)(DX*1)

// func winoOutputAVX2(mm *float32, ms int, offs *int32, y *float32, wo int, n int, bias float32, relu bool)
// For tiles k = 0..n-1 (n a multiple of 8) with M_ξ at mm[ξ·ms + k] (in
// the groups' order above), Y = Aᵀ M A + bias, then Relu when relu (as
// reluSlice: NaN kept, -0 made 0), the tile's 2x2 block to y at offs[k]
// (rows wo apart).
TEXT ·winoOutputAVX2(SB), NOSPLIT, $0-53
	MOVQ         mm+0(FP), DI
	MOVQ         ms+8(FP), R10
	SHLQ         $2, R10
	LEAQ         (R10)(R10*2), R11
	MOVQ         offs+16(FP), SI
	MOVQ         y+24(FP), R9
	MOVQ         wo+32(FP), DX
	SHLQ         $2, DX
	MOVQ         n+40(FP), CX
	VBROADCASTSS bias+48(FP), Y12
	MOVBLZX      relu+52(FP), R8
	VXORPS       Y13, Y13, Y13
	XORQ         R13, R13
	TESTQ        CX, CX
	JZ           odone

oloop:
	LEAQ (DI)(R10*4), AX
	LEAQ (DI)(R10*8), BX
	LEAQ (BX)(R10*4), R12
	SUMS(R13, Y0, Y4)
	SUMS(R10, Y1, Y5)
	LEAQ (R10)(R10*1), R13
	SUMS(R13, Y2, Y6)
	XORQ R13, R13
	SUMS(R11, Y3, Y7)

	// y00 = s00+s01+s02, y01 = s01-s02-s03, y10, y11 likewise from s1.
	VADDPS Y1, Y0, Y8
	VADDPS Y2, Y8, Y8
	VSUBPS Y2, Y1, Y9
	VSUBPS Y3, Y9, Y9
	VADDPS Y5, Y4, Y10
	VADDPS Y6, Y10, Y10
	VSUBPS Y6, Y5, Y11
	VSUBPS Y7, Y11, Y11
	VADDPS Y12, Y8, Y8
	VADDPS Y12, Y9, Y9
	VADDPS Y12, Y10, Y10
	VADDPS Y12, Y11, Y11
	TESTQ  R8, R8
	JZ     ostore

	// max(0, x) is x when x is NaN or a zero; adding +0 makes -0 +0.
	VMAXPS Y8, Y13, Y8
	VMAXPS Y9, Y13, Y9
	VMAXPS Y10, Y13, Y10
	VMAXPS Y11, Y13, Y11
	VADDPS Y13, Y8, Y8
	VADDPS Y13, Y9, Y9
	VADDPS Y13, Y10, Y10
	VADDPS Y13, Y11, Y11

ostore:
	// Each lane: a tile's y00 y01 y10 y11; register q holds tiles 2q, 2q+1.
	TRANSPOSE4(Y8, Y9, Y10, Y11, Y4, Y5, Y6, Y7, Y0, Y1, Y2, Y3)
	STORE2(0, X0)
	STORE2(8, X1)
	STORE2(16, X2)
	STORE2(24, X3)
	VEXTRACTF128 $1, Y0, X0
	VEXTRACTF128 $1, Y1, X1
	VEXTRACTF128 $1, Y2, X2
	VEXTRACTF128 $1, Y3, X3
	STORE2(4, X0)
	STORE2(12, X1)
	STORE2(20, X2)
	STORE2(28, X3)
	ADDQ $32, DI
	ADDQ $32, SI
	SUBQ $8, CX
	JNZ  oloop

odone:
	VZEROUPPER
	RET

// -0 in every lane: the sign bit, for negating.
DATA winoNeg<>+0(SB)/4, $0x80000000
DATA winoNeg<>+4(SB)/4, $0x80000000
DATA winoNeg<>+8(SB)/4, $0x80000000
DATA winoNeg<>+12(SB)/4, $0x80000000
DATA winoNeg<>+16(SB)/4, $0x80000000
DATA winoNeg<>+20(SB)/4, $0x80000000
DATA winoNeg<>+24(SB)/4, $0x80000000
DATA winoNeg<>+28(SB)/4, $0x80000000
GLOBL winoNeg<>(SB), RODATA|NOPTR, $32

// LOADBLK2 loads the 2x2 blocks of the tiles at offsets O0(SI) (low lane)
// and O1(SI) (high lane), each lane its a b c e (rows DX bytes apart).
#define LOADBLK2(O0, O1, X, Y) \
	MOVLQSX     O0(SI), AX         \
	LEAQ        (DI)(AX*4), AX     \
	VMOVSD      (AX), X            \
	VMOVHPS     (AX)(DX*1), X, X   \
	MOVLQSX     O1(SI), BX         \
	LEAQ        (DI)(BX*4), BX     \
	VMOVSD      (BX), X8           \
	VMOVHPS     (BX)(DX*1), X8, X8 \
	VINSERTF128 $1, X8, Y, Y

// GROW stores one row (P, Q) of A dY times Aᵀ: P, P+Q, P-Q, -Q at AX,
// AX+R10, AX+2·R10, AX+R11.
#define GROW(P, Q) \
	VADDPS  Q, P, Y12        \
	VSUBPS  Q, P, Y13        \
	VXORPS  Y15, Q, Y14      \
	VMOVUPS P, (AX)          \
	VMOVUPS Y12, (AX)(R10*1) \
	VMOVUPS Y13, (AX)(R10*2) \
	VMOVUPS Y14, (AX)(R11*1)

// func winoGradAVX2(d *float32, offs *int32, wo int, dm *float32, ms int, n int)
// For tiles k = 0..n-1 (n a multiple of 8) whose 2x2 blocks of dy are at
// d[offs[k]] (rows wo apart), dM = A dY Aᵀ to dm[ξ·ms + k] in the groups'
// order above (that of winoInputAVX2's V).
TEXT ·winoGradAVX2(SB), NOSPLIT, $0-48
	MOVQ    d+0(FP), DI
	MOVQ    offs+8(FP), SI
	MOVQ    wo+16(FP), DX
	SHLQ    $2, DX
	MOVQ    dm+24(FP), R9
	MOVQ    ms+32(FP), R10
	SHLQ    $2, R10
	LEAQ    (R10)(R10*2), R11
	MOVQ    n+40(FP), CX
	VMOVUPS winoNeg<>(SB), Y15
	TESTQ   CX, CX
	JZ      gdone

gloop:
	LOADBLK2(0, 4, X0, Y0)
	LOADBLK2(8, 12, X1, Y1)
	LOADBLK2(16, 20, X2, Y2)
	LOADBLK2(24, 28, X3, Y3)
	// a, b, c, e of the 8 tiles in Y0-Y3.
	TRANSPOSE4(Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y0, Y1, Y2, Y3)
	VADDPS Y2, Y0, Y4  // a+c
	VADDPS Y3, Y1, Y5  // b+e
	VSUBPS Y2, Y0, Y6  // a-c
	VSUBPS Y3, Y1, Y7  // b-e
	VXORPS Y15, Y2, Y8 // -c
	VXORPS Y15, Y3, Y9 // -e
	MOVQ   R9, AX
	GROW(Y0, Y1)
	LEAQ   (R9)(R10*4), AX
	GROW(Y4, Y5)
	LEAQ   (R9)(R10*8), AX
	GROW(Y6, Y7)
	LEAQ   (AX)(R10*4), AX
	GROW(Y8, Y9)
	ADDQ   $32, R9
	ADDQ   $32, SI
	SUBQ   $8, CX
	JNZ    gloop

gdone:
	VZEROUPPER
	RET
