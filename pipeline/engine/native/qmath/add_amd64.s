//go:build amd64 && !purego

#include "textflag.h"

// ADDV is the body of addVecU8 and addVecI8: eight elements at a time,
// extended to int32 (EXT: VPMOVZXBD or VPMOVSXBD), acc = m1·(a-z1) +
// m2·(b-z2) + round, shifted right arithmetically, plus the output zero
// point, clamped, and the low byte of each lane stored.
#define ADDV(EXT) \
	MOVQ dst+0(FP), DI; \
	MOVQ a+8(FP), SI; \
	MOVQ b+16(FP), DX; \
	MOVQ n+24(FP), CX; \
	MOVQ p+32(FP), R8; \
	VPBROADCASTD 0(R8), Y8; \
	VPBROADCASTD 4(R8), Y9; \
	VPBROADCASTD 8(R8), Y10; \
	VPBROADCASTD 12(R8), Y11; \
	VPBROADCASTD 16(R8), Y12; \
	VPBROADCASTD 20(R8), Y13; \
	VPBROADCASTD 24(R8), Y14; \
	VPBROADCASTD 28(R8), Y15; \
	VMOVDQU 32(R8), X7; \
	VBROADCASTI128 48(R8), Y6; \
	XORQ AX, AX; \
loop: \
	EXT (SI)(AX*1), Y0; \
	EXT (DX)(AX*1), Y1; \
	VPSUBD Y8, Y0, Y0; \
	VPSUBD Y9, Y1, Y1; \
	VPMULLD Y10, Y0, Y0; \
	VPMULLD Y11, Y1, Y1; \
	VPADDD Y1, Y0, Y0; \
	VPADDD Y12, Y0, Y0; \
	VPSRAD X7, Y0, Y0; \
	VPADDD Y13, Y0, Y0; \
	VPMAXSD Y14, Y0, Y0; \
	VPMINSD Y15, Y0, Y0; \
	VPSHUFB Y6, Y0, Y0; \
	VEXTRACTI128 $1, Y0, X1; \
	VPUNPCKLDQ X1, X0, X0; \
	MOVQ X0, (DI)(AX*1); \
	ADDQ $8, AX; \
	CMPQ AX, CX; \
	JLT loop; \
	VZEROUPPER; \
	RET

// func addVecU8(dst, a, b *byte, n int, p *addVec)
TEXT ·addVecU8(SB), NOSPLIT, $0-40
	ADDV(VPMOVZXBD)

// func addVecI8(dst, a, b *byte, n int, p *addVec)
TEXT ·addVecI8(SB), NOSPLIT, $0-40
	ADDV(VPMOVSXBD)
