//go:build amd64 && !purego

#include "textflag.h"

// FMAROW multiplies the broadcast element of a at addr by the panel row
// (Z24, Z25) into the row's accumulator pair.
#define FMAROW(addr, acc0, acc1) \
	VBROADCASTSS addr, Z26; \
	VFMADD231PS Z24, Z26, acc0; \
	VFMADD231PS Z25, Z26, acc1

// CLAMPSTORE clamps an accumulator pair to [Z26, Z27] and stores it at DI,
// then moves DI to the next row of c.
#define CLAMPSTORE(acc0, acc1) \
	VMAXPS Z26, acc0, acc0; \
	VMAXPS Z26, acc1, acc1; \
	VMINPS Z27, acc0, acc0; \
	VMINPS Z27, acc1, acc1; \
	VMOVUPS acc0, (DI); \
	VMOVUPS acc1, 64(DI); \
	ADDQ R8, DI

// func kernel8x32(c *float32, ldc int, a *float32, lda int, panel *float32, bias *float32, k int, lo, hi float32)
//
// One 8×32 tile of c = clamp(a·panel + bias, lo, hi) with AVX-512:
// sixteen ZMM accumulators (two per row), two for the panel row, one for
// the broadcast element of a. k ≥ 1; ldc and lda count floats.
TEXT ·kernel8x32(SB), NOSPLIT, $0-64
	MOVQ c+0(FP), DI
	MOVQ ldc+8(FP), R8
	MOVQ a+16(FP), SI
	MOVQ lda+24(FP), R9
	MOVQ panel+32(FP), DX
	MOVQ bias+40(FP), BX
	MOVQ k+48(FP), CX
	SHLQ $2, R8
	SHLQ $2, R9
	LEAQ (SI)(R9*2), R10
	ADDQ R9, R10          // R10 = row 3 of a
	LEAQ (R10)(R9*2), R11
	ADDQ R9, R11          // R11 = row 6 of a

	VMOVUPS (BX), Z0
	VMOVUPS 64(BX), Z1
	VMOVAPS Z0, Z2
	VMOVAPS Z1, Z3
	VMOVAPS Z0, Z4
	VMOVAPS Z1, Z5
	VMOVAPS Z0, Z6
	VMOVAPS Z1, Z7
	VMOVAPS Z0, Z8
	VMOVAPS Z1, Z9
	VMOVAPS Z0, Z10
	VMOVAPS Z1, Z11
	VMOVAPS Z0, Z12
	VMOVAPS Z1, Z13
	VMOVAPS Z0, Z14
	VMOVAPS Z1, Z15

loop:
	VMOVUPS (DX), Z24
	VMOVUPS 64(DX), Z25
	FMAROW((SI), Z0, Z1)
	FMAROW((SI)(R9*1), Z2, Z3)
	FMAROW((SI)(R9*2), Z4, Z5)
	FMAROW((R10), Z6, Z7)
	FMAROW((R10)(R9*1), Z8, Z9)
	FMAROW((R10)(R9*2), Z10, Z11)
	FMAROW((R11), Z12, Z13)
	FMAROW((R11)(R9*1), Z14, Z15)
	ADDQ $4, SI
	ADDQ $4, R10
	ADDQ $4, R11
	ADDQ $128, DX
	DECQ CX
	JNZ  loop

	VBROADCASTSS lo+56(FP), Z26
	VBROADCASTSS hi+60(FP), Z27
	CLAMPSTORE(Z0, Z1)
	CLAMPSTORE(Z2, Z3)
	CLAMPSTORE(Z4, Z5)
	CLAMPSTORE(Z6, Z7)
	CLAMPSTORE(Z8, Z9)
	CLAMPSTORE(Z10, Z11)
	CLAMPSTORE(Z12, Z13)
	CLAMPSTORE(Z14, Z15)
	VZEROUPPER
	RET

// func kernel1x32(c *float32, a *float32, panel *float32, bias *float32, k int, lo, hi float32)
//
// One row of a 32-wide panel (rows below the last 8-row tile, and
// matrix-vector products). Two accumulator pairs hide the FMA latency.
// k ≥ 1.
TEXT ·kernel1x32(SB), NOSPLIT, $0-48
	MOVQ c+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ panel+16(FP), DX
	MOVQ bias+24(FP), BX
	MOVQ k+32(FP), CX
	VMOVUPS (BX), Z0
	VMOVUPS 64(BX), Z1
	VPXORD  Z2, Z2, Z2
	VPXORD  Z3, Z3, Z3
	CMPQ CX, $2
	JLT  tail

pair:
	VBROADCASTSS (SI), Z4
	VBROADCASTSS 4(SI), Z5
	VFMADD231PS (DX), Z4, Z0
	VFMADD231PS 64(DX), Z4, Z1
	VFMADD231PS 128(DX), Z5, Z2
	VFMADD231PS 192(DX), Z5, Z3
	ADDQ $8, SI
	ADDQ $256, DX
	SUBQ $2, CX
	CMPQ CX, $2
	JGE  pair

tail:
	TESTQ CX, CX
	JZ    store
	VBROADCASTSS (SI), Z4
	VFMADD231PS (DX), Z4, Z0
	VFMADD231PS 64(DX), Z4, Z1

store:
	VADDPS Z2, Z0, Z0
	VADDPS Z3, Z1, Z1
	VBROADCASTSS lo+40(FP), Z4
	VBROADCASTSS hi+44(FP), Z5
	VMAXPS Z4, Z0, Z0
	VMAXPS Z4, Z1, Z1
	VMINPS Z5, Z0, Z0
	VMINPS Z5, Z1, Z1
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	VZEROUPPER
	RET
