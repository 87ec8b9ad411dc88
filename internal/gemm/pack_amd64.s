//go:build !purego

#include "textflag.h"
#include "transpose8_amd64.h"

// func packRows16(k, np int, src *float32, ld int, dst *float32)
// Packs np panels of 16 columns from k rows of stride ld, a row at a time:
// element (p, s*16+j) goes to dst[s*k*16 + p*16 + j].
//
// For a few panels (short pieces of rows far apart, which the hardware
// prefetchers do not follow) it also prefetches the same rows of the next
// np panels, which the next call is likely to pack.
TEXT ·packRows16(SB), NOSPLIT, $0-40
	MOVQ k+0(FP), CX
	MOVQ np+8(FP), R10
	MOVQ src+16(FP), SI
	MOVQ ld+24(FP), R8
	MOVQ dst+32(FP), DI
	SHLQ $2, R8
	MOVQ CX, R9
	SHLQ $6, R9 // panel stride in bytes
	MOVQ R10, R11
	SHLQ $6, R11 // bytes of a row that are packed
	TESTQ CX, CX
	JZ   done
	TESTQ R10, R10
	JZ   done
	CMPQ R10, $4
	JG   row

prow:
	MOVQ SI, AX
	MOVQ DI, DX
	MOVQ R10, BX

ppanel:
	PREFETCHT0 (AX)(R11*1)
	VMOVUPS    (AX), Y0
	VMOVUPS    32(AX), Y1
	VMOVUPS    Y0, (DX)
	VMOVUPS    Y1, 32(DX)
	ADDQ       $64, AX
	ADDQ       R9, DX
	DECQ       BX
	JNZ        ppanel

	ADDQ R8, SI
	ADDQ $64, DI
	DECQ CX
	JNZ  prow
	JMP  done

row:
	MOVQ SI, AX
	MOVQ DI, DX
	MOVQ R10, BX

panel:
	VMOVUPS (AX), Y0
	VMOVUPS 32(AX), Y1
	VMOVUPS Y0, (DX)
	VMOVUPS Y1, 32(DX)
	ADDQ    $64, AX
	ADDQ    R9, DX
	DECQ    BX
	JNZ     panel

	ADDQ R8, SI
	ADDQ $64, DI
	DECQ CX
	JNZ  row

done:
	VZEROUPPER
	RET

// func packCols16(k8 int, src *float32, ld int, dst *float32)
// Reads 16 rows of stride ld and 8*k8 floats each and writes them
// transposed: element p of row j goes to dst[p*16+j].
TEXT ·packCols16(SB), NOSPLIT, $0-32
	MOVQ k8+0(FP), CX
	MOVQ src+8(FP), SI
	MOVQ ld+16(FP), R8
	MOVQ dst+24(FP), DI
	SHLQ $2, R8
	LEAQ (R8)(R8*2), R9 // 3 rows
	TESTQ CX, CX
	JZ   done

loop:
	// Rows 0..7.
	MOVQ    SI, AX
	VMOVUPS (AX), Y0
	VMOVUPS (AX)(R8*1), Y1
	VMOVUPS (AX)(R8*2), Y2
	VMOVUPS (AX)(R9*1), Y3
	LEAQ    (AX)(R8*4), AX
	VMOVUPS (AX), Y4
	VMOVUPS (AX)(R8*1), Y5
	VMOVUPS (AX)(R8*2), Y6
	VMOVUPS (AX)(R9*1), Y7
	TRANSPOSE8
	VMOVUPS Y8, (DI)
	VMOVUPS Y9, 64(DI)
	VMOVUPS Y10, 128(DI)
	VMOVUPS Y11, 192(DI)
	VMOVUPS Y12, 256(DI)
	VMOVUPS Y13, 320(DI)
	VMOVUPS Y14, 384(DI)
	VMOVUPS Y15, 448(DI)

	// Rows 8..15.
	LEAQ    (AX)(R8*4), AX
	VMOVUPS (AX), Y0
	VMOVUPS (AX)(R8*1), Y1
	VMOVUPS (AX)(R8*2), Y2
	VMOVUPS (AX)(R9*1), Y3
	LEAQ    (AX)(R8*4), AX
	VMOVUPS (AX), Y4
	VMOVUPS (AX)(R8*1), Y5
	VMOVUPS (AX)(R8*2), Y6
	VMOVUPS (AX)(R9*1), Y7
	TRANSPOSE8
	VMOVUPS Y8, 32(DI)
	VMOVUPS Y9, 96(DI)
	VMOVUPS Y10, 160(DI)
	VMOVUPS Y11, 224(DI)
	VMOVUPS Y12, 288(DI)
	VMOVUPS Y13, 352(DI)
	VMOVUPS Y14, 416(DI)
	VMOVUPS Y15, 480(DI)

	ADDQ $32, SI
	ADDQ $512, DI
	DECQ CX
	JNZ  loop

