//go:build arm64 && !purego

#include "textflag.h"

// NEON float GEMM tiles. Go's assembler has no FMLA by element, FMAX or
// FMIN on vectors: those instructions are WORDs whose comment is the
// source (go run ./pipeline/engine/native/neongen gemm_arm64.s re-encodes
// them with llvm-mc). Go's Rn is xn; every vector register is free in
// ABI0 assembly.

// func kernel8x8(c *float32, ldc int, a *float32, lda int, panel *float32, bias *float32, k int, lo, hi float32)
//
// One 8×8 tile of c = clamp(a·panel + bias, lo, hi): sixteen accumulators
// V16–V31 (two per row). The main loop takes four steps of the dot
// product at once: one 4-float load per row of a (V0–V7) and four panel
// rows (V8–V15), then 64 FMLAs by element. k ≥ 1; ldc and lda count
// floats.
TEXT ·kernel8x8(SB), NOSPLIT, $0-64
	MOVD c+0(FP), R0
	MOVD ldc+8(FP), R1
	MOVD a+16(FP), R2
	MOVD lda+24(FP), R14
	MOVD panel+32(FP), R10
	MOVD bias+40(FP), R11
	MOVD k+48(FP), R12
	LSL  $2, R1, R1
	LSL  $2, R14, R14
	ADD  R14, R2, R3
	ADD  R14, R3, R4
	ADD  R14, R4, R5
	ADD  R14, R5, R6
	ADD  R14, R6, R7
	ADD  R14, R7, R8
	ADD  R14, R8, R9
	WORD $0x4c40a970 // ld1 {v16.4s, v17.4s}, [x11]
	WORD $0x4eb01e12 // mov v18.16b, v16.16b
	WORD $0x4eb11e33 // mov v19.16b, v17.16b
	WORD $0x4eb01e14 // mov v20.16b, v16.16b
	WORD $0x4eb11e35 // mov v21.16b, v17.16b
	WORD $0x4eb01e16 // mov v22.16b, v16.16b
	WORD $0x4eb11e37 // mov v23.16b, v17.16b
	WORD $0x4eb01e18 // mov v24.16b, v16.16b
	WORD $0x4eb11e39 // mov v25.16b, v17.16b
	WORD $0x4eb01e1a // mov v26.16b, v16.16b
	WORD $0x4eb11e3b // mov v27.16b, v17.16b
	WORD $0x4eb01e1c // mov v28.16b, v16.16b
	WORD $0x4eb11e3d // mov v29.16b, v17.16b
	WORD $0x4eb01e1e // mov v30.16b, v16.16b
	WORD $0x4eb11e3f // mov v31.16b, v17.16b
	LSR  $2, R12, R13
	AND  $3, R12, R12
	CBZ  R13, tail

