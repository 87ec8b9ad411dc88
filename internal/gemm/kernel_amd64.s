//go:build !purego

#include "textflag.h"

// One step of the 6x16 rank-1 update at packed offset i (in k steps):
// Y12, Y13 hold row i of the B panel, Y14/Y15 alternate as the broadcast
// element of the A panel, Y0..Y11 are the 6x16 accumulators.
#define STEP(i) \
	VMOVUPS      (64*i)(DI), Y12;  \
	VMOVUPS      (64*i+32)(DI), Y13; \
	VBROADCASTSS (24*i)(SI), Y14;  \
	VFMADD231PS  Y12, Y14, Y0;     \
	VFMADD231PS  Y13, Y14, Y1;     \
	VBROADCASTSS (24*i+4)(SI), Y15; \
	VFMADD231PS  Y12, Y15, Y2;     \
	VFMADD231PS  Y13, Y15, Y3;     \
	VBROADCASTSS (24*i+8)(SI), Y14; \
	VFMADD231PS  Y12, Y14, Y4;     \
	VFMADD231PS  Y13, Y14, Y5;     \
	VBROADCASTSS (24*i+12)(SI), Y15; \
	VFMADD231PS  Y12, Y15, Y6;     \
	VFMADD231PS  Y13, Y15, Y7;     \
	VBROADCASTSS (24*i+16)(SI), Y14; \
	VFMADD231PS  Y12, Y14, Y8;     \
	VFMADD231PS  Y13, Y14, Y9;     \
	VBROADCASTSS (24*i+20)(SI), Y15; \
	VFMADD231PS  Y12, Y15, Y10;    \
	VFMADD231PS  Y13, Y15, Y11

// The C tile's rows are at DX, DX+R8, R9, R9+R8, R10, R10+R8 (R8 is ldc in
// bytes). START_TILE sets R9 and R10, touches the tile so that it is in
// cache by the time it is updated, and clears the accumulators.
#define START_TILE \
	LEAQ       (DX)(R8*2), R9;      \
	LEAQ       (R9)(R8*2), R10;     \
	PREFETCHT0 (DX);                \
	PREFETCHT0 60(DX);              \
	PREFETCHT0 (DX)(R8*1);          \
	PREFETCHT0 60(DX)(R8*1);        \
	PREFETCHT0 (R9);                \
	PREFETCHT0 60(R9);              \
	PREFETCHT0 (R9)(R8*1);          \
	PREFETCHT0 60(R9)(R8*1);        \
	PREFETCHT0 (R10);               \
	PREFETCHT0 60(R10);             \
	PREFETCHT0 (R10)(R8*1);         \
	PREFETCHT0 60(R10)(R8*1);       \
	VXORPS     Y0, Y0, Y0;          \
	VXORPS     Y1, Y1, Y1;          \
	VXORPS     Y2, Y2, Y2;          \
	VXORPS     Y3, Y3, Y3;          \
	VXORPS     Y4, Y4, Y4;          \
	VXORPS     Y5, Y5, Y5;          \
	VXORPS     Y6, Y6, Y6;          \
	VXORPS     Y7, Y7, Y7;          \
	VXORPS     Y8, Y8, Y8;          \
	VXORPS     Y9, Y9, Y9;          \
	VXORPS     Y10, Y10, Y10;       \
	VXORPS     Y11, Y11, Y11

// ADD_BETA_C adds beta (broadcast in Y15) times the C tile to the
// accumulators.
#define ADD_BETA_C \
	VFMADD231PS (DX), Y15, Y0;          \
	VFMADD231PS 32(DX), Y15, Y1;        \
	VFMADD231PS (DX)(R8*1), Y15, Y2;    \
	VFMADD231PS 32(DX)(R8*1), Y15, Y3;  \
	VFMADD231PS (R9), Y15, Y4;          \
	VFMADD231PS 32(R9), Y15, Y5;        \
	VFMADD231PS (R9)(R8*1), Y15, Y6;    \
	VFMADD231PS 32(R9)(R8*1), Y15, Y7;  \
	VFMADD231PS (R10), Y15, Y8;         \
	VFMADD231PS 32(R10), Y15, Y9;       \
	VFMADD231PS (R10)(R8*1), Y15, Y10;  \
	VFMADD231PS 32(R10)(R8*1), Y15, Y11

