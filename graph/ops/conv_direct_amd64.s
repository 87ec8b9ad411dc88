//go:build !purego

#include "textflag.h"

// Lane masks for a tail of r < 8 elements: 8 words from tapmask<>+4*(8-r).
DATA tapmask<>+0(SB)/4, $0xffffffff
DATA tapmask<>+4(SB)/4, $0xffffffff
DATA tapmask<>+8(SB)/4, $0xffffffff
DATA tapmask<>+12(SB)/4, $0xffffffff
DATA tapmask<>+16(SB)/4, $0xffffffff
DATA tapmask<>+20(SB)/4, $0xffffffff
DATA tapmask<>+24(SB)/4, $0xffffffff
DATA tapmask<>+28(SB)/4, $0xffffffff
DATA tapmask<>+32(SB)/4, $0
DATA tapmask<>+36(SB)/4, $0
DATA tapmask<>+40(SB)/4, $0
DATA tapmask<>+44(SB)/4, $0
DATA tapmask<>+48(SB)/4, $0
DATA tapmask<>+52(SB)/4, $0
DATA tapmask<>+56(SB)/4, $0
DATA tapmask<>+60(SB)/4, $0
GLOBL tapmask<>(SB), RODATA|NOPTR, $64

// func convTapRowsAVX2(dst *float32, n, rows, dstStride int, init float32, base *float32, baseStride int, off *int32, w *float32, taps int)
// Per row: DI dst, CX elements left, SI base (moves with dst). Y8 init,
// Y7 the tail mask, R8 off, R9 w, R10 taps, R11 tap index, R12 the tap's
// offset; R13 and R14 the row's dst and base, BX rows left, DX and AX
// the strides in bytes.
TEXT ·convTapRowsAVX2(SB), NOSPLIT, $0-80
	MOVQ         dst+0(FP), R13
	MOVQ         rows+16(FP), BX
	MOVQ         dstStride+24(FP), DX
	SHLQ         $2, DX
	VBROADCASTSS init+32(FP), Y8
	MOVQ         base+40(FP), R14
	MOVQ         baseStride+48(FP), AX
	SHLQ         $2, AX
	MOVQ         off+56(FP), R8
	MOVQ         w+64(FP), R9
	MOVQ         taps+72(FP), R10

	// The mask of the last n%8 elements.
	MOVQ    n+8(FP), CX
	ANDQ    $7, CX
	MOVQ    $8, R12
	SUBQ    CX, R12
	LEAQ    tapmask<>(SB), R11
	VMOVDQU (R11)(R12*4), Y7

row:
	TESTQ BX, BX
	JZ    done
	MOVQ  R13, DI
	MOVQ  R14, SI
	MOVQ  n+8(FP), CX

row32:
	CMPQ    CX, $32
	JLT     row8
	VMOVAPS Y8, Y0
	VMOVAPS Y8, Y1
	VMOVAPS Y8, Y2
	VMOVAPS Y8, Y3
	XORQ    R11, R11

tap32:
	MOVLQSX      (R8)(R11*4), R12
	VBROADCASTSS (R9)(R11*4), Y4
	VFMADD231PS  (SI)(R12*4), Y4, Y0
	VFMADD231PS  32(SI)(R12*4), Y4, Y1
	VFMADD231PS  64(SI)(R12*4), Y4, Y2
	VFMADD231PS  96(SI)(R12*4), Y4, Y3
	INCQ         R11
	CMPQ         R11, R10
	JLT          tap32
	VMOVUPS      Y0, (DI)
	VMOVUPS      Y1, 32(DI)
	VMOVUPS      Y2, 64(DI)
	VMOVUPS      Y3, 96(DI)
	ADDQ         $128, DI
	ADDQ         $128, SI
	SUBQ         $32, CX
	JMP          row32

row8:
	CMPQ    CX, $8
	JLT     tail
	VMOVAPS Y8, Y0
	XORQ    R11, R11

tap8:
	MOVLQSX      (R8)(R11*4), R12
	VBROADCASTSS (R9)(R11*4), Y4
	VFMADD231PS  (SI)(R12*4), Y4, Y0
	INCQ         R11
	CMPQ         R11, R10
	JLT          tap8
	VMOVUPS      Y0, (DI)
	ADDQ         $32, DI
	ADDQ         $32, SI
	SUBQ         $8, CX
	JMP          row8