done:
	VZEROUPPER
	RET

// func packCols6(k8 int, src *float32, ld int, dst *float32)
// Reads 6 rows of stride ld and 8*k8 floats each and writes them
// transposed: element p of row i goes to dst[p*6+i].
TEXT ·packCols6(SB), NOSPLIT, $0-32
	MOVQ k8+0(FP), CX
	MOVQ src+8(FP), SI
	MOVQ ld+16(FP), R8
	MOVQ dst+24(FP), DI
	SHLQ $2, R8
	LEAQ (R8)(R8*2), R9 // 3 rows
	TESTQ CX, CX
	JZ   done

loop:
	MOVQ    SI, AX
	VMOVUPS (AX), Y0
	VMOVUPS (AX)(R8*1), Y1
	VMOVUPS (AX)(R8*2), Y2
	VMOVUPS (AX)(R9*1), Y3
	LEAQ    (AX)(R8*4), AX
	VMOVUPS (AX), Y4
	VMOVUPS (AX)(R8*1), Y5
	VMOVAPS Y4, Y6
	VMOVAPS Y5, Y7
	TRANSPOSE8

	// Each column has 6 useful values: store 8 and let the next store
	// overwrite the 2 extra, except for the last column.
	VMOVUPS      Y8, (DI)
	VMOVUPS      Y9, 24(DI)
	VMOVUPS      Y10, 48(DI)
	VMOVUPS      Y11, 72(DI)
	VMOVUPS      Y12, 96(DI)
	VMOVUPS      Y13, 120(DI)
	VMOVUPS      Y14, 144(DI)
	VMOVUPS      X15, 168(DI)
	VEXTRACTF128 $1, Y15, X15
	VMOVLPS      X15, 184(DI)

	ADDQ $32, SI
	ADDQ $192, DI
	DECQ CX
	JNZ  loop

done:
	VZEROUPPER
	RET

// func packRows6(k, np int, src *float32, ld int, dst *float32)
// Packs np panels of 6 columns from k rows of stride ld, a row at a time:
// element (p, s*6+i) goes to dst[s*k*6 + p*6 + i].
TEXT ·packRows6(SB), NOSPLIT, $0-40
	MOVQ k+0(FP), CX
	MOVQ np+8(FP), R10
	MOVQ src+16(FP), SI
	MOVQ ld+24(FP), R8
	MOVQ dst+32(FP), DI
	SHLQ $2, R8
	MOVQ CX, R9
	IMULQ $24, R9 // panel stride in bytes
	MOVQ R8, R11
	SHLQ $3, R11  // 8 rows ahead
	TESTQ CX, CX
	JZ   done
	TESTQ R10, R10
	JZ   done

row:
	MOVQ SI, AX
	MOVQ DI, DX
	MOVQ R10, BX

panel:
	PREFETCHT0 (AX)(R11*1)
	VMOVUPS (AX), X0
	MOVQ    16(AX), X1
	VMOVUPS X0, (DX)
	MOVQ    X1, 16(DX)
	ADDQ    $24, AX
	ADDQ    R9, DX
	DECQ    BX
	JNZ     panel

	ADDQ R8, SI
	ADDQ $24, DI
	DECQ CX
	JNZ  row

done:
	VZEROUPPER
	RET

// func packRowsW(k, np int, src *float32, ld int, dst *float32, w int)
// Packs np panels of w columns (w a multiple of 4) from k rows of stride
// ld, a row at a time: element (p, s*w+j) goes to dst[s*k*w + p*w + j].
TEXT ·packRowsW(SB), NOSPLIT, $0-48
	MOVQ k+0(FP), CX
	MOVQ np+8(FP), R10
	MOVQ src+16(FP), SI
	MOVQ ld+24(FP), R8
	MOVQ dst+32(FP), DI
	MOVQ w+40(FP), R11
	SHLQ $2, R8
	SHLQ $2, R11 // bytes of a panel's row
	MOVQ CX, R9
	IMULQ R11, R9 // panel stride in bytes
	MOVQ R11, R12
	SHRQ $5, R12 // 8-float chunks of a panel's row
	TESTQ CX, CX
	JZ   done
	TESTQ R10, R10
	JZ   done

row:
	MOVQ SI, AX
	MOVQ DI, DX
	MOVQ R10, BX

