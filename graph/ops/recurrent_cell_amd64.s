//go:build !purego

#include "textflag.h"

// func lstmCellAVX512(i, f, gg, cp, cell, hc *float32, n int)
// For n units (a multiple of 16), 16 at a time, the Go loop of
// lstmGatesPart in its order, without fused multiply-adds:
// gg = 2·gg - 1; ct = f·cp + i·gg; cell = ct; hc = 2·ct.
TEXT ·lstmCellAVX512(SB), NOSPLIT, $0-56
	MOVQ i+0(FP), R8
	MOVQ f+8(FP), R9
	MOVQ gg+16(FP), R10
	MOVQ cp+24(FP), R11
	MOVQ cell+32(FP), R12
	MOVQ hc+40(FP), R13
	MOVQ n+48(FP), CX
	MOVL $0x3f800000, AX
	VPBROADCASTD AX, Z15 // 1
	XORQ AX, AX

cloop:
	CMPQ AX, CX
	JGE  cdone
	VMOVUPS (R10)(AX*4), Z0
	VADDPS  Z0, Z0, Z0          // 2·g
	VSUBPS  Z15, Z0, Z0         // 2·g - 1
	VMOVUPS Z0, (R10)(AX*4)
	VMOVUPS (R9)(AX*4), Z1
	VMULPS  (R11)(AX*4), Z1, Z1 // f·cp
	VMULPS  (R8)(AX*4), Z0, Z2  // i·g
	VADDPS  Z2, Z1, Z1          // ct
	VMOVUPS Z1, (R12)(AX*4)
	VADDPS  Z1, Z1, Z1          // 2·ct
	VMOVUPS Z1, (R13)(AX*4)
	ADDQ $16, AX
	JMP  cloop

cdone:
	VZEROUPPER
	RET

// func lstmHAVX512(o, hc, h *float32, n int)
// For n units (a multiple of 16): hc = 2·hc - 1; h = o·hc.
TEXT ·lstmHAVX512(SB), NOSPLIT, $0-32
	MOVQ o+0(FP), R8
	MOVQ hc+8(FP), R9
	MOVQ h+16(FP), R10
	MOVQ n+24(FP), CX
	MOVL $0x3f800000, AX
	VPBROADCASTD AX, Z15 // 1
	XORQ AX, AX

hloop:
	CMPQ AX, CX
	JGE  hdone
	VMOVUPS (R9)(AX*4), Z0
	VADDPS  Z0, Z0, Z0         // 2·hc
	VSUBPS  Z15, Z0, Z0        // 2·hc - 1
	VMOVUPS Z0, (R9)(AX*4)
	VMULPS  (R8)(AX*4), Z0, Z1 // o·hc
	VMOVUPS Z1, (R10)(AX*4)
	ADDQ $16, AX
	JMP  hloop

hdone:
	VZEROUPPER
	RET

// func lstmCellAVX2(i, f, gg, cp, cell, hc *float32, n int)
// lstmCellAVX512 on 8 lanes, for n units (a multiple of 8): the Go loop of
// lstmGatesPart in its order, without fused multiply-adds.
TEXT ·lstmCellAVX2(SB), NOSPLIT, $0-56
	MOVQ i+0(FP), R8
	MOVQ f+8(FP), R9
	MOVQ gg+16(FP), R10
	MOVQ cp+24(FP), R11
	MOVQ cell+32(FP), R12
	MOVQ hc+40(FP), R13
	MOVQ n+48(FP), CX
	MOVL $0x3f800000, AX
	VMOVD AX, X15
	VPBROADCASTD X15, Y15 // 1
	XORQ AX, AX

c8loop:
	CMPQ AX, CX
	JGE  c8done
	VMOVUPS (R10)(AX*4), Y0
	VADDPS  Y0, Y0, Y0          // 2·g
	VSUBPS  Y15, Y0, Y0         // 2·g - 1
	VMOVUPS Y0, (R10)(AX*4)
	VMOVUPS (R9)(AX*4), Y1
	VMULPS  (R11)(AX*4), Y1, Y1 // f·cp
	VMULPS  (R8)(AX*4), Y0, Y2  // i·g
	VADDPS  Y2, Y1, Y1          // ct
	VMOVUPS Y1, (R12)(AX*4)
	VADDPS  Y1, Y1, Y1          // 2·ct
	VMOVUPS Y1, (R13)(AX*4)
	ADDQ $8, AX
	JMP  c8loop

c8done:
	VZEROUPPER
	RET

// func lstmHAVX2(o, hc, h *float32, n int)
// lstmHAVX512 on 8 lanes, for n units (a multiple of 8): hc = 2·hc - 1;
// h = o·hc.
TEXT ·lstmHAVX2(SB), NOSPLIT, $0-32
	MOVQ o+0(FP), R8
	MOVQ hc+8(FP), R9
	MOVQ h+16(FP), R10
	MOVQ n+24(FP), CX
	MOVL $0x3f800000, AX
	VMOVD AX, X15
	VPBROADCASTD X15, Y15 // 1
	XORQ AX, AX

h8loop:
	CMPQ AX, CX
	JGE  h8done
	VMOVUPS (R9)(AX*4), Y0
	VADDPS  Y0, Y0, Y0         // 2·hc
	VSUBPS  Y15, Y0, Y0        // 2·hc - 1
	VMOVUPS Y0, (R9)(AX*4)
	VMULPS  (R8)(AX*4), Y0, Y1 // o·hc
	VMOVUPS Y1, (R10)(AX*4)
	ADDQ $8, AX
	JMP  h8loop

h8done:
	VZEROUPPER
	RET
