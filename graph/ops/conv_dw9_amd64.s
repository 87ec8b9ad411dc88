//go:build !purego

#include "textflag.h"

// func dw9x4(y, x *float32, steps, pm, xstep int, off *int32, kmask *uint16, w, bias *float32, lo, hi float32, clip bool) bool
// The 3x3 kernel of a contiguous 16-lane plan of one channel a step
// (dwPlan with cstep 1): per vector y = bias[s], then, tap by tap in
// order, y += w[s*9+t] * x[off[t] + 0..15] (masked load, padding lanes
// zero), the weights broadcast from the weight tensor itself (VFMADD231PS
// with an embedded broadcast). Four sums in flight: four steps at the same
// vector (they share the tap's offset and mask) while four steps are left,
// then four vectors of one step. With clip set, each sum is clamped to
// [lo, hi] as dwTaps512x9Clip clamps (NaN kept), and the result reports
// whether a sum equalled a bound exactly.
//
// Four steps: SI and R14 the inputs of steps s and s+2, R13 xstep (floats),
// AX and DX the tap's offsets for steps s and s+1 (s+2 and s+3 from R14),
// DI the output of step s, R11 a step's output in bytes, R10 and R12 the
// steps' weights and biases, R8 and R9 the vector's offsets and masks, CX
// the vectors left, BX the steps left. Z30 and Z31 lo and hi.
TEXT ·dw9x4(SB), NOSPLIT, $0-89
	MOVB         $0, ret+88(FP)
	MOVQ         y+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         steps+16(FP), BX
	MOVQ         xstep+32(FP), R13
	MOVQ         w+56(FP), R10
	MOVQ         bias+64(FP), R12
	MOVQ         pm+24(FP), R11
	SHLQ         $6, R11
	VBROADCASTSS lo+72(FP), Z30
	VBROADCASTSS hi+76(FP), Z31

quad:
	CMPQ BX, $4
	JLT  single
	MOVQ off+40(FP), R8
	MOVQ kmask+48(FP), R9
	MOVQ pm+24(FP), CX
	LEAQ (SI)(R13*8), R14

quadvec:
	TESTQ CX, CX
	JZ    quadnext
	VBROADCASTSS 0(R12), Z0
	VBROADCASTSS 4(R12), Z2
	VBROADCASTSS 8(R12), Z4
	VBROADCASTSS 12(R12), Z6
	MOVLQSX          0(R8), AX
	KMOVW            0(R9), K1
	LEAQ             (AX)(R13*1), DX
	VMOVUPS.Z        (SI)(AX*4), K1, Z1
	VMOVUPS.Z        (SI)(DX*4), K1, Z3
	VMOVUPS.Z        (R14)(AX*4), K1, Z5
	VMOVUPS.Z        (R14)(DX*4), K1, Z7
	VFMADD231PS.BCST 0(R10), Z1, Z0
	VFMADD231PS.BCST 36(R10), Z3, Z2
	VFMADD231PS.BCST 72(R10), Z5, Z4
	VFMADD231PS.BCST 108(R10), Z7, Z6
	MOVLQSX          4(R8), AX
	KMOVW            2(R9), K1
	LEAQ             (AX)(R13*1), DX
	VMOVUPS.Z        (SI)(AX*4), K1, Z1
	VMOVUPS.Z        (SI)(DX*4), K1, Z3
	VMOVUPS.Z        (R14)(AX*4), K1, Z5
	VMOVUPS.Z        (R14)(DX*4), K1, Z7
	VFMADD231PS.BCST 4(R10), Z1, Z0
	VFMADD231PS.BCST 40(R10), Z3, Z2
	VFMADD231PS.BCST 76(R10), Z5, Z4
	VFMADD231PS.BCST 112(R10), Z7, Z6
	MOVLQSX          8(R8), AX
	KMOVW            4(R9), K1
	LEAQ             (AX)(R13*1), DX
	VMOVUPS.Z        (SI)(AX*4), K1, Z1
	VMOVUPS.Z        (SI)(DX*4), K1, Z3
	VMOVUPS.Z        (R14)(AX*4), K1, Z5
	VMOVUPS.Z        (R14)(DX*4), K1, Z7
	VFMADD231PS.BCST 8(R10), Z1, Z0
	VFMADD231PS.BCST 44(R10), Z3, Z2
	VFMADD231PS.BCST 80(R10), Z5, Z4
	VFMADD231PS.BCST 116(R10), Z7, Z6
	MOVLQSX          12(R8), AX
	KMOVW            6(R9), K1
	LEAQ             (AX)(R13*1), DX
	VMOVUPS.Z        (SI)(AX*4), K1, Z1
	VMOVUPS.Z        (SI)(DX*4), K1, Z3
	VMOVUPS.Z        (R14)(AX*4), K1, Z5
	VMOVUPS.Z        (R14)(DX*4), K1, Z7
	VFMADD231PS.BCST 12(R10), Z1, Z0
	VFMADD231PS.BCST 48(R10), Z3, Z2
	VFMADD231PS.BCST 84(R10), Z5, Z4
	VFMADD231PS.BCST 120(R10), Z7, Z6
	MOVLQSX          16(R8), AX
	KMOVW            8(R9), K1
	LEAQ             (AX)(R13*1), DX
	VMOVUPS.Z        (SI)(AX*4), K1, Z1
	VMOVUPS.Z        (SI)(DX*4), K1, Z3
	VMOVUPS.Z        (R14)(AX*4), K1, Z5
	VMOVUPS.Z        (R14)(DX*4), K1, Z7
	VFMADD231PS.BCST 16(R10), Z1, Z0
	VFMADD231PS.BCST 52(R10), Z3, Z2
	VFMADD231PS.BCST 88(R10), Z5, Z4
	VFMADD231PS.BCST 124(R10), Z7, Z6
	MOVLQSX          20(R8), AX
	KMOVW            10(R9), K1
	LEAQ             (AX)(R13*1), DX
	VMOVUPS.Z        (SI)(AX*4), K1, Z1
	VMOVUPS.Z        (SI)(DX*4), K1, Z3
	VMOVUPS.Z        (R14)(AX*4), K1, Z5
	VMOVUPS.Z        (R14)(DX*4), K1, Z7
	VFMADD231PS.BCST 20(R10), Z1, Z0
	VFMADD231PS.BCST 56(R10), Z3, Z2
	VFMADD231PS.BCST 92(R10), Z5, Z4
	VFMADD231PS.BCST 128(R10), Z7, Z6
	MOVLQSX          24(R8), AX
	KMOVW            12(R9), K1
	LEAQ             (AX)(R13*1), DX
	VMOVUPS.Z        (SI)(AX*4), K1, Z1
	VMOVUPS.Z        (SI)(DX*4), K1, Z3
	VMOVUPS.Z        (R14)(AX*4), K1, Z5
	VMOVUPS.Z        (R14)(DX*4), K1, Z7
	VFMADD231PS.BCST 24(R10), Z1, Z0
	VFMADD231PS.BCST 60(R10), Z3, Z2
	VFMADD231PS.BCST 96(R10), Z5, Z4
	VFMADD231PS.BCST 132(R10), Z7, Z6
	MOVLQSX          28(R8), AX
	KMOVW            14(R9), K1
	LEAQ             (AX)(R13*1), DX
	VMOVUPS.Z        (SI)(AX*4), K1, Z1
	VMOVUPS.Z        (SI)(DX*4), K1, Z3
	VMOVUPS.Z        (R14)(AX*4), K1, Z5
	VMOVUPS.Z        (R14)(DX*4), K1, Z7
	VFMADD231PS.BCST 28(R10), Z1, Z0
	VFMADD231PS.BCST 64(R10), Z3, Z2
	VFMADD231PS.BCST 100(R10), Z5, Z4
	VFMADD231PS.BCST 136(R10), Z7, Z6
	MOVLQSX          32(R8), AX
	KMOVW            16(R9), K1
	LEAQ             (AX)(R13*1), DX
	VMOVUPS.Z        (SI)(AX*4), K1, Z1
	VMOVUPS.Z        (SI)(DX*4), K1, Z3
	VMOVUPS.Z        (R14)(AX*4), K1, Z5
	VMOVUPS.Z        (R14)(DX*4), K1, Z7
	VFMADD231PS.BCST 32(R10), Z1, Z0
	VFMADD231PS.BCST 68(R10), Z3, Z2
	VFMADD231PS.BCST 104(R10), Z5, Z4
	VFMADD231PS.BCST 140(R10), Z7, Z6
	CMPB        clip+80(FP), $0
	JEQ         qs0
	VCMPPS      $0x00, Z30, Z0, K5
	VCMPPS      $0x00, Z31, Z0, K6
	KORTESTW    K5, K6
	JZ          2(PC)
	MOVB        $1, ret+88(FP)
	VMAXPS      Z0, Z30, Z0
	VMINPS      Z0, Z31, Z0
