package qmath

import (
	"math"
	"testing"
)

func TestQuantizeMultiplier(t *testing.T) {
	tests := []struct {
		real float64
		want Multiplier
	}{
		{0, Multiplier{}},
		{0.5, Multiplier{M: 1 << 30, Shift: 0}},
		{1, Multiplier{M: 1 << 30, Shift: 1}},
		{0.25, Multiplier{M: 1 << 30, Shift: -1}},
		{0.75, Multiplier{M: 3 << 29, Shift: 0}},
		// Rounds up to 2^31 and renormalises.
		{1 - 1e-12, Multiplier{M: 1 << 30, Shift: 1}},
		// Too small: flushed to zero.
		{math.Ldexp(0.5, -40), Multiplier{}},
		{-0.5, Multiplier{M: -(1 << 30), Shift: 0}},
	}
	for _, tt := range tests {
		if got := QuantizeMultiplier(tt.real); got != tt.want {
			t.Errorf("QuantizeMultiplier(%g) = %+v, want %+v", tt.real, got, tt.want)
		}
	}
	for _, r := range []float64{0.0001234, 0.3, 0.99, 1.5, 17.25} {
		m := QuantizeMultiplier(r)
		if math.Abs(m.Float()-r) > r*1e-9 {
			t.Errorf("QuantizeMultiplier(%g).Float() = %g", r, m.Float())
		}
	}
}

func TestSaturatingRoundingDoublingHighMul(t *testing.T) {
	tests := []struct{ a, b, want int32 }{
		{math.MinInt32, math.MinInt32, math.MaxInt32},
		{1 << 30, 1 << 30, 1 << 29},
		{1, 1 << 30, 1},  // 2^31 / 2^31 rounds 0.5 up
		{-1, 1 << 30, 0}, // gemmlowp: -0.5 truncates to 0
		{100, 1 << 29, 25},
		{3, 1 << 29, 1}, // 0.75 -> 1
		{-3, 1 << 29, -1},
		{math.MaxInt32, math.MaxInt32, math.MaxInt32 - 1},
	}
	for _, tt := range tests {
		if got := SaturatingRoundingDoublingHighMul(tt.a, tt.b); got != tt.want {
			t.Errorf("SRDHM(%d, %d) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestRoundingDivideByPOT(t *testing.T) {
	tests := []struct {
		x    int32
		e    int
		want int32
	}{
		{5, 1, 3}, {-5, 1, -3}, {4, 1, 2}, {6, 2, 2}, {-6, 2, -2}, {-7, 2, -2},
		{7, 0, 7}, {math.MaxInt32, 31, 1}, {math.MinInt32, 31, -1},
	}
	for _, tt := range tests {
		if got := RoundingDivideByPOT(tt.x, tt.e); got != tt.want {
			t.Errorf("RoundingDivideByPOT(%d, %d) = %d, want %d", tt.x, tt.e, got, tt.want)
		}
	}
}

func TestMultiplierMul(t *testing.T) {
	// Against exact rational rounding for multipliers < 1, where TFLite's
	// double rounding equals single rounding except at rare ties.
	for _, r := range []float64{0.0123, 0.5, 0.9, 2.5, 1e-5} {
		m := QuantizeMultiplier(r)
		for _, x := range []int32{0, 1, -1, 1000, -1000, 123456, -98765, 1 << 20} {
			got := m.Mul(x)
			want := math.Round(float64(x) * m.Float())
			if math.Abs(float64(got)-want) > 1 {
				t.Errorf("%g·%d = %d, want ≈%g", r, x, got, want)
			}
		}
	}
	m := QuantizeMultiplier(0.3)
	if m.Mul(1000) != m.MulSmallerThanOne(1000) {
		t.Error("Mul and MulSmallerThanOne disagree")
	}
}

func TestActivationRange(t *testing.T) {
	tests := []struct {
		act    Activation
		typ    Type
		scale  float32
		zero   int32
		lo, hi int32
	}{
		{ActNone, Uint8, 0.1, 3, 0, 255},
		{ActNone, Int8, 0.1, 3, -128, 127},
		{ActRelu, Uint8, 0.1, 3, 3, 255},
		{ActRelu6, Uint8, 6.0 / 255, 0, 0, 255},
		{ActRelu6, Int8, 0.023529412, -128, -128, 127},
		{ActRelu6, Uint8, 0.05, 10, 10, 130},
		{ActReluN1To1, Int8, 0.01, 0, -100, 100},
	}
	for _, tt := range tests {
		lo, hi, ok := ActivationRange(tt.act, tt.typ, tt.scale, tt.zero)
		if !ok || lo != tt.lo || hi != tt.hi {
			t.Errorf("ActivationRange(%d, %s, %g, %d) = %d, %d, %v; want %d, %d", tt.act, tt.typ, tt.scale, tt.zero, lo, hi, ok, tt.lo, tt.hi)
		}
	}
	if _, _, ok := ActivationRange(4, Uint8, 1, 0); ok {
		t.Error("tanh accepted")
	}
}

func TestFP32Quant(t *testing.T) {
	tests := []struct {
		acc                int32
		scale              float32
		zero, lo, hi, want int32
	}{
		{10, 0.25, 0, -128, 127, 2},     // 2.5 -> 2 (half to even)
		{14, 0.25, 0, -128, 127, 4},     // 3.5 -> 4
		{-10, 0.25, 0, -128, 127, -2},   // -2.5 -> -2
		{100, 1, 5, 0, 255, 105},        // zero point added after rounding
		{1 << 30, 1, 0, -128, 127, 127}, // saturates in float before rounding
		{-1 << 30, 1, 3, 0, 255, 0},
		{7, 0.5, -128, -128, 127, -124}, // 3.5 -> 4
	}
	for _, tt := range tests {
		if got := fp32Quant(tt.acc, tt.scale, tt.zero, tt.lo, tt.hi); got != tt.want {
			t.Errorf("fp32Quant(%d, %g, %d) = %d, want %d", tt.acc, tt.scale, tt.zero, got, tt.want)
		}
	}
}