tail:
	TESTQ   CX, CX
	JZ      nextrow
	VMOVAPS Y8, Y0
	XORQ    R11, R11

taptail:
	MOVLQSX      (R8)(R11*4), R12
	VBROADCASTSS (R9)(R11*4), Y4
	VMASKMOVPS   (SI)(R12*4), Y7, Y5
	VFMADD231PS  Y5, Y4, Y0
	INCQ         R11
	CMPQ         R11, R10
	JLT          taptail
	VMASKMOVPS   Y0, Y7, (DI)

nextrow:
	ADDQ DX, R13
	ADDQ AX, R14
	DECQ BX
	JMP  row

done:
	VZEROUPPER
	RET

// func convTapRows4AVX2(dst *float32, n, rows, dstStride int, init float32, base *float32, baseStride int, off *int32, w *float32, taps int)
// convTapRowsAVX2 for rows a multiple of 4 of n < 32 elements, four rows
// at a time: per block of 16 elements (eight sums, row r's in Y(r) and
// Y(4+r)), of 8 (Y0-Y3) and the masked tail (Y0-Y3), each element's sum
// the init, then the taps in order, the same FMAs with the same operands
// as convTapRowsAVX2's (whose row8 and tail loops keep one sum in flight).
// R13 and R14 the block of rows' dst and base, DI and SI their moving
// pointers, CX elements left, BX rows left, DX and AX the strides in
// bytes, R8 off, R9 w, R11 tap index, R12 and R10 the tap's inputs in
// rows 0 and 2 (R10 also rows 2's dst for the stores); Y8 init, Y9 the
// tap's weight, Y15 the tail mask.
TEXT ·convTapRows4AVX2(SB), NOSPLIT, $0-80
	MOVQ         dst+0(FP), R13
	MOVQ         rows+16(FP), BX
	MOVQ         dstStride+24(FP), DX
	SHLQ         $2, DX
	VBROADCASTSS init+32(FP), Y8
	MOVQ         base+40(FP), R14
	MOVQ         baseStride+48(FP), AX
	SHLQ         $2, AX
	MOVQ         off+56(FP), R8
	MOVQ         w+64(FP), R9

	MOVQ    n+8(FP), CX
	ANDQ    $7, CX
	MOVQ    $8, R12
	SUBQ    CX, R12
	LEAQ    tapmask<>(SB), R11
	VMOVDQU (R11)(R12*4), Y15

r4group:
	CMPQ BX, $4
	JLT  r4done
	MOVQ R13, DI
	MOVQ R14, SI
	MOVQ n+8(FP), CX

r4c16:
	CMPQ CX, $16
	JLT  r4c8
	VMOVAPS Y8, Y0
	VMOVAPS Y8, Y1
	VMOVAPS Y8, Y2
	VMOVAPS Y8, Y3
	VMOVAPS Y8, Y4
	VMOVAPS Y8, Y5
	VMOVAPS Y8, Y6
	VMOVAPS Y8, Y7
	XORQ R11, R11

r4t16:
	MOVLQSX      (R8)(R11*4), R12
	LEAQ         (SI)(R12*4), R12
	LEAQ         (R12)(AX*2), R10
	VBROADCASTSS (R9)(R11*4), Y9
	VFMADD231PS  (R12), Y9, Y0
	VFMADD231PS  (R12)(AX*1), Y9, Y1
	VFMADD231PS  (R10), Y9, Y2
	VFMADD231PS  (R10)(AX*1), Y9, Y3
	VFMADD231PS  32(R12), Y9, Y4
	VFMADD231PS  32(R12)(AX*1), Y9, Y5
	VFMADD231PS  32(R10), Y9, Y6
	VFMADD231PS  32(R10)(AX*1), Y9, Y7
	INCQ         R11
	CMPQ         R11, taps+72(FP)
	JLT          r4t16
	LEAQ         (DI)(DX*2), R10
	VMOVUPS      Y0, (DI)
	VMOVUPS      Y1, (DI)(DX*1)
	VMOVUPS      Y2, (R10)
	VMOVUPS      Y3, (R10)(DX*1)
	VMOVUPS      Y4, 32(DI)
	VMOVUPS      Y5, 32(DI)(DX*1)
	VMOVUPS      Y6, 32(R10)
	VMOVUPS      Y7, 32(R10)(DX*1)
	ADDQ         $64, DI
	ADDQ         $64, SI
	SUBQ         $16, CX
	JMP          r4c16

