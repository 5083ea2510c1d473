package qmath

import (
	"fmt"
	"math"
	"math/bits"
)

// SoftmaxFixed is TFLite's reference quantized SOFTMAX
// (reference_ops::Softmax for uint8, reference_integer_ops::Softmax for
// int8): gemmlowp fixed-point exp of the scaled differences to the row
// maximum (5 integer bits), a 12-integer-bit accumulator and a
// Newton-Raphson reciprocal. Newer TFLite builds run the float-table
// Softmax instead; this one is kept to tell which produced a result.
type SoftmaxFixed struct {
	in, out   Type
	outZero   int32
	mult      int32
	leftShift int
	diffMin   int32
}

const (
	smScaledDiffIntBits = 5
	smAccumIntBits      = 12
)

// NewSoftmaxFixed prepares the multipliers as TFLite's Prepare does
// (PreprocessSoftmaxScaling, CalculateInputRadius).
func NewSoftmaxFixed(in, out Type, inScale, beta float32, outZero int32) *SoftmaxFixed {
	real := math.Min(float64(beta)*float64(inScale)*float64(int64(1)<<(31-smScaledDiffIntBits)), float64(int64(1)<<31)-1)
	m := QuantizeMultiplier(real)
	radius := float64((1<<smScaledDiffIntBits)-1) * float64(int64(1)<<(31-smScaledDiffIntBits)) / float64(int64(1)<<m.Shift)
	return &SoftmaxFixed{in: in, out: out, outZero: outZero, mult: m.M, leftShift: m.Shift, diffMin: -int32(math.Floor(radius))}
}

// Run applies the softmax to each row of depth values.
func (s *SoftmaxFixed) Run(dst, src []byte, depth int) error {
	if depth < 1 || len(src)%depth != 0 || len(dst) != len(src) {
		return fmt.Errorf("qmath: softmax: %d inputs, %d outputs, depth %d", len(src), len(dst), depth)
	}
	lo, hi := s.out.Min(), s.out.Max()
	for r := 0; r < len(src); r += depth {
		in, out := src[r:r+depth], dst[r:r+depth]
		m := s.in.Min()
		for _, b := range in {
			m = max(m, s.in.Value(b))
		}
		var sum int32
		for _, b := range in {
			if d := s.in.Value(b) - m; d >= s.diffMin {
				e := expOnNegative(SaturatingRoundingDoublingHighMul(d*(int32(1)<<s.leftShift), s.mult))
				sum += RoundingDivideByPOT(e, smAccumIntBits)
			}
		}
		scale, over := reciprocal(sum, smAccumIntBits)
		for j, b := range in {
			d := s.in.Value(b) - m
			if d < s.diffMin {
				out[j] = s.out.Byte(lo)
				continue
			}
			e := expOnNegative(SaturatingRoundingDoublingHighMul(d*(int32(1)<<s.leftShift), s.mult))
			// Flat rows of many classes need a shift past 31, undefined in
			// TFLite (gemmlowp asserts exponent ≤ 31); the exact result is 0.
			v := s.outZero
			if sh := over + 31 - 8; sh <= 31 {
				v += RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(scale, e), sh)
			}
			out[j] = s.out.Byte(clamp(v, lo, hi))
		}
	}
	return nil
}

// saturatingShiftLeft is gemmlowp's SaturatingRoundingMultiplyByPOT for a
// positive exponent.
func saturatingShiftLeft(x int32, e int) int32 {
	threshold := int32(1)<<(31-e) - 1
	switch {
	case x > threshold:
		return math.MaxInt32
	case x < -threshold:
		return math.MinInt32
	}
	return x << e
}

// expOnNegative is gemmlowp's exp_on_negative_values for a Q5.26 input,
// returning Q0.31.
func expOnNegative(a int32) int32 {
	const fracBits = 31 - smScaledDiffIntBits
	const quarter = int32(1) << (fracBits - 2)
	mask := quarter - 1
	aModQuarterMinusQuarter := (a & mask) - quarter
	result := expQuarterInterval(saturatingShiftLeft(aModQuarterMinusQuarter, smScaledDiffIntBits))
	remainder := aModQuarterMinusQuarter - a
	for i, mult := range [...]int32{1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242} {
		exponent := i - 2
		if smScaledDiffIntBits > exponent && remainder&(int32(1)<<(fracBits+exponent)) != 0 {
			result = SaturatingRoundingDoublingHighMul(result, mult)
		}
	}
	if a == 0 {
		return math.MaxInt32
	}
	return result
}

// expQuarterInterval is gemmlowp's
// exp_on_interval_between_negative_one_quarter_and_0_excl (Q0.31).
func expQuarterInterval(a int32) int32 {
	const constantTerm, oneThird = 1895147668, 715827883
	x := a + 1<<28
	x2 := SaturatingRoundingDoublingHighMul(x, x)
	x3 := SaturatingRoundingDoublingHighMul(x2, x)
	x4 := SaturatingRoundingDoublingHighMul(x2, x2)
	x4Over4 := RoundingDivideByPOT(x4, 2)
	poly := RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(x4Over4+x3, oneThird)+x2, 1)
	return constantTerm + SaturatingRoundingDoublingHighMul(constantTerm, x+poly)
}

// reciprocal is TFLite's GetReciprocal: 1/x for x with intBits integer
// bits, as a Q0.31 value scaled by 2^-over.
func reciprocal(x int32, intBits int) (scale int32, over int) {
	headroom := bits.LeadingZeros32(uint32(x))
	over = intBits - headroom
	shiftedMinusOne := int32(uint32(x)<<headroom - 1<<31)
	return oneOverOnePlusX(shiftedMinusOne), over
}

// oneOverOnePlusX is gemmlowp's one_over_one_plus_x_for_x_in_0_1 (Q0.31 in
// and out, Newton-Raphson in Q2.29).
func oneOverOnePlusX(a int32) int32 {
	sum := int64(a) + math.MaxInt32
	sign := int64(1)
	if sum < 0 {
		sign = -1
	}
	half := int32((sum + sign) / 2)
	const c48over17, cNeg32over17 = 1515870810, -1010580540
	const one2 = int32(1) << 29
	x := c48over17 + SaturatingRoundingDoublingHighMul(half, cNeg32over17)
	for range 3 {
		hx := SaturatingRoundingDoublingHighMul(half, x)
		x += saturatingShiftLeft(SaturatingRoundingDoublingHighMul(x, one2-hx), 2)
	}
	return saturatingShiftLeft(x>>1, 2)
}