loop4:
	WORD $0x4cdf7840 // ld1 {v0.4s}, [x2], #16
	WORD $0x4cdf7861 // ld1 {v1.4s}, [x3], #16
	WORD $0x4cdf7882 // ld1 {v2.4s}, [x4], #16
	WORD $0x4cdf78a3 // ld1 {v3.4s}, [x5], #16
	WORD $0x4cdf78c4 // ld1 {v4.4s}, [x6], #16
	WORD $0x4cdf78e5 // ld1 {v5.4s}, [x7], #16
	WORD $0x4cdf7906 // ld1 {v6.4s}, [x8], #16
	WORD $0x4cdf7927 // ld1 {v7.4s}, [x9], #16
	WORD $0x4cdf2948 // ld1 {v8.4s, v9.4s, v10.4s, v11.4s}, [x10], #64
	WORD $0x4cdf294c // ld1 {v12.4s, v13.4s, v14.4s, v15.4s}, [x10], #64
	WORD $0x4f801110 // fmla v16.4s, v8.4s, v0.s[0]
	WORD $0x4f801131 // fmla v17.4s, v9.4s, v0.s[0]
	WORD $0x4f811112 // fmla v18.4s, v8.4s, v1.s[0]
	WORD $0x4f811133 // fmla v19.4s, v9.4s, v1.s[0]
	WORD $0x4f821114 // fmla v20.4s, v8.4s, v2.s[0]
	WORD $0x4f821135 // fmla v21.4s, v9.4s, v2.s[0]
	WORD $0x4f831116 // fmla v22.4s, v8.4s, v3.s[0]
	WORD $0x4f831137 // fmla v23.4s, v9.4s, v3.s[0]
	WORD $0x4f841118 // fmla v24.4s, v8.4s, v4.s[0]
	WORD $0x4f841139 // fmla v25.4s, v9.4s, v4.s[0]
	WORD $0x4f85111a // fmla v26.4s, v8.4s, v5.s[0]
	WORD $0x4f85113b // fmla v27.4s, v9.4s, v5.s[0]
	WORD $0x4f86111c // fmla v28.4s, v8.4s, v6.s[0]
	WORD $0x4f86113d // fmla v29.4s, v9.4s, v6.s[0]
	WORD $0x4f87111e // fmla v30.4s, v8.4s, v7.s[0]
	WORD $0x4f87113f // fmla v31.4s, v9.4s, v7.s[0]
	WORD $0x4fa01150 // fmla v16.4s, v10.4s, v0.s[1]
	WORD $0x4fa01171 // fmla v17.4s, v11.4s, v0.s[1]
	WORD $0x4fa11152 // fmla v18.4s, v10.4s, v1.s[1]
	WORD $0x4fa11173 // fmla v19.4s, v11.4s, v1.s[1]
	WORD $0x4fa21154 // fmla v20.4s, v10.4s, v2.s[1]
	WORD $0x4fa21175 // fmla v21.4s, v11.4s, v2.s[1]
	WORD $0x4fa31156 // fmla v22.4s, v10.4s, v3.s[1]
	WORD $0x4fa31177 // fmla v23.4s, v11.4s, v3.s[1]
	WORD $0x4fa41158 // fmla v24.4s, v10.4s, v4.s[1]
	WORD $0x4fa41179 // fmla v25.4s, v11.4s, v4.s[1]
	WORD $0x4fa5115a // fmla v26.4s, v10.4s, v5.s[1]
	WORD $0x4fa5117b // fmla v27.4s, v11.4s, v5.s[1]
	WORD $0x4fa6115c // fmla v28.4s, v10.4s, v6.s[1]
	WORD $0x4fa6117d // fmla v29.4s, v11.4s, v6.s[1]
	WORD $0x4fa7115e // fmla v30.4s, v10.4s, v7.s[1]
	WORD $0x4fa7117f // fmla v31.4s, v11.4s, v7.s[1]
	WORD $0x4f801990 // fmla v16.4s, v12.4s, v0.s[2]
	WORD $0x4f8019b1 // fmla v17.4s, v13.4s, v0.s[2]
	WORD $0x4f811992 // fmla v18.4s, v12.4s, v1.s[2]
	WORD $0x4f8119b3 // fmla v19.4s, v13.4s, v1.s[2]
	WORD $0x4f821994 // fmla v20.4s, v12.4s, v2.s[2]
	WORD $0x4f8219b5 // fmla v21.4s, v13.4s, v2.s[2]
	WORD $0x4f831996 // fmla v22.4s, v12.4s, v3.s[2]
	WORD $0x4f8319b7 // fmla v23.4s, v13.4s, v3.s[2]
	WORD $0x4f841998 // fmla v24.4s, v12.4s, v4.s[2]
	WORD $0x4f8419b9 // fmla v25.4s, v13.4s, v4.s[2]
	WORD $0x4f85199a // fmla v26.4s, v12.4s, v5.s[2]
	WORD $0x4f8519bb // fmla v27.4s, v13.4s, v5.s[2]
	WORD $0x4f86199c // fmla v28.4s, v12.4s, v6.s[2]
	WORD $0x4f8619bd // fmla v29.4s, v13.4s, v6.s[2]
	WORD $0x4f87199e // fmla v30.4s, v12.4s, v7.s[2]
	WORD $0x4f8719bf // fmla v31.4s, v13.4s, v7.s[2]
	WORD $0x4fa019d0 // fmla v16.4s, v14.4s, v0.s[3]
	WORD $0x4fa019f1 // fmla v17.4s, v15.4s, v0.s[3]
	WORD $0x4fa119d2 // fmla v18.4s, v14.4s, v1.s[3]
	WORD $0x4fa119f3 // fmla v19.4s, v15.4s, v1.s[3]
	WORD $0x4fa219d4 // fmla v20.4s, v14.4s, v2.s[3]
	WORD $0x4fa219f5 // fmla v21.4s, v15.4s, v2.s[3]
	WORD $0x4fa319d6 // fmla v22.4s, v14.4s, v3.s[3]
	WORD $0x4fa319f7 // fmla v23.4s, v15.4s, v3.s[3]
	WORD $0x4fa419d8 // fmla v24.4s, v14.4s, v4.s[3]
	WORD $0x4fa419f9 // fmla v25.4s, v15.4s, v4.s[3]
	WORD $0x4fa519da // fmla v26.4s, v14.4s, v5.s[3]
	WORD $0x4fa519fb // fmla v27.4s, v15.4s, v5.s[3]
	WORD $0x4fa619dc // fmla v28.4s, v14.4s, v6.s[3]
	WORD $0x4fa619fd // fmla v29.4s, v15.4s, v6.s[3]
	WORD $0x4fa719de // fmla v30.4s, v14.4s, v7.s[3]
	WORD $0x4fa719ff // fmla v31.4s, v15.4s, v7.s[3]
	SUBS $1, R13, R13
	BNE  loop4

