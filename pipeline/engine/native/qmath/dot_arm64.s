//go:build arm64 && !purego

#include "textflag.h"

// NEON integer kernels of the GEMM, the 3×3 depthwise accumulation and
// the fp32 requantization. Go's assembler lacks UDOT, UMLAL, MLA, SCVTF,
// FMAXNM and most other NEON instructions: those are WORDs whose comment
// is the source (go run ./pipeline/engine/native/neongen dot_arm64.s
// re-encodes them with llvm-mc). Go's Rn is xn.

// func udot4x16asm(acc *[64]int32, a0, a1, a2, a3 *byte, w *byte, steps int)
//
// The 4×16 tile of unsigned byte dot products with UDOT by element
// (ARMv8.2 dot product, FEAT_DotProd): acc[r*16+j] = Σ_k a_r[k]·w[k][j].
// Each step takes 16 bytes of every row (V0–V3) and four quads of the
// panel (packUDOT: 16 columns × 4 bytes per quad), 64 UDOTs of 16
// multiply-adds each into the sixteen accumulators V16–V31. steps ≥ 1.
TEXT ·udot4x16asm(SB), NOSPLIT, $0-56
	MOVD acc+0(FP), R0
	MOVD a0+8(FP), R1
	MOVD a1+16(FP), R2
	MOVD a2+24(FP), R3
	MOVD a3+32(FP), R4
	MOVD w+40(FP), R5
	MOVD steps+48(FP), R6
	WORD $0x6f00e410 // movi v16.2d, #0
	WORD $0x6f00e411 // movi v17.2d, #0
	WORD $0x6f00e412 // movi v18.2d, #0
	WORD $0x6f00e413 // movi v19.2d, #0
	WORD $0x6f00e414 // movi v20.2d, #0
	WORD $0x6f00e415 // movi v21.2d, #0
	WORD $0x6f00e416 // movi v22.2d, #0
	WORD $0x6f00e417 // movi v23.2d, #0
	WORD $0x6f00e418 // movi v24.2d, #0
	WORD $0x6f00e419 // movi v25.2d, #0
	WORD $0x6f00e41a // movi v26.2d, #0
	WORD $0x6f00e41b // movi v27.2d, #0
	WORD $0x6f00e41c // movi v28.2d, #0
	WORD $0x6f00e41d // movi v29.2d, #0
	WORD $0x6f00e41e // movi v30.2d, #0
	WORD $0x6f00e41f // movi v31.2d, #0

