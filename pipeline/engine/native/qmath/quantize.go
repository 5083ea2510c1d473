package qmath

import "math"

// Quantize is TFLite's AffineQuantize from float32: q = round(x/scale) +
// zero, clamped to the type (the division and rounding in float32, ties
// away from zero).
func Quantize(dst []byte, src []float32, t Type, scale float32, zero int32) {
	src = src[:len(dst)]
	lo, hi := t.Min(), t.Max()
	for i, x := range src {
		v := int32(math.Round(float64(x/scale))) + zero
		dst[i] = t.Byte(clamp(v, lo, hi))
	}
}

// QuantizeXNNPACK is QUANTIZE from float32 as the runtime's XNNPACK
// delegate computes it (f32-qs8/qu8 convert): x multiplied by 1/scale in
// float32, clamped, rounded half to even, plus the zero point.
func QuantizeXNNPACK(dst []byte, src []float32, t Type, scale float32, zero int32) {
	src = src[:len(dst)]
	inv := 1 / scale
	lo, hi := t.Min(), t.Max()
	for i, x := range src {
		dst[i] = t.Byte(fp32QuantF(x*inv, zero, lo, hi))
	}
}

// DequantizeXNNPACK is DEQUANTIZE as the XNNPACK delegate computes it:
// float32(q-zero)·scale in float32.
func DequantizeXNNPACK(dst []float32, src []byte, t Type, scale float32, zero int32) {
	src = src[:len(dst)]
	for i, b := range src {
		dst[i] = float32(t.Value(b)-zero) * scale
	}
}

// Dequantize is TFLite's Dequantize: x = float32(scale·(q-zero)) with the
// product in double precision, as the reference kernel does.
func Dequantize(dst []float32, src []byte, t Type, scale float32, zero int32) {
	src = src[:len(dst)]
	s := float64(scale)
	for i, b := range src {
		dst[i] = float32(s * float64(t.Value(b)-zero))
	}
}

// RequantizeParams map values between two quantized tensors (QUANTIZE from
// uint8/int8 to uint8/int8): Mult encodes inScale/outScale.
type RequantizeParams struct {
	In, Out         Type
	InZero, OutZero int32
	Mult            Multiplier
}

// NewRequantizeParams computes the parameters from the scales and zero
// points.
func NewRequantizeParams(in, out Type, inScale, outScale float32, inZero, outZero int32) RequantizeParams {
	return RequantizeParams{In: in, Out: out, InZero: inZero, OutZero: outZero,
		Mult: QuantizeMultiplier(float64(inScale) / float64(outScale))}
}

// Requantize is TFLite's reference Requantize: q' = clamp(M·(q-zin) + zout).
func Requantize(dst, src []byte, p *RequantizeParams) {
	src = src[:len(dst)]
	lo, hi := p.Out.Min(), p.Out.Max()
	for i, b := range src {
		v := p.Mult.Mul(p.In.Value(b)-p.InZero) + p.OutZero
		dst[i] = p.Out.Byte(clamp(v, lo, hi))
	}
}

// Clamp is the quantized RELU family with equal input and output
// quantization: every value limited to [lo, hi].
func Clamp(dst, src []byte, t Type, lo, hi int32) {
	src = src[:len(dst)]
	for i, b := range src {
		dst[i] = t.Byte(clamp(t.Value(b), lo, hi))
	}
}

// ReluParams are the parameters of quantized RELU/RELU6 (TFLite's
// ReluX): the input is rescaled to the output's quantization and clamped.
type ReluParams struct {
	T               Type
	InZero, OutZero int32
	Mult            Multiplier // inScale/outScale
	Lo, Hi          int32
}

// Relu is TFLite's quantized ReluX: clamp(M·(q-zin) + zout, lo, hi).
func Relu(dst, src []byte, p *ReluParams) {
	src = src[:len(dst)]
	for i, b := range src {
		v := p.Mult.Mul(p.T.Value(b)-p.InZero) + p.OutZero
		dst[i] = p.T.Byte(clamp(v, p.Lo, p.Hi))
	}
}

// NewRequantizeLUT tabulates Requantize with p over the 256 input bytes:
// the same bytes, one table look-up each.
func NewRequantizeLUT(p *RequantizeParams) *LUT {
	l := &LUT{in: p.In}
	var src [256]byte
	for i := range src {
		src[i] = byte(i)
	}
	Requantize(l.table[:], src[:], p)
	return l
}
