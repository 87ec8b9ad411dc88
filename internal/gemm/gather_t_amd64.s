//go:build !purego

#include "textflag.h"
#include "transpose8_amd64.h"

// MASKROW stores src at dst(DI) with lane j zeroed where bit j of the
// step's mask word at off(R10) is clear (a tap outside the source): the
// word is shifted by each lane's count at transposeShift<>+shift so that
// the lane's bit is its sign, spread over the lane by VPSRAD and ANDed
// with src (Y0 scratch).
#define MASKROW(off, shift, src, dst) \
	VPBROADCASTD off(R10), Y0;                      \
	VPSLLVD      transposeShift<>+shift(SB), Y0, Y0; \
	VPSRAD       $31, Y0, Y0;                        \
	VANDPS       src, Y0, Y0;                        \
	VMOVUPS      Y0, dst(DI)

// LOADEVENS loads into dst, in order, the even elements of the 16 floats
// at off0(SI)(AX*4) and off1(SI)(AX*4), AX the column's start (the int32
// at col(R11)); Y8 scratch.
#define LOADEVENS(col, off0, off1, dst) \
	MOVLQSX col(R11), AX;              \
	VMOVUPS off0(SI)(AX*4), dst;       \
	VMOVUPS off1(SI)(AX*4), Y8;        \
	VSHUFPS $0x88, Y8, dst, dst;       \
	VPERMPD $0xD8, dst, dst

// EVENS8 loads with LOADEVENS the columns at col, col+4, ..., col+28 of
// cols into Y0-Y7 and transposes them (TRANSPOSE8: steps in Y8-Y15).
#define EVENS8(col, off0, off1) \
	LOADEVENS(col, off0, off1, Y0);    \
	LOADEVENS(col+4, off0, off1, Y1);  \
	LOADEVENS(col+8, off0, off1, Y2);  \
	LOADEVENS(col+12, off0, off1, Y3); \
	LOADEVENS(col+16, off0, off1, Y4); \
	LOADEVENS(col+20, off0, off1, Y5); \
	LOADEVENS(col+24, off0, off1, Y6); \
	LOADEVENS(col+28, off0, off1, Y7); \
	TRANSPOSE8

// MASKROWS8 stores Y8-Y15 with MASKROW, masks from off, off+4, ...,
// off+28 and rows 64 bytes apart from dst.
#define MASKROWS8(off, shift, dst) \
	MASKROW(off, shift, Y8, dst);          \
	MASKROW(off+4, shift, Y9, dst+64);     \
	MASKROW(off+8, shift, Y10, dst+128);   \
	MASKROW(off+12, shift, Y11, dst+192);  \
	MASKROW(off+16, shift, Y12, dst+256);  \
	MASKROW(off+20, shift, Y13, dst+320);  \
	MASKROW(off+24, shift, Y14, dst+384);  \
	MASKROW(off+28, shift, Y15, dst+448)

