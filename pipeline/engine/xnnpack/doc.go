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
// other op makes New fail with an error naming the op and the reason, so the
// caller can fall back to the native engine.
//
// # Quantized models
//
// Quantized (uint8/int8) models run in float32: constant tensors are
// dequantized once, uint8/int8 inputs and outputs are converted at the graph
// edges by XNNPACK convert nodes, and every quantized activation is
// fake-quantized (rounded to its uint8/int8 grid and saturated, through a
// pair of convert nodes), which reproduces TFLite's integer requantization
// up to rounding ties. Measured against the real TFLite golden outputs
// (../shared/golden): uint8 classifier probabilities within 2 LSB, uint8
// features within 2 LSB, argmax equal on every image; float32 models within
// 1e-4 absolute. These are the tolerances the conformance test enforces.
//
// # Memory and threads
//
// Input and output buffers, and a copy of every constant tensor, live in C
// memory (XNNPACK keeps pointers to both); Close frees them. Options.Threads
// above 1 creates a pthreadpool whose workers yield to the scheduler after
// each run (XNN_FLAG_YIELD_WORKERS), since spinning workers are 3–10× slower
// on a busy Raspberry Pi.
package xnnpack
