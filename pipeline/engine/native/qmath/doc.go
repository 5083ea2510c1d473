// Package qmath is the integer arithmetic of alphad's native engine for
// quantized (uint8 and int8) TFLite models. It reproduces TFLite's reference
// kernels (tensorflow/lite/kernels/internal/reference and its integer_ops):
// the same fixed-point multipliers (QuantizeMultiplier), the same rounding
// (SaturatingRoundingDoublingHighMul, RoundingDivideByPOT) and the same
// order of operations, so its results match the real runtime bit for bit
// where TFLite's own kernels agree with each other.
//
// Tensors are raw bytes, as the engine stores them. Every kernel takes a
// Type (Uint8 or Int8) per operand and works internally in the unsigned
// domain: an int8 value v is handled as the byte v+128 with its zero point
// moved by 128, which leaves every difference q-zeroPoint, and so every
// result, unchanged. That lets one set of loops serve both types.
//
// The heavy kernels (Conv, DepthwiseConv, FullyConnected) are built once
// from constant weights (New...) and then run many times; they allocate
// nothing per call. Each kernel has a plain reference loop (the Ref
// functions) that the fast one is tested against.
package qmath