qs0:
	VMOVUPS     Z0, (DI)
	CMPB        clip+80(FP), $0
	JEQ         qs1
	VCMPPS      $0x00, Z30, Z2, K5
	VCMPPS      $0x00, Z31, Z2, K6
	KORTESTW    K5, K6
	JZ          2(PC)
	MOVB        $1, ret+88(FP)
	VMAXPS      Z2, Z30, Z2
	VMINPS      Z2, Z31, Z2
qs1:
	VMOVUPS     Z2, (DI)(R11*1)
	CMPB        clip+80(FP), $0
	JEQ         qs2
	VCMPPS      $0x00, Z30, Z4, K5
	VCMPPS      $0x00, Z31, Z4, K6
	KORTESTW    K5, K6
	JZ          2(PC)
	MOVB        $1, ret+88(FP)
	VMAXPS      Z4, Z30, Z4
	VMINPS      Z4, Z31, Z4
qs2:
	VMOVUPS     Z4, (DI)(R11*2)
	LEAQ        (DI)(R11*2), AX
	CMPB        clip+80(FP), $0
	JEQ         qs3
	VCMPPS      $0x00, Z30, Z6, K5
	VCMPPS      $0x00, Z31, Z6, K6
	KORTESTW    K5, K6
	JZ          2(PC)
	MOVB        $1, ret+88(FP)
	VMAXPS      Z6, Z30, Z6
	VMINPS      Z6, Z31, Z6
qs3:
	VMOVUPS     Z6, (AX)(R11*1)
	ADDQ $64, DI
	ADDQ $36, R8
	ADDQ $18, R9
	DECQ CX
	JMP  quadvec

quadnext:
	LEAQ (DI)(R11*2), DI
	ADDQ R11, DI
	LEAQ (SI)(R13*8), SI
	LEAQ (SI)(R13*8), SI
	ADDQ $144, R10
	ADDQ $16, R12
	SUBQ $4, BX
	JMP  quad

// One step at a time: the step's weights in Z16 to Z24, its bias in
// Z14; four vectors at a time (offsets in AX, DX, R11, R14, masks in K1 to
// K4) while four are left, then one.
single:
	TESTQ BX, BX
	JZ    done
	MOVQ  off+40(FP), R8
	MOVQ  kmask+48(FP), R9
	MOVQ  pm+24(FP), CX
	VBROADCASTSS 0(R10), Z16
	VBROADCASTSS 4(R10), Z17
	VBROADCASTSS 8(R10), Z18
	VBROADCASTSS 12(R10), Z19
	VBROADCASTSS 16(R10), Z20
	VBROADCASTSS 20(R10), Z21
	VBROADCASTSS 24(R10), Z22
	VBROADCASTSS 28(R10), Z23
	VBROADCASTSS 32(R10), Z24
	VBROADCASTSS (R12), Z14

four:
	CMPQ CX, $4
	JLT  one
	VMOVAPS Z14, Z0
	VMOVAPS Z14, Z2
	VMOVAPS Z14, Z4
	VMOVAPS Z14, Z6
	MOVLQSX     0(R8), AX
	MOVLQSX     36(R8), DX
	MOVLQSX     72(R8), R11
	MOVLQSX     108(R8), R14
	KMOVW       0(R9), K1
	KMOVW       18(R9), K2
	KMOVW       36(R9), K3
	KMOVW       54(R9), K4
	VMOVUPS.Z   (SI)(AX*4), K1, Z1
	VMOVUPS.Z   (SI)(DX*4), K2, Z3
	VMOVUPS.Z   (SI)(R11*4), K3, Z5
	VMOVUPS.Z   (SI)(R14*4), K4, Z7
	VFMADD231PS Z1, Z16, Z0
	VFMADD231PS Z3, Z16, Z2
	VFMADD231PS Z5, Z16, Z4
	VFMADD231PS Z7, Z16, Z6
	MOVLQSX     4(R8), AX
	MOVLQSX     40(R8), DX
	MOVLQSX     76(R8), R11
	MOVLQSX     112(R8), R14
	KMOVW       2(R9), K1
	KMOVW       20(R9), K2
	KMOVW       38(R9), K3
	KMOVW       56(R9), K4
	VMOVUPS.Z   (SI)(AX*4), K1, Z1
	VMOVUPS.Z   (SI)(DX*4), K2, Z3
	VMOVUPS.Z   (SI)(R11*4), K3, Z5
	VMOVUPS.Z   (SI)(R14*4), K4, Z7
	VFMADD231PS Z1, Z17, Z0
	VFMADD231PS Z3, Z17, Z2
	VFMADD231PS Z5, Z17, Z4
	VFMADD231PS Z7, Z17, Z6
	MOVLQSX     8(R8), AX
	MOVLQSX     44(R8), DX
	MOVLQSX     80(R8), R11
	MOVLQSX     116(R8), R14
	KMOVW       4(R9), K1
	KMOVW       22(R9), K2
	KMOVW       40(R9), K3
	KMOVW       58(R9), K4
	VMOVUPS.Z   (SI)(AX*4), K1, Z1
	VMOVUPS.Z   (SI)(DX*4), K2, Z3
	VMOVUPS.Z   (SI)(R11*4), K3, Z5
	VMOVUPS.Z   (SI)(R14*4), K4, Z7
	VFMADD231PS Z1, Z18, Z0
	VFMADD231PS Z3, Z18, Z2
	VFMADD231PS Z5, Z18, Z4
	VFMADD231PS Z7, Z18, Z6
	MOVLQSX     12(R8), AX
	MOVLQSX     48(R8), DX
	MOVLQSX     84(R8), R11
	MOVLQSX     120(R8), R14
	KMOVW       6(R9), K1
	KMOVW       24(R9), K2
	KMOVW       42(R9), K3
	KMOVW       60(R9), K4
	VMOVUPS.Z   (SI)(AX*4), K1, Z1
	VMOVUPS.Z   (SI)(DX*4), K2, Z3
	VMOVUPS.Z   (SI)(R11*4), K3, Z5
	VMOVUPS.Z   (SI)(R14*4), K4, Z7
	VFMADD231PS Z1, Z19, Z0
	VFMADD231PS Z3, Z19, Z2
	VFMADD231PS Z5, Z19, Z4
	VFMADD231PS Z7, Z19, Z6
	MOVLQSX     16(R8), AX
	MOVLQSX     52(R8), DX
	MOVLQSX     88(R8), R11
	MOVLQSX     124(R8), R14
	KMOVW       8(R9), K1
	KMOVW       26(R9), K2
	KMOVW       44(R9), K3
	KMOVW       62(R9), K4
	VMOVUPS.Z   (SI)(AX*4), K1, Z1
	VMOVUPS.Z   (SI)(DX*4), K2, Z3
	VMOVUPS.Z   (SI)(R11*4), K3, Z5
	VMOVUPS.Z   (SI)(R14*4), K4, Z7
	VFMADD231PS Z1, Z20, Z0
	VFMADD231PS Z3, Z20, Z2
	VFMADD231PS Z5, Z20, Z4
	VFMADD231PS Z7, Z20, Z6
	MOVLQSX     20(R8), AX
	MOVLQSX     56(R8), DX
	MOVLQSX     92(R8), R11
	MOVLQSX     128(R8), R14
	KMOVW       10(R9), K1
	KMOVW       28(R9), K2
	KMOVW       46(R9), K3
	KMOVW       64(R9), K4
	VMOVUPS.Z   (SI)(AX*4), K1, Z1
	VMOVUPS.Z   (SI)(DX*4), K2, Z3
	VMOVUPS.Z   (SI)(R11*4), K3, Z5
	VMOVUPS.Z   (SI)(R14*4), K4, Z7
	VFMADD231PS Z1, Z21, Z0
	VFMADD231PS Z3, Z21, Z2
	VFMADD231PS Z5, Z21, Z4
	VFMADD231PS Z7, Z21, Z6
	MOVLQSX     24(R8), AX
	MOVLQSX     60(R8), DX
	MOVLQSX     96(R8), R11
	MOVLQSX     132(R8), R14
	KMOVW       12(R9), K1
	KMOVW       30(R9), K2
	KMOVW       48(R9), K3
	KMOVW       66(R9), K4
	VMOVUPS.Z   (SI)(AX*4), K1, Z1
	VMOVUPS.Z   (SI)(DX*4), K2, Z3
	VMOVUPS.Z   (SI)(R11*4), K3, Z5
	VMOVUPS.Z   (SI)(R14*4), K4, Z7
	VFMADD231PS Z1, Z22, Z0
	VFMADD231PS Z3, Z22, Z2
	VFMADD231PS Z5, Z22, Z4
	VFMADD231PS Z7, Z22, Z6
	MOVLQSX     28(R8), AX
	MOVLQSX     64(R8), DX
	MOVLQSX     100(R8), R11
	MOVLQSX     136(R8), R14
	KMOVW       14(R9), K1
	KMOVW       32(R9), K2
	KMOVW       50(R9), K3
	KMOVW       68(R9), K4
	VMOVUPS.Z   (SI)(AX*4), K1, Z1
	VMOVUPS.Z   (SI)(DX*4), K2, Z3
	VMOVUPS.Z   (SI)(R11*4), K3, Z5
	VMOVUPS.Z   (SI)(R14*4), K4, Z7
	VFMADD231PS Z1, Z23, Z0
	VFMADD231PS Z3, Z23, Z2
	VFMADD231PS Z5, Z23, Z4
	VFMADD231PS Z7, Z23, Z6
	MOVLQSX     32(R8), AX
	MOVLQSX     68(R8), DX
	MOVLQSX     104(R8), R11
	MOVLQSX     140(R8), R14
	KMOVW       16(R9), K1
	KMOVW       34(R9), K2
	KMOVW       52(R9), K3
	KMOVW       70(R9), K4
	VMOVUPS.Z   (SI)(AX*4), K1, Z1
	VMOVUPS.Z   (SI)(DX*4), K2, Z3
	VMOVUPS.Z   (SI)(R11*4), K3, Z5
	VMOVUPS.Z   (SI)(R14*4), K4, Z7
	VFMADD231PS Z1, Z24, Z0
	VFMADD231PS Z3, Z24, Z2
	VFMADD231PS Z5, Z24, Z4
	VFMADD231PS Z7, Z24, Z6
	CMPB        clip+80(FP), $0
	JEQ         fs0
	VCMPPS      $0x00, Z30, Z0, K5
	VCMPPS      $0x00, Z31, Z0, K6
	KORTESTW    K5, K6
	JZ          2(PC)
	MOVB        $1, ret+88(FP)
	VMAXPS      Z0, Z30, Z0
	VMINPS      Z0, Z31, Z0
