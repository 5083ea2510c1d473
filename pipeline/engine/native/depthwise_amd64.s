//go:build amd64 && !purego

#include "textflag.h"

// DW9PIXELS sums one block of channels of R13 (≥ 1) output pixels of a
// 3×3 depthwise convolution: the first pixel's window at R11 (input rows
// R9 bytes apart, pixels R8), each further one R10 bytes on; the outputs
// from R12 on, R8 bytes apart. V0–V8 hold the nine weights, VB the bias;
// the taps alternate between the partial sums VA and VC, which are added
// and clamped to [VLO, VHI]. ZERO clears a vector register (VXORPS on Z
// registers needs AVX512DQ: the Z form takes VPXORD). dwRow8, dwLine8 and
// dwLine16 all sum through it, so they give the same bits lane by lane.
// Clobbers R11–R15.
#define DW9PIXELS(V0, V1, V2, V3, V4, V5, V6, V7, V8, VB, VA, VC, VLO, VHI, ZERO) \
pixel: \
	LEAQ (R11)(R9*1), R14; \
	LEAQ (R11)(R9*2), R15; \
	VMOVAPS VB, VA; \
	ZERO    VC, VC, VC; \
	VFMADD231PS (R11), V0, VA; \
	VFMADD231PS (R11)(R8*1), V1, VC; \
	VFMADD231PS (R11)(R8*2), V2, VA; \
	VFMADD231PS (R14), V3, VC; \
	VFMADD231PS (R14)(R8*1), V4, VA; \
	VFMADD231PS (R14)(R8*2), V5, VC; \
	VFMADD231PS (R15), V6, VA; \
	VFMADD231PS (R15)(R8*1), V7, VC; \
	VFMADD231PS (R15)(R8*2), V8, VA; \
	VADDPS VC, VA, VA; \
	VMAXPS VLO, VA, VA; \
	VMINPS VHI, VA, VA; \
	VMOVUPS VA, (R12); \
	ADDQ R10, R11; \
	ADDQ R8, R12; \
	DECQ R13; \
	JNZ  pixel

// DWLINE is the body of dwLine8 and dwLine16, which differ only in their
// vector registers: V0–V8 hold a segment's nine weights, VB the block's
// bias, VA and VC the two partial sums, VLO and VHI the clamp bounds,
// ZERO clears a vector register (see DW9PIXELS); BLK is a block's bytes.
#define DWLINE(V0, V1, V2, V3, V4, V5, V6, V7, V8, VB, VA, VC, VLO, VHI, ZERO, BLK) \
	MOVQ dst+0(FP), DI; \
	MOVQ src+8(FP), SI; \
	MOVQ w+16(FP), AX; \
	MOVQ bias+24(FP), BX; \
	MOVQ groups+32(FP), CX; \
	MOVQ cs+48(FP), R8; \
	MOVQ rs+56(FP), R9; \
	MOVQ step+72(FP), R10; \
	VBROADCASTSS lo+80(FP), VLO; \
	VBROADCASTSS hi+84(FP), VHI; \
	TESTQ CX, CX; \
	JZ    done; \
group: \
	MOVQ    segs+40(FP), DX; \
	VMOVUPS (BX), VB; \
seg: \
	MOVQ  0(DX), R13; \
	TESTQ R13, R13; \
	JZ    next; \
	MOVQ  8(DX), R11; \
	ADDQ  SI, R11; \
	MOVQ  16(DX), R12; \
	ADDQ  DI, R12; \
	MOVQ  24(DX), R14; \
	ADDQ  AX, R14; \
	VMOVUPS (R14), V0; \
	VMOVUPS (R14)(R8*1), V1; \
	VMOVUPS (R14)(R8*2), V2; \
	ADDQ    wrs+64(FP), R14; \
	VMOVUPS (R14), V3; \
	VMOVUPS (R14)(R8*1), V4; \
	VMOVUPS (R14)(R8*2), V5; \
	ADDQ    wrs+64(FP), R14; \
	VMOVUPS (R14), V6; \
	VMOVUPS (R14)(R8*1), V7; \
	VMOVUPS (R14)(R8*2), V8; \
	DW9PIXELS(V0, V1, V2, V3, V4, V5, V6, V7, V8, VB, VA, VC, VLO, VHI, ZERO); \
	ADDQ $32, DX; \
	JMP  seg; \