udot:
	WORD $0x4cdf7020 // ld1 {v0.16b}, [x1], #16
	WORD $0x4cdf7041 // ld1 {v1.16b}, [x2], #16
	WORD $0x4cdf7062 // ld1 {v2.16b}, [x3], #16
	WORD $0x4cdf7083 // ld1 {v3.16b}, [x4], #16
	WORD $0x4cdf20a4 // ld1 {v4.16b, v5.16b, v6.16b, v7.16b}, [x5], #64
	WORD $0x6f80e090 // udot v16.4s, v4.16b, v0.4b[0]
	WORD $0x6f80e0b1 // udot v17.4s, v5.16b, v0.4b[0]
	WORD $0x6f80e0d2 // udot v18.4s, v6.16b, v0.4b[0]
	WORD $0x6f80e0f3 // udot v19.4s, v7.16b, v0.4b[0]
	WORD $0x6f81e094 // udot v20.4s, v4.16b, v1.4b[0]
	WORD $0x6f81e0b5 // udot v21.4s, v5.16b, v1.4b[0]
	WORD $0x6f81e0d6 // udot v22.4s, v6.16b, v1.4b[0]
	WORD $0x6f81e0f7 // udot v23.4s, v7.16b, v1.4b[0]
	WORD $0x6f82e098 // udot v24.4s, v4.16b, v2.4b[0]
	WORD $0x6f82e0b9 // udot v25.4s, v5.16b, v2.4b[0]
	WORD $0x6f82e0da // udot v26.4s, v6.16b, v2.4b[0]
	WORD $0x6f82e0fb // udot v27.4s, v7.16b, v2.4b[0]
	WORD $0x6f83e09c // udot v28.4s, v4.16b, v3.4b[0]
	WORD $0x6f83e0bd // udot v29.4s, v5.16b, v3.4b[0]
	WORD $0x6f83e0de // udot v30.4s, v6.16b, v3.4b[0]
	WORD $0x6f83e0ff // udot v31.4s, v7.16b, v3.4b[0]
	WORD $0x4cdf20a8 // ld1 {v8.16b, v9.16b, v10.16b, v11.16b}, [x5], #64
	WORD $0x6fa0e110 // udot v16.4s, v8.16b, v0.4b[1]
	WORD $0x6fa0e131 // udot v17.4s, v9.16b, v0.4b[1]
	WORD $0x6fa0e152 // udot v18.4s, v10.16b, v0.4b[1]
	WORD $0x6fa0e173 // udot v19.4s, v11.16b, v0.4b[1]
	WORD $0x6fa1e114 // udot v20.4s, v8.16b, v1.4b[1]
	WORD $0x6fa1e135 // udot v21.4s, v9.16b, v1.4b[1]
	WORD $0x6fa1e156 // udot v22.4s, v10.16b, v1.4b[1]
	WORD $0x6fa1e177 // udot v23.4s, v11.16b, v1.4b[1]
	WORD $0x6fa2e118 // udot v24.4s, v8.16b, v2.4b[1]
	WORD $0x6fa2e139 // udot v25.4s, v9.16b, v2.4b[1]
	WORD $0x6fa2e15a // udot v26.4s, v10.16b, v2.4b[1]
	WORD $0x6fa2e17b // udot v27.4s, v11.16b, v2.4b[1]
	WORD $0x6fa3e11c // udot v28.4s, v8.16b, v3.4b[1]
	WORD $0x6fa3e13d // udot v29.4s, v9.16b, v3.4b[1]
	WORD $0x6fa3e15e // udot v30.4s, v10.16b, v3.4b[1]
	WORD $0x6fa3e17f // udot v31.4s, v11.16b, v3.4b[1]
	WORD $0x4cdf20a4 // ld1 {v4.16b, v5.16b, v6.16b, v7.16b}, [x5], #64
	WORD $0x6f80e890 // udot v16.4s, v4.16b, v0.4b[2]
	WORD $0x6f80e8b1 // udot v17.4s, v5.16b, v0.4b[2]
	WORD $0x6f80e8d2 // udot v18.4s, v6.16b, v0.4b[2]
	WORD $0x6f80e8f3 // udot v19.4s, v7.16b, v0.4b[2]
	WORD $0x6f81e894 // udot v20.4s, v4.16b, v1.4b[2]
	WORD $0x6f81e8b5 // udot v21.4s, v5.16b, v1.4b[2]
	WORD $0x6f81e8d6 // udot v22.4s, v6.16b, v1.4b[2]
	WORD $0x6f81e8f7 // udot v23.4s, v7.16b, v1.4b[2]
	WORD $0x6f82e898 // udot v24.4s, v4.16b, v2.4b[2]
	WORD $0x6f82e8b9 // udot v25.4s, v5.16b, v2.4b[2]
	WORD $0x6f82e8da // udot v26.4s, v6.16b, v2.4b[2]
	WORD $0x6f82e8fb // udot v27.4s, v7.16b, v2.4b[2]
	WORD $0x6f83e89c // udot v28.4s, v4.16b, v3.4b[2]
	WORD $0x6f83e8bd // udot v29.4s, v5.16b, v3.4b[2]
	WORD $0x6f83e8de // udot v30.4s, v6.16b, v3.4b[2]
	WORD $0x6f83e8ff // udot v31.4s, v7.16b, v3.4b[2]
	WORD $0x4cdf20a8 // ld1 {v8.16b, v9.16b, v10.16b, v11.16b}, [x5], #64
	WORD $0x6fa0e910 // udot v16.4s, v8.16b, v0.4b[3]
	WORD $0x6fa0e931 // udot v17.4s, v9.16b, v0.4b[3]
	WORD $0x6fa0e952 // udot v18.4s, v10.16b, v0.4b[3]
	WORD $0x6fa0e973 // udot v19.4s, v11.16b, v0.4b[3]
	WORD $0x6fa1e914 // udot v20.4s, v8.16b, v1.4b[3]
	WORD $0x6fa1e935 // udot v21.4s, v9.16b, v1.4b[3]
	WORD $0x6fa1e956 // udot v22.4s, v10.16b, v1.4b[3]
	WORD $0x6fa1e977 // udot v23.4s, v11.16b, v1.4b[3]
	WORD $0x6fa2e918 // udot v24.4s, v8.16b, v2.4b[3]
	WORD $0x6fa2e939 // udot v25.4s, v9.16b, v2.4b[3]
	WORD $0x6fa2e95a // udot v26.4s, v10.16b, v2.4b[3]
	WORD $0x6fa2e97b // udot v27.4s, v11.16b, v2.4b[3]
	WORD $0x6fa3e91c // udot v28.4s, v8.16b, v3.4b[3]
	WORD $0x6fa3e93d // udot v29.4s, v9.16b, v3.4b[3]
	WORD $0x6fa3e95e // udot v30.4s, v10.16b, v3.4b[3]
	WORD $0x6fa3e97f // udot v31.4s, v11.16b, v3.4b[3]
	SUBS $1, R6, R6
	BNE  udot
	WORD $0x4c9f2810 // st1 {v16.4s, v17.4s, v18.4s, v19.4s}, [x0], #64
	WORD $0x4c9f2814 // st1 {v20.4s, v21.4s, v22.4s, v23.4s}, [x0], #64
	WORD $0x4c9f2818 // st1 {v24.4s, v25.4s, v26.4s, v27.4s}, [x0], #64
	WORD $0x4c9f281c // st1 {v28.4s, v29.4s, v30.4s, v31.4s}, [x0], #64
	RET