// STORE_TILE stores the accumulators in the C tile.
#define STORE_TILE \
	VMOVUPS Y0, (DX);           \
	VMOVUPS Y1, 32(DX);         \
	VMOVUPS Y2, (DX)(R8*1);     \
	VMOVUPS Y3, 32(DX)(R8*1);   \
	VMOVUPS Y4, (R9);           \
	VMOVUPS Y5, 32(R9);         \
	VMOVUPS Y6, (R9)(R8*1);     \
	VMOVUPS Y7, 32(R9)(R8*1);   \
	VMOVUPS Y8, (R10);          \
	VMOVUPS Y9, 32(R10);        \
	VMOVUPS Y10, (R10)(R8*1);   \
	VMOVUPS Y11, 32(R10)(R8*1)

// func kernel6x16(k int, a, b, c *float32, ldc int, alpha, beta float32)
TEXT ·kernel6x16(SB), NOSPLIT, $0-48
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DI
	MOVQ c+24(FP), DX
	MOVQ ldc+32(FP), R8
	SHLQ $2, R8

	START_TILE

	MOVQ CX, BX
	SHRQ $2, BX
	JZ   tail

loop4:
	PREFETCHT0 384(SI)
	STEP(0)
	STEP(1)
	PREFETCHT0 512(DI)
	STEP(2)
	STEP(3)
	ADDQ $96, SI
	ADDQ $256, DI
	DECQ BX
	JNZ  loop4

tail:
	ANDQ $3, CX
	JZ   store

loop1:
	STEP(0)
	ADDQ $24, SI
	ADDQ $64, DI
	DECQ CX
	JNZ  loop1

store:
	VBROADCASTSS alpha+40(FP), Y14
	VMULPS Y14, Y0, Y0
	VMULPS Y14, Y1, Y1
	VMULPS Y14, Y2, Y2
	VMULPS Y14, Y3, Y3
	VMULPS Y14, Y4, Y4
	VMULPS Y14, Y5, Y5
	VMULPS Y14, Y6, Y6
	VMULPS Y14, Y7, Y7
	VMULPS Y14, Y8, Y8
	VMULPS Y14, Y9, Y9
	VMULPS Y14, Y10, Y10
	VMULPS Y14, Y11, Y11

	// beta == ±0: C is overwritten without being read.
	MOVL beta+44(FP), AX
	SHLL $1, AX
	JZ   overwrite

	VBROADCASTSS beta+44(FP), Y15
	ADD_BETA_C

overwrite:
	STORE_TILE
	VZEROUPPER
	RET

// CLAMPROW clamps row accumulators z0 and z1 to [lo, hi] (Y13, Y14) as
// biasVecClampAVX2 does (max(lo, z), then min(hi, ·); a NaN z kept) and
// stores them at m0 and m1, then leaves in z0 the lanes of z0 or z1 that
// equalled a bound (Y12, Y15 scratch). A row's hits are ORed apart from
// the other rows' (no chain through the tile).
#define CLAMPROW(z0, z1, m0, m1) \
	VCMPPS  $0x00, Y13, z0, Y12; \
	VCMPPS  $0x00, Y14, z0, Y15; \
	VORPS   Y12, Y15, Y15;       \
	VCMPPS  $0x00, Y13, z1, Y12; \
	VORPS   Y12, Y15, Y15;       \
	VCMPPS  $0x00, Y14, z1, Y12; \
	VORPS   Y12, Y15, Y15;       \
	VMAXPS  z0, Y13, z0;         \
	VMINPS  z0, Y14, z0;         \
	VMAXPS  z1, Y13, z1;         \
	VMINPS  z1, Y14, z1;         \
	VMOVUPS z0, m0;              \
	VMOVUPS z1, m1;              \
	VMOVAPS Y15, z0

