//go:build amd64 && !purego

#include "textflag.h"

// TAP16 extends 16 input bytes of tap pointer ptr (EXT: VPMOVZXBD or
// VPMOVSXBD) at channel offset CX, multiplies them by the tap's 16 weights
// at off(R12) and adds the products to acc.
#define TAP16(EXT, ptr, off, acc) EXT (ptr)(CX*1), Z1; VPMULLD off(R12), Z1, Z1; VPADDD Z1, acc, acc

// DWQSETUP loads the nine tap pointers of x, out (R15), bias (R13),
// scale (R14) and the requantization constants (Z11–Z15).
#define DWQSETUP \
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
	MOVQ out+0(FP), R15; \
	MOVQ bias+24(FP), R13; \
	MOVQ scale+32(FP), R14; \
	MOVQ rq+40(FP), CX; \
	VPBROADCASTD 0(CX), Z11; \
	VBROADCASTSS 4(CX), Z12; \
	VBROADCASTSS 8(CX), Z13; \
	VPBROADCASTD 12(CX), Z14; \
	MOVL $0x4B400000, CX; \
	VPBROADCASTD CX, Z15

// DWQBLOCK16 is one block of 16 channels at CX: acc = bias + Σ_t x[t]·w[t]
// over the nine taps, requantized as fp32Quant does and stored as bytes
// (XOR flip) at out; then the weights (R12) and CX move to the next block.
#define DWQBLOCK16(EXT) \
	VMOVDQU32 (R13)(CX*4), Z0; \
	VPXORD Z2, Z2, Z2; \
	TAP16(EXT, AX, 0, Z0); \
	TAP16(EXT, BX, 64, Z2); \
	TAP16(EXT, DX, 128, Z0); \
	TAP16(EXT, SI, 192, Z2); \
	TAP16(EXT, DI, 256, Z0); \
	TAP16(EXT, R8, 320, Z2); \
	TAP16(EXT, R9, 384, Z0); \
	TAP16(EXT, R10, 448, Z2); \
	TAP16(EXT, R11, 512, Z0); \
	VPADDD Z2, Z0, Z0; \
	VCVTDQ2PS Z0, Z0; \
	VMULPS (R14)(CX*4), Z0, Z0; \
	VMAXPS Z12, Z0, Z0; \
	VMINPS Z13, Z0, Z0; \
	VADDPS Z15, Z0, Z0; \
	VPSUBD Z15, Z0, Z0; \
	VPADDD Z11, Z0, Z0; \
	VPXORD Z14, Z0, Z0; \
	VPMOVDB Z0, (R15)(CX*1); \
	ADDQ $576, R12; \
	ADDQ $16, CX

// DW9Q16 is the body of dw9q16u8 and dw9q16i8: every block of 16 channels
// of one output pixel (DWQBLOCK16).
#define DW9Q16(EXT) \
	DWQSETUP; \
	MOVQ w+16(FP), R12; \
	XORQ CX, CX; \
loop: \
	DWQBLOCK16(EXT); \
	CMPQ CX, n+48(FP); \
	JLT loop; \
	VZEROUPPER; \
	RET

// DW9Q16ROW is DW9Q16 over a run of output pixels: after each pixel's
// channels the nine tap pointers advance by step bytes and out by ostep.
#define DW9Q16ROW(EXT) \
	DWQSETUP; \
pixel: \
	MOVQ w+16(FP), R12; \
	XORQ CX, CX; \
block: \
	DWQBLOCK16(EXT); \
	CMPQ CX, n+48(FP); \
	JLT block; \
	MOVQ step+64(FP), R12; \
	ADDQ R12, AX; \
	ADDQ R12, BX; \
	ADDQ R12, DX; \
	ADDQ R12, SI; \
	ADDQ R12, DI; \
	ADDQ R12, R8; \
	ADDQ R12, R9; \
	ADDQ R12, R10; \
	ADDQ R12, R11; \
	ADDQ ostep+72(FP), R15; \
	DECQ pixels+56(FP); \
	JNZ pixel; \
	VZEROUPPER; \
	RET

// func dw9q16u8(out *byte, x *[9]*byte, w *int32, bias *int32, scale *float32, rq *dwRequant, n int)
TEXT ·dw9q16u8(SB), NOSPLIT, $0-56
	DW9Q16(VPMOVZXBD)

// func dw9q16i8(out *byte, x *[9]*byte, w *int32, bias *int32, scale *float32, rq *dwRequant, n int)
TEXT ·dw9q16i8(SB), NOSPLIT, $0-56
	DW9Q16(VPMOVSXBD)

// func dw9q16rowu8(out *byte, x *[9]*byte, w *int32, bias *int32, scale *float32, rq *dwRequant, n, pixels, step, ostep int)
TEXT ·dw9q16rowu8(SB), NOSPLIT, $0-80
	DW9Q16ROW(VPMOVZXBD)

// func dw9q16rowi8(out *byte, x *[9]*byte, w *int32, bias *int32, scale *float32, rq *dwRequant, n, pixels, step, ostep int)
TEXT ·dw9q16rowi8(SB), NOSPLIT, $0-80
	DW9Q16ROW(VPMOVSXBD)
