//go:build arm64 && !purego

#include "textflag.h"

// func dwRow8(dst *float32, src *float32, w *float32, bias *float32, n int, cs int, rs int, step int, lo, hi float32)
//
// Eight channels of n consecutive output pixels of a 3×3 depthwise
// convolution, NEON (the arm64 twin of depthwise_amd64.s; WORDs as in
// gemm_arm64.s). src points at the window's top-left input pixel (first
// of the eight channels) of the first output pixel; cs is the byte
// distance between neighbouring pixels (channels×4), rs between input
// rows, step the input advance per output pixel (stride×cs). w points at
// tap 0 of the eight channels in the [9][channels] weights. The nine
// taps' weights stay in V0–V17, the bias in V18–V19, the clamp bounds in
// V20–V21; taps alternate between two accumulator pairs. n ≥ 0.
TEXT ·dwRow8(SB), NOSPLIT, $0-72
	MOVD dst+0(FP), R0
	MOVD src+8(FP), R1
	MOVD w+16(FP), R2
	MOVD bias+24(FP), R3
	MOVD n+32(FP), R4
	MOVD cs+40(FP), R5
	MOVD rs+48(FP), R6
	MOVD step+56(FP), R7
	FMOVS lo+64(FP), F20
	FMOVS hi+68(FP), F21
	WORD $0x4e040694 // dup v20.4s, v20.s[0]
	WORD $0x4e0406b5 // dup v21.4s, v21.s[0]
	WORD $0x4c40a840 // ld1 {v0.4s, v1.4s}, [x2]
	ADD  R5, R2, R2
	WORD $0x4c40a842 // ld1 {v2.4s, v3.4s}, [x2]
	ADD  R5, R2, R2
	WORD $0x4c40a844 // ld1 {v4.4s, v5.4s}, [x2]
	ADD  R5, R2, R2
	WORD $0x4c40a846 // ld1 {v6.4s, v7.4s}, [x2]
	ADD  R5, R2, R2
	WORD $0x4c40a848 // ld1 {v8.4s, v9.4s}, [x2]
	ADD  R5, R2, R2
	WORD $0x4c40a84a // ld1 {v10.4s, v11.4s}, [x2]
	ADD  R5, R2, R2
	WORD $0x4c40a84c // ld1 {v12.4s, v13.4s}, [x2]
	ADD  R5, R2, R2
	WORD $0x4c40a84e // ld1 {v14.4s, v15.4s}, [x2]
	ADD  R5, R2, R2
	WORD $0x4c40a850 // ld1 {v16.4s, v17.4s}, [x2]
	WORD $0x4c40a872 // ld1 {v18.4s, v19.4s}, [x3]
	CBZ  R4, done

loop:
	ADD  R6, R1, R9
	ADD  R6, R9, R10
	ADD  R5, R1, R11
	ADD  R5, R9, R12
	ADD  R5, R10, R13
	WORD $0x4eb21e56 // mov v22.16b, v18.16b
	WORD $0x4eb31e77 // mov v23.16b, v19.16b
	WORD $0x6f00e418 // movi v24.2d, #0
	WORD $0x6f00e419 // movi v25.2d, #0
	WORD $0x4c40a83a // ld1 {v26.4s, v27.4s}, [x1]
	WORD $0x4cc5a97c // ld1 {v28.4s, v29.4s}, [x11], x5
	WORD $0x4c40a97e // ld1 {v30.4s, v31.4s}, [x11]
	WORD $0x4e20cf56 // fmla v22.4s, v26.4s, v0.4s
	WORD $0x4e21cf77 // fmla v23.4s, v27.4s, v1.4s
	WORD $0x4e22cf98 // fmla v24.4s, v28.4s, v2.4s
	WORD $0x4e23cfb9 // fmla v25.4s, v29.4s, v3.4s
	WORD $0x4e24cfd6 // fmla v22.4s, v30.4s, v4.4s
	WORD $0x4e25cff7 // fmla v23.4s, v31.4s, v5.4s
	WORD $0x4c40a93a // ld1 {v26.4s, v27.4s}, [x9]
	WORD $0x4cc5a99c // ld1 {v28.4s, v29.4s}, [x12], x5
	WORD $0x4c40a99e // ld1 {v30.4s, v31.4s}, [x12]
	WORD $0x4e26cf58 // fmla v24.4s, v26.4s, v6.4s
	WORD $0x4e27cf79 // fmla v25.4s, v27.4s, v7.4s
	WORD $0x4e28cf96 // fmla v22.4s, v28.4s, v8.4s
	WORD $0x4e29cfb7 // fmla v23.4s, v29.4s, v9.4s
	WORD $0x4e2acfd8 // fmla v24.4s, v30.4s, v10.4s
	WORD $0x4e2bcff9 // fmla v25.4s, v31.4s, v11.4s
	WORD $0x4c40a95a // ld1 {v26.4s, v27.4s}, [x10]
	WORD $0x4cc5a9bc // ld1 {v28.4s, v29.4s}, [x13], x5
	WORD $0x4c40a9be // ld1 {v30.4s, v31.4s}, [x13]
	WORD $0x4e2ccf56 // fmla v22.4s, v26.4s, v12.4s
	WORD $0x4e2dcf77 // fmla v23.4s, v27.4s, v13.4s
	WORD $0x4e2ecf98 // fmla v24.4s, v28.4s, v14.4s
	WORD $0x4e2fcfb9 // fmla v25.4s, v29.4s, v15.4s
	WORD $0x4e30cfd6 // fmla v22.4s, v30.4s, v16.4s
	WORD $0x4e31cff7 // fmla v23.4s, v31.4s, v17.4s
	WORD $0x4e38d6d6 // fadd v22.4s, v22.4s, v24.4s
	WORD $0x4e39d6f7 // fadd v23.4s, v23.4s, v25.4s
	WORD $0x4e34f6d6 // fmax v22.4s, v22.4s, v20.4s
	WORD $0x4e34f6f7 // fmax v23.4s, v23.4s, v20.4s
	WORD $0x4eb5f6d6 // fmin v22.4s, v22.4s, v21.4s
	WORD $0x4eb5f6f7 // fmin v23.4s, v23.4s, v21.4s
	WORD $0x4c85a816 // st1 {v22.4s, v23.4s}, [x0], x5
	ADD  R7, R1, R1
	SUBS $1, R4, R4
	BNE  loop

done:
	RET