next: \
	ADDQ BLK, DI; \
	ADDQ BLK, SI; \
	ADDQ BLK, AX; \
	ADDQ BLK, BX; \
	DECQ CX; \
	JNZ  group; \
done: \
	VZEROUPPER; \
	RET

// func dwRow8(dst *float32, src *float32, w *float32, bias *float32, n int, cs int, rs int, step int, lo, hi float32)
//
// Eight channels of n consecutive output pixels of a 3×3 depthwise
// convolution, AVX2+FMA. src points at the window's top-left input pixel
// (first of the eight channels) of the first output pixel; cs is the byte
// distance between neighbouring pixels (channels×4), rs between input rows,
// step the input advance per output pixel (stride×cs). w points at tap 0
// of the eight channels in the [9][channels] weights. n ≥ 0.
TEXT ·dwRow8(SB), NOSPLIT, $0-72
	MOVQ dst+0(FP), R12
	MOVQ src+8(FP), R11
	MOVQ w+16(FP), AX
	MOVQ bias+24(FP), BX
	MOVQ n+32(FP), R13
	MOVQ cs+40(FP), R8
	MOVQ rs+48(FP), R9
	MOVQ step+56(FP), R10
	VBROADCASTSS lo+64(FP), Y14
	VBROADCASTSS hi+68(FP), Y15

	VMOVUPS (AX), Y0
	VMOVUPS (AX)(R8*1), Y1
	VMOVUPS (AX)(R8*2), Y2
	LEAQ (AX)(R8*2), AX
	ADDQ R8, AX
	VMOVUPS (AX), Y3
	VMOVUPS (AX)(R8*1), Y4
	VMOVUPS (AX)(R8*2), Y5
	LEAQ (AX)(R8*2), AX
	ADDQ R8, AX
	VMOVUPS (AX), Y6
	VMOVUPS (AX)(R8*1), Y7
	VMOVUPS (AX)(R8*2), Y8
	VMOVUPS (BX), Y9

	TESTQ R13, R13
	JZ    done
	DW9PIXELS(Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y9, Y10, Y11, Y14, Y15, VXORPS)

done:
	VZEROUPPER
	RET

// func dwLine8(dst *float32, src *float32, w *float32, bias *float32, groups int, segs *dwSeg, cs int, rs int, wrs int, step int, lo, hi float32)
//
// groups blocks of eight channels of one output line of a 3×3 depthwise
// convolution, AVX2+FMA, border pixels included. dst, src, w and bias
// point at the first block's channels: dst at the line's first output
// pixel, src at the first of the three input rows the line's windows lie
// in, w at the padded weights ([5][5][channels], the 3×3 taps in the
// middle, zeros around; row stride wrs bytes) moved to the line's row
// shift. The line is the run of segments at segs, ended by one with n = 0:
// n output pixels from byte offset dst of dst, the first window at byte
// offset src of src and each further one step bytes on, weighted from
// byte offset w of w (the column shift). Each block sums its taps in the
// order dwRow8 does, so both give the same bits.
TEXT ·dwLine8(SB), NOSPLIT, $0-88
	DWLINE(Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y9, Y10, Y11, Y14, Y15, VXORPS, $32)

// func dwLine16(dst *float32, src *float32, w *float32, bias *float32, groups int, segs *dwSeg, cs int, rs int, wrs int, step int, lo, hi float32)
//
// dwLine8 with blocks of sixteen channels, AVX-512F: groups blocks of
// sixteen, each summed lane by lane exactly as dwLine8 sums its eight.
TEXT ·dwLine16(SB), NOSPLIT, $0-88
	DWLINE(Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z11, Z16, Z17, VPXORD, $64)