// func kernel6x16Epi(k int, a, b, c *float32, ldc int, beta float32, bias *float32, lo, hi float32, clip bool) bool
// kernel6x16 (the same steps) with alpha 1, not multiplied (x·1 is x), and
// an epilogue before the stores: row i's bias[i] added to each of its sums,
// then with clip each clamped to [lo, hi] as biasVecClampAVX2 clamps (NaN
// kept). It reports whether a sum equalled lo or hi exactly (stored
// clamped all the same).
TEXT ·kernel6x16Epi(SB), NOSPLIT, $0-73
	MOVB $0, ret+72(FP)
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DI
	MOVQ c+24(FP), DX
	MOVQ ldc+32(FP), R8
	SHLQ $2, R8

	START_TILE

	MOVQ CX, BX
	SHRQ $2, BX
	JZ   etail

eloop4:
	PREFETCHT0 384(SI)
	STEP(0)
	STEP(1)
	PREFETCHT0 512(DI)
	STEP(2)
	STEP(3)
	ADDQ $96, SI
	ADDQ $256, DI
	DECQ BX
	JNZ  eloop4

etail:
	ANDQ $3, CX
	JZ   ebeta

eloop1:
	STEP(0)
	ADDQ $24, SI
	ADDQ $64, DI
	DECQ CX
	JNZ  eloop1

ebeta:
	// beta == ±0: C is not read.
	MOVL beta+40(FP), AX
	SHLL $1, AX
	JZ   epi

	VBROADCASTSS beta+40(FP), Y15
	ADD_BETA_C

epi:
	// Each row's bias added (x + bias, as biasVecClampAVX2).
	MOVQ         bias+48(FP), AX
	VBROADCASTSS 0(AX), Y12
	VADDPS       Y12, Y0, Y0
	VADDPS       Y12, Y1, Y1
	VBROADCASTSS 4(AX), Y12
	VADDPS       Y12, Y2, Y2
	VADDPS       Y12, Y3, Y3
	VBROADCASTSS 8(AX), Y12
	VADDPS       Y12, Y4, Y4
	VADDPS       Y12, Y5, Y5
	VBROADCASTSS 12(AX), Y12
	VADDPS       Y12, Y6, Y6
	VADDPS       Y12, Y7, Y7
	VBROADCASTSS 16(AX), Y12
	VADDPS       Y12, Y8, Y8
	VADDPS       Y12, Y9, Y9
	VBROADCASTSS 20(AX), Y12
	VADDPS       Y12, Y10, Y10
	VADDPS       Y12, Y11, Y11
	CMPB         clip+64(FP), $0
	JEQ          estore

	VBROADCASTSS lo+56(FP), Y13
	VBROADCASTSS hi+60(FP), Y14
	CLAMPROW(Y0, Y1, (DX), 32(DX))
	CLAMPROW(Y2, Y3, (DX)(R8*1), 32(DX)(R8*1))
	CLAMPROW(Y4, Y5, (R9), 32(R9))
	CLAMPROW(Y6, Y7, (R9)(R8*1), 32(R9)(R8*1))
	CLAMPROW(Y8, Y9, (R10), 32(R10))
	CLAMPROW(Y10, Y11, (R10)(R8*1), 32(R10)(R8*1))
	VORPS        Y0, Y2, Y0
	VORPS        Y4, Y6, Y4
	VORPS        Y8, Y10, Y8
	VORPS        Y0, Y4, Y0
	VORPS        Y0, Y8, Y0
	VMOVMSKPS    Y0, AX
	TESTL        AX, AX
	JZ           edone
	MOVB         $1, ret+72(FP)
	VZEROUPPER
	RET

estore:
	STORE_TILE

edone:
	VZEROUPPER
	RET