fs0:
	VMOVUPS     Z0, 0(DI)
	CMPB        clip+80(FP), $0
	JEQ         fs1
	VCMPPS      $0x00, Z30, Z2, K5
	VCMPPS      $0x00, Z31, Z2, K6
	KORTESTW    K5, K6
	JZ          2(PC)
	MOVB        $1, ret+88(FP)
	VMAXPS      Z2, Z30, Z2
	VMINPS      Z2, Z31, Z2
fs1:
	VMOVUPS     Z2, 64(DI)
	CMPB        clip+80(FP), $0
	JEQ         fs2
	VCMPPS      $0x00, Z30, Z4, K5
	VCMPPS      $0x00, Z31, Z4, K6
	KORTESTW    K5, K6
	JZ          2(PC)
	MOVB        $1, ret+88(FP)
	VMAXPS      Z4, Z30, Z4
	VMINPS      Z4, Z31, Z4
fs2:
	VMOVUPS     Z4, 128(DI)
	CMPB        clip+80(FP), $0
	JEQ         fs3
	VCMPPS      $0x00, Z30, Z6, K5
	VCMPPS      $0x00, Z31, Z6, K6
	KORTESTW    K5, K6
	JZ          2(PC)
	MOVB        $1, ret+88(FP)
	VMAXPS      Z6, Z30, Z6
	VMINPS      Z6, Z31, Z6
fs3:
	VMOVUPS     Z6, 192(DI)
	ADDQ $256, DI
	ADDQ $144, R8
	ADDQ $72, R9
	SUBQ $4, CX
	JMP  four

one:
	TESTQ CX, CX
	JZ    singlenext
	VMOVAPS Z14, Z0
	MOVLQSX     0(R8), AX
	KMOVW       0(R9), K1
	VMOVUPS.Z   (SI)(AX*4), K1, Z1
	VFMADD231PS Z1, Z16, Z0
	MOVLQSX     4(R8), AX
	KMOVW       2(R9), K1
	VMOVUPS.Z   (SI)(AX*4), K1, Z1
	VFMADD231PS Z1, Z17, Z0
	MOVLQSX     8(R8), AX
	KMOVW       4(R9), K1
	VMOVUPS.Z   (SI)(AX*4), K1, Z1
	VFMADD231PS Z1, Z18, Z0
	MOVLQSX     12(R8), AX
	KMOVW       6(R9), K1
	VMOVUPS.Z   (SI)(AX*4), K1, Z1
	VFMADD231PS Z1, Z19, Z0
	MOVLQSX     16(R8), AX
	KMOVW       8(R9), K1
	VMOVUPS.Z   (SI)(AX*4), K1, Z1
	VFMADD231PS Z1, Z20, Z0
	MOVLQSX     20(R8), AX
	KMOVW       10(R9), K1
	VMOVUPS.Z   (SI)(AX*4), K1, Z1
	VFMADD231PS Z1, Z21, Z0
	MOVLQSX     24(R8), AX
	KMOVW       12(R9), K1
	VMOVUPS.Z   (SI)(AX*4), K1, Z1
	VFMADD231PS Z1, Z22, Z0
	MOVLQSX     28(R8), AX
	KMOVW       14(R9), K1
	VMOVUPS.Z   (SI)(AX*4), K1, Z1
	VFMADD231PS Z1, Z23, Z0
	MOVLQSX     32(R8), AX
	KMOVW       16(R9), K1
	VMOVUPS.Z   (SI)(AX*4), K1, Z1
	VFMADD231PS Z1, Z24, Z0
	CMPB        clip+80(FP), $0
	JEQ         os0
	VCMPPS      $0x00, Z30, Z0, K5
	VCMPPS      $0x00, Z31, Z0, K6
	KORTESTW    K5, K6
	JZ          2(PC)
	MOVB        $1, ret+88(FP)
	VMAXPS      Z0, Z30, Z0
	VMINPS      Z0, Z31, Z0
os0:
	VMOVUPS     Z0, (DI)
	ADDQ $64, DI
	ADDQ $36, R8
	ADDQ $18, R9
	DECQ CX
	JMP  one

singlenext:
	LEAQ (SI)(R13*4), SI
	ADDQ $36, R10
	ADDQ $4, R12
	DECQ BX
	JMP  single

done:
	VZEROUPPER
	RET

// func dw9x4P(y, x *float32, steps, xstep int, off *int32, kmask *uint16, w *float32, wstride int, bias *float32, chmap *int32, lo, hi float32, clip bool) bool
// dwTaps512x9 (and, with clip, dwTaps512x9Clip) for a plan of single
// vectors of four channels (2x2 planes: pm 1, cstep 4), four steps at a
// time (steps a multiple of 4): the four vectors share the tap's offset
// and mask, each has its own weights (permuted to the lanes by chmap from
// the tap's row of w, as dwTaps512x9 permutes them), so four sums are in
// flight instead of one. SI and R14 the inputs of steps s and s+2, R13
// xstep (floats), AX and DX the tap's offsets for steps s and s+1, DI the
// output, R10 and R12 the steps' weights and biases, R11 the tap's row of
// weights, BX wstride in bytes, CX the steps left, R8 and R9 the offsets
// and masks. Z15 chmap, Z30 and Z31 lo and hi.
TEXT ·dw9x4P(SB), NOSPLIT, $0-97
	MOVB         $0, ret+96(FP)
	MOVQ         y+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         steps+16(FP), CX
	MOVQ         xstep+24(FP), R13
	MOVQ         off+32(FP), R8
	MOVQ         kmask+40(FP), R9
	MOVQ         w+48(FP), R10
	MOVQ         wstride+56(FP), BX
	SHLQ         $2, BX
	MOVQ         bias+64(FP), R12
	MOVQ         chmap+72(FP), AX
	VMOVDQU32    (AX), Z15
	VBROADCASTSS lo+80(FP), Z30
	VBROADCASTSS hi+84(FP), Z31