tail:
	CBZ  R12, store

loop1:
	WORD $0xbc404440 // ldr s0, [x2], #4
	WORD $0xbc404461 // ldr s1, [x3], #4
	WORD $0xbc404482 // ldr s2, [x4], #4
	WORD $0xbc4044a3 // ldr s3, [x5], #4
	WORD $0xbc4044c4 // ldr s4, [x6], #4
	WORD $0xbc4044e5 // ldr s5, [x7], #4
	WORD $0xbc404506 // ldr s6, [x8], #4
	WORD $0xbc404527 // ldr s7, [x9], #4
	WORD $0x4cdfa948 // ld1 {v8.4s, v9.4s}, [x10], #32
	WORD $0x4f801110 // fmla v16.4s, v8.4s, v0.s[0]
	WORD $0x4f801131 // fmla v17.4s, v9.4s, v0.s[0]
	WORD $0x4f811112 // fmla v18.4s, v8.4s, v1.s[0]
	WORD $0x4f811133 // fmla v19.4s, v9.4s, v1.s[0]
	WORD $0x4f821114 // fmla v20.4s, v8.4s, v2.s[0]
	WORD $0x4f821135 // fmla v21.4s, v9.4s, v2.s[0]
	WORD $0x4f831116 // fmla v22.4s, v8.4s, v3.s[0]
	WORD $0x4f831137 // fmla v23.4s, v9.4s, v3.s[0]
	WORD $0x4f841118 // fmla v24.4s, v8.4s, v4.s[0]
	WORD $0x4f841139 // fmla v25.4s, v9.4s, v4.s[0]
	WORD $0x4f85111a // fmla v26.4s, v8.4s, v5.s[0]
	WORD $0x4f85113b // fmla v27.4s, v9.4s, v5.s[0]
	WORD $0x4f86111c // fmla v28.4s, v8.4s, v6.s[0]
	WORD $0x4f86113d // fmla v29.4s, v9.4s, v6.s[0]
	WORD $0x4f87111e // fmla v30.4s, v8.4s, v7.s[0]
	WORD $0x4f87113f // fmla v31.4s, v9.4s, v7.s[0]
	SUBS $1, R12, R12
	BNE  loop1