panel:
	MOVQ  R12, R13
	TESTQ R13, R13
	JZ    four

chunk:
	VMOVUPS (AX), Y0
	VMOVUPS Y0, (DX)
	ADDQ    $32, AX
	ADDQ    $32, DX
	DECQ    R13
	JNZ     chunk

four:
	TESTQ   $16, R11
	JZ      next
	VMOVUPS (AX), X0
	VMOVUPS X0, (DX)
	ADDQ    $16, AX
	ADDQ    $16, DX

next:
	SUBQ R11, DX
	ADDQ R9, DX
	DECQ BX
	JNZ  panel

	ADDQ R8, SI
	ADDQ R11, DI
	DECQ CX
	JNZ  row

done:
	VZEROUPPER
	RET

// LOAD4 loads 8 floats of each of rows 0..3 of stride R8 (R9 = 3 rows) at
// SI into Y0..Y3 and leaves AX at SI.
#define LOAD4 \
	MOVQ    SI, AX;          \
	VMOVUPS (AX), Y0;        \
	VMOVUPS (AX)(R8*1), Y1;  \
	VMOVUPS (AX)(R8*2), Y2;  \
	VMOVUPS (AX)(R9*1), Y3

// func packCols8(k8 int, src *float32, ld int, dst *float32, dstride int)
// Reads 8 rows of stride ld and 8*k8 floats each and writes them
// transposed with a row stride of dstride: element p of row i goes to
// dst[p*dstride+i].
TEXT ·packCols8(SB), NOSPLIT, $0-40
	MOVQ k8+0(FP), CX
	MOVQ src+8(FP), SI
	MOVQ ld+16(FP), R8
	MOVQ dst+24(FP), DI
	MOVQ dstride+32(FP), R10
	SHLQ $2, R8
	SHLQ $2, R10
	LEAQ (R8)(R8*2), R9   // 3 rows of src
	LEAQ (R10)(R10*2), R11 // 3 rows of dst
	TESTQ CX, CX
	JZ   done

loop:
	LOAD4
	LEAQ    (AX)(R8*4), AX
	VMOVUPS (AX), Y4
	VMOVUPS (AX)(R8*1), Y5
	VMOVUPS (AX)(R8*2), Y6
	VMOVUPS (AX)(R9*1), Y7
	TRANSPOSE8
	VMOVUPS Y8, (DI)
	VMOVUPS Y9, (DI)(R10*1)
	VMOVUPS Y10, (DI)(R10*2)
	VMOVUPS Y11, (DI)(R11*1)
	LEAQ    (DI)(R10*4), DI
	VMOVUPS Y12, (DI)
	VMOVUPS Y13, (DI)(R10*1)
	VMOVUPS Y14, (DI)(R10*2)
	VMOVUPS Y15, (DI)(R11*1)
	LEAQ    (DI)(R10*4), DI

	ADDQ $32, SI
	DECQ CX
	JNZ  loop

done:
	VZEROUPPER
	RET

// func packCols4(k8 int, src *float32, ld int, dst *float32, dstride int)
// packCols8 for 4 rows: element p of row i goes to dst[p*dstride+i].
TEXT ·packCols4(SB), NOSPLIT, $0-40
	MOVQ k8+0(FP), CX
	MOVQ src+8(FP), SI
	MOVQ ld+16(FP), R8
	MOVQ dst+24(FP), DI
	MOVQ dstride+32(FP), R10
	SHLQ $2, R8
	SHLQ $2, R10
	LEAQ (R8)(R8*2), R9
	LEAQ (R10)(R10*2), R11
	TESTQ CX, CX
	JZ   done

loop:
	LOAD4
	VMOVAPS Y0, Y4
	VMOVAPS Y1, Y5
	VMOVAPS Y2, Y6
	VMOVAPS Y3, Y7
	TRANSPOSE8
	VMOVUPS X8, (DI)
	VMOVUPS X9, (DI)(R10*1)
	VMOVUPS X10, (DI)(R10*2)
	VMOVUPS X11, (DI)(R11*1)
	LEAQ    (DI)(R10*4), DI
	VMOVUPS X12, (DI)
	VMOVUPS X13, (DI)(R10*1)
	VMOVUPS X14, (DI)(R10*2)
	VMOVUPS X15, (DI)(R11*1)
	LEAQ    (DI)(R10*4), DI

	ADDQ $32, SI
	DECQ CX
	JNZ  loop

done:
	VZEROUPPER
	RET

