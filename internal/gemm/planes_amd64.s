//go:build !purego

#include "textflag.h"

// func copyBlocks4(dst, src *float32, n1, n2, q, do, di, so, si int)
// For a < n1 and b < n2, copies 4q floats from src + a*so + b*si to
// dst + a*do + b*di (strides in floats), 16 bytes at a time (SSE: no
// CPU feature needed). DI and SI the outer blocks, AX and BX the inner
// ones, R9 the offset in a block.
TEXT ·copyBlocks4(SB), NOSPLIT, $0-72
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n1+16(FP), R8
	MOVQ do+40(FP), R10
	SHLQ $2, R10
	MOVQ di+48(FP), R11
	SHLQ $2, R11
	MOVQ so+56(FP), R12
	SHLQ $2, R12
	MOVQ si+64(FP), R13
	SHLQ $2, R13

outer:
	TESTQ R8, R8
	JZ    done
	MOVQ  DI, AX
	MOVQ  SI, BX
	MOVQ  n2+24(FP), CX

inner:
	TESTQ CX, CX
	JZ    nexto
	MOVQ  q+32(FP), DX
	XORQ  R9, R9

chunk:
	MOVUPS (BX)(R9*1), X0
	MOVUPS X0, (AX)(R9*1)
	ADDQ    $16, R9
	DECQ    DX
	JNZ     chunk
	ADDQ    R11, AX
	ADDQ    R13, BX
	DECQ    CX
	JMP     inner

nexto:
	ADDQ R10, DI
	ADDQ R12, SI
	DECQ R8
	JMP  outer

done:
	RET
