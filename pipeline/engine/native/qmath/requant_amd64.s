//go:build amd64 && !purego

#include "textflag.h"

// HALF requantizes 8 lanes at byte offset off: Y0 = acc - zw·rs + bf,
// converted to float32, times the scale, clamped to [lo, hi] (relative to
// the zero point), rounded half to even with the magic number, plus zero.
#define HALF(off) \
	VMOVDQU off(SI), Y0; \
	VPMULLD off(DX), Y15, Y1; \
	VPSUBD Y1, Y0, Y0; \
	VPADDD off(R8), Y0, Y0; \
	VCVTDQ2PS Y0, Y0; \
	VMULPS off(R9), Y0, Y0; \
	VMAXPS Y13, Y0, Y0; \
	VMINPS Y14, Y0, Y0; \
	VADDPS Y12, Y0, Y0; \
	VPSUBD Y11, Y0, Y0; \
	VPADDD Y10, Y0, Y0; \
	VMOVDQU Y0, off(DI)

// func requant16asm(dst, acc, zw, bf *int32, scale *float32, p *requantParams)
TEXT ·requant16asm(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ acc+8(FP), SI
	MOVQ zw+16(FP), DX
	MOVQ bf+24(FP), R8
	MOVQ scale+32(FP), R9
	MOVQ p+40(FP), R10
	VPBROADCASTD 0(R10), Y15  // rowSum
	VPBROADCASTD 4(R10), Y10  // zero
	VBROADCASTSS 8(R10), Y13  // lo - zero
	VBROADCASTSS 12(R10), Y14 // hi - zero
	VBROADCASTSS 16(R10), Y12 // magic 1.5·2^23
	VPBROADCASTD 20(R10), Y11 // magic bits
	HALF(0)
	HALF(32)
	VZEROUPPER
	RET