store:
	FMOVS lo+56(FP), F0
	FMOVS hi+60(FP), F1
	WORD $0x4e040400 // dup v0.4s, v0.s[0]
	WORD $0x4e040421 // dup v1.4s, v1.s[0]
	WORD $0x4e20f610 // fmax v16.4s, v16.4s, v0.4s
	WORD $0x4e20f631 // fmax v17.4s, v17.4s, v0.4s
	WORD $0x4e20f652 // fmax v18.4s, v18.4s, v0.4s
	WORD $0x4e20f673 // fmax v19.4s, v19.4s, v0.4s
	WORD $0x4e20f694 // fmax v20.4s, v20.4s, v0.4s
	WORD $0x4e20f6b5 // fmax v21.4s, v21.4s, v0.4s
	WORD $0x4e20f6d6 // fmax v22.4s, v22.4s, v0.4s
	WORD $0x4e20f6f7 // fmax v23.4s, v23.4s, v0.4s
	WORD $0x4e20f718 // fmax v24.4s, v24.4s, v0.4s
	WORD $0x4e20f739 // fmax v25.4s, v25.4s, v0.4s
	WORD $0x4e20f75a // fmax v26.4s, v26.4s, v0.4s
	WORD $0x4e20f77b // fmax v27.4s, v27.4s, v0.4s
	WORD $0x4e20f79c // fmax v28.4s, v28.4s, v0.4s
	WORD $0x4e20f7bd // fmax v29.4s, v29.4s, v0.4s
	WORD $0x4e20f7de // fmax v30.4s, v30.4s, v0.4s
	WORD $0x4e20f7ff // fmax v31.4s, v31.4s, v0.4s
	WORD $0x4ea1f610 // fmin v16.4s, v16.4s, v1.4s
	WORD $0x4ea1f631 // fmin v17.4s, v17.4s, v1.4s
	WORD $0x4ea1f652 // fmin v18.4s, v18.4s, v1.4s
	WORD $0x4ea1f673 // fmin v19.4s, v19.4s, v1.4s
	WORD $0x4ea1f694 // fmin v20.4s, v20.4s, v1.4s
	WORD $0x4ea1f6b5 // fmin v21.4s, v21.4s, v1.4s
	WORD $0x4ea1f6d6 // fmin v22.4s, v22.4s, v1.4s
	WORD $0x4ea1f6f7 // fmin v23.4s, v23.4s, v1.4s
	WORD $0x4ea1f718 // fmin v24.4s, v24.4s, v1.4s
	WORD $0x4ea1f739 // fmin v25.4s, v25.4s, v1.4s
	WORD $0x4ea1f75a // fmin v26.4s, v26.4s, v1.4s
	WORD $0x4ea1f77b // fmin v27.4s, v27.4s, v1.4s
	WORD $0x4ea1f79c // fmin v28.4s, v28.4s, v1.4s
	WORD $0x4ea1f7bd // fmin v29.4s, v29.4s, v1.4s
	WORD $0x4ea1f7de // fmin v30.4s, v30.4s, v1.4s
	WORD $0x4ea1f7ff // fmin v31.4s, v31.4s, v1.4s
	WORD $0x4c00a810 // st1 {v16.4s, v17.4s}, [x0]
	ADD R1, R0, R0
	WORD $0x4c00a812 // st1 {v18.4s, v19.4s}, [x0]
	ADD R1, R0, R0
	WORD $0x4c00a814 // st1 {v20.4s, v21.4s}, [x0]
	ADD R1, R0, R0
	WORD $0x4c00a816 // st1 {v22.4s, v23.4s}, [x0]
	ADD R1, R0, R0
	WORD $0x4c00a818 // st1 {v24.4s, v25.4s}, [x0]
	ADD R1, R0, R0
	WORD $0x4c00a81a // st1 {v26.4s, v27.4s}, [x0]
	ADD R1, R0, R0
	WORD $0x4c00a81c // st1 {v28.4s, v29.4s}, [x0]
	ADD R1, R0, R0
	WORD $0x4c00a81e // st1 {v30.4s, v31.4s}, [x0]
	RET

