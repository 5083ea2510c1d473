//go:build amd64 && !purego

#include "textflag.h"

// ROW requantizes accumulator row r (register Zr) as fp32Quant does, with
// the GEMM's zero-point correction, and stores its bytes through the row's
// output pointer plus R13 under the column mask K1:
// out[j] = (clamp(round((acc - zw·rowSum + bf)·scale), lo, hi) + zero) ^ flip.
// Z11 holds zero + flip - 0x4B400000: the float's bits after adding the
// magic number 1.5·2^23 are 0x4B400000 + the rounded value, and a flip of
// 0x80 changes the low byte as adding 0x80 does.
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
	VPADDD Z11, Zr, Zr; \
	MOVQ (8*r)(AX), DX; \
	VPMOVDB Zr, K1, (DX)(R13*1)

// func quad4x16asm(t *quadTile, w *int8, quads, groups int)
//
// groups consecutive 4-pixel × 16-channel tiles of the integer GEMM with
// AVX512-VNNI: each VPDPBUSD adds, per channel, four products of unsigned
// input bytes (broadcast from a row) and signed weight bytes (one 64-byte
// line per four steps of the dot product; the groups' panels follow each
// other), then the tile is requantized and stored as bytes, 16 channels
// further on for each group. The last group stores the columns of t.mask,
// the others all 16. quads ≥ 1, groups ≥ 1.
TEXT ·quad4x16asm(SB), NOSPLIT, $0-32
	MOVQ t+0(FP), AX
	MOVQ w+8(FP), SI
	MOVQ quads+16(FP), DI
	SHLQ $2, DI               // bytes of each row
	MOVQ groups+24(FP), R12
	XORQ R13, R13             // channel offset of the group
	VPBROADCASTD 104(AX), Z11 // zero
	VPBROADCASTD 116(AX), Z14 // flip
	VPADDD Z14, Z11, Z11
	MOVL $0x4B400000, DX
	VPBROADCASTD DX, Z15      // magic 1.5·2^23 (its bits, as float or int)
	VPSUBD Z15, Z11, Z11      // zero + flip - magic bits
	VBROADCASTSS 108(AX), Z12 // lo - zero
	VBROADCASTSS 112(AX), Z13 // hi - zero
	MOVQ 32(AX), R8
	MOVQ 40(AX), R9
	MOVQ 48(AX), R10
	MOVQ 56(AX), R11
	MOVL $0xFFFF, DX
	KMOVW DX, K1

group:
	CMPQ R12, $1
	JNE  full
	MOVL 120(AX), DX
	KMOVW DX, K1              // columns to store

full:
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	XORQ CX, CX

loop:
	VMOVDQU32 (SI), Z4
	VPBROADCASTD (R8)(CX*1), Z5
	VPDPBUSD Z4, Z5, Z0
	VPBROADCASTD (R9)(CX*1), Z6
	VPDPBUSD Z4, Z6, Z1
	VPBROADCASTD (R10)(CX*1), Z7
	VPDPBUSD Z4, Z7, Z2
	VPBROADCASTD (R11)(CX*1), Z5
	VPDPBUSD Z4, Z5, Z3
	ADDQ $64, SI
	ADDQ $4, CX
	CMPQ CX, DI
	JLT  loop

	MOVQ 80(AX), DX
	VMOVDQU32 (DX)(R13*4), Z8 // zw - 128
	MOVQ 88(AX), DX
	VMOVDQU32 (DX)(R13*4), Z9 // folded bias
	MOVQ 96(AX), DX
	VMOVUPS (DX)(R13*4), Z10  // scale
	ROW(0, Z0)
	ROW(1, Z1)
	ROW(2, Z2)
	ROW(3, Z3)
	ADDQ $16, R13
	DECQ R12
	JNZ  group
	VZEROUPPER
	RET