pquad:
	CMPQ    CX, $4
	JLT     pdone
	LEAQ    (SI)(R13*8), R14
	VPERMPS 0(R12), Z15, Z0
	VPERMPS 16(R12), Z15, Z2
	VPERMPS 32(R12), Z15, Z4
	VPERMPS 48(R12), Z15, Z6
	MOVQ    R10, R11
	MOVLQSX     0(R8), AX
	KMOVW       0(R9), K1
	LEAQ        (AX)(R13*1), DX
	VMOVUPS.Z   (SI)(AX*4), K1, Z1
	VMOVUPS.Z   (SI)(DX*4), K1, Z3
	VMOVUPS.Z   (R14)(AX*4), K1, Z5
	VMOVUPS.Z   (R14)(DX*4), K1, Z7
	VPERMPS     0(R11), Z15, Z8
	VPERMPS     16(R11), Z15, Z9
	VPERMPS     32(R11), Z15, Z10
	VPERMPS     48(R11), Z15, Z11
	VFMADD231PS Z1, Z8, Z0
	VFMADD231PS Z3, Z9, Z2
	VFMADD231PS Z5, Z10, Z4
	VFMADD231PS Z7, Z11, Z6
	ADDQ        BX, R11
	MOVLQSX     4(R8), AX
	KMOVW       2(R9), K1
	LEAQ        (AX)(R13*1), DX
	VMOVUPS.Z   (SI)(AX*4), K1, Z1
	VMOVUPS.Z   (SI)(DX*4), K1, Z3
	VMOVUPS.Z   (R14)(AX*4), K1, Z5
	VMOVUPS.Z   (R14)(DX*4), K1, Z7
	VPERMPS     0(R11), Z15, Z8
	VPERMPS     16(R11), Z15, Z9
	VPERMPS     32(R11), Z15, Z10
	VPERMPS     48(R11), Z15, Z11
	VFMADD231PS Z1, Z8, Z0
	VFMADD231PS Z3, Z9, Z2
	VFMADD231PS Z5, Z10, Z4
	VFMADD231PS Z7, Z11, Z6
	ADDQ        BX, R11
	MOVLQSX     8(R8), AX
	KMOVW       4(R9), K1
	LEAQ        (AX)(R13*1), DX
	VMOVUPS.Z   (SI)(AX*4), K1, Z1
	VMOVUPS.Z   (SI)(DX*4), K1, Z3
	VMOVUPS.Z   (R14)(AX*4), K1, Z5
	VMOVUPS.Z   (R14)(DX*4), K1, Z7
	VPERMPS     0(R11), Z15, Z8
	VPERMPS     16(R11), Z15, Z9
	VPERMPS     32(R11), Z15, Z10
	VPERMPS     48(R11), Z15, Z11
	VFMADD231PS Z1, Z8, Z0
	VFMADD231PS Z3, Z9, Z2
	VFMADD231PS Z5, Z10, Z4
	VFMADD231PS Z7, Z11, Z6
	ADDQ        BX, R11
	MOVLQSX     12(R8), AX
	KMOVW       6(R9), K1
	LEAQ        (AX)(R13*1), DX
	VMOVUPS.Z   (SI)(AX*4), K1, Z1
	VMOVUPS.Z   (SI)(DX*4), K1, Z3
	VMOVUPS.Z   (R14)(AX*4), K1, Z5
	VMOVUPS.Z   (R14)(DX*4), K1, Z7
	VPERMPS     0(R11), Z15, Z8
	VPERMPS     16(R11), Z15, Z9
	VPERMPS     32(R11), Z15, Z10
	VPERMPS     48(R11), Z15, Z11
	VFMADD231PS Z1, Z8, Z0
	VFMADD231PS Z3, Z9, Z2
	VFMADD231PS Z5, Z10, Z4
	VFMADD231PS Z7, Z11, Z6
	ADDQ        BX, R11
	MOVLQSX     16(R8), AX
	KMOVW       8(R9), K1
	LEAQ        (AX)(R13*1), DX
	VMOVUPS.Z   (SI)(AX*4), K1, Z1
	VMOVUPS.Z   (SI)(DX*4), K1, Z3
	VMOVUPS.Z   (R14)(AX*4), K1, Z5
	VMOVUPS.Z   (R14)(DX*4), K1, Z7
	VPERMPS     0(R11), Z15, Z8
	VPERMPS     16(R11), Z15, Z9
	VPERMPS     32(R11), Z15, Z10
	VPERMPS     48(R11), Z15, Z11
	VFMADD231PS Z1, Z8, Z0
	VFMADD231PS Z3, Z9, Z2
	VFMADD231PS Z5, Z10, Z4
	VFMADD231PS Z7, Z11, Z6
	ADDQ        BX, R11
	MOVLQSX     20(R8), AX
	KMOVW       10(R9), K1
	LEAQ        (AX)(R13*1), DX
	VMOVUPS.Z   (SI)(AX*4), K1, Z1
	VMOVUPS.Z   (SI)(DX*4), K1, Z3
	VMOVUPS.Z   (R14)(AX*4), K1, Z5
	VMOVUPS.Z   (R14)(DX*4), K1, Z7
	VPERMPS     0(R11), Z15, Z8
	VPERMPS     16(R11), Z15, Z9
	VPERMPS     32(R11), Z15, Z10
	VPERMPS     48(R11), Z15, Z11
	VFMADD231PS Z1, Z8, Z0
	VFMADD231PS Z3, Z9, Z2
	VFMADD231PS Z5, Z10, Z4
	VFMADD231PS Z7, Z11, Z6
	ADDQ        BX, R11
	MOVLQSX     24(R8), AX
	KMOVW       12(R9), K1
	LEAQ        (AX)(R13*1), DX
	VMOVUPS.Z   (SI)(AX*4), K1, Z1
	VMOVUPS.Z   (SI)(DX*4), K1, Z3
	VMOVUPS.Z   (R14)(AX*4), K1, Z5
	VMOVUPS.Z   (R14)(DX*4), K1, Z7
	VPERMPS     0(R11), Z15, Z8
	VPERMPS     16(R11), Z15, Z9
	VPERMPS     32(R11), Z15, Z10
	VPERMPS     48(R11), Z15, Z11
	VFMADD231PS Z1, Z8, Z0
	VFMADD231PS Z3, Z9, Z2
	VFMADD231PS Z5, Z10, Z4
	VFMADD231PS Z7, Z11, Z6
	ADDQ        BX, R11
	MOVLQSX     28(R8), AX
	KMOVW       14(R9), K1
	LEAQ        (AX)(R13*1), DX
	VMOVUPS.Z   (SI)(AX*4), K1, Z1
	VMOVUPS.Z   (SI)(DX*4), K1, Z3
	VMOVUPS.Z   (R14)(AX*4), K1, Z5
	VMOVUPS.Z   (R14)(DX*4), K1, Z7
	VPERMPS     0(R11), Z15, Z8
	VPERMPS     16(R11), Z15, Z9
	VPERMPS     32(R11), Z15, Z10
	VPERMPS     48(R11), Z15, Z11
	VFMADD231PS Z1, Z8, Z0
	VFMADD231PS Z3, Z9, Z2
	VFMADD231PS Z5, Z10, Z4
	VFMADD231PS Z7, Z11, Z6
	ADDQ        BX, R11
	MOVLQSX     32(R8), AX
	KMOVW       16(R9), K1
	LEAQ        (AX)(R13*1), DX
	VMOVUPS.Z   (SI)(AX*4), K1, Z1
	VMOVUPS.Z   (SI)(DX*4), K1, Z3
	VMOVUPS.Z   (R14)(AX*4), K1, Z5
	VMOVUPS.Z   (R14)(DX*4), K1, Z7
	VPERMPS     0(R11), Z15, Z8
	VPERMPS     16(R11), Z15, Z9
	VPERMPS     32(R11), Z15, Z10
	VPERMPS     48(R11), Z15, Z11
	VFMADD231PS Z1, Z8, Z0
	VFMADD231PS Z3, Z9, Z2
	VFMADD231PS Z5, Z10, Z4
	VFMADD231PS Z7, Z11, Z6
	CMPB        clip+88(FP), $0
	JEQ         ps0
	VCMPPS      $0x00, Z30, Z0, K5
	VCMPPS      $0x00, Z31, Z0, K6
	KORTESTW    K5, K6
	JZ          2(PC)
	MOVB        $1, ret+96(FP)
	VMAXPS      Z0, Z30, Z0
	VMINPS      Z0, Z31, Z0
ps0:
	VMOVUPS     Z0, 0(DI)
	CMPB        clip+88(FP), $0
	JEQ         ps1
	VCMPPS      $0x00, Z30, Z2, K5
	VCMPPS      $0x00, Z31, Z2, K6
	KORTESTW    K5, K6
	JZ          2(PC)
	MOVB        $1, ret+96(FP)
	VMAXPS      Z2, Z30, Z2
	VMINPS      Z2, Z31, Z2
ps1:
	VMOVUPS     Z2, 64(DI)
	CMPB        clip+88(FP), $0
	JEQ         ps2
	VCMPPS      $0x00, Z30, Z4, K5
	VCMPPS      $0x00, Z31, Z4, K6
	KORTESTW    K5, K6
	JZ          2(PC)
	MOVB        $1, ret+96(FP)
	VMAXPS      Z4, Z30, Z4
	VMINPS      Z4, Z31, Z4
ps2:
	VMOVUPS     Z4, 128(DI)
	CMPB        clip+88(FP), $0
	JEQ         ps3
	VCMPPS      $0x00, Z30, Z6, K5
	VCMPPS      $0x00, Z31, Z6, K6
	KORTESTW    K5, K6
	JZ          2(PC)
	MOVB        $1, ret+96(FP)
	VMAXPS      Z6, Z30, Z6
	VMINPS      Z6, Z31, Z6
ps3:
	VMOVUPS     Z6, 192(DI)
	ADDQ $256, DI
	LEAQ (SI)(R13*8), SI
	LEAQ (SI)(R13*8), SI
	ADDQ $64, R10
	ADDQ $64, R12
	SUBQ $4, CX
	JMP  pquad

pdone:
	VZEROUPPER
	RET

// evens holds the indices of the even elements of two vectors of 16.
DATA evens<>+0(SB)/4, $0
DATA evens<>+4(SB)/4, $2
DATA evens<>+8(SB)/4, $4
DATA evens<>+12(SB)/4, $6
DATA evens<>+16(SB)/4, $8
DATA evens<>+20(SB)/4, $10
DATA evens<>+24(SB)/4, $12
DATA evens<>+28(SB)/4, $14
DATA evens<>+32(SB)/4, $16
DATA evens<>+36(SB)/4, $18
DATA evens<>+40(SB)/4, $20
DATA evens<>+44(SB)/4, $22
DATA evens<>+48(SB)/4, $24
DATA evens<>+52(SB)/4, $26
DATA evens<>+56(SB)/4, $28
DATA evens<>+60(SB)/4, $30
GLOBL evens<>(SB), RODATA|NOPTR, $64