// func packRows8(k, np int, src *float32, ld int, dst *float32)
// Packs np panels of 8 columns from k rows of stride ld: element (p, s*8+j)
// goes to dst[s*k*8 + p*8 + j]. Panel by panel, two at a time: each row
// read is a 64-byte piece, and the writes are two sequential streams
// (row by row, the writes would be np streams whose strides, multiples of
// 4 KiB, fall in the same cache sets).
TEXT ·packRows8(SB), NOSPLIT, $0-40
	MOVQ  k+0(FP), CX
	MOVQ  np+8(FP), R10
	MOVQ  src+16(FP), SI
	MOVQ  ld+24(FP), R8
	MOVQ  dst+32(FP), DI
	SHLQ  $2, R8
	MOVQ  CX, R9
	SHLQ  $5, R9 // panel stride in bytes
	TESTQ CX, CX
	JZ    done
	MOVQ  R10, R11
	SHRQ  $1, R11 // pairs of panels
	JZ    single

pair:
	MOVQ SI, AX
	MOVQ DI, DX
	MOVQ CX, BX

prow:
	VMOVUPS (AX), Y0
	VMOVUPS 32(AX), Y1
	VMOVUPS Y0, (DX)
	VMOVUPS Y1, (DX)(R9*1)
	ADDQ    R8, AX
	ADDQ    $32, DX
	DECQ    BX
	JNZ     prow

	ADDQ $64, SI
	LEAQ (DI)(R9*2), DI
	DECQ R11
	JNZ  pair

single:
	TESTQ $1, R10
	JZ    done
	MOVQ  CX, BX

srow:
	VMOVUPS (SI), Y0
	VMOVUPS Y0, (DI)
	ADDQ    R8, SI
	ADDQ    $32, DI
	DECQ    BX
	JNZ     srow

done:
	VZEROUPPER
	RET

// func packRows8Sum(k, np int, src *float32, ld int, dst, sums *float32)
// Is packRows8 that also adds each column's k values, row after row, to
// sums[s*8+j] (one rounded add a value, in the order of the rows: the bits
// of summing the rows one after the other). Four panels at a time, then
// two, then one: each panel's sums stay in a register for its k rows, and
// four chains of adds keep the adds' latency off the rows' loop.
TEXT ·packRows8Sum(SB), NOSPLIT, $0-48
	MOVQ  k+0(FP), CX
	MOVQ  np+8(FP), R10
	MOVQ  src+16(FP), SI
	MOVQ  ld+24(FP), R8
	MOVQ  dst+32(FP), DI
	MOVQ  sums+40(FP), R12
	SHLQ  $2, R8
	MOVQ  CX, R9
	SHLQ  $5, R9 // panel stride in bytes
	LEAQ  (R9)(R9*2), R13 // three panels
	TESTQ CX, CX
	JZ    done
	MOVQ  R10, R11
	SHRQ  $2, R11 // quads of panels
	JZ    pairs

quad:
	MOVQ    SI, AX
	MOVQ    DI, DX
	MOVQ    CX, BX
	VMOVUPS (R12), Y4
	VMOVUPS 32(R12), Y5
	VMOVUPS 64(R12), Y6
	VMOVUPS 96(R12), Y7

qrow:
	VMOVUPS (AX), Y0
	VMOVUPS 32(AX), Y1
	VMOVUPS 64(AX), Y2
	VMOVUPS 96(AX), Y3
	VMOVUPS Y0, (DX)
	VMOVUPS Y1, (DX)(R9*1)
	VMOVUPS Y2, (DX)(R9*2)
	VMOVUPS Y3, (DX)(R13*1)
	VADDPS  Y0, Y4, Y4
	VADDPS  Y1, Y5, Y5
	VADDPS  Y2, Y6, Y6
	VADDPS  Y3, Y7, Y7
	ADDQ    R8, AX
	ADDQ    $32, DX
	DECQ    BX
	JNZ     qrow

	VMOVUPS Y4, (R12)
	VMOVUPS Y5, 32(R12)
	VMOVUPS Y6, 64(R12)
	VMOVUPS Y7, 96(R12)
	ADDQ    $128, R12
	ADDQ    $128, SI
	LEAQ    (DI)(R9*4), DI
	DECQ    R11
	JNZ     quad

pairs:
	TESTQ   $2, R10
	JZ      single
	MOVQ    SI, AX
	MOVQ    DI, DX
	MOVQ    CX, BX
	VMOVUPS (R12), Y2
	VMOVUPS 32(R12), Y3

