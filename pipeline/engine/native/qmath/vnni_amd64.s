//go:build amd64 && !purego

#include "textflag.h"

// ROW requantizes accumulator row r (register Zr) as fp32Quant does, with
// the GEMM's zero-point correction, and stores its bytes through the row's
// output pointer under the column mask K1:
// out[j] = (clamp(round((acc - zw·rowSum + bf)·scale), lo, hi) + zero) ^ flip.
#define ROW(r, Zr) \
	VPBROADCASTD (64+4*r)(AX), Z16; \
	VPMULLD Z8, Z16, Z16; \
	VPSUBD Z16, Zr, Zr; \
	VPADDD Z9, Zr, Zr; \
	VCVTDQ2PS Zr, Zr; \
	VMULPS Z10, Zr, Zr; \
	VMAXPS Z12, Zr, Zr; \
	VMINPS Z13, Zr, Zr; \
	VADDPS Z15, Zr, Zr; \
	VPSUBD Z15, Zr, Zr; \
	VPADDD Z11, Zr, Zr; \
	VPXORD Z14, Zr, Zr; \
	MOVQ (8*r)(AX), DX; \
	VPMOVDB Zr, K1, (DX)

// func quad4x16asm(t *quadTile, w *int8, quads int)
//
// One 4-pixel × 16-channel tile of the integer GEMM with AVX512-VNNI:
// each VPDPBUSD adds, per channel, four products of unsigned input bytes
// (broadcast from a row) and signed weight bytes (one 64-byte line per
// four steps of the dot product), then the tile is requantized and stored
// as bytes. quads ≥ 1.
TEXT ·quad4x16asm(SB), NOSPLIT, $0-24
	MOVQ t+0(FP), AX
	MOVQ w+8(FP), SI
	MOVQ quads+16(FP), CX
	MOVQ 32(AX), R8
	MOVQ 40(AX), R9
	MOVQ 48(AX), R10
	MOVQ 56(AX), R11
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3

loop:
	VMOVDQU32 (SI), Z4
	VPBROADCASTD (R8), Z5
	VPDPBUSD Z4, Z5, Z0
	VPBROADCASTD (R9), Z6
	VPDPBUSD Z4, Z6, Z1
	VPBROADCASTD (R10), Z7
	VPDPBUSD Z4, Z7, Z2
	VPBROADCASTD (R11), Z5
	VPDPBUSD Z4, Z5, Z3
	ADDQ $64, SI
	ADDQ $4, R8
	ADDQ $4, R9
	ADDQ $4, R10
	ADDQ $4, R11
	DECQ CX
	JNZ  loop

	MOVQ 80(AX), DX
	VMOVDQU32 (DX), Z8   // zw - 128
	MOVQ 88(AX), DX
	VMOVDQU32 (DX), Z9   // folded bias
	MOVQ 96(AX), DX
	VMOVUPS (DX), Z10    // scale
	VPBROADCASTD 104(AX), Z11 // zero
	VBROADCASTSS 108(AX), Z12 // lo - zero
	VBROADCASTSS 112(AX), Z13 // hi - zero
	VPBROADCASTD 116(AX), Z14 // flip
	MOVL $0x4B400000, DX
	VPBROADCASTD DX, Z15      // magic 1.5·2^23 (its bits, as float or int)
	MOVL 120(AX), DX
	KMOVW DX, K1              // columns to store
	ROW(0, Z0)
	ROW(1, Z1)
	ROW(2, Z2)
	ROW(3, Z3)
	VZEROUPPER
	RET