r4c8:
	CMPQ CX, $8
	JLT  r4tail
	VMOVAPS Y8, Y0
	VMOVAPS Y8, Y1
	VMOVAPS Y8, Y2
	VMOVAPS Y8, Y3
	XORQ R11, R11

r4t8:
	MOVLQSX      (R8)(R11*4), R12
	LEAQ         (SI)(R12*4), R12
	LEAQ         (R12)(AX*2), R10
	VBROADCASTSS (R9)(R11*4), Y9
	VFMADD231PS  (R12), Y9, Y0
	VFMADD231PS  (R12)(AX*1), Y9, Y1
	VFMADD231PS  (R10), Y9, Y2
	VFMADD231PS  (R10)(AX*1), Y9, Y3
	INCQ         R11
	CMPQ         R11, taps+72(FP)
	JLT          r4t8
	LEAQ         (DI)(DX*2), R10
	VMOVUPS      Y0, (DI)
	VMOVUPS      Y1, (DI)(DX*1)
	VMOVUPS      Y2, (R10)
	VMOVUPS      Y3, (R10)(DX*1)
	ADDQ         $32, DI
	ADDQ         $32, SI
	SUBQ         $8, CX

r4tail:
	TESTQ CX, CX
	JZ    r4next
	VMOVAPS Y8, Y0
	VMOVAPS Y8, Y1
	VMOVAPS Y8, Y2
	VMOVAPS Y8, Y3
	XORQ R11, R11

r4tt:
	MOVLQSX      (R8)(R11*4), R12
	LEAQ         (SI)(R12*4), R12
	LEAQ         (R12)(AX*2), R10
	VBROADCASTSS (R9)(R11*4), Y9
	VMASKMOVPS   (R12), Y15, Y10
	VFMADD231PS  Y10, Y9, Y0
	VMASKMOVPS   (R12)(AX*1), Y15, Y11
	VFMADD231PS  Y11, Y9, Y1
	VMASKMOVPS   (R10), Y15, Y12
	VFMADD231PS  Y12, Y9, Y2
	VMASKMOVPS   (R10)(AX*1), Y15, Y13
	VFMADD231PS  Y13, Y9, Y3
	INCQ         R11
	CMPQ         R11, taps+72(FP)
	JLT          r4tt
	LEAQ         (DI)(DX*2), R10
	VMASKMOVPS   Y0, Y15, (DI)
	VMASKMOVPS   Y1, Y15, (DI)(DX*1)
	VMASKMOVPS   Y2, Y15, (R10)
	VMASKMOVPS   Y3, Y15, (R10)(DX*1)

r4next:
	LEAQ (R13)(DX*4), R13
	LEAQ (R14)(AX*4), R14
	SUBQ $4, BX
	JMP  r4group

r4done:
	VZEROUPPER
	RET

// func convTapDotsAVX2(acc, dy *float32, n, rows, dyStride int, base *float32, baseStride int, off *int32, taps int)
// DI acc, SI dy, BX base, R8 off, R11 tap index, Y7 the tail mask, DX and
// AX the strides in bytes; per tap R12 and R13 the row's run and dy, R14
// rows left, Y0 and Y1 the sums; per row R9 and CX moving pointers into
// the run and dy, R10 elements left.
TEXT ·convTapDotsAVX2(SB), NOSPLIT, $0-72
	MOVQ acc+0(FP), DI
	MOVQ dy+8(FP), SI
	MOVQ dyStride+32(FP), DX
	SHLQ $2, DX
	MOVQ base+40(FP), BX
	MOVQ baseStride+48(FP), AX
	SHLQ $2, AX
	MOVQ off+56(FP), R8

	MOVQ    n+16(FP), CX
	ANDQ    $7, CX
	MOVQ    $8, R12
	SUBQ    CX, R12
	LEAQ    tapmask<>(SB), R11
	VMOVDQU (R11)(R12*4), Y7
	XORQ    R11, R11

