// Package native is alphad's pure-Go inference engine: it runs a validated
// TFLite model (package tflite) on any GOOS/GOARCH, with or without cgo.
//
// New plans the model once: it assigns every activation tensor an offset in
// one arena (greedy reuse over tensor lifetimes; RESHAPE and SQUEEZE alias
// their input), pre-packs weights for the GEMM and depthwise kernels, and
// prepares one run function per operator. Invoke then runs those functions
// in order and allocates nothing. Heavy ops are split over a persistent
// worker pool when Options.Threads > 1.
//
// Float32 kernels live here, one file per op; the integer (uint8/int8)
// kernels are wrappers in quant_ops.go over package qmath. kernel.go
// documents the contract between the interpreter and the kernels.
//
// On amd64 build with GOAMD64=v3 (the Makefile does): the compiler then
// fuses the GEMM's multiply-adds into FMA instructions, roughly halving
// inference time. Default GOAMD64=v1 builds work, just slower.
package native