// func mlal4x16asm(acc *[64]int32, a0, a1, a2, a3 *byte, w *uint16, steps int)
//
// The same tile without the dot-product extension: the rows widened to
// 16 bits (V0–V3), 16-bit weights (packMLAL: 16 columns per step of the
// dot product), UMLAL/UMLAL2 by element into V16–V31, four multiply-adds
// each. Each step takes 8 bytes of every row: 128 UMLALs. steps ≥ 1.
TEXT ·mlal4x16asm(SB), NOSPLIT, $0-56
	MOVD acc+0(FP), R0
	MOVD a0+8(FP), R1
	MOVD a1+16(FP), R2
	MOVD a2+24(FP), R3
	MOVD a3+32(FP), R4
	MOVD w+40(FP), R5
	MOVD steps+48(FP), R6
	WORD $0x6f00e410 // movi v16.2d, #0
	WORD $0x6f00e411 // movi v17.2d, #0
	WORD $0x6f00e412 // movi v18.2d, #0
	WORD $0x6f00e413 // movi v19.2d, #0
	WORD $0x6f00e414 // movi v20.2d, #0
	WORD $0x6f00e415 // movi v21.2d, #0
	WORD $0x6f00e416 // movi v22.2d, #0
	WORD $0x6f00e417 // movi v23.2d, #0
	WORD $0x6f00e418 // movi v24.2d, #0
	WORD $0x6f00e419 // movi v25.2d, #0
	WORD $0x6f00e41a // movi v26.2d, #0
	WORD $0x6f00e41b // movi v27.2d, #0
	WORD $0x6f00e41c // movi v28.2d, #0
	WORD $0x6f00e41d // movi v29.2d, #0
	WORD $0x6f00e41e // movi v30.2d, #0
	WORD $0x6f00e41f // movi v31.2d, #0