// func dw9x4S2(y, x *float32, steps, pm, xstep int, off *int32, kmask *uint16, w, bias *float32, lo, hi float32, clip bool, gap int) bool
// dw9x4 for a plan of pairs (stride 2, output rows of whole vectors): a
// tap's inputs are two masked loads of 16 (K1, K2) whose even elements
// VPERMT2PS keeps (Z29 their indices, evens), as dwPairs512 loads them; the
// sums are those of dwPairs512 in the same order, with the Clip of
// dwTaps512x9Clip. Registers as in dw9x4; Z8 to Z11 the second loads.
// With gap other than 64 (a plan of row pairs: the second load two input
// rows on) the four-step mode is skipped and the single steps load the
// second half from R13 = SI + gap.
TEXT ·dw9x4S2(SB), NOSPLIT, $0-97
	MOVB         $0, ret+96(FP)
	MOVQ         y+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         steps+16(FP), BX
	MOVQ         xstep+32(FP), R13
	MOVQ         w+56(FP), R10
	MOVQ         bias+64(FP), R12
	MOVQ         pm+24(FP), R11
	SHLQ         $6, R11
	VBROADCASTSS lo+72(FP), Z30
	VBROADCASTSS hi+76(FP), Z31
	LEAQ         evens<>(SB), AX
	VMOVDQU32    (AX), Z29
	CMPQ         gap+88(FP), $64
	JNE          single

quad:
	CMPQ BX, $4
	JLT  single
	MOVQ off+40(FP), R8
	MOVQ kmask+48(FP), R9
	MOVQ pm+24(FP), CX
	LEAQ (SI)(R13*8), R14

quadvec:
	TESTQ CX, CX
	JZ    quadnext
	VBROADCASTSS 0(R12), Z0
	VBROADCASTSS 4(R12), Z2
	VBROADCASTSS 8(R12), Z4
	VBROADCASTSS 12(R12), Z6
	MOVLQSX          0(R8), AX
	KMOVW            0(R9), K1
	KMOVW            2(R9), K2
	LEAQ             (AX)(R13*1), DX
	VMOVUPS.Z        (SI)(AX*4), K1, Z1
	VMOVUPS.Z        64(SI)(AX*4), K2, Z8
	VMOVUPS.Z        (SI)(DX*4), K1, Z3
	VMOVUPS.Z        64(SI)(DX*4), K2, Z9
	VMOVUPS.Z        (R14)(AX*4), K1, Z5
	VMOVUPS.Z        64(R14)(AX*4), K2, Z10
	VMOVUPS.Z        (R14)(DX*4), K1, Z7
	VMOVUPS.Z        64(R14)(DX*4), K2, Z11
	VPERMT2PS        Z8, Z29, Z1
	VPERMT2PS        Z9, Z29, Z3
	VPERMT2PS        Z10, Z29, Z5
	VPERMT2PS        Z11, Z29, Z7
	VFMADD231PS.BCST 0(R10), Z1, Z0
	VFMADD231PS.BCST 36(R10), Z3, Z2
	VFMADD231PS.BCST 72(R10), Z5, Z4
	VFMADD231PS.BCST 108(R10), Z7, Z6
	MOVLQSX          4(R8), AX
	KMOVW            4(R9), K1
	KMOVW            6(R9), K2
	LEAQ             (AX)(R13*1), DX
	VMOVUPS.Z        (SI)(AX*4), K1, Z1
	VMOVUPS.Z        64(SI)(AX*4), K2, Z8
	VMOVUPS.Z        (SI)(DX*4), K1, Z3
	VMOVUPS.Z        64(SI)(DX*4), K2, Z9
	VMOVUPS.Z        (R14)(AX*4), K1, Z5
	VMOVUPS.Z        64(R14)(AX*4), K2, Z10
	VMOVUPS.Z        (R14)(DX*4), K1, Z7
	VMOVUPS.Z        64(R14)(DX*4), K2, Z11
	VPERMT2PS        Z8, Z29, Z1
	VPERMT2PS        Z9, Z29, Z3
	VPERMT2PS        Z10, Z29, Z5
	VPERMT2PS        Z11, Z29, Z7
	VFMADD231PS.BCST 4(R10), Z1, Z0
	VFMADD231PS.BCST 40(R10), Z3, Z2
	VFMADD231PS.BCST 76(R10), Z5, Z4
	VFMADD231PS.BCST 112(R10), Z7, Z6
	MOVLQSX          8(R8), AX
	KMOVW            8(R9), K1
	KMOVW            10(R9), K2
	LEAQ             (AX)(R13*1), DX
	VMOVUPS.Z        (SI)(AX*4), K1, Z1
	VMOVUPS.Z        64(SI)(AX*4), K2, Z8
	VMOVUPS.Z        (SI)(DX*4), K1, Z3
	VMOVUPS.Z        64(SI)(DX*4), K2, Z9
	VMOVUPS.Z        (R14)(AX*4), K1, Z5
	VMOVUPS.Z        64(R14)(AX*4), K2, Z10
	VMOVUPS.Z        (R14)(DX*4), K1, Z7
	VMOVUPS.Z        64(R14)(DX*4), K2, Z11
	VPERMT2PS        Z8, Z29, Z1
	VPERMT2PS        Z9, Z29, Z3
	VPERMT2PS        Z10, Z29, Z5
	VPERMT2PS        Z11, Z29, Z7
	VFMADD231PS.BCST 8(R10), Z1, Z0
	VFMADD231PS.BCST 44(R10), Z3, Z2
	VFMADD231PS.BCST 80(R10), Z5, Z4
	VFMADD231PS.BCST 116(R10), Z7, Z6
	MOVLQSX          12(R8), AX
	KMOVW            12(R9), K1
	KMOVW            14(R9), K2
	LEAQ             (AX)(R13*1), DX
	VMOVUPS.Z        (SI)(AX*4), K1, Z1
	VMOVUPS.Z        64(SI)(AX*4), K2, Z8
	VMOVUPS.Z        (SI)(DX*4), K1, Z3
	VMOVUPS.Z        64(SI)(DX*4), K2, Z9
	VMOVUPS.Z        (R14)(AX*4), K1, Z5
	VMOVUPS.Z        64(R14)(AX*4), K2, Z10
	VMOVUPS.Z        (R14)(DX*4), K1, Z7
	VMOVUPS.Z        64(R14)(DX*4), K2, Z11
	VPERMT2PS        Z8, Z29, Z1
	VPERMT2PS        Z9, Z29, Z3
	VPERMT2PS        Z10, Z29, Z5
	VPERMT2PS        Z11, Z29, Z7
	VFMADD231PS.BCST 12(R10), Z1, Z0
	VFMADD231PS.BCST 48(R10), Z3, Z2
	VFMADD231PS.BCST 84(R10), Z5, Z4
	VFMADD231PS.BCST 120(R10), Z7, Z6
	MOVLQSX          16(R8), AX
	KMOVW            16(R9), K1
	KMOVW            18(R9), K2
	LEAQ             (AX)(R13*1), DX
	VMOVUPS.Z        (SI)(AX*4), K1, Z1
	VMOVUPS.Z        64(SI)(AX*4), K2, Z8
	VMOVUPS.Z        (SI)(DX*4), K1, Z3
	VMOVUPS.Z        64(SI)(DX*4), K2, Z9
	VMOVUPS.Z        (R14)(AX*4), K1, Z5
	VMOVUPS.Z        64(R14)(AX*4), K2, Z10
	VMOVUPS.Z        (R14)(DX*4), K1, Z7
	VMOVUPS.Z        64(R14)(DX*4), K2, Z11
	VPERMT2PS        Z8, Z29, Z1
	VPERMT2PS        Z9, Z29, Z3
	VPERMT2PS        Z10, Z29, Z5
	VPERMT2PS        Z11, Z29, Z7
	VFMADD231PS.BCST 16(R10), Z1, Z0
	VFMADD231PS.BCST 52(R10), Z3, Z2
	VFMADD231PS.BCST 88(R10), Z5, Z4
	VFMADD231PS.BCST 124(R10), Z7, Z6
	MOVLQSX          20(R8), AX
	KMOVW            20(R9), K1
	KMOVW            22(R9), K2
	LEAQ             (AX)(R13*1), DX
	VMOVUPS.Z        (SI)(AX*4), K1, Z1
	VMOVUPS.Z        64(SI)(AX*4), K2, Z8
	VMOVUPS.Z        (SI)(DX*4), K1, Z3
	VMOVUPS.Z        64(SI)(DX*4), K2, Z9
	VMOVUPS.Z        (R14)(AX*4), K1, Z5
	VMOVUPS.Z        64(R14)(AX*4), K2, Z10
	VMOVUPS.Z        (R14)(DX*4), K1, Z7
	VMOVUPS.Z        64(R14)(DX*4), K2, Z11
	VPERMT2PS        Z8, Z29, Z1
	VPERMT2PS        Z9, Z29, Z3
	VPERMT2PS        Z10, Z29, Z5
	VPERMT2PS        Z11, Z29, Z7
	VFMADD231PS.BCST 20(R10), Z1, Z0
	VFMADD231PS.BCST 56(R10), Z3, Z2
	VFMADD231PS.BCST 92(R10), Z5, Z4
	VFMADD231PS.BCST 128(R10), Z7, Z6
	MOVLQSX          24(R8), AX
	KMOVW            24(R9), K1
	KMOVW            26(R9), K2
	LEAQ             (AX)(R13*1), DX
	VMOVUPS.Z        (SI)(AX*4), K1, Z1
	VMOVUPS.Z        64(SI)(AX*4), K2, Z8
	VMOVUPS.Z        (SI)(DX*4), K1, Z3
	VMOVUPS.Z        64(SI)(DX*4), K2, Z9
	VMOVUPS.Z        (R14)(AX*4), K1, Z5
	VMOVUPS.Z        64(R14)(AX*4), K2, Z10
	VMOVUPS.Z        (R14)(DX*4), K1, Z7
	VMOVUPS.Z        64(R14)(DX*4), K2, Z11
	VPERMT2PS        Z8, Z29, Z1
	VPERMT2PS        Z9, Z29, Z3
	VPERMT2PS        Z10, Z29, Z5
	VPERMT2PS        Z11, Z29, Z7
	VFMADD231PS.BCST 24(R10), Z1, Z0
	VFMADD231PS.BCST 60(R10), Z3, Z2
	VFMADD231PS.BCST 96(R10), Z5, Z4
	VFMADD231PS.BCST 132(R10), Z7, Z6
	MOVLQSX          28(R8), AX
	KMOVW            28(R9), K1
	KMOVW            30(R9), K2
	LEAQ             (AX)(R13*1), DX
	VMOVUPS.Z        (SI)(AX*4), K1, Z1
	VMOVUPS.Z        64(SI)(AX*4), K2, Z8
	VMOVUPS.Z        (SI)(DX*4), K1, Z3
	VMOVUPS.Z        64(SI)(DX*4), K2, Z9
	VMOVUPS.Z        (R14)(AX*4), K1, Z5
	VMOVUPS.Z        64(R14)(AX*4), K2, Z10
	VMOVUPS.Z        (R14)(DX*4), K1, Z7
	VMOVUPS.Z        64(R14)(DX*4), K2, Z11
	VPERMT2PS        Z8, Z29, Z1
	VPERMT2PS        Z9, Z29, Z3
	VPERMT2PS        Z10, Z29, Z5
	VPERMT2PS        Z11, Z29, Z7
	VFMADD231PS.BCST 28(R10), Z1, Z0
	VFMADD231PS.BCST 64(R10), Z3, Z2
	VFMADD231PS.BCST 100(R10), Z5, Z4
	VFMADD231PS.BCST 136(R10), Z7, Z6
	MOVLQSX          32(R8), AX
	KMOVW            32(R9), K1
	KMOVW            34(R9), K2
	LEAQ             (AX)(R13*1), DX
	VMOVUPS.Z        (SI)(AX*4), K1, Z1
	VMOVUPS.Z        64(SI)(AX*4), K2, Z8
	VMOVUPS.Z        (SI)(DX*4), K1, Z3
	VMOVUPS.Z        64(SI)(DX*4), K2, Z9
	VMOVUPS.Z        (R14)(AX*4), K1, Z5
	VMOVUPS.Z        64(R14)(AX*4), K2, Z10
	VMOVUPS.Z        (R14)(DX*4), K1, Z7
	VMOVUPS.Z        64(R14)(DX*4), K2, Z11
	VPERMT2PS        Z8, Z29, Z1
	VPERMT2PS        Z9, Z29, Z3
	VPERMT2PS        Z10, Z29, Z5
	VPERMT2PS        Z11, Z29, Z7
	VFMADD231PS.BCST 32(R10), Z1, Z0
	VFMADD231PS.BCST 68(R10), Z3, Z2
	VFMADD231PS.BCST 104(R10), Z5, Z4
	VFMADD231PS.BCST 140(R10), Z7, Z6
	CMPB        clip+80(FP), $0
	JEQ         qs0
	VCMPPS      $0x00, Z30, Z0, K5
	VCMPPS      $0x00, Z31, Z0, K6
	KORTESTW    K5, K6
	JZ          2(PC)
	MOVB        $1, ret+96(FP)
	VMAXPS      Z0, Z30, Z0
	VMINPS      Z0, Z31, Z0
