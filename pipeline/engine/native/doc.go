// Package native is alphad's pure-Go inference engine: it runs a validated
// TFLite model (package tflite) on any GOOS/GOARCH, with or without cgo.
//
// New plans the model once: it assigns every activation tensor an offset in
// one arena (greedy reuse over tensor lifetimes; RESHAPE and SQUEEZE alias
// their input), pre-packs weights for the GEMM and depthwise kernels, and
// prepares one run function per operator. Invoke then runs those functions
// in order and allocates nothing. Heavy ops are split over a persistent
// worker pool when Options.Threads > 1. Float32 inverted-residual blocks
// on large feature maps (expand CONV_2D, 3×3 depthwise, 1×1 project,
// residual ADD) run fused, band by band, so that their expanded maps stay
// in each core's cache and take no arena space (fused.go); the results are
// bit for bit those of the ops run one by one.
//
// Float32 kernels live here, one file per op; the integer (uint8/int8)
// kernels are wrappers in quant_ops.go over package qmath. kernel.go
// documents the contract between the interpreter and the kernels.
//
// The GEMM (1×1 convolutions, im2col convolutions, fully connected) runs
// an 8×32 AVX-512 or a 6×16 AVX2+FMA micro-kernel written in Go assembly
// on amd64 CPUs that have those extensions (detected at run time), an 8×8
// NEON kernel on arm64 (gemm_arm64.s), and a portable scalar Go kernel
// (3×3 tile on amd64, 4×4 on arm) everywhere else and with the build tag
// purego; likewise the 3×3 depthwise rows run eight channels at a time in
// assembly. The quantized kernels choose theirs the same way (qmath.Dots:
// VNNI or AVX2 on amd64, UDOT when the CPU has the dot-product extension
// or else UMLAL on arm64). Every amd64 assembly kernel ends with
// VZEROUPPER, so no AVX state leaks into Go code. Go's arm64 assembler
// lacks most NEON instructions: the .s files spell them as WORDs with the
// instruction in a comment, encoded by the neongen command (llvm-mc), which
// scripts/cross-test.sh re-checks. The scalar kernel's multiply-adds
// become FMA instructions with GOAMD64=v3 (the Makefile's default) or on
// arm64; it also works, slower, with GOAMD64=v1.
//
// Heavy jobs below poolMinWork multiply-adds run on the calling thread:
// waking a worker costs about what it would save. Each thread claims its
// own contiguous share of every job first (pool.go), so that it mostly
// reads lines its own core wrote: a cache line moving between cores is
// most of what a second thread loses. Engine.Prewake wakes parked workers
// while the caller prepares a frame's input, and threadPicker (pick.go)
// runs an Invoke on the caller alone when that has lately been faster (a
// machine busy with other work).
package native