mlal:
	WORD $0xfc408420 // ldr d0, [x1], #8
	WORD $0xfc408441 // ldr d1, [x2], #8
	WORD $0xfc408462 // ldr d2, [x3], #8
	WORD $0xfc408483 // ldr d3, [x4], #8
	WORD $0x2f08a400 // uxtl v0.8h, v0.8b
	WORD $0x2f08a421 // uxtl v1.8h, v1.8b
	WORD $0x2f08a442 // uxtl v2.8h, v2.8b
	WORD $0x2f08a463 // uxtl v3.8h, v3.8b
	WORD $0x4cdf24a4 // ld1 {v4.8h, v5.8h, v6.8h, v7.8h}, [x5], #64
	WORD $0x4cdf24a8 // ld1 {v8.8h, v9.8h, v10.8h, v11.8h}, [x5], #64
	WORD $0x2f402090 // umlal v16.4s, v4.4h, v0.h[0]
	WORD $0x6f402091 // umlal2 v17.4s, v4.8h, v0.h[0]
	WORD $0x2f4020b2 // umlal v18.4s, v5.4h, v0.h[0]
	WORD $0x6f4020b3 // umlal2 v19.4s, v5.8h, v0.h[0]
	WORD $0x2f412094 // umlal v20.4s, v4.4h, v1.h[0]
	WORD $0x6f412095 // umlal2 v21.4s, v4.8h, v1.h[0]
	WORD $0x2f4120b6 // umlal v22.4s, v5.4h, v1.h[0]
	WORD $0x6f4120b7 // umlal2 v23.4s, v5.8h, v1.h[0]
	WORD $0x2f422098 // umlal v24.4s, v4.4h, v2.h[0]
	WORD $0x6f422099 // umlal2 v25.4s, v4.8h, v2.h[0]
	WORD $0x2f4220ba // umlal v26.4s, v5.4h, v2.h[0]
	WORD $0x6f4220bb // umlal2 v27.4s, v5.8h, v2.h[0]
	WORD $0x2f43209c // umlal v28.4s, v4.4h, v3.h[0]
	WORD $0x6f43209d // umlal2 v29.4s, v4.8h, v3.h[0]
	WORD $0x2f4320be // umlal v30.4s, v5.4h, v3.h[0]
	WORD $0x6f4320bf // umlal2 v31.4s, v5.8h, v3.h[0]
	WORD $0x2f5020d0 // umlal v16.4s, v6.4h, v0.h[1]
	WORD $0x6f5020d1 // umlal2 v17.4s, v6.8h, v0.h[1]
	WORD $0x2f5020f2 // umlal v18.4s, v7.4h, v0.h[1]
	WORD $0x6f5020f3 // umlal2 v19.4s, v7.8h, v0.h[1]
	WORD $0x2f5120d4 // umlal v20.4s, v6.4h, v1.h[1]
	WORD $0x6f5120d5 // umlal2 v21.4s, v6.8h, v1.h[1]
	WORD $0x2f5120f6 // umlal v22.4s, v7.4h, v1.h[1]
	WORD $0x6f5120f7 // umlal2 v23.4s, v7.8h, v1.h[1]
	WORD $0x2f5220d8 // umlal v24.4s, v6.4h, v2.h[1]
	WORD $0x6f5220d9 // umlal2 v25.4s, v6.8h, v2.h[1]
	WORD $0x2f5220fa // umlal v26.4s, v7.4h, v2.h[1]
	WORD $0x6f5220fb // umlal2 v27.4s, v7.8h, v2.h[1]
	WORD $0x2f5320dc // umlal v28.4s, v6.4h, v3.h[1]
	WORD $0x6f5320dd // umlal2 v29.4s, v6.8h, v3.h[1]
	WORD $0x2f5320fe // umlal v30.4s, v7.4h, v3.h[1]
	WORD $0x6f5320ff // umlal2 v31.4s, v7.8h, v3.h[1]
	WORD $0x2f602110 // umlal v16.4s, v8.4h, v0.h[2]
	WORD $0x6f602111 // umlal2 v17.4s, v8.8h, v0.h[2]
	WORD $0x2f602132 // umlal v18.4s, v9.4h, v0.h[2]
	WORD $0x6f602133 // umlal2 v19.4s, v9.8h, v0.h[2]
	WORD $0x2f612114 // umlal v20.4s, v8.4h, v1.h[2]
	WORD $0x6f612115 // umlal2 v21.4s, v8.8h, v1.h[2]
	WORD $0x2f612136 // umlal v22.4s, v9.4h, v1.h[2]
	WORD $0x6f612137 // umlal2 v23.4s, v9.8h, v1.h[2]
	WORD $0x2f622118 // umlal v24.4s, v8.4h, v2.h[2]
	WORD $0x6f622119 // umlal2 v25.4s, v8.8h, v2.h[2]
	WORD $0x2f62213a // umlal v26.4s, v9.4h, v2.h[2]
	WORD $0x6f62213b // umlal2 v27.4s, v9.8h, v2.h[2]
	WORD $0x2f63211c // umlal v28.4s, v8.4h, v3.h[2]
	WORD $0x6f63211d // umlal2 v29.4s, v8.8h, v3.h[2]
	WORD $0x2f63213e // umlal v30.4s, v9.4h, v3.h[2]
	WORD $0x6f63213f // umlal2 v31.4s, v9.8h, v3.h[2]
	WORD $0x2f702150 // umlal v16.4s, v10.4h, v0.h[3]
	WORD $0x6f702151 // umlal2 v17.4s, v10.8h, v0.h[3]
	WORD $0x2f702172 // umlal v18.4s, v11.4h, v0.h[3]
	WORD $0x6f702173 // umlal2 v19.4s, v11.8h, v0.h[3]
	WORD $0x2f712154 // umlal v20.4s, v10.4h, v1.h[3]
	WORD $0x6f712155 // umlal2 v21.4s, v10.8h, v1.h[3]
	WORD $0x2f712176 // umlal v22.4s, v11.4h, v1.h[3]
	WORD $0x6f712177 // umlal2 v23.4s, v11.8h, v1.h[3]
	WORD $0x2f722158 // umlal v24.4s, v10.4h, v2.h[3]
	WORD $0x6f722159 // umlal2 v25.4s, v10.8h, v2.h[3]
	WORD $0x2f72217a // umlal v26.4s, v11.4h, v2.h[3]
	WORD $0x6f72217b // umlal2 v27.4s, v11.8h, v2.h[3]
	WORD $0x2f73215c // umlal v28.4s, v10.4h, v3.h[3]
	WORD $0x6f73215d // umlal2 v29.4s, v10.8h, v3.h[3]
	WORD $0x2f73217e // umlal v30.4s, v11.4h, v3.h[3]
	WORD $0x6f73217f // umlal2 v31.4s, v11.8h, v3.h[3]
	WORD $0x4cdf24a4 // ld1 {v4.8h, v5.8h, v6.8h, v7.8h}, [x5], #64
	WORD $0x4cdf24a8 // ld1 {v8.8h, v9.8h, v10.8h, v11.8h}, [x5], #64
	WORD $0x2f402890 // umlal v16.4s, v4.4h, v0.h[4]
	WORD $0x6f402891 // umlal2 v17.4s, v4.8h, v0.h[4]
	WORD $0x2f4028b2 // umlal v18.4s, v5.4h, v0.h[4]
	WORD $0x6f4028b3 // umlal2 v19.4s, v5.8h, v0.h[4]
	WORD $0x2f412894 // umlal v20.4s, v4.4h, v1.h[4]
	WORD $0x6f412895 // umlal2 v21.4s, v4.8h, v1.h[4]
	WORD $0x2f4128b6 // umlal v22.4s, v5.4h, v1.h[4]
	WORD $0x6f4128b7 // umlal2 v23.4s, v5.8h, v1.h[4]
	WORD $0x2f422898 // umlal v24.4s, v4.4h, v2.h[4]
	WORD $0x6f422899 // umlal2 v25.4s, v4.8h, v2.h[4]
	WORD $0x2f4228ba // umlal v26.4s, v5.4h, v2.h[4]
	WORD $0x6f4228bb // umlal2 v27.4s, v5.8h, v2.h[4]
	WORD $0x2f43289c // umlal v28.4s, v4.4h, v3.h[4]
	WORD $0x6f43289d // umlal2 v29.4s, v4.8h, v3.h[4]
	WORD $0x2f4328be // umlal v30.4s, v5.4h, v3.h[4]
	WORD $0x6f4328bf // umlal2 v31.4s, v5.8h, v3.h[4]
	WORD $0x2f5028d0 // umlal v16.4s, v6.4h, v0.h[5]
	WORD $0x6f5028d1 // umlal2 v17.4s, v6.8h, v0.h[5]
	WORD $0x2f5028f2 // umlal v18.4s, v7.4h, v0.h[5]
	WORD $0x6f5028f3 // umlal2 v19.4s, v7.8h, v0.h[5]
	WORD $0x2f5128d4 // umlal v20.4s, v6.4h, v1.h[5]
	WORD $0x6f5128d5 // umlal2 v21.4s, v6.8h, v1.h[5]
	WORD $0x2f5128f6 // umlal v22.4s, v7.4h, v1.h[5]
	WORD $0x6f5128f7 // umlal2 v23.4s, v7.8h, v1.h[5]
	WORD $0x2f5228d8 // umlal v24.4s, v6.4h, v2.h[5]
	WORD $0x6f5228d9 // umlal2 v25.4s, v6.8h, v2.h[5]
	WORD $0x2f5228fa // umlal v26.4s, v7.4h, v2.h[5]
	WORD $0x6f5228fb // umlal2 v27.4s, v7.8h, v2.h[5]
	WORD $0x2f5328dc // umlal v28.4s, v6.4h, v3.h[5]
	WORD $0x6f5328dd // umlal2 v29.4s, v6.8h, v3.h[5]
	WORD $0x2f5328fe // umlal v30.4s, v7.4h, v3.h[5]
	WORD $0x6f5328ff // umlal2 v31.4s, v7.8h, v3.h[5]
	WORD $0x2f602910 // umlal v16.4s, v8.4h, v0.h[6]
	WORD $0x6f602911 // umlal2 v17.4s, v8.8h, v0.h[6]
	WORD $0x2f602932 // umlal v18.4s, v9.4h, v0.h[6]
	WORD $0x6f602933 // umlal2 v19.4s, v9.8h, v0.h[6]
	WORD $0x2f612914 // umlal v20.4s, v8.4h, v1.h[6]
	WORD $0x6f612915 // umlal2 v21.4s, v8.8h, v1.h[6]
	WORD $0x2f612936 // umlal v22.4s, v9.4h, v1.h[6]
	WORD $0x6f612937 // umlal2 v23.4s, v9.8h, v1.h[6]
	WORD $0x2f622918 // umlal v24.4s, v8.4h, v2.h[6]
	WORD $0x6f622919 // umlal2 v25.4s, v8.8h, v2.h[6]
	WORD $0x2f62293a // umlal v26.4s, v9.4h, v2.h[6]
	WORD $0x6f62293b // umlal2 v27.4s, v9.8h, v2.h[6]
	WORD $0x2f63291c // umlal v28.4s, v8.4h, v3.h[6]
	WORD $0x6f63291d // umlal2 v29.4s, v8.8h, v3.h[6]
	WORD $0x2f63293e // umlal v30.4s, v9.4h, v3.h[6]
	WORD $0x6f63293f // umlal2 v31.4s, v9.8h, v3.h[6]
	WORD $0x2f702950 // umlal v16.4s, v10.4h, v0.h[7]
	WORD $0x6f702951 // umlal2 v17.4s, v10.8h, v0.h[7]
	WORD $0x2f702972 // umlal v18.4s, v11.4h, v0.h[7]
	WORD $0x6f702973 // umlal2 v19.4s, v11.8h, v0.h[7]
	WORD $0x2f712954 // umlal v20.4s, v10.4h, v1.h[7]
	WORD $0x6f712955 // umlal2 v21.4s, v10.8h, v1.h[7]
	WORD $0x2f712976 // umlal v22.4s, v11.4h, v1.h[7]
	WORD $0x6f712977 // umlal2 v23.4s, v11.8h, v1.h[7]
	WORD $0x2f722958 // umlal v24.4s, v10.4h, v2.h[7]
	WORD $0x6f722959 // umlal2 v25.4s, v10.8h, v2.h[7]
	WORD $0x2f72297a // umlal v26.4s, v11.4h, v2.h[7]
	WORD $0x6f72297b // umlal2 v27.4s, v11.8h, v2.h[7]
	WORD $0x2f73295c // umlal v28.4s, v10.4h, v3.h[7]
	WORD $0x6f73295d // umlal2 v29.4s, v10.8h, v3.h[7]
	WORD $0x2f73297e // umlal v30.4s, v11.4h, v3.h[7]
	WORD $0x6f73297f // umlal2 v31.4s, v11.8h, v3.h[7]
	SUBS $1, R6, R6
	BNE  mlal
	WORD $0x4c9f2810 // st1 {v16.4s, v17.4s, v18.4s, v19.4s}, [x0], #64
	WORD $0x4c9f2814 // st1 {v20.4s, v21.4s, v22.4s, v23.4s}, [x0], #64
	WORD $0x4c9f2818 // st1 {v24.4s, v25.4s, v26.4s, v27.4s}, [x0], #64
	WORD $0x4c9f281c // st1 {v28.4s, v29.4s, v30.4s, v31.4s}, [x0], #64
	RET