// func transposeRun32(dst *float32, src *float32, base int, cols *int32, masks *uint32)
// Packs 16 steps of one B panel of 32 columns of a Gather whose 16 rows
// are consecutive in the source (row[p0+i] = row[p0]+i): column j's 16
// values are the run src[base+cols[j]:][:16] (base = row[p0]),
// loaded whole, then transposed (two 16x16 transposes by unpacks and lane
// shuffles) and stored a step at a time, zeroed where bit j of masks[i]
// is clear. Every run must lie inside the source (the caller checks): the
// loads are not masked.
TEXT ·transposeRun32(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ base+16(FP), AX
	MOVQ cols+24(FP), R11
	MOVQ masks+32(FP), R10
	LEAQ (SI)(AX*4), SI

	MOVLQSX 0(R11), AX
	VMOVUPS (SI)(AX*4), Z0
	MOVLQSX 4(R11), AX
	VMOVUPS (SI)(AX*4), Z1
	MOVLQSX 8(R11), AX
	VMOVUPS (SI)(AX*4), Z2
	MOVLQSX 12(R11), AX
	VMOVUPS (SI)(AX*4), Z3
	MOVLQSX 16(R11), AX
	VMOVUPS (SI)(AX*4), Z4
	MOVLQSX 20(R11), AX
	VMOVUPS (SI)(AX*4), Z5
	MOVLQSX 24(R11), AX
	VMOVUPS (SI)(AX*4), Z6
	MOVLQSX 28(R11), AX
	VMOVUPS (SI)(AX*4), Z7
	MOVLQSX 32(R11), AX
	VMOVUPS (SI)(AX*4), Z8
	MOVLQSX 36(R11), AX
	VMOVUPS (SI)(AX*4), Z9
	MOVLQSX 40(R11), AX
	VMOVUPS (SI)(AX*4), Z10
	MOVLQSX 44(R11), AX
	VMOVUPS (SI)(AX*4), Z11
	MOVLQSX 48(R11), AX
	VMOVUPS (SI)(AX*4), Z12
	MOVLQSX 52(R11), AX
	VMOVUPS (SI)(AX*4), Z13
	MOVLQSX 56(R11), AX
	VMOVUPS (SI)(AX*4), Z14
	MOVLQSX 60(R11), AX
	VMOVUPS (SI)(AX*4), Z15
	VUNPCKLPS Z1, Z0, Z16
	VUNPCKHPS Z1, Z0, Z17
	VUNPCKLPS Z3, Z2, Z18
	VUNPCKHPS Z3, Z2, Z19
	VUNPCKLPS Z5, Z4, Z20
	VUNPCKHPS Z5, Z4, Z21
	VUNPCKLPS Z7, Z6, Z22
	VUNPCKHPS Z7, Z6, Z23
	VUNPCKLPS Z9, Z8, Z24
	VUNPCKHPS Z9, Z8, Z25
	VUNPCKLPS Z11, Z10, Z26
	VUNPCKHPS Z11, Z10, Z27
	VUNPCKLPS Z13, Z12, Z28
	VUNPCKHPS Z13, Z12, Z29
	VUNPCKLPS Z15, Z14, Z30
	VUNPCKHPS Z15, Z14, Z31
	VUNPCKLPD Z18, Z16, Z0
	VUNPCKHPD Z18, Z16, Z1
	VUNPCKLPD Z19, Z17, Z2
	VUNPCKHPD Z19, Z17, Z3
	VUNPCKLPD Z22, Z20, Z4
	VUNPCKHPD Z22, Z20, Z5
	VUNPCKLPD Z23, Z21, Z6
	VUNPCKHPD Z23, Z21, Z7
	VUNPCKLPD Z26, Z24, Z8
	VUNPCKHPD Z26, Z24, Z9
	VUNPCKLPD Z27, Z25, Z10
	VUNPCKHPD Z27, Z25, Z11
	VUNPCKLPD Z30, Z28, Z12
	VUNPCKHPD Z30, Z28, Z13
	VUNPCKLPD Z31, Z29, Z14
	VUNPCKHPD Z31, Z29, Z15
	VSHUFF32X4 $0x44, Z4, Z0, Z16
	VSHUFF32X4 $0xEE, Z4, Z0, Z17
	VSHUFF32X4 $0x44, Z12, Z8, Z18
	VSHUFF32X4 $0xEE, Z12, Z8, Z19
	VSHUFF32X4 $0x44, Z5, Z1, Z20
	VSHUFF32X4 $0xEE, Z5, Z1, Z21
	VSHUFF32X4 $0x44, Z13, Z9, Z22
	VSHUFF32X4 $0xEE, Z13, Z9, Z23
	VSHUFF32X4 $0x44, Z6, Z2, Z24
	VSHUFF32X4 $0xEE, Z6, Z2, Z25
	VSHUFF32X4 $0x44, Z14, Z10, Z26
	VSHUFF32X4 $0xEE, Z14, Z10, Z27
	VSHUFF32X4 $0x44, Z7, Z3, Z28
	VSHUFF32X4 $0xEE, Z7, Z3, Z29
	VSHUFF32X4 $0x44, Z15, Z11, Z30
	VSHUFF32X4 $0xEE, Z15, Z11, Z31
	VSHUFF32X4 $0x88, Z18, Z16, Z0
	VSHUFF32X4 $0xDD, Z18, Z16, Z4
	VSHUFF32X4 $0x88, Z19, Z17, Z8
	VSHUFF32X4 $0xDD, Z19, Z17, Z12
	VSHUFF32X4 $0x88, Z22, Z20, Z1
	VSHUFF32X4 $0xDD, Z22, Z20, Z5
	VSHUFF32X4 $0x88, Z23, Z21, Z9
	VSHUFF32X4 $0xDD, Z23, Z21, Z13
	VSHUFF32X4 $0x88, Z26, Z24, Z2
	VSHUFF32X4 $0xDD, Z26, Z24, Z6
	VSHUFF32X4 $0x88, Z27, Z25, Z10
	VSHUFF32X4 $0xDD, Z27, Z25, Z14
	VSHUFF32X4 $0x88, Z30, Z28, Z3
	VSHUFF32X4 $0xDD, Z30, Z28, Z7
	VSHUFF32X4 $0x88, Z31, Z29, Z11
	VSHUFF32X4 $0xDD, Z31, Z29, Z15
	KMOVW 0(R10), K1
	VMOVUPS.Z Z0, K1, Z0
	VMOVUPS Z0, 0(DI)
	KMOVW 4(R10), K1
	VMOVUPS.Z Z1, K1, Z1
	VMOVUPS Z1, 128(DI)
	KMOVW 8(R10), K1
	VMOVUPS.Z Z2, K1, Z2
	VMOVUPS Z2, 256(DI)
	KMOVW 12(R10), K1
	VMOVUPS.Z Z3, K1, Z3
	VMOVUPS Z3, 384(DI)
	KMOVW 16(R10), K1
	VMOVUPS.Z Z4, K1, Z4
	VMOVUPS Z4, 512(DI)
	KMOVW 20(R10), K1
	VMOVUPS.Z Z5, K1, Z5
	VMOVUPS Z5, 640(DI)
	KMOVW 24(R10), K1
	VMOVUPS.Z Z6, K1, Z6
	VMOVUPS Z6, 768(DI)
	KMOVW 28(R10), K1
	VMOVUPS.Z Z7, K1, Z7
	VMOVUPS Z7, 896(DI)
	KMOVW 32(R10), K1
	VMOVUPS.Z Z8, K1, Z8
	VMOVUPS Z8, 1024(DI)
	KMOVW 36(R10), K1
	VMOVUPS.Z Z9, K1, Z9
	VMOVUPS Z9, 1152(DI)
	KMOVW 40(R10), K1
	VMOVUPS.Z Z10, K1, Z10
	VMOVUPS Z10, 1280(DI)
	KMOVW 44(R10), K1
	VMOVUPS.Z Z11, K1, Z11
	VMOVUPS Z11, 1408(DI)
	KMOVW 48(R10), K1
	VMOVUPS.Z Z12, K1, Z12
	VMOVUPS Z12, 1536(DI)
	KMOVW 52(R10), K1
	VMOVUPS.Z Z13, K1, Z13
	VMOVUPS Z13, 1664(DI)
	KMOVW 56(R10), K1
	VMOVUPS.Z Z14, K1, Z14
	VMOVUPS Z14, 1792(DI)
	KMOVW 60(R10), K1
	VMOVUPS.Z Z15, K1, Z15
	VMOVUPS Z15, 1920(DI)
	MOVLQSX 64(R11), AX
	VMOVUPS (SI)(AX*4), Z0
	MOVLQSX 68(R11), AX
	VMOVUPS (SI)(AX*4), Z1
	MOVLQSX 72(R11), AX
	VMOVUPS (SI)(AX*4), Z2
	MOVLQSX 76(R11), AX
	VMOVUPS (SI)(AX*4), Z3
	MOVLQSX 80(R11), AX
	VMOVUPS (SI)(AX*4), Z4
	MOVLQSX 84(R11), AX
	VMOVUPS (SI)(AX*4), Z5
	MOVLQSX 88(R11), AX
	VMOVUPS (SI)(AX*4), Z6
	MOVLQSX 92(R11), AX
	VMOVUPS (SI)(AX*4), Z7
	MOVLQSX 96(R11), AX
	VMOVUPS (SI)(AX*4), Z8
	MOVLQSX 100(R11), AX
	VMOVUPS (SI)(AX*4), Z9
	MOVLQSX 104(R11), AX
	VMOVUPS (SI)(AX*4), Z10
	MOVLQSX 108(R11), AX
	VMOVUPS (SI)(AX*4), Z11
	MOVLQSX 112(R11), AX
	VMOVUPS (SI)(AX*4), Z12
	MOVLQSX 116(R11), AX
	VMOVUPS (SI)(AX*4), Z13
	MOVLQSX 120(R11), AX
	VMOVUPS (SI)(AX*4), Z14
	MOVLQSX 124(R11), AX
	VMOVUPS (SI)(AX*4), Z15
	VUNPCKLPS Z1, Z0, Z16
	VUNPCKHPS Z1, Z0, Z17
	VUNPCKLPS Z3, Z2, Z18
	VUNPCKHPS Z3, Z2, Z19
	VUNPCKLPS Z5, Z4, Z20
	VUNPCKHPS Z5, Z4, Z21
	VUNPCKLPS Z7, Z6, Z22
	VUNPCKHPS Z7, Z6, Z23
	VUNPCKLPS Z9, Z8, Z24
	VUNPCKHPS Z9, Z8, Z25
	VUNPCKLPS Z11, Z10, Z26
	VUNPCKHPS Z11, Z10, Z27
	VUNPCKLPS Z13, Z12, Z28
	VUNPCKHPS Z13, Z12, Z29
	VUNPCKLPS Z15, Z14, Z30
	VUNPCKHPS Z15, Z14, Z31
	VUNPCKLPD Z18, Z16, Z0
	VUNPCKHPD Z18, Z16, Z1
	VUNPCKLPD Z19, Z17, Z2
	VUNPCKHPD Z19, Z17, Z3
	VUNPCKLPD Z22, Z20, Z4
	VUNPCKHPD Z22, Z20, Z5
	VUNPCKLPD Z23, Z21, Z6
	VUNPCKHPD Z23, Z21, Z7
	VUNPCKLPD Z26, Z24, Z8
	VUNPCKHPD Z26, Z24, Z9
	VUNPCKLPD Z27, Z25, Z10
	VUNPCKHPD Z27, Z25, Z11
	VUNPCKLPD Z30, Z28, Z12
	VUNPCKHPD Z30, Z28, Z13
	VUNPCKLPD Z31, Z29, Z14
	VUNPCKHPD Z31, Z29, Z15
	VSHUFF32X4 $0x44, Z4, Z0, Z16
	VSHUFF32X4 $0xEE, Z4, Z0, Z17
	VSHUFF32X4 $0x44, Z12, Z8, Z18
	VSHUFF32X4 $0xEE, Z12, Z8, Z19
	VSHUFF32X4 $0x44, Z5, Z1, Z20
	VSHUFF32X4 $0xEE, Z5, Z1, Z21
	VSHUFF32X4 $0x44, Z13, Z9, Z22
	VSHUFF32X4 $0xEE, Z13, Z9, Z23
	VSHUFF32X4 $0x44, Z6, Z2, Z24
	VSHUFF32X4 $0xEE, Z6, Z2, Z25
	VSHUFF32X4 $0x44, Z14, Z10, Z26
	VSHUFF32X4 $0xEE, Z14, Z10, Z27
	VSHUFF32X4 $0x44, Z7, Z3, Z28
	VSHUFF32X4 $0xEE, Z7, Z3, Z29
	VSHUFF32X4 $0x44, Z15, Z11, Z30
	VSHUFF32X4 $0xEE, Z15, Z11, Z31
	VSHUFF32X4 $0x88, Z18, Z16, Z0
	VSHUFF32X4 $0xDD, Z18, Z16, Z4
	VSHUFF32X4 $0x88, Z19, Z17, Z8
	VSHUFF32X4 $0xDD, Z19, Z17, Z12
	VSHUFF32X4 $0x88, Z22, Z20, Z1
	VSHUFF32X4 $0xDD, Z22, Z20, Z5
	VSHUFF32X4 $0x88, Z23, Z21, Z9
	VSHUFF32X4 $0xDD, Z23, Z21, Z13
	VSHUFF32X4 $0x88, Z26, Z24, Z2
	VSHUFF32X4 $0xDD, Z26, Z24, Z6
	VSHUFF32X4 $0x88, Z27, Z25, Z10
	VSHUFF32X4 $0xDD, Z27, Z25, Z14
	VSHUFF32X4 $0x88, Z30, Z28, Z3
	VSHUFF32X4 $0xDD, Z30, Z28, Z7
	VSHUFF32X4 $0x88, Z31, Z29, Z11
	VSHUFF32X4 $0xDD, Z31, Z29, Z15
	KMOVW 2(R10), K1
	VMOVUPS.Z Z0, K1, Z0
	VMOVUPS Z0, 64(DI)
	KMOVW 6(R10), K1
	VMOVUPS.Z Z1, K1, Z1
	VMOVUPS Z1, 192(DI)
	KMOVW 10(R10), K1
	VMOVUPS.Z Z2, K1, Z2
	VMOVUPS Z2, 320(DI)
	KMOVW 14(R10), K1
	VMOVUPS.Z Z3, K1, Z3
	VMOVUPS Z3, 448(DI)
	KMOVW 18(R10), K1
	VMOVUPS.Z Z4, K1, Z4
	VMOVUPS Z4, 576(DI)
	KMOVW 22(R10), K1
	VMOVUPS.Z Z5, K1, Z5
	VMOVUPS Z5, 704(DI)
	KMOVW 26(R10), K1
	VMOVUPS.Z Z6, K1, Z6
	VMOVUPS Z6, 832(DI)
	KMOVW 30(R10), K1
	VMOVUPS.Z Z7, K1, Z7
	VMOVUPS Z7, 960(DI)
	KMOVW 34(R10), K1
	VMOVUPS.Z Z8, K1, Z8
	VMOVUPS Z8, 1088(DI)
	KMOVW 38(R10), K1
	VMOVUPS.Z Z9, K1, Z9
	VMOVUPS Z9, 1216(DI)
	KMOVW 42(R10), K1
	VMOVUPS.Z Z10, K1, Z10
	VMOVUPS Z10, 1344(DI)
	KMOVW 46(R10), K1
	VMOVUPS.Z Z11, K1, Z11
	VMOVUPS Z11, 1472(DI)
	KMOVW 50(R10), K1
	VMOVUPS.Z Z12, K1, Z12
	VMOVUPS Z12, 1600(DI)
	KMOVW 54(R10), K1
	VMOVUPS.Z Z13, K1, Z13
	VMOVUPS Z13, 1728(DI)
	KMOVW 58(R10), K1
	VMOVUPS.Z Z14, K1, Z14
	VMOVUPS Z14, 1856(DI)
	KMOVW 62(R10), K1
	VMOVUPS.Z Z15, K1, Z15
	VMOVUPS Z15, 1984(DI)
	VZEROUPPER
	RET

// Lane j's shift that brings bit j (shiftLo) or bit 8+j (shiftHi) of a
// mask to the sign bit.
DATA transposeShift<>+0(SB)/4, $31
DATA transposeShift<>+4(SB)/4, $30
DATA transposeShift<>+8(SB)/4, $29
DATA transposeShift<>+12(SB)/4, $28
DATA transposeShift<>+16(SB)/4, $27
DATA transposeShift<>+20(SB)/4, $26
DATA transposeShift<>+24(SB)/4, $25
DATA transposeShift<>+28(SB)/4, $24
DATA transposeShift<>+32(SB)/4, $23
DATA transposeShift<>+36(SB)/4, $22
DATA transposeShift<>+40(SB)/4, $21
DATA transposeShift<>+44(SB)/4, $20
DATA transposeShift<>+48(SB)/4, $19
DATA transposeShift<>+52(SB)/4, $18
DATA transposeShift<>+56(SB)/4, $17
DATA transposeShift<>+60(SB)/4, $16
GLOBL transposeShift<>(SB), RODATA|NOPTR, $64

// func transposeRun16(dst *float32, src *float32, base int, cols *int32, masks *uint32)
// transposeRun32 for panels of 16 columns with AVX2: 16 steps of a panel
// whose 16 rows are consecutive in the source; column j's values are the
// run src[base+cols[j]:][:16]. Four 8x8 transposes (unpacks, shuffles,
// lane permutes), each output row zeroed where bit j of masks[i] is clear
// (the bit shifted to the sign, spread by an arithmetic shift, ANDed).
// Every run must lie inside the source (the caller checks).
TEXT ·transposeRun16(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ base+16(FP), AX
	MOVQ cols+24(FP), R11
	MOVQ masks+32(FP), R10
	LEAQ (SI)(AX*4), SI

	MOVLQSX 0(R11), AX
	VMOVUPS 0(SI)(AX*4), Y0
	MOVLQSX 4(R11), AX
	VMOVUPS 0(SI)(AX*4), Y1
	MOVLQSX 8(R11), AX
	VMOVUPS 0(SI)(AX*4), Y2
	MOVLQSX 12(R11), AX
	VMOVUPS 0(SI)(AX*4), Y3
	MOVLQSX 16(R11), AX
	VMOVUPS 0(SI)(AX*4), Y4
	MOVLQSX 20(R11), AX
	VMOVUPS 0(SI)(AX*4), Y5
	MOVLQSX 24(R11), AX
	VMOVUPS 0(SI)(AX*4), Y6
	MOVLQSX 28(R11), AX
	VMOVUPS 0(SI)(AX*4), Y7
	TRANSPOSE8
	MASKROWS8(0, 0, 0)
	MOVLQSX 0(R11), AX
	VMOVUPS 32(SI)(AX*4), Y0
	MOVLQSX 4(R11), AX
	VMOVUPS 32(SI)(AX*4), Y1
	MOVLQSX 8(R11), AX
	VMOVUPS 32(SI)(AX*4), Y2
	MOVLQSX 12(R11), AX
	VMOVUPS 32(SI)(AX*4), Y3
	MOVLQSX 16(R11), AX
	VMOVUPS 32(SI)(AX*4), Y4
	MOVLQSX 20(R11), AX
	VMOVUPS 32(SI)(AX*4), Y5
	MOVLQSX 24(R11), AX
	VMOVUPS 32(SI)(AX*4), Y6
	MOVLQSX 28(R11), AX
	VMOVUPS 32(SI)(AX*4), Y7
	TRANSPOSE8
	MASKROWS8(32, 0, 512)
	MOVLQSX 32(R11), AX
	VMOVUPS 0(SI)(AX*4), Y0
	MOVLQSX 36(R11), AX
	VMOVUPS 0(SI)(AX*4), Y1
	MOVLQSX 40(R11), AX
	VMOVUPS 0(SI)(AX*4), Y2
	MOVLQSX 44(R11), AX
	VMOVUPS 0(SI)(AX*4), Y3
	MOVLQSX 48(R11), AX
	VMOVUPS 0(SI)(AX*4), Y4
	MOVLQSX 52(R11), AX
	VMOVUPS 0(SI)(AX*4), Y5
	MOVLQSX 56(R11), AX
	VMOVUPS 0(SI)(AX*4), Y6
	MOVLQSX 60(R11), AX
	VMOVUPS 0(SI)(AX*4), Y7
	TRANSPOSE8
	MASKROWS8(0, 32, 32)
	MOVLQSX 32(R11), AX
	VMOVUPS 32(SI)(AX*4), Y0
	MOVLQSX 36(R11), AX
	VMOVUPS 32(SI)(AX*4), Y1
	MOVLQSX 40(R11), AX
	VMOVUPS 32(SI)(AX*4), Y2
	MOVLQSX 44(R11), AX
	VMOVUPS 32(SI)(AX*4), Y3
	MOVLQSX 48(R11), AX
	VMOVUPS 32(SI)(AX*4), Y4
	MOVLQSX 52(R11), AX
	VMOVUPS 32(SI)(AX*4), Y5
	MOVLQSX 56(R11), AX
	VMOVUPS 32(SI)(AX*4), Y6
	MOVLQSX 60(R11), AX
	VMOVUPS 32(SI)(AX*4), Y7
	TRANSPOSE8
	MASKROWS8(32, 32, 544)
	VZEROUPPER
	RET

// func transposeRun16S2(dst *float32, src *float32, base int, cols *int32, masks *uint32)
// transposeRun16 for rows at stride 2 (row[p0+i] = row[p0]+2i, the
// weight gradient of a stride-2 convolution): column j's values are the
// even elements of src[base+cols[j]:][:32], two loads of 8 compacted by
// VSHUFPS and VPERMPD for each 8 rows, then transposed and masked as in
// transposeRun16. Every run of 32 must lie inside the source.
TEXT ·transposeRun16S2(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ base+16(FP), AX
	MOVQ cols+24(FP), R11
	MOVQ masks+32(FP), R10
	LEAQ (SI)(AX*4), SI

	EVENS8(0, 0, 32)
	MASKROWS8(0, 0, 0)
	EVENS8(0, 64, 96)
	MASKROWS8(32, 0, 512)
	EVENS8(32, 0, 32)
	MASKROWS8(0, 32, 32)
	EVENS8(32, 64, 96)
	MASKROWS8(32, 32, 544)
	VZEROUPPER
	RET

// func transposeRun8S2(dst *float32, src *float32, base int, cols *int32, masks *uint32)
// transposeRun16S2 for 8 rows (row[p0+i] = row[p0]+2i, i < 8: a stride-2
// convolution's output rows of 8): column j's values are the even
// elements of src[base+cols[j]:][:16]; steps 0-7 of the panel are
// written. Every run of 16 must lie inside the source.
TEXT ·transposeRun8S2(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ base+16(FP), AX
	MOVQ cols+24(FP), R11
	MOVQ masks+32(FP), R10
	LEAQ (SI)(AX*4), SI

	EVENS8(0, 0, 32)
	MASKROWS8(0, 0, 0)
	EVENS8(32, 0, 32)
	MASKROWS8(0, 32, 32)
	VZEROUPPER
	RET
