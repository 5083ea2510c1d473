// Package xnnpack is the XNNPACK inference engine: it maps a whole
// tflite.Model onto one XNNPACK subgraph and runs it with one
// xnn_invoke_runtime call per Invoke.
//
// It is built only with the build tag "xnnpack" and cgo, against Debian
// bookworm's libxnnpack-dev (0.0~git20220216) and libpthreadpool-dev; the
// whole C API it uses is pinned in shim.go. Without the tag the package is
// empty and alphad runs the pure-Go native engine only.
//
// # Supported graphs
//
// CONV_2D, DEPTHWISE_CONV_2D (SAME padding is turned into TFLite's explicit
// padding), PAD (folded into the next convolution when possible, otherwise a
// constant pad), ADD, MUL, MEAN over H,W, AVERAGE_POOL_2D, MAX_POOL_2D,
// FULLY_CONNECTED, SOFTMAX, LOGISTIC, HARD_SWISH, RELU, RELU6, RESHAPE,
// SQUEEZE, with fused RELU/RELU6/RELU_N1_TO_1 as output clamps, and
// QUANTIZE/DEQUANTIZE. CONCATENATION has no node in the bookworm API. Any
// other op makes New fail with a *tflite.UnsupportedOpError naming the op and
// the reason, so the caller can fall back to the native engine.
//
// XNNPACK trusts the shapes it is given, so New checks that every op's
// output shape is the one the op computes (a corrupt model would otherwise
// make XNNPACK write out of bounds), and it maps only the ops that feed a
// model output (XNNPACK gives unread values no memory).
//
// # Quantized models
//
// Quantized models run on XNNPACK's integer nodes, like TFLite's own XNNPACK
// delegate: uint8 models as qu8, int8 models as qs8 with per-channel (qc8)
// weights. Convolutions, fully connected, add, global average pooling (MEAN,
// AVERAGE_POOL_2D over the whole map), max pool, pad and reshape read and
// write quantized tensors with exact int32 accumulation and XNNPACK's fp32
// requantization. The other ops (softmax, logistic, hard-swish, mul, ...)
// run in float32 between convert nodes that dequantize their inputs and
// round the result back onto the output's grid; so do ops whose weights have
// no integer form here (e.g. uint8 activations with int8 weights), with
// dequantized weights. QUANTIZE requantizes; DEQUANTIZE of an activation is
// a no-op until a float consumer reads it.
//
// Accuracy, measured against the real TFLite outputs in ../shared/golden on
// x86-64: every uint8 row (TF1 uint8 and TF2 int8 classifiers, uint8
// features) is bit-exact (0 LSB) and float32 rows are within 1e-5; the
// conformance test enforces 1 LSB and 1e-4 with equal argmax, leaving 1 LSB
// for other CPUs' kernels (not measured on arm64). On the Teachable Machine
// uint8 export the engine agrees with the native engine within 1 LSB.
//
// # Memory and threads
//
// Input and output buffers, and a copy of every constant tensor, live in C
// memory (XNNPACK keeps pointers to both); Close frees them. Options.Threads
// above 1 creates a pthreadpool whose workers yield to the scheduler after
// each run (XNN_FLAG_YIELD_WORKERS), since spinning workers are 3–10× slower
// on a busy Raspberry Pi.
package xnnpack