// func dw9u8(acc *int32, x *[9]*byte, w *int32, blocks int)
//
// For each of blocks groups of 8 channels, acc[i] += Σ_t x[t][i]·w[block][t][i]
// over the nine taps (packDW9), x unsigned bytes widened with UXTL, two
// accumulator pairs. blocks ≥ 1.
TEXT ·dw9u8(SB), NOSPLIT, $0-32
	MOVD acc+0(FP), R0
	MOVD x+8(FP), R1
	MOVD w+16(FP), R2
	MOVD blocks+24(FP), R12
	MOVD 0(R1), R3
	MOVD 8(R1), R4
	MOVD 16(R1), R5
	MOVD 24(R1), R6
	MOVD 32(R1), R7
	MOVD 40(R1), R8
	MOVD 48(R1), R9
	MOVD 56(R1), R10
	MOVD 64(R1), R11

loop:
	WORD $0x4c40a810 // ld1 {v16.4s, v17.4s}, [x0]
	WORD $0xfc408460 // ldr d0, [x3], #8
	WORD $0x2f08a400 // uxtl v0.8h, v0.8b
	WORD $0x2f10a401 // uxtl v1.4s, v0.4h
	WORD $0x6f10a402 // uxtl2 v2.4s, v0.8h
	WORD $0x4cdfa844 // ld1 {v4.4s, v5.4s}, [x2], #32
	WORD $0x4ea49430 // mla v16.4s, v1.4s, v4.4s
	WORD $0x4ea59451 // mla v17.4s, v2.4s, v5.4s
	WORD $0xfc408480 // ldr d0, [x4], #8
	WORD $0x2f08a400 // uxtl v0.8h, v0.8b
	WORD $0x2f10a401 // uxtl v1.4s, v0.4h
	WORD $0x6f10a402 // uxtl2 v2.4s, v0.8h
	WORD $0x4cdfa844 // ld1 {v4.4s, v5.4s}, [x2], #32
	WORD $0x4ea49c32 // mul v18.4s, v1.4s, v4.4s
	WORD $0x4ea59c53 // mul v19.4s, v2.4s, v5.4s
	WORD $0xfc4084a0 // ldr d0, [x5], #8
	WORD $0x2f08a400 // uxtl v0.8h, v0.8b
	WORD $0x2f10a401 // uxtl v1.4s, v0.4h
	WORD $0x6f10a402 // uxtl2 v2.4s, v0.8h
	WORD $0x4cdfa844 // ld1 {v4.4s, v5.4s}, [x2], #32
	WORD $0x4ea49430 // mla v16.4s, v1.4s, v4.4s
	WORD $0x4ea59451 // mla v17.4s, v2.4s, v5.4s
	WORD $0xfc4084c0 // ldr d0, [x6], #8
	WORD $0x2f08a400 // uxtl v0.8h, v0.8b
	WORD $0x2f10a401 // uxtl v1.4s, v0.4h
	WORD $0x6f10a402 // uxtl2 v2.4s, v0.8h
	WORD $0x4cdfa844 // ld1 {v4.4s, v5.4s}, [x2], #32
	WORD $0x4ea49432 // mla v18.4s, v1.4s, v4.4s
	WORD $0x4ea59453 // mla v19.4s, v2.4s, v5.4s
	WORD $0xfc4084e0 // ldr d0, [x7], #8
	WORD $0x2f08a400 // uxtl v0.8h, v0.8b
	WORD $0x2f10a401 // uxtl v1.4s, v0.4h
	WORD $0x6f10a402 // uxtl2 v2.4s, v0.8h
	WORD $0x4cdfa844 // ld1 {v4.4s, v5.4s}, [x2], #32
	WORD $0x4ea49430 // mla v16.4s, v1.4s, v4.4s
	WORD $0x4ea59451 // mla v17.4s, v2.4s, v5.4s
	WORD $0xfc408500 // ldr d0, [x8], #8
	WORD $0x2f08a400 // uxtl v0.8h, v0.8b
	WORD $0x2f10a401 // uxtl v1.4s, v0.4h
	WORD $0x6f10a402 // uxtl2 v2.4s, v0.8h
	WORD $0x4cdfa844 // ld1 {v4.4s, v5.4s}, [x2], #32
	WORD $0x4ea49432 // mla v18.4s, v1.4s, v4.4s
	WORD $0x4ea59453 // mla v19.4s, v2.4s, v5.4s
	WORD $0xfc408520 // ldr d0, [x9], #8
	WORD $0x2f08a400 // uxtl v0.8h, v0.8b
	WORD $0x2f10a401 // uxtl v1.4s, v0.4h
	WORD $0x6f10a402 // uxtl2 v2.4s, v0.8h
	WORD $0x4cdfa844 // ld1 {v4.4s, v5.4s}, [x2], #32
	WORD $0x4ea49430 // mla v16.4s, v1.4s, v4.4s
	WORD $0x4ea59451 // mla v17.4s, v2.4s, v5.4s
	WORD $0xfc408540 // ldr d0, [x10], #8
	WORD $0x2f08a400 // uxtl v0.8h, v0.8b
	WORD $0x2f10a401 // uxtl v1.4s, v0.4h
	WORD $0x6f10a402 // uxtl2 v2.4s, v0.8h
	WORD $0x4cdfa844 // ld1 {v4.4s, v5.4s}, [x2], #32
	WORD $0x4ea49432 // mla v18.4s, v1.4s, v4.4s
	WORD $0x4ea59453 // mla v19.4s, v2.4s, v5.4s
	WORD $0xfc408560 // ldr d0, [x11], #8
	WORD $0x2f08a400 // uxtl v0.8h, v0.8b
	WORD $0x2f10a401 // uxtl v1.4s, v0.4h
	WORD $0x6f10a402 // uxtl2 v2.4s, v0.8h
	WORD $0x4cdfa844 // ld1 {v4.4s, v5.4s}, [x2], #32
	WORD $0x4ea49430 // mla v16.4s, v1.4s, v4.4s
	WORD $0x4ea59451 // mla v17.4s, v2.4s, v5.4s
	WORD $0x4eb28610 // add v16.4s, v16.4s, v18.4s
	WORD $0x4eb38631 // add v17.4s, v17.4s, v19.4s
	WORD $0x4c9fa810 // st1 {v16.4s, v17.4s}, [x0], #32
	SUBS $1, R12, R12
	BNE  loop
	RET