qs0:
	VMOVUPS     Z0, (DI)
	CMPB        clip+80(FP), $0
	JEQ         qs1
	VCMPPS      $0x00, Z30, Z2, K5
	VCMPPS      $0x00, Z31, Z2, K6
	KORTESTW    K5, K6
	JZ          2(PC)
	MOVB        $1, ret+96(FP)
	VMAXPS      Z2, Z30, Z2
	VMINPS      Z2, Z31, Z2
qs1:
	VMOVUPS     Z2, (DI)(R11*1)
	CMPB        clip+80(FP), $0
	JEQ         qs2
	VCMPPS      $0x00, Z30, Z4, K5
	VCMPPS      $0x00, Z31, Z4, K6
	KORTESTW    K5, K6
	JZ          2(PC)
	MOVB        $1, ret+96(FP)
	VMAXPS      Z4, Z30, Z4
	VMINPS      Z4, Z31, Z4
qs2:
	VMOVUPS     Z4, (DI)(R11*2)
	LEAQ        (DI)(R11*2), AX
	CMPB        clip+80(FP), $0
	JEQ         qs3
	VCMPPS      $0x00, Z30, Z6, K5
	VCMPPS      $0x00, Z31, Z6, K6
	KORTESTW    K5, K6
	JZ          2(PC)
	MOVB        $1, ret+96(FP)
	VMAXPS      Z6, Z30, Z6
	VMINPS      Z6, Z31, Z6
qs3:
	VMOVUPS     Z6, (AX)(R11*1)
	ADDQ $64, DI
	ADDQ $36, R8
	ADDQ $36, R9
	DECQ CX
	JMP  quadvec

quadnext:
	LEAQ (DI)(R11*2), DI
	ADDQ R11, DI
	LEAQ (SI)(R13*8), SI
	LEAQ (SI)(R13*8), SI
	ADDQ $144, R10
	ADDQ $16, R12
	SUBQ $4, BX
	JMP  quad

// One step at a time: the step's weights in Z16 to Z24, its bias in
// Z14; four vectors at a time (offsets in AX, DX, R11, R14) while four
// are left, then one.
single:
	TESTQ BX, BX
	JZ    done
	MOVQ  off+40(FP), R8
	MOVQ  kmask+48(FP), R9
	MOVQ  pm+24(FP), CX
	MOVQ  gap+88(FP), R13
	ADDQ  SI, R13
	VBROADCASTSS 0(R10), Z16
	VBROADCASTSS 4(R10), Z17
	VBROADCASTSS 8(R10), Z18
	VBROADCASTSS 12(R10), Z19
	VBROADCASTSS 16(R10), Z20
	VBROADCASTSS 20(R10), Z21
	VBROADCASTSS 24(R10), Z22
	VBROADCASTSS 28(R10), Z23
	VBROADCASTSS 32(R10), Z24
	VBROADCASTSS (R12), Z14

