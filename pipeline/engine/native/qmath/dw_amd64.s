//go:build amd64 && !purego

#include "textflag.h"

// TAP extends 8 input bytes at ptr to int32 (EXT is VPMOVZXBD or
// VPMOVSXBD), multiplies them by the tap's 8 weights at off(R12) and adds
// the products to Y0.
#define TAP(EXT, ptr, off) EXT (ptr), Y1; VPMULLD off(R12), Y1, Y1; VPADDD Y1, Y0, Y0

// LOAD reads the arguments: the nine row pointers (AX..R11), the weights
// (R12), the accumulators (R13) and the block count (CX).
#define LOAD \
	MOVQ x+8(FP), R13; \
	MOVQ 0(R13), AX; \
	MOVQ 8(R13), BX; \
	MOVQ 16(R13), DX; \
	MOVQ 24(R13), SI; \
	MOVQ 32(R13), DI; \
	MOVQ 40(R13), R8; \
	MOVQ 48(R13), R9; \
	MOVQ 56(R13), R10; \
	MOVQ 64(R13), R11; \
	MOVQ w+16(FP), R12; \
	MOVQ acc+0(FP), R13; \
	MOVQ blocks+24(FP), CX

// ADVANCE moves every pointer to the next block of 8 channels.
#define ADVANCE \
	ADDQ $8, AX; \
	ADDQ $8, BX; \
	ADDQ $8, DX; \
	ADDQ $8, SI; \
	ADDQ $8, DI; \
	ADDQ $8, R8; \
	ADDQ $8, R9; \
	ADDQ $8, R10; \
	ADDQ $8, R11; \
	ADDQ $288, R12; \
	ADDQ $32, R13

// func dw9u8(acc *int32, x *[9]*byte, w *int32, blocks int)
TEXT ·dw9u8(SB), NOSPLIT, $0-32
	LOAD
	TESTQ CX, CX
	JE done
loop:
	VMOVDQU (R13), Y0
	TAP(VPMOVZXBD, AX, 0)
	TAP(VPMOVZXBD, BX, 32)
	TAP(VPMOVZXBD, DX, 64)
	TAP(VPMOVZXBD, SI, 96)
	TAP(VPMOVZXBD, DI, 128)
	TAP(VPMOVZXBD, R8, 160)
	TAP(VPMOVZXBD, R9, 192)
	TAP(VPMOVZXBD, R10, 224)
	TAP(VPMOVZXBD, R11, 256)
	VMOVDQU Y0, (R13)
	ADVANCE
	DECQ CX
	JNZ loop
done:
	VZEROUPPER
	RET

// func dw9i8(acc *int32, x *[9]*byte, w *int32, blocks int)
TEXT ·dw9i8(SB), NOSPLIT, $0-32
	LOAD
	TESTQ CX, CX
	JE done
loop:
	VMOVDQU (R13), Y0
	TAP(VPMOVSXBD, AX, 0)
	TAP(VPMOVSXBD, BX, 32)
	TAP(VPMOVSXBD, DX, 64)
	TAP(VPMOVSXBD, SI, 96)
	TAP(VPMOVSXBD, DI, 128)
	TAP(VPMOVSXBD, R8, 160)
	TAP(VPMOVSXBD, R9, 192)
	TAP(VPMOVSXBD, R10, 224)
	TAP(VPMOVSXBD, R11, 256)
	VMOVDQU Y0, (R13)
	ADVANCE
	DECQ CX
	JNZ loop
done:
	VZEROUPPER
	RET