// func kernel1x8(c *float32, a *float32, panel *float32, bias *float32, k int, lo, hi float32)
//
// One row of an 8-wide panel (rows left below the last 8-row tile, and
// matrix-vector products): c[0:8] = clamp(a·panel + bias, lo, hi). Four
// accumulator pairs (V16–V23), one per step of an unrolled four, hide the
// FMLA latency. k ≥ 1.
TEXT ·kernel1x8(SB), NOSPLIT, $0-48
	MOVD c+0(FP), R0
	MOVD a+8(FP), R1
	MOVD panel+16(FP), R2
	MOVD bias+24(FP), R3
	MOVD k+32(FP), R4
	WORD $0x4c40a870 // ld1 {v16.4s, v17.4s}, [x3]
	WORD $0x6f00e412 // movi v18.2d, #0
	WORD $0x6f00e413 // movi v19.2d, #0
	WORD $0x6f00e414 // movi v20.2d, #0
	WORD $0x6f00e415 // movi v21.2d, #0
	WORD $0x6f00e416 // movi v22.2d, #0
	WORD $0x6f00e417 // movi v23.2d, #0
	LSR  $2, R4, R5
	AND  $3, R4, R4
	CBZ  R5, tail

loop4:
	WORD $0x4cdf7820 // ld1 {v0.4s}, [x1], #16
	WORD $0x4cdf2848 // ld1 {v8.4s, v9.4s, v10.4s, v11.4s}, [x2], #64
	WORD $0x4cdf284c // ld1 {v12.4s, v13.4s, v14.4s, v15.4s}, [x2], #64
	WORD $0x4f801110 // fmla v16.4s, v8.4s, v0.s[0]
	WORD $0x4f801131 // fmla v17.4s, v9.4s, v0.s[0]
	WORD $0x4fa01152 // fmla v18.4s, v10.4s, v0.s[1]
	WORD $0x4fa01173 // fmla v19.4s, v11.4s, v0.s[1]
	WORD $0x4f801994 // fmla v20.4s, v12.4s, v0.s[2]
	WORD $0x4f8019b5 // fmla v21.4s, v13.4s, v0.s[2]
	WORD $0x4fa019d6 // fmla v22.4s, v14.4s, v0.s[3]
	WORD $0x4fa019f7 // fmla v23.4s, v15.4s, v0.s[3]
	SUBS $1, R5, R5
	BNE  loop4

tail:
	CBZ  R4, store

loop1:
	WORD $0xbc404420 // ldr s0, [x1], #4
	WORD $0x4cdfa848 // ld1 {v8.4s, v9.4s}, [x2], #32
	WORD $0x4f801110 // fmla v16.4s, v8.4s, v0.s[0]
	WORD $0x4f801131 // fmla v17.4s, v9.4s, v0.s[0]
	SUBS $1, R4, R4
	BNE  loop1

store:
	WORD $0x4e34d652 // fadd v18.4s, v18.4s, v20.4s
	WORD $0x4e35d673 // fadd v19.4s, v19.4s, v21.4s
	WORD $0x4e36d610 // fadd v16.4s, v16.4s, v22.4s
	WORD $0x4e37d631 // fadd v17.4s, v17.4s, v23.4s
	WORD $0x4e32d610 // fadd v16.4s, v16.4s, v18.4s
	WORD $0x4e33d631 // fadd v17.4s, v17.4s, v19.4s
	FMOVS lo+40(FP), F0
	FMOVS hi+44(FP), F1
	WORD $0x4e040400 // dup v0.4s, v0.s[0]
	WORD $0x4e040421 // dup v1.4s, v1.s[0]
	WORD $0x4e20f610 // fmax v16.4s, v16.4s, v0.4s
	WORD $0x4e20f631 // fmax v17.4s, v17.4s, v0.4s
	WORD $0x4ea1f610 // fmin v16.4s, v16.4s, v1.4s
	WORD $0x4ea1f631 // fmin v17.4s, v17.4s, v1.4s
	WORD $0x4c00a810 // st1 {v16.4s, v17.4s}, [x0]
	RET
