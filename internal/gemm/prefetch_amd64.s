//go:build !purego

#include "textflag.h"

// func prefetchLines(p *float32, n int)
// One PREFETCHT0 for each 64-byte line that holds one of the n floats at
// p, from p's line to the last float's.
TEXT ·prefetchLines(SB), NOSPLIT, $0-16
	MOVQ p+0(FP), AX
	MOVQ n+8(FP), CX
	LEAQ -4(AX)(CX*4), CX // the last float
	ANDQ $-64, AX
loop:
	PREFETCHT0 (AX)
	ADDQ $64, AX
	CMPQ AX, CX
	JLE  loop
	RET
