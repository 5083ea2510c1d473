// Package qmath is the integer arithmetic of alphad's native engine for
// quantized (uint8 and int8) TFLite models.
//
// Two arithmetics are implemented, because the TFLite runtime itself uses
// two. TFLite's builtin kernels (tensorflow/lite/kernels/internal/reference
// and integer_ops) requantize with gemmlowp fixed-point multipliers
// (QuantizeMultiplier, SaturatingRoundingDoublingHighMul,
// RoundingDivideByPOT); the XNNPACK delegate, which the runtime applies by
// default and which takes CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, ADD,
// MUL and MEAN over H,W, requantizes in float32 (fp32Quant: acc·scale,
// rounded half to even) and adds with 21-bit integer multipliers
// (AddXNNPACK). The rest (AVERAGE_POOL_2D, SOFTMAX with its float exp
// table, QUANTIZE, CONCATENATION, LOGISTIC) stays in TFLite's kernels.
// Following the same split reproduces the real runtime bit for bit on the
// shared MobileNetV2 models and on Teachable Machine exports; the
// fixed-point path remains available (ConvParams.Scale nil, Add,
// MeanMultiplier) and tested against its reference loops.
//
// Tensors are raw bytes, as the engine stores them. Every kernel takes a
// Type (Uint8 or Int8) per operand; the GEMM and depthwise kernels work
// internally in the unsigned domain: an int8 value v is handled as the byte
// v+128 with its zero point moved by 128, which leaves every difference
// q-zeroPoint, and so every result, unchanged.
//
// The GEMM (Conv, also used for fully connected layers) folds zero points
// into a per-channel bias and per-row input sums and multiplies unsigned
// bytes. On amd64 with AVX2 it runs a 4×16 tile of 16-bit pair
// multiply-adds (VPMADDWD, dot_amd64.s), with the 3×3 depthwise
// accumulation and the fp32 requantization vectorized likewise (and an
// 8-bit VNNI tile with AVX512-VNNI). On arm64 it runs a 4×16 tile of
// UDOT by element when the CPU has the dot-product extension, else of
// UMLAL by element on 16-bit values, with NEON depthwise accumulation and
// requantization (dot_arm64.s). Elsewhere (armv7, or the purego tag) it packs two output channels into each
// uint64 of the weights, so one 64-bit multiply does two 8-bit
// multiply-adds (the lanes cannot carry into each other for dot products
// up to 66051 terms). Both paths give identical results. The heavy kernels are built once from the
// constant weights (NewConv, NewDepthwise) and allocate nothing per call.
// Each kernel has a plain reference loop (ConvRef, DepthwiseRef) the fast
// one is tested against.
package qmath