prow:
	VMOVUPS (AX), Y0
	VMOVUPS 32(AX), Y1
	VMOVUPS Y0, (DX)
	VMOVUPS Y1, (DX)(R9*1)
	VADDPS  Y0, Y2, Y2
	VADDPS  Y1, Y3, Y3
	ADDQ    R8, AX
	ADDQ    $32, DX
	DECQ    BX
	JNZ     prow

	VMOVUPS Y2, (R12)
	VMOVUPS Y3, 32(R12)
	ADDQ    $64, R12
	ADDQ    $64, SI
	LEAQ    (DI)(R9*2), DI

single:
	TESTQ   $1, R10
	JZ      done
	MOVQ    CX, BX
	VMOVUPS (R12), Y2

srow:
	VMOVUPS (SI), Y0
	VMOVUPS Y0, (DI)
	VADDPS  Y0, Y2, Y2
	ADDQ    R8, SI
	ADDQ    $32, DI
	DECQ    BX
	JNZ     srow
	VMOVUPS Y2, (R12)

done:
	VZEROUPPER
	RET

// func packRows32(k, np int, src *float32, ld int, dst *float32)
// Packs np panels of 32 columns from k rows of stride ld, a row at a time:
// element (p, s*32+j) goes to dst[s*k*32 + p*32 + j].
TEXT ·packRows32(SB), NOSPLIT, $0-40
	MOVQ  k+0(FP), CX
	MOVQ  np+8(FP), R10
	MOVQ  src+16(FP), SI
	MOVQ  ld+24(FP), R8
	MOVQ  dst+32(FP), DI
	SHLQ  $2, R8
	MOVQ  CX, R9
	SHLQ  $7, R9 // panel stride in bytes
	TESTQ CX, CX
	JZ    done
	TESTQ R10, R10
	JZ    done

row:
	MOVQ SI, AX
	MOVQ DI, DX
	MOVQ R10, BX

panel:
	VMOVUPS (AX), Y0
	VMOVUPS 32(AX), Y1
	VMOVUPS 64(AX), Y2
	VMOVUPS 96(AX), Y3
	VMOVUPS Y0, (DX)
	VMOVUPS Y1, 32(DX)
	VMOVUPS Y2, 64(DX)
	VMOVUPS Y3, 96(DX)
	ADDQ    $128, AX
	ADDQ    R9, DX
	DECQ    BX
	JNZ     panel

	ADDQ R8, SI
	ADDQ $128, DI
	DECQ CX
	JNZ  row

done:
	VZEROUPPER
	RET

// func packCols32(k8 int, src *float32, ld int, dst *float32)
// Reads 32 rows of stride ld and 8*k8 floats each and writes them
// transposed: element p of row j goes to dst[p*32+j]. In two passes of 16
// rows (16 read streams at a time, as packCols16), each step transposing
// two 8×8 blocks into the halves of 8 rows of dst.
TEXT ·packCols32(SB), NOSPLIT, $0-32
	MOVQ  k8+0(FP), CX
	MOVQ  src+8(FP), SI
	MOVQ  ld+16(FP), R8
	MOVQ  dst+24(FP), DI
	SHLQ  $2, R8
	LEAQ  (R8)(R8*2), R9 // 3 rows
	TESTQ CX, CX
	JZ    done
	MOVQ  $2, R11

half:
	MOVQ SI, R12
	MOVQ DI, R13
	MOVQ CX, BX

loop:
	MOVQ R12, AX
	MOVQ $2, R10
	MOVQ R13, DX

block:
	VMOVUPS (AX), Y0
	VMOVUPS (AX)(R8*1), Y1
	VMOVUPS (AX)(R8*2), Y2
	VMOVUPS (AX)(R9*1), Y3
	LEAQ    (AX)(R8*4), AX
	VMOVUPS (AX), Y4
	VMOVUPS (AX)(R8*1), Y5
	VMOVUPS (AX)(R8*2), Y6
	VMOVUPS (AX)(R9*1), Y7
	LEAQ    (AX)(R8*4), AX
	TRANSPOSE8
	VMOVUPS Y8, (DX)
	VMOVUPS Y9, 128(DX)
	VMOVUPS Y10, 256(DX)
	VMOVUPS Y11, 384(DX)
	VMOVUPS Y12, 512(DX)
	VMOVUPS Y13, 640(DX)
	VMOVUPS Y14, 768(DX)
	VMOVUPS Y15, 896(DX)
	ADDQ    $32, DX
	DECQ    R10
	JNZ     block

	ADDQ $32, R12
	ADDQ $1024, R13
	DECQ BX
	JNZ  loop

	// The second 16 rows, into the second half of each row of dst.
	MOVQ R8, AX
	SHLQ $4, AX
	ADDQ AX, SI
	ADDQ $64, DI
	DECQ R11
	JNZ  half

done:
	VZEROUPPER
	RET