// func dw9i8(acc *int32, x *[9]*byte, w *int32, blocks int)
//
// dw9u8 for signed bytes (SXTL).
TEXT ·dw9i8(SB), NOSPLIT, $0-32
	MOVD acc+0(FP), R0
	MOVD x+8(FP), R1
	MOVD w+16(FP), R2
	MOVD blocks+24(FP), R12
	MOVD 0(R1), R3
	MOVD 8(R1), R4
	MOVD 16(R1), R5
	MOVD 24(R1), R6
	MOVD 32(R1), R7
	MOVD 40(R1), R8
	MOVD 48(R1), R9
	MOVD 56(R1), R10
	MOVD 64(R1), R11

loop:
	WORD $0x4c40a810 // ld1 {v16.4s, v17.4s}, [x0]
	WORD $0xfc408460 // ldr d0, [x3], #8
	WORD $0x0f08a400 // sxtl v0.8h, v0.8b
	WORD $0x0f10a401 // sxtl v1.4s, v0.4h
	WORD $0x4f10a402 // sxtl2 v2.4s, v0.8h
	WORD $0x4cdfa844 // ld1 {v4.4s, v5.4s}, [x2], #32
	WORD $0x4ea49430 // mla v16.4s, v1.4s, v4.4s
	WORD $0x4ea59451 // mla v17.4s, v2.4s, v5.4s
	WORD $0xfc408480 // ldr d0, [x4], #8
	WORD $0x0f08a400 // sxtl v0.8h, v0.8b
	WORD $0x0f10a401 // sxtl v1.4s, v0.4h
	WORD $0x4f10a402 // sxtl2 v2.4s, v0.8h
	WORD $0x4cdfa844 // ld1 {v4.4s, v5.4s}, [x2], #32
	WORD $0x4ea49c32 // mul v18.4s, v1.4s, v4.4s
	WORD $0x4ea59c53 // mul v19.4s, v2.4s, v5.4s
	WORD $0xfc4084a0 // ldr d0, [x5], #8
	WORD $0x0f08a400 // sxtl v0.8h, v0.8b
	WORD $0x0f10a401 // sxtl v1.4s, v0.4h
	WORD $0x4f10a402 // sxtl2 v2.4s, v0.8h
	WORD $0x4cdfa844 // ld1 {v4.4s, v5.4s}, [x2], #32
	WORD $0x4ea49430 // mla v16.4s, v1.4s, v4.4s
	WORD $0x4ea59451 // mla v17.4s, v2.4s, v5.4s
	WORD $0xfc4084c0 // ldr d0, [x6], #8
	WORD $0x0f08a400 // sxtl v0.8h, v0.8b
	WORD $0x0f10a401 // sxtl v1.4s, v0.4h
	WORD $0x4f10a402 // sxtl2 v2.4s, v0.8h
	WORD $0x4cdfa844 // ld1 {v4.4s, v5.4s}, [x2], #32
	WORD $0x4ea49432 // mla v18.4s, v1.4s, v4.4s
	WORD $0x4ea59453 // mla v19.4s, v2.4s, v5.4s
	WORD $0xfc4084e0 // ldr d0, [x7], #8
	WORD $0x0f08a400 // sxtl v0.8h, v0.8b
	WORD $0x0f10a401 // sxtl v1.4s, v0.4h
	WORD $0x4f10a402 // sxtl2 v2.4s, v0.8h
	WORD $0x4cdfa844 // ld1 {v4.4s, v5.4s}, [x2], #32
	WORD $0x4ea49430 // mla v16.4s, v1.4s, v4.4s
	WORD $0x4ea59451 // mla v17.4s, v2.4s, v5.4s
	WORD $0xfc408500 // ldr d0, [x8], #8
	WORD $0x0f08a400 // sxtl v0.8h, v0.8b
	WORD $0x0f10a401 // sxtl v1.4s, v0.4h
	WORD $0x4f10a402 // sxtl2 v2.4s, v0.8h
	WORD $0x4cdfa844 // ld1 {v4.4s, v5.4s}, [x2], #32
	WORD $0x4ea49432 // mla v18.4s, v1.4s, v4.4s
	WORD $0x4ea59453 // mla v19.4s, v2.4s, v5.4s
	WORD $0xfc408520 // ldr d0, [x9], #8
	WORD $0x0f08a400 // sxtl v0.8h, v0.8b
	WORD $0x0f10a401 // sxtl v1.4s, v0.4h
	WORD $0x4f10a402 // sxtl2 v2.4s, v0.8h
	WORD $0x4cdfa844 // ld1 {v4.4s, v5.4s}, [x2], #32
	WORD $0x4ea49430 // mla v16.4s, v1.4s, v4.4s
	WORD $0x4ea59451 // mla v17.4s, v2.4s, v5.4s
	WORD $0xfc408540 // ldr d0, [x10], #8
	WORD $0x0f08a400 // sxtl v0.8h, v0.8b
	WORD $0x0f10a401 // sxtl v1.4s, v0.4h
	WORD $0x4f10a402 // sxtl2 v2.4s, v0.8h
	WORD $0x4cdfa844 // ld1 {v4.4s, v5.4s}, [x2], #32
	WORD $0x4ea49432 // mla v18.4s, v1.4s, v4.4s
	WORD $0x4ea59453 // mla v19.4s, v2.4s, v5.4s
	WORD $0xfc408560 // ldr d0, [x11], #8
	WORD $0x0f08a400 // sxtl v0.8h, v0.8b
	WORD $0x0f10a401 // sxtl v1.4s, v0.4h
	WORD $0x4f10a402 // sxtl2 v2.4s, v0.8h
	WORD $0x4cdfa844 // ld1 {v4.4s, v5.4s}, [x2], #32
	WORD $0x4ea49430 // mla v16.4s, v1.4s, v4.4s
	WORD $0x4ea59451 // mla v17.4s, v2.4s, v5.4s
	WORD $0x4eb28610 // add v16.4s, v16.4s, v18.4s
	WORD $0x4eb38631 // add v17.4s, v17.4s, v19.4s
	WORD $0x4c9fa810 // st1 {v16.4s, v17.4s}, [x0], #32
	SUBS $1, R12, R12
	BNE  loop
	RET

