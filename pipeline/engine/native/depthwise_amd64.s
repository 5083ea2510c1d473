//go:build amd64 && !purego

#include "textflag.h"

// func dwRow8(dst *float32, src *float32, w *float32, bias *float32, n int, cs int, rs int, step int, lo, hi float32)
//
// Eight channels of n consecutive output pixels of a 3×3 depthwise
// convolution, AVX2+FMA. src points at the window's top-left input pixel
// (first of the eight channels) of the first output pixel; cs is the byte
// distance between neighbouring pixels (channels×4), rs between input rows,
// step the input advance per output pixel (stride×cs). w points at tap 0
// of the eight channels in the [9][channels] weights. n ≥ 0.
TEXT ·dwRow8(SB), NOSPLIT, $0-72
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ w+16(FP), AX
	MOVQ bias+24(FP), BX
	MOVQ n+32(FP), CX
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

	TESTQ CX, CX
	JZ    done

loop:
	LEAQ (SI)(R9*1), R11
	LEAQ (SI)(R9*2), R12
	VMOVAPS Y9, Y10
	VXORPS  Y11, Y11, Y11
	VFMADD231PS (SI), Y0, Y10
	VFMADD231PS (SI)(R8*1), Y1, Y11
	VFMADD231PS (SI)(R8*2), Y2, Y10
	VFMADD231PS (R11), Y3, Y11
	VFMADD231PS (R11)(R8*1), Y4, Y10
	VFMADD231PS (R11)(R8*2), Y5, Y11
	VFMADD231PS (R12), Y6, Y10
	VFMADD231PS (R12)(R8*1), Y7, Y11
	VFMADD231PS (R12)(R8*2), Y8, Y10
	VADDPS Y11, Y10, Y10
	VMAXPS Y14, Y10, Y10
	VMINPS Y15, Y10, Y10
	VMOVUPS Y10, (DI)
	ADDQ R10, SI
	ADDQ R8, DI
	DECQ CX
	JNZ  loop

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
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ w+16(FP), AX
	MOVQ bias+24(FP), BX
	MOVQ groups+32(FP), CX
	MOVQ cs+48(FP), R8
	MOVQ rs+56(FP), R9
	MOVQ step+72(FP), R10
	VBROADCASTSS lo+80(FP), Y14
	VBROADCASTSS hi+84(FP), Y15
	TESTQ CX, CX
	JZ    lineDone

lineGroup:
	MOVQ    segs+40(FP), DX
	VMOVUPS (BX), Y9

lineSeg:
	MOVQ  0(DX), R13
	TESTQ R13, R13
	JZ    lineNext
	MOVQ  8(DX), R11
	ADDQ  SI, R11
	MOVQ  16(DX), R12
	ADDQ  DI, R12
	MOVQ  24(DX), R14
	ADDQ  AX, R14
	VMOVUPS (R14), Y0
	VMOVUPS (R14)(R8*1), Y1
	VMOVUPS (R14)(R8*2), Y2
	ADDQ    wrs+64(FP), R14
	VMOVUPS (R14), Y3
	VMOVUPS (R14)(R8*1), Y4
	VMOVUPS (R14)(R8*2), Y5
	ADDQ    wrs+64(FP), R14
	VMOVUPS (R14), Y6
	VMOVUPS (R14)(R8*1), Y7
	VMOVUPS (R14)(R8*2), Y8

linePixel:
	LEAQ (R11)(R9*1), R14
	LEAQ (R11)(R9*2), R15
	VMOVAPS Y9, Y10
	VXORPS  Y11, Y11, Y11
	VFMADD231PS (R11), Y0, Y10
	VFMADD231PS (R11)(R8*1), Y1, Y11
	VFMADD231PS (R11)(R8*2), Y2, Y10
	VFMADD231PS (R14), Y3, Y11
	VFMADD231PS (R14)(R8*1), Y4, Y10
	VFMADD231PS (R14)(R8*2), Y5, Y11
	VFMADD231PS (R15), Y6, Y10
	VFMADD231PS (R15)(R8*1), Y7, Y11
	VFMADD231PS (R15)(R8*2), Y8, Y10
	VADDPS Y11, Y10, Y10
	VMAXPS Y14, Y10, Y10
	VMINPS Y15, Y10, Y10
	VMOVUPS Y10, (R12)
	ADDQ R10, R11
	ADDQ R8, R12
	DECQ R13
	JNZ  linePixel
	ADDQ $32, DX
	JMP  lineSeg