four:
	CMPQ CX, $4
	JLT  one
	VMOVAPS Z14, Z0
	VMOVAPS Z14, Z2
	VMOVAPS Z14, Z4
	VMOVAPS Z14, Z6
	MOVLQSX     0(R8), AX
	MOVLQSX     36(R8), DX
	MOVLQSX     72(R8), R11
	MOVLQSX     108(R8), R14
	KMOVW       0(R9), K1
	KMOVW       2(R9), K2
	VMOVUPS.Z   (SI)(AX*4), K1, Z1
	VMOVUPS.Z   (R13)(AX*4), K2, Z8
	KMOVW       36(R9), K1
	KMOVW       38(R9), K2
	VMOVUPS.Z   (SI)(DX*4), K1, Z3
	VMOVUPS.Z   (R13)(DX*4), K2, Z9
	KMOVW       72(R9), K1
	KMOVW       74(R9), K2
	VMOVUPS.Z   (SI)(R11*4), K1, Z5
	VMOVUPS.Z   (R13)(R11*4), K2, Z10
	KMOVW       108(R9), K1
	KMOVW       110(R9), K2
	VMOVUPS.Z   (SI)(R14*4), K1, Z7
	VMOVUPS.Z   (R13)(R14*4), K2, Z11
	VPERMT2PS   Z8, Z29, Z1
	VPERMT2PS   Z9, Z29, Z3
	VPERMT2PS   Z10, Z29, Z5
	VPERMT2PS   Z11, Z29, Z7
	VFMADD231PS Z1, Z16, Z0
	VFMADD231PS Z3, Z16, Z2
	VFMADD231PS Z5, Z16, Z4
	VFMADD231PS Z7, Z16, Z6
	MOVLQSX     4(R8), AX
	MOVLQSX     40(R8), DX
	MOVLQSX     76(R8), R11
	MOVLQSX     112(R8), R14
	KMOVW       4(R9), K1
	KMOVW       6(R9), K2
	VMOVUPS.Z   (SI)(AX*4), K1, Z1
	VMOVUPS.Z   (R13)(AX*4), K2, Z8
	KMOVW       40(R9), K1
	KMOVW       42(R9), K2
	VMOVUPS.Z   (SI)(DX*4), K1, Z3
	VMOVUPS.Z   (R13)(DX*4), K2, Z9
	KMOVW       76(R9), K1
	KMOVW       78(R9), K2
	VMOVUPS.Z   (SI)(R11*4), K1, Z5
	VMOVUPS.Z   (R13)(R11*4), K2, Z10
	KMOVW       112(R9), K1
	KMOVW       114(R9), K2
	VMOVUPS.Z   (SI)(R14*4), K1, Z7
	VMOVUPS.Z   (R13)(R14*4), K2, Z11
	VPERMT2PS   Z8, Z29, Z1
	VPERMT2PS   Z9, Z29, Z3
	VPERMT2PS   Z10, Z29, Z5
	VPERMT2PS   Z11, Z29, Z7
	VFMADD231PS Z1, Z17, Z0
	VFMADD231PS Z3, Z17, Z2
	VFMADD231PS Z5, Z17, Z4
	VFMADD231PS Z7, Z17, Z6
	MOVLQSX     8(R8), AX
	MOVLQSX     44(R8), DX
	MOVLQSX     80(R8), R11
	MOVLQSX     116(R8), R14
	KMOVW       8(R9), K1
	KMOVW       10(R9), K2
	VMOVUPS.Z   (SI)(AX*4), K1, Z1
	VMOVUPS.Z   (R13)(AX*4), K2, Z8
	KMOVW       44(R9), K1
	KMOVW       46(R9), K2
	VMOVUPS.Z   (SI)(DX*4), K1, Z3
	VMOVUPS.Z   (R13)(DX*4), K2, Z9
	KMOVW       80(R9), K1
	KMOVW       82(R9), K2
	VMOVUPS.Z   (SI)(R11*4), K1, Z5
	VMOVUPS.Z   (R13)(R11*4), K2, Z10
	KMOVW       116(R9), K1
	KMOVW       118(R9), K2
	VMOVUPS.Z   (SI)(R14*4), K1, Z7
	VMOVUPS.Z   (R13)(R14*4), K2, Z11
	VPERMT2PS   Z8, Z29, Z1
	VPERMT2PS   Z9, Z29, Z3
	VPERMT2PS   Z10, Z29, Z5
	VPERMT2PS   Z11, Z29, Z7
	VFMADD231PS Z1, Z18, Z0
	VFMADD231PS Z3, Z18, Z2
	VFMADD231PS Z5, Z18, Z4
	VFMADD231PS Z7, Z18, Z6
	MOVLQSX     12(R8), AX
	MOVLQSX     48(R8), DX
	MOVLQSX     84(R8), R11
	MOVLQSX     120(R8), R14
	KMOVW       12(R9), K1
	KMOVW       14(R9), K2
	VMOVUPS.Z   (SI)(AX*4), K1, Z1
	VMOVUPS.Z   (R13)(AX*4), K2, Z8
	KMOVW       48(R9), K1
	KMOVW       50(R9), K2
	VMOVUPS.Z   (SI)(DX*4), K1, Z3
	VMOVUPS.Z   (R13)(DX*4), K2, Z9
	KMOVW       84(R9), K1
	KMOVW       86(R9), K2
	VMOVUPS.Z   (SI)(R11*4), K1, Z5
	VMOVUPS.Z   (R13)(R11*4), K2, Z10
	KMOVW       120(R9), K1
	KMOVW       122(R9), K2
	VMOVUPS.Z   (SI)(R14*4), K1, Z7
	VMOVUPS.Z   (R13)(R14*4), K2, Z11
	VPERMT2PS   Z8, Z29, Z1
	VPERMT2PS   Z9, Z29, Z3
	VPERMT2PS   Z10, Z29, Z5
	VPERMT2PS   Z11, Z29, Z7
	VFMADD231PS Z1, Z19, Z0
	VFMADD231PS Z3, Z19, Z2
	VFMADD231PS Z5, Z19, Z4
	VFMADD231PS Z7, Z19, Z6
	MOVLQSX     16(R8), AX
	MOVLQSX     52(R8), DX
	MOVLQSX     88(R8), R11
	MOVLQSX     124(R8), R14
	KMOVW       16(R9), K1
	KMOVW       18(R9), K2
	VMOVUPS.Z   (SI)(AX*4), K1, Z1
	VMOVUPS.Z   (R13)(AX*4), K2, Z8
	KMOVW       52(R9), K1
	KMOVW       54(R9), K2
	VMOVUPS.Z   (SI)(DX*4), K1, Z3
	VMOVUPS.Z   (R13)(DX*4), K2, Z9
	KMOVW       88(R9), K1
	KMOVW       90(R9), K2
	VMOVUPS.Z   (SI)(R11*4), K1, Z5
	VMOVUPS.Z   (R13)(R11*4), K2, Z10
	KMOVW       124(R9), K1
	KMOVW       126(R9), K2
	VMOVUPS.Z   (SI)(R14*4), K1, Z7
	VMOVUPS.Z   (R13)(R14*4), K2, Z11
	VPERMT2PS   Z8, Z29, Z1
	VPERMT2PS   Z9, Z29, Z3
	VPERMT2PS   Z10, Z29, Z5
	VPERMT2PS   Z11, Z29, Z7
	VFMADD231PS Z1, Z20, Z0
	VFMADD231PS Z3, Z20, Z2
	VFMADD231PS Z5, Z20, Z4
	VFMADD231PS Z7, Z20, Z6
	MOVLQSX     20(R8), AX
	MOVLQSX     56(R8), DX
	MOVLQSX     92(R8), R11
	MOVLQSX     128(R8), R14
	KMOVW       20(R9), K1
	KMOVW       22(R9), K2
	VMOVUPS.Z   (SI)(AX*4), K1, Z1
	VMOVUPS.Z   (R13)(AX*4), K2, Z8
	KMOVW       56(R9), K1
	KMOVW       58(R9), K2
	VMOVUPS.Z   (SI)(DX*4), K1, Z3
	VMOVUPS.Z   (R13)(DX*4), K2, Z9
	KMOVW       92(R9), K1
	KMOVW       94(R9), K2
	VMOVUPS.Z   (SI)(R11*4), K1, Z5
	VMOVUPS.Z   (R13)(R11*4), K2, Z10
	KMOVW       128(R9), K1
	KMOVW       130(R9), K2
	VMOVUPS.Z   (SI)(R14*4), K1, Z7
	VMOVUPS.Z   (R13)(R14*4), K2, Z11
	VPERMT2PS   Z8, Z29, Z1
	VPERMT2PS   Z9, Z29, Z3
	VPERMT2PS   Z10, Z29, Z5
	VPERMT2PS   Z11, Z29, Z7
	VFMADD231PS Z1, Z21, Z0
	VFMADD231PS Z3, Z21, Z2
	VFMADD231PS Z5, Z21, Z4
	VFMADD231PS Z7, Z21, Z6
	MOVLQSX     24(R8), AX
	MOVLQSX     60(R8), DX
	MOVLQSX     96(R8), R11
	MOVLQSX     132(R8), R14
	KMOVW       24(R9), K1
	KMOVW       26(R9), K2
	VMOVUPS.Z   (SI)(AX*4), K1, Z1
	VMOVUPS.Z   (R13)(AX*4), K2, Z8
	KMOVW       60(R9), K1
	KMOVW       62(R9), K2
	VMOVUPS.Z   (SI)(DX*4), K1, Z3
	VMOVUPS.Z   (R13)(DX*4), K2, Z9
	KMOVW       96(R9), K1
	KMOVW       98(R9), K2
	VMOVUPS.Z   (SI)(R11*4), K1, Z5
	VMOVUPS.Z   (R13)(R11*4), K2, Z10
	KMOVW       132(R9), K1
	KMOVW       134(R9), K2
	VMOVUPS.Z   (SI)(R14*4), K1, Z7
	VMOVUPS.Z   (R13)(R14*4), K2, Z11
	VPERMT2PS   Z8, Z29, Z1
	VPERMT2PS   Z9, Z29, Z3
	VPERMT2PS   Z10, Z29, Z5
	VPERMT2PS   Z11, Z29, Z7
	VFMADD231PS Z1, Z22, Z0
	VFMADD231PS Z3, Z22, Z2
	VFMADD231PS Z5, Z22, Z4
	VFMADD231PS Z7, Z22, Z6
	MOVLQSX     28(R8), AX
	MOVLQSX     64(R8), DX
	MOVLQSX     100(R8), R11
	MOVLQSX     136(R8), R14
	KMOVW       28(R9), K1
	KMOVW       30(R9), K2
	VMOVUPS.Z   (SI)(AX*4), K1, Z1
	VMOVUPS.Z   (R13)(AX*4), K2, Z8
	KMOVW       64(R9), K1
	KMOVW       66(R9), K2
	VMOVUPS.Z   (SI)(DX*4), K1, Z3
	VMOVUPS.Z   (R13)(DX*4), K2, Z9
	KMOVW       100(R9), K1
	KMOVW       102(R9), K2
	VMOVUPS.Z   (SI)(R11*4), K1, Z5
	VMOVUPS.Z   (R13)(R11*4), K2, Z10
	KMOVW       136(R9), K1
	KMOVW       138(R9), K2
	VMOVUPS.Z   (SI)(R14*4), K1, Z7
	VMOVUPS.Z   (R13)(R14*4), K2, Z11
	VPERMT2PS   Z8, Z29, Z1
	VPERMT2PS   Z9, Z29, Z3
	VPERMT2PS   Z10, Z29, Z5
	VPERMT2PS   Z11, Z29, Z7
	VFMADD231PS Z1, Z23, Z0
	VFMADD231PS Z3, Z23, Z2
	VFMADD231PS Z5, Z23, Z4
	VFMADD231PS Z7, Z23, Z6
	MOVLQSX     32(R8), AX
	MOVLQSX     68(R8), DX
	MOVLQSX     104(R8), R11
	MOVLQSX     140(R8), R14
	KMOVW       32(R9), K1
	KMOVW       34(R9), K2
	VMOVUPS.Z   (SI)(AX*4), K1, Z1
	VMOVUPS.Z   (R13)(AX*4), K2, Z8
	KMOVW       68(R9), K1
	KMOVW       70(R9), K2
	VMOVUPS.Z   (SI)(DX*4), K1, Z3
	VMOVUPS.Z   (R13)(DX*4), K2, Z9
	KMOVW       104(R9), K1
	KMOVW       106(R9), K2
	VMOVUPS.Z   (SI)(R11*4), K1, Z5
	VMOVUPS.Z   (R13)(R11*4), K2, Z10
	KMOVW       140(R9), K1
	KMOVW       142(R9), K2
	VMOVUPS.Z   (SI)(R14*4), K1, Z7
	VMOVUPS.Z   (R13)(R14*4), K2, Z11
	VPERMT2PS   Z8, Z29, Z1
	VPERMT2PS   Z9, Z29, Z3
	VPERMT2PS   Z10, Z29, Z5
	VPERMT2PS   Z11, Z29, Z7
	VFMADD231PS Z1, Z24, Z0
	VFMADD231PS Z3, Z24, Z2
	VFMADD231PS Z5, Z24, Z4
	VFMADD231PS Z7, Z24, Z6
	CMPB        clip+80(FP), $0
	JEQ         fs0
	VCMPPS      $0x00, Z30, Z0, K5
	VCMPPS      $0x00, Z31, Z0, K6
	KORTESTW    K5, K6
	JZ          2(PC)
	MOVB        $1, ret+96(FP)
	VMAXPS      Z0, Z30, Z0
	VMINPS      Z0, Z31, Z0
