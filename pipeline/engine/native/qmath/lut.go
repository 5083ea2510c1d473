package qmath

import "math"

// LUT is an elementwise 8-bit function as a 256-entry table, built the way
// TFLite's PopulateLookupTable builds it for int8/uint8 LOGISTIC and
// friends: dequantize in float32, apply f, round half away from zero to
// the output scale, add the zero point, clamp.
type LUT struct {
	in    Type
	table [256]byte
}

// NewLUT tabulates f from the input to the output quantization.
func NewLUT(in, out Type, inScale float32, inZero int32, outScale float32, outZero int32, f func(float32) float32) *LUT {
	l := &LUT{in: in}
	inv := 1 / outScale
	lo, hi := out.Min(), out.Max()
	for v := in.Min(); v <= in.Max(); v++ {
		x := float32(inScale * float32(v-inZero))
		y := float32(f(x) * inv)
		q := int32(math.Round(float64(y))) + outZero
		l.table[byte(v)] = out.Byte(clamp(q, lo, hi))
	}
	return l
}

// Run maps every byte of src through the table.
func (l *LUT) Run(dst, src []byte) {
	src = src[:len(dst)]
	for i, b := range src {
		dst[i] = l.table[b]
	}
}

// Logistic is 1/(1+e^-x) in float32.
func Logistic(x float32) float32 {
	return 1 / (1 + float32(math.Exp(float64(-x))))
}

// HardSwish is x·relu6(x+3)/6 in float32.
func HardSwish(x float32) float32 {
	return x * min(max(x+3, 0), 6) / 6
}

// MulParams are the parameters of quantized elementwise MUL, computed as
// XNNPACK's fp32 vmul does (the runtime delegates MUL to it):
// round-half-even(float32((a-za)·(b-zb))·s) + zo with s = sa·sb/so in
// float32.
type MulParams struct {
	In1, In2, Out    Type
	In1Zero, In2Zero int32
	OutZero          int32
	Scale            float32
	Lo, Hi           int32
}

// Mul is quantized elementwise MUL of equal-shaped a and b.
func Mul(dst, a, b []byte, p *MulParams) {
	a = a[:len(dst)]
	b = b[:len(dst)]
	for i := range dst {
		acc := (p.In1.Value(a[i]) - p.In1Zero) * (p.In2.Value(b[i]) - p.In2Zero)
		dst[i] = p.Out.Byte(fp32Quant(acc, p.Scale, p.OutZero, p.Lo, p.Hi))
	}
}
