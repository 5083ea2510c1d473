package qmath

import "math"

// Multiplier is a real number m encoded as TFLite does: m ≈ M·2^(Shift-31)
// with M a Q0.31 fixed-point value in [2^30, 2^31) (or 0).
type Multiplier struct {
	M     int32
	Shift int // positive: left shift, negative: right shift
}

// QuantizeMultiplier encodes real as TFLite's QuantizeMultiplier does
// (frexp, round half away from zero, renormalise at 2^31, flush tiny
// values to zero, saturate huge ones).
func QuantizeMultiplier(real float64) Multiplier {
	if real == 0 {
		return Multiplier{}
	}
	q, shift := math.Frexp(real)
	qf := int64(math.Round(q * (1 << 31)))
	if qf == 1<<31 {
		qf /= 2
		shift++
	}
	if shift < -31 {
		return Multiplier{}
	}
	if shift > 30 {
		return Multiplier{M: math.MaxInt32, Shift: 30}
	}
	return Multiplier{M: int32(qf), Shift: shift}
}

// Float is the real value m encodes.
func (m Multiplier) Float() float64 {
	return math.Ldexp(float64(m.M), m.Shift-31)
}

// SaturatingRoundingDoublingHighMul is gemmlowp's high 32 bits of 2·a·b,
// rounded to nearest (ties away from zero), saturating the single overflow
// case a == b == MinInt32.
func SaturatingRoundingDoublingHighMul(a, b int32) int32 {
	if a == b && a == math.MinInt32 {
		return math.MaxInt32
	}
	ab := int64(a) * int64(b)
	nudge := int64(1 << 30)
	if ab < 0 {
		nudge = 1 - (1 << 30)
	}
	return int32((ab + nudge) / (1 << 31))
}

// RoundingDivideByPOT is x / 2^exponent rounded to nearest, ties away from
// zero (gemmlowp). exponent must be in [0, 31].
func RoundingDivideByPOT(x int32, exponent int) int32 {
	mask := int32(1)<<exponent - 1
	remainder := x & mask
	threshold := mask >> 1
	if x < 0 {
		threshold++
	}
	r := x >> exponent
	if remainder > threshold {
		r++
	}
	return r
}

// Mul is TFLite's MultiplyByQuantizedMultiplier(x, M, Shift) (the
// double-rounding form, TFLITE_SINGLE_ROUNDING off): a left shift, the
// rounding high multiply, then a rounding right shift. It is what both
// the uint8 per-tensor and the int8 per-channel reference kernels call.
func (m Multiplier) Mul(x int32) int32 {
	if m.Shift > 0 {
		return SaturatingRoundingDoublingHighMul(x*(int32(1)<<m.Shift), m.M)
	}
	return RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(x, m.M), -m.Shift)
}

// MulSmallerThanOne is gemmlowp's MultiplyByQuantizedMultiplierSmallerThanOneExp,
// used by the ADD kernels: m.Shift must be ≤ 0. It equals Mul for such m.
func (m Multiplier) MulSmallerThanOne(x int32) int32 {
	return RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(x, m.M), -m.Shift)
}

// Type is the element type of a quantized tensor.
type Type uint8

// The quantized element types.
const (
	Uint8 Type = iota
	Int8
)

func (t Type) String() string {
	if t == Int8 {
		return "int8"
	}
	return "uint8"
}

// Min and Max are the type's value range.
func (t Type) Min() int32 {
	if t == Int8 {
		return math.MinInt8
	}
	return 0
}

// Max is the largest value of the type.
func (t Type) Max() int32 {
	if t == Int8 {
		return math.MaxInt8
	}
	return math.MaxUint8
}

// offset is what the unsigned domain adds to a value of type t.
func (t Type) offset() int32 {
	if t == Int8 {
		return 128
	}
	return 0
}

// flip is the byte XOR that maps a stored value to the unsigned domain.
func (t Type) flip() byte {
	if t == Int8 {
		return 0x80
	}
	return 0
}

// Value is the integer value of a stored byte.
func (t Type) Value(b byte) int32 {
	if t == Int8 {
		return int32(int8(b))
	}
	return int32(b)
}

// Byte stores v (already clamped to the type's range) as a byte.
func (t Type) Byte(v int32) byte { return byte(v) }

// Activation is a fused activation as a clamp range in quantized units.
type Activation int8

// Fused activations (same numbering as the TFLite schema).
const (
	ActNone      Activation = 0
	ActRelu      Activation = 1
	ActReluN1To1 Activation = 2
	ActRelu6     Activation = 3
)

// ActivationRange is TFLite's CalculateActivationRangeQuantized: the clamp
// range [lo, hi] of an output of type t with the given scale and zero
// point. It reports false for activations other than the four above.
func ActivationRange(act Activation, t Type, scale float32, zero int32) (lo, hi int32, ok bool) {
	quantize := func(f float32) int32 {
		return zero + int32(math.Round(float64(f/scale)))
	}
	lo, hi = t.Min(), t.Max()
	switch act {
	case ActNone:
	case ActRelu:
		lo = max(lo, quantize(0))
	case ActRelu6:
		lo = max(lo, quantize(0))
		hi = min(hi, quantize(6))
	case ActReluN1To1:
		lo = max(lo, quantize(-1))
		hi = min(hi, quantize(1))
	default:
		return 0, 0, false
	}
	return lo, hi, true
}

// clamp limits v to [lo, hi].
func clamp(v, lo, hi int32) int32 {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}