fs0:
	VMOVUPS     Z0, 0(DI)
	CMPB        clip+80(FP), $0
	JEQ         fs1
	VCMPPS      $0x00, Z30, Z2, K5
	VCMPPS      $0x00, Z31, Z2, K6
	KORTESTW    K5, K6
	JZ          2(PC)
	MOVB        $1, ret+96(FP)
	VMAXPS      Z2, Z30, Z2
	VMINPS      Z2, Z31, Z2
fs1:
	VMOVUPS     Z2, 64(DI)
	CMPB        clip+80(FP), $0
	JEQ         fs2
	VCMPPS      $0x00, Z30, Z4, K5
	VCMPPS      $0x00, Z31, Z4, K6
	KORTESTW    K5, K6
	JZ          2(PC)
	MOVB        $1, ret+96(FP)
	VMAXPS      Z4, Z30, Z4
	VMINPS      Z4, Z31, Z4
fs2:
	VMOVUPS     Z4, 128(DI)
	CMPB        clip+80(FP), $0
	JEQ         fs3
	VCMPPS      $0x00, Z30, Z6, K5
	VCMPPS      $0x00, Z31, Z6, K6
	KORTESTW    K5, K6
	JZ          2(PC)
	MOVB        $1, ret+96(FP)
	VMAXPS      Z6, Z30, Z6
	VMINPS      Z6, Z31, Z6
fs3:
	VMOVUPS     Z6, 192(DI)
	ADDQ $256, DI
	ADDQ $144, R8
	ADDQ $144, R9
	SUBQ $4, CX
	JMP  four

one:
	TESTQ CX, CX
	JZ    singlenext
	VMOVAPS Z14, Z0
	MOVLQSX     0(R8), AX
	KMOVW       0(R9), K1
	KMOVW       2(R9), K2
	VMOVUPS.Z   (SI)(AX*4), K1, Z1
	VMOVUPS.Z   (R13)(AX*4), K2, Z8
	VPERMT2PS   Z8, Z29, Z1
	VFMADD231PS Z1, Z16, Z0
	MOVLQSX     4(R8), AX
	KMOVW       4(R9), K1
	KMOVW       6(R9), K2
	VMOVUPS.Z   (SI)(AX*4), K1, Z1
	VMOVUPS.Z   (R13)(AX*4), K2, Z8
	VPERMT2PS   Z8, Z29, Z1
	VFMADD231PS Z1, Z17, Z0
	MOVLQSX     8(R8), AX
	KMOVW       8(R9), K1
	KMOVW       10(R9), K2
	VMOVUPS.Z   (SI)(AX*4), K1, Z1
	VMOVUPS.Z   (R13)(AX*4), K2, Z8
	VPERMT2PS   Z8, Z29, Z1
	VFMADD231PS Z1, Z18, Z0
	MOVLQSX     12(R8), AX
	KMOVW       12(R9), K1
	KMOVW       14(R9), K2
	VMOVUPS.Z   (SI)(AX*4), K1, Z1
	VMOVUPS.Z   (R13)(AX*4), K2, Z8
	VPERMT2PS   Z8, Z29, Z1
	VFMADD231PS Z1, Z19, Z0
	MOVLQSX     16(R8), AX
	KMOVW       16(R9), K1
	KMOVW       18(R9), K2
	VMOVUPS.Z   (SI)(AX*4), K1, Z1
	VMOVUPS.Z   (R13)(AX*4), K2, Z8
	VPERMT2PS   Z8, Z29, Z1
	VFMADD231PS Z1, Z20, Z0
	MOVLQSX     20(R8), AX
	KMOVW       20(R9), K1
	KMOVW       22(R9), K2
	VMOVUPS.Z   (SI)(AX*4), K1, Z1
	VMOVUPS.Z   (R13)(AX*4), K2, Z8
	VPERMT2PS   Z8, Z29, Z1
	VFMADD231PS Z1, Z21, Z0
	MOVLQSX     24(R8), AX
	KMOVW       24(R9), K1
	KMOVW       26(R9), K2
	VMOVUPS.Z   (SI)(AX*4), K1, Z1
	VMOVUPS.Z   (R13)(AX*4), K2, Z8
	VPERMT2PS   Z8, Z29, Z1
	VFMADD231PS Z1, Z22, Z0
	MOVLQSX     28(R8), AX
	KMOVW       28(R9), K1
	KMOVW       30(R9), K2
	VMOVUPS.Z   (SI)(AX*4), K1, Z1
	VMOVUPS.Z   (R13)(AX*4), K2, Z8
	VPERMT2PS   Z8, Z29, Z1
	VFMADD231PS Z1, Z23, Z0
	MOVLQSX     32(R8), AX
	KMOVW       32(R9), K1
	KMOVW       34(R9), K2
	VMOVUPS.Z   (SI)(AX*4), K1, Z1
	VMOVUPS.Z   (R13)(AX*4), K2, Z8
	VPERMT2PS   Z8, Z29, Z1
	VFMADD231PS Z1, Z24, Z0
	CMPB        clip+80(FP), $0
	JEQ         os0
	VCMPPS      $0x00, Z30, Z0, K5
	VCMPPS      $0x00, Z31, Z0, K6
	KORTESTW    K5, K6
	JZ          2(PC)
	MOVB        $1, ret+96(FP)
	VMAXPS      Z0, Z30, Z0
	VMINPS      Z0, Z31, Z0
os0:
	VMOVUPS     Z0, (DI)
	ADDQ $64, DI
	ADDQ $36, R8
	ADDQ $36, R9
	DECQ CX
	JMP  one

singlenext:
	MOVQ xstep+32(FP), AX
	LEAQ (SI)(AX*4), SI
	ADDQ $36, R10
	ADDQ $4, R12
	DECQ BX
	JMP  single

done:
	VZEROUPPER
	RET