dottap:
	MOVLQSX (R8)(R11*4), R12
	LEAQ    (BX)(R12*4), R12
	MOVQ    SI, R13
	MOVQ    rows+24(FP), R14
	VXORPS  Y0, Y0, Y0
	VXORPS  Y1, Y1, Y1

dotrow:
	TESTQ R14, R14
	JZ    dotsum
	MOVQ  R12, R9
	MOVQ  R13, CX
	MOVQ  n+16(FP), R10

dot16:
	CMPQ        R10, $16
	JLT         dot8
	VMOVUPS     (CX), Y2
	VMOVUPS     32(CX), Y3
	VFMADD231PS (R9), Y2, Y0
	VFMADD231PS 32(R9), Y3, Y1
	ADDQ        $64, CX
	ADDQ        $64, R9
	SUBQ        $16, R10
	JMP         dot16

dot8:
	CMPQ        R10, $8
	JLT         dottail
	VMOVUPS     (CX), Y2
	VFMADD231PS (R9), Y2, Y0
	ADDQ        $32, CX
	ADDQ        $32, R9
	SUBQ        $8, R10

dottail:
	TESTQ       R10, R10
	JZ          dotnext
	VMASKMOVPS  (CX), Y7, Y2
	VMASKMOVPS  (R9), Y7, Y3
	VFMADD231PS Y3, Y2, Y1

dotnext:
	ADDQ AX, R12
	ADDQ DX, R13
	DECQ R14
	JMP  dotrow

dotsum:
	VADDPS       Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VHADDPS      X0, X0, X0
	VHADDPS      X0, X0, X0
	VADDSS       (DI)(R11*4), X0, X0
	VMOVSS       X0, (DI)(R11*4)
	INCQ         R11
	CMPQ         R11, taps+64(FP)
	JLT          dottap

	VZEROUPPER
	RET

// func convTapDots4AVX2(acc, dy *float32, n, rows, dyStride int, base *float32, baseStride int, off *int32, groups int)
// convTapDotsAVX2 for groups*4 taps, four at a time: the four taps' sums
// (tap g's in Y(2g) and Y(2g+1), as convTapDotsAVX2's Y0 and Y1) in flight
// over the rows, each dy vector loaded once for the four; per tap the same
// FMAs in the same order with the same operands, and the same reduction,
// as convTapDotsAVX2. DI the group's acc, SI dy, BX base, R8 the group's
// offsets, DX and AX the strides in bytes, Y15 the tail mask; per group
// R9, R12, R13, R14 the taps' runs and CX dy, each past the row's last
// element, R11 rows left, R10 the (negative) byte index into the row;
// left-8(SP) the groups left.
TEXT ·convTapDots4AVX2(SB), NOSPLIT, $8-72
	MOVQ acc+0(FP), DI
	MOVQ dy+8(FP), SI
	MOVQ dyStride+32(FP), DX
	SHLQ $2, DX
	MOVQ base+40(FP), BX
	MOVQ baseStride+48(FP), AX
	SHLQ $2, AX
	MOVQ off+56(FP), R8
	MOVQ groups+64(FP), R11
	MOVQ R11, left-8(SP)

	MOVQ    n+16(FP), CX
	ANDQ    $7, CX
	MOVQ    $8, R12
	SUBQ    CX, R12
	LEAQ    tapmask<>(SB), R11
	VMOVDQU (R11)(R12*4), Y15

d4group:
	CMPQ left-8(SP), $0
	JEQ  d4done
	MOVQ n+16(FP), R10
	SHLQ $2, R10
	MOVLQSX 0(R8), R9
	LEAQ    (BX)(R9*4), R9
	ADDQ    R10, R9
	MOVLQSX 4(R8), R12
	LEAQ    (BX)(R12*4), R12
	ADDQ    R10, R12
	MOVLQSX 8(R8), R13
	LEAQ    (BX)(R13*4), R13
	ADDQ    R10, R13
	MOVLQSX 12(R8), R14
	LEAQ    (BX)(R14*4), R14
	ADDQ    R10, R14
	LEAQ (SI)(R10*1), CX
	MOVQ rows+24(FP), R11
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7