lineNext:
	ADDQ $32, DI
	ADDQ $32, SI
	ADDQ $32, AX
	ADDQ $32, BX
	DECQ CX
	JNZ  lineGroup

lineDone:
	VZEROUPPER
	RET

// func dwLine16(dst *float32, src *float32, w *float32, bias *float32, groups int, segs *dwSeg, cs int, rs int, wrs int, step int, lo, hi float32)
//
// dwLine8 with blocks of sixteen channels, AVX-512F: groups blocks of
// sixteen, each summed lane by lane exactly as dwLine8 sums its eight.
TEXT ·dwLine16(SB), NOSPLIT, $0-88
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ w+16(FP), AX
	MOVQ bias+24(FP), BX
	MOVQ groups+32(FP), CX
	MOVQ cs+48(FP), R8
	MOVQ rs+56(FP), R9
	MOVQ step+72(FP), R10
	VBROADCASTSS lo+80(FP), Z16
	VBROADCASTSS hi+84(FP), Z17
	TESTQ CX, CX
	JZ    wideDone

wideGroup:
	MOVQ    segs+40(FP), DX
	VMOVUPS (BX), Z9

wideSeg:
	MOVQ  0(DX), R13
	TESTQ R13, R13
	JZ    wideNext
	MOVQ  8(DX), R11
	ADDQ  SI, R11
	MOVQ  16(DX), R12
	ADDQ  DI, R12
	MOVQ  24(DX), R14
	ADDQ  AX, R14
	VMOVUPS (R14), Z0
	VMOVUPS (R14)(R8*1), Z1
	VMOVUPS (R14)(R8*2), Z2
	ADDQ    wrs+64(FP), R14
	VMOVUPS (R14), Z3
	VMOVUPS (R14)(R8*1), Z4
	VMOVUPS (R14)(R8*2), Z5
	ADDQ    wrs+64(FP), R14
	VMOVUPS (R14), Z6
	VMOVUPS (R14)(R8*1), Z7
	VMOVUPS (R14)(R8*2), Z8

widePixel:
	LEAQ (R11)(R9*1), R14
	LEAQ (R11)(R9*2), R15
	VMOVAPS Z9, Z10
	VPXORD  Z11, Z11, Z11
	VFMADD231PS (R11), Z0, Z10
	VFMADD231PS (R11)(R8*1), Z1, Z11
	VFMADD231PS (R11)(R8*2), Z2, Z10
	VFMADD231PS (R14), Z3, Z11
	VFMADD231PS (R14)(R8*1), Z4, Z10
	VFMADD231PS (R14)(R8*2), Z5, Z11
	VFMADD231PS (R15), Z6, Z10
	VFMADD231PS (R15)(R8*1), Z7, Z11
	VFMADD231PS (R15)(R8*2), Z8, Z10
	VADDPS Z11, Z10, Z10
	VMAXPS Z16, Z10, Z10
	VMINPS Z17, Z10, Z10
	VMOVUPS Z10, (R12)
	ADDQ R10, R11
	ADDQ R8, R12
	DECQ R13
	JNZ  widePixel
	ADDQ $32, DX
	JMP  wideSeg

wideNext:
	ADDQ $64, DI
	ADDQ $64, SI
	ADDQ $64, AX
	ADDQ $64, BX
	DECQ CX
	JNZ  wideGroup

wideDone:
	VZEROUPPER
	RET