// func requant16asm(dst, acc, zw, bf *int32, scale *float32, p *requantParams)
//
// requant16Go on 16 lanes: v = acc - zw·rowSum + bf (wrapping int32),
// f = float32(v)·scale, clamped to [lo, hi] with FMAXNM/FMINNM (a NaN
// becomes lo, as in fp32QuantF), rounded half to even by adding the magic
// 1.5·2^23 and taking the bits less the magic's, plus the zero point.
TEXT ·requant16asm(SB), NOSPLIT, $0-48
	MOVD dst+0(FP), R0
	MOVD acc+8(FP), R1
	MOVD zw+16(FP), R2
	MOVD bf+24(FP), R3
	MOVD scale+32(FP), R4
	MOVD p+40(FP), R5
	WORD $0x4c402820 // ld1 {v0.4s, v1.4s, v2.4s, v3.4s}, [x1]
	WORD $0x4c402844 // ld1 {v4.4s, v5.4s, v6.4s, v7.4s}, [x2]
	WORD $0x4c402870 // ld1 {v16.4s, v17.4s, v18.4s, v19.4s}, [x3]
	WORD $0x4c402894 // ld1 {v20.4s, v21.4s, v22.4s, v23.4s}, [x4]
	WORD $0x4ddfc8b8 // ld1r {v24.4s}, [x5], #4
	WORD $0x4ddfc8bd // ld1r {v29.4s}, [x5], #4
	WORD $0x4ddfc8b9 // ld1r {v25.4s}, [x5], #4
	WORD $0x4ddfc8ba // ld1r {v26.4s}, [x5], #4
	WORD $0x4ddfc8bb // ld1r {v27.4s}, [x5], #4
	WORD $0x4d40c8bc // ld1r {v28.4s}, [x5]
	WORD $0x6eb89480 // mls v0.4s, v4.4s, v24.4s
	WORD $0x6eb894a1 // mls v1.4s, v5.4s, v24.4s
	WORD $0x6eb894c2 // mls v2.4s, v6.4s, v24.4s
	WORD $0x6eb894e3 // mls v3.4s, v7.4s, v24.4s
	WORD $0x4eb08400 // add v0.4s, v0.4s, v16.4s
	WORD $0x4eb18421 // add v1.4s, v1.4s, v17.4s
	WORD $0x4eb28442 // add v2.4s, v2.4s, v18.4s
	WORD $0x4eb38463 // add v3.4s, v3.4s, v19.4s
	WORD $0x4e21d800 // scvtf v0.4s, v0.4s
	WORD $0x4e21d821 // scvtf v1.4s, v1.4s
	WORD $0x4e21d842 // scvtf v2.4s, v2.4s
	WORD $0x4e21d863 // scvtf v3.4s, v3.4s
	WORD $0x6e34dc00 // fmul v0.4s, v0.4s, v20.4s
	WORD $0x6e35dc21 // fmul v1.4s, v1.4s, v21.4s
	WORD $0x6e36dc42 // fmul v2.4s, v2.4s, v22.4s
	WORD $0x6e37dc63 // fmul v3.4s, v3.4s, v23.4s
	WORD $0x4e39c400 // fmaxnm v0.4s, v0.4s, v25.4s
	WORD $0x4e39c421 // fmaxnm v1.4s, v1.4s, v25.4s
	WORD $0x4e39c442 // fmaxnm v2.4s, v2.4s, v25.4s
	WORD $0x4e39c463 // fmaxnm v3.4s, v3.4s, v25.4s
	WORD $0x4ebac400 // fminnm v0.4s, v0.4s, v26.4s
	WORD $0x4ebac421 // fminnm v1.4s, v1.4s, v26.4s
	WORD $0x4ebac442 // fminnm v2.4s, v2.4s, v26.4s
	WORD $0x4ebac463 // fminnm v3.4s, v3.4s, v26.4s
	WORD $0x4e3bd400 // fadd v0.4s, v0.4s, v27.4s
	WORD $0x4e3bd421 // fadd v1.4s, v1.4s, v27.4s
	WORD $0x4e3bd442 // fadd v2.4s, v2.4s, v27.4s
	WORD $0x4e3bd463 // fadd v3.4s, v3.4s, v27.4s
	WORD $0x6ebc8400 // sub v0.4s, v0.4s, v28.4s
	WORD $0x6ebc8421 // sub v1.4s, v1.4s, v28.4s
	WORD $0x6ebc8442 // sub v2.4s, v2.4s, v28.4s
	WORD $0x6ebc8463 // sub v3.4s, v3.4s, v28.4s
	WORD $0x4ebd8400 // add v0.4s, v0.4s, v29.4s
	WORD $0x4ebd8421 // add v1.4s, v1.4s, v29.4s
	WORD $0x4ebd8442 // add v2.4s, v2.4s, v29.4s
	WORD $0x4ebd8463 // add v3.4s, v3.4s, v29.4s
	WORD $0x4c002800 // st1 {v0.4s, v1.4s, v2.4s, v3.4s}, [x0]
	RET