d4row:
	TESTQ R11, R11
	JZ    d4sum
	MOVQ  n+16(FP), R10
	SHLQ  $2, R10
	NEGQ  R10

d4c16:
	CMPQ    R10, $-64
	JGT     d4c8
	VMOVUPS (CX)(R10*1), Y8
	VMOVUPS 32(CX)(R10*1), Y9
	VFMADD231PS (R9)(R10*1), Y8, Y0
	VFMADD231PS 32(R9)(R10*1), Y9, Y1
	VFMADD231PS (R12)(R10*1), Y8, Y2
	VFMADD231PS 32(R12)(R10*1), Y9, Y3
	VFMADD231PS (R13)(R10*1), Y8, Y4
	VFMADD231PS 32(R13)(R10*1), Y9, Y5
	VFMADD231PS (R14)(R10*1), Y8, Y6
	VFMADD231PS 32(R14)(R10*1), Y9, Y7
	ADDQ    $64, R10
	JMP     d4c16

d4c8:
	CMPQ    R10, $-32
	JGT     d4tail
	VMOVUPS (CX)(R10*1), Y8
	VFMADD231PS (R9)(R10*1), Y8, Y0
	VFMADD231PS (R12)(R10*1), Y8, Y2
	VFMADD231PS (R13)(R10*1), Y8, Y4
	VFMADD231PS (R14)(R10*1), Y8, Y6
	ADDQ    $32, R10

d4tail:
	TESTQ      R10, R10
	JZ         d4next
	VMASKMOVPS (CX)(R10*1), Y15, Y8
	VMASKMOVPS (R9)(R10*1), Y15, Y9
	VFMADD231PS Y9, Y8, Y1
	VMASKMOVPS (R12)(R10*1), Y15, Y10
	VFMADD231PS Y10, Y8, Y3
	VMASKMOVPS (R13)(R10*1), Y15, Y11
	VFMADD231PS Y11, Y8, Y5
	VMASKMOVPS (R14)(R10*1), Y15, Y12
	VFMADD231PS Y12, Y8, Y7

d4next:
	ADDQ AX, R9
	ADDQ AX, R12
	ADDQ AX, R13
	ADDQ AX, R14
	ADDQ DX, CX
	DECQ R11
	JMP  d4row

d4sum:
	// Each tap's sum as convTapDotsAVX2 reduces it, the last two steps
	// (VHADDPS of a vector with itself) done for the four taps at once:
	// the same pairs added in the same order.
	VADDPS       Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VADDPS       Y3, Y2, Y2
	VEXTRACTF128 $1, Y2, X3
	VADDPS       X3, X2, X2
	VADDPS       Y5, Y4, Y4
	VEXTRACTF128 $1, Y4, X5
	VADDPS       X5, X4, X4
	VADDPS       Y7, Y6, Y6
	VEXTRACTF128 $1, Y6, X7
	VADDPS       X7, X6, X6
	VHADDPS      X2, X0, X0
	VHADDPS      X6, X4, X4
	VHADDPS      X4, X0, X0
	VADDPS       (DI), X0, X0
	VMOVUPS      X0, (DI)
	ADDQ $16, DI
	ADDQ $16, R8
	DECQ left-8(SP)
	JMP  d4group

d4done:
	VZEROUPPER
	RET

// func gather2AVX2(dst, src *float32, n int)
// dst[j] = src[2j] for j < n (n a multiple of 8), reading src[0:2n).
TEXT ·gather2AVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	XORQ AX, AX

g2loop:
	CMPQ    AX, CX
	JGE     g2done
	VMOVUPS (SI)(AX*8), Y0    // src[2j : 2j+8]
	VMOVUPS 32(SI)(AX*8), Y1  // src[2j+8 : 2j+16]
	VSHUFPS $0x88, Y1, Y0, Y2 // per lane: s0 s2 s8 s10 | s4 s6 s12 s14
	VPERMPD $0xd8, Y2, Y2     // s0 s2 s4 s6 s8 s10 s12 s14
	VMOVUPS Y2, (DI)(AX*4)
	ADDQ    $8, AX
	JMP     g2loop

g2done:
	VZEROUPPER
	RET
