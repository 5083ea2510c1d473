//go:build amd64 && !purego

#include "textflag.h"

// func dot2x4AVX2(o *[8]float32, x0, x1, r0, r1, r2, r3 *float32, n int)
//
// o = {x0·r0, x1·r0, x0·r1, x1·r1, x0·r2, x1·r2, x0·r3, x1·r3} over n
// floats (n a positive multiple of 8): eight YMM accumulators, each x and
// r vector loaded once per step.
TEXT ·dot2x4AVX2(SB), NOSPLIT, $0-64
	MOVQ o+0(FP), DI
	MOVQ x0+8(FP), SI
	MOVQ x1+16(FP), DX
	MOVQ r0+24(FP), R8
	MOVQ r1+32(FP), R9
	MOVQ r2+40(FP), R10
	MOVQ r3+48(FP), R11
	MOVQ n+56(FP), CX
	SHRQ $3, CX
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	VXORPS Y12, Y12, Y12
	VXORPS Y13, Y13, Y13
	VXORPS Y14, Y14, Y14
	VXORPS Y15, Y15, Y15

dotloop:
	VMOVUPS (SI), Y0
	VMOVUPS (DX), Y1
	VMOVUPS (R8), Y2
	VMOVUPS (R9), Y3
	VMOVUPS (R10), Y4
	VMOVUPS (R11), Y5
	VFMADD231PS Y2, Y0, Y8
	VFMADD231PS Y2, Y1, Y9
	VFMADD231PS Y3, Y0, Y10
	VFMADD231PS Y3, Y1, Y11
	VFMADD231PS Y4, Y0, Y12
	VFMADD231PS Y4, Y1, Y13
	VFMADD231PS Y5, Y0, Y14
	VFMADD231PS Y5, Y1, Y15
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, R8
	ADDQ $32, R9
	ADDQ $32, R10
	ADDQ $32, R11
	DECQ CX
	JNZ  dotloop

	// Horizontal sums: pairwise adds within the 128-bit lanes, then the
	// two lanes added, giving the eight sums in o's order.
	VHADDPS Y9, Y8, Y0    // a0 a0 b0 b0 | a0 a0 b0 b0
	VHADDPS Y11, Y10, Y1  // a1 a1 b1 b1 | …
	VHADDPS Y1, Y0, Y0    // a0 b0 a1 b1 | a0 b0 a1 b1
	VHADDPS Y13, Y12, Y2
	VHADDPS Y15, Y14, Y3
	VHADDPS Y3, Y2, Y2    // a2 b2 a3 b3 | a2 b2 a3 b3
	VPERM2F128 $0x20, Y2, Y0, Y4 // low lanes of Y0, Y2
	VPERM2F128 $0x31, Y2, Y0, Y5 // high lanes
	VADDPS Y5, Y4, Y4
	VMOVUPS Y4, (DI)
	VZEROUPPER
	RET

// func axpyAVX2(dst, x *float32, a float32, n int)
//
// dst[i] += a*x[i] for n floats (a positive multiple of 8).
TEXT ·axpyAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	VBROADCASTSS a+16(FP), Y4
	MOVQ n+24(FP), CX
	SHRQ $3, CX

axpy1loop:
	VMOVUPS (DI), Y0
	VFMADD231PS (SI), Y4, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, DI
	ADDQ $32, SI
	DECQ CX
	JNZ  axpy1loop
	VZEROUPPER
	RET

// func axpy4AVX2(dst, x0, x1, x2, x3 *float32, a *[4]float32, n int)
//
// dst[i] += a[0]*x0[i] + a[1]*x1[i] + a[2]*x2[i] + a[3]*x3[i] for n
// floats (a positive multiple of 8).
TEXT ·axpy4AVX2(SB), NOSPLIT, $0-56
	MOVQ dst+0(FP), DI
	MOVQ x0+8(FP), SI
	MOVQ x1+16(FP), DX
	MOVQ x2+24(FP), R8
	MOVQ x3+32(FP), R9
	MOVQ a+40(FP), AX
	MOVQ n+48(FP), CX
	SHRQ $3, CX
	VBROADCASTSS (AX), Y4
	VBROADCASTSS 4(AX), Y5
	VBROADCASTSS 8(AX), Y6
	VBROADCASTSS 12(AX), Y7

axpyloop:
	VMOVUPS (DI), Y0
	VFMADD231PS (SI), Y4, Y0
	VFMADD231PS (DX), Y5, Y0
	VFMADD231PS (R8), Y6, Y0
	VFMADD231PS (R9), Y7, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, DI
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, R8
	ADDQ $32, R9
	DECQ CX
	JNZ  axpyloop
	VZEROUPPER
	RET

// func adamAVX2(w, grad, m, v *float32, c *[8]float32, n int)
//
// One Adam step on n floats (a positive multiple of 8), c = {beta1,
// 1−beta1, beta2, 1−beta2, lr, eps, l2}:
//   gg = g + l2·w; m = beta1·m + (1−beta1)·gg; v = beta2·v + (1−beta2)·gg²;
//   w −= lr·m / (√v + eps).
TEXT ·adamAVX2(SB), NOSPLIT, $0-48
	MOVQ w+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ m+16(FP), DX
	MOVQ v+24(FP), R8
	MOVQ c+32(FP), AX
	MOVQ n+40(FP), CX
	SHRQ $3, CX
	VBROADCASTSS (AX), Y8   // beta1
	VBROADCASTSS 4(AX), Y9  // 1 − beta1
	VBROADCASTSS 8(AX), Y10 // beta2
	VBROADCASTSS 12(AX), Y11 // 1 − beta2
	VBROADCASTSS 16(AX), Y12 // lr
	VBROADCASTSS 20(AX), Y13 // eps
	VBROADCASTSS 24(AX), Y14 // l2

adamloop:
	VMOVUPS (DI), Y0             // w
	VMOVUPS (SI), Y1             // g
	VFMADD231PS Y14, Y0, Y1      // gg = g + w·l2
	VMULPS Y9, Y1, Y2            // (1−beta1)·gg
	VFMADD231PS (DX), Y8, Y2     // m = beta1·m + (1−beta1)·gg
	VMULPS Y1, Y1, Y3            // gg²
	VMULPS Y11, Y3, Y3           // (1−beta2)·gg²
	VFMADD231PS (R8), Y10, Y3    // v = beta2·v + (1−beta2)·gg²
	VMOVUPS Y2, (DX)
	VMOVUPS Y3, (R8)
	VSQRTPS Y3, Y3
	VADDPS Y13, Y3, Y3           // √v + eps
	VMULPS Y12, Y2, Y2           // lr·m
	VDIVPS Y3, Y2, Y2            // lr·m / (√v + eps)
	VSUBPS Y2, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, DI
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, R8
	DECQ CX
	JNZ  adamloop
	VZEROUPPER
	RET
