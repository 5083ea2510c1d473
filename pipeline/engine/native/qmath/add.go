package qmath

// AddParams are the fixed-point parameters of quantized ADD, as TFLite's
// Prepare computes them for uint8 and int8: both inputs are rescaled to a
// common scale 2·max(s1, s2) with 20 bits of headroom, summed, then
// rescaled to the output.
type AddParams struct {
	In1, In2, Out          Type
	In1Zero, In2Zero       int32
	OutZero                int32
	LeftShift              int
	In1Mult, In2Mult, Mult Multiplier
	Lo, Hi                 int32 // clamp range in Out's units
}

// NewAddParams computes the ADD parameters from the tensor scales and zero
// points (s1, s2 inputs, so output) and the output clamp range.
func NewAddParams(in1, in2, out Type, s1, s2, so float32, z1, z2, zo, lo, hi int32) AddParams {
	const leftShift = 20
	twiceMax := float64(2 * max(s1, s2))
	return AddParams{
		In1: in1, In2: in2, Out: out,
		In1Zero: z1, In2Zero: z2, OutZero: zo,
		LeftShift: leftShift,
		In1Mult:   QuantizeMultiplier(float64(s1) / twiceMax),
		In2Mult:   QuantizeMultiplier(float64(s2) / twiceMax),
		Mult:      QuantizeMultiplier(twiceMax / float64(float32(1<<leftShift)*so)),
		Lo:        lo, Hi: hi,
	}
}

// Add is quantized elementwise ADD of equal-shaped a and b (TFLite's
// reference AddElementwise for uint8 and int8). Disjoint ranges of dst may
// be computed concurrently with slices of all three operands.
func Add(dst, a, b []byte, p *AddParams) {
	a = a[:len(dst)]
	b = b[:len(dst)]
	for i := range dst {
		x := (p.In1.Value(a[i]) - p.In1Zero) * (1 << p.LeftShift)
		y := (p.In2.Value(b[i]) - p.In2Zero) * (1 << p.LeftShift)
		sum := p.In1Mult.MulSmallerThanOne(x) + p.In2Mult.MulSmallerThanOne(y)
		v := p.Mult.MulSmallerThanOne(sum) + p.OutZero
		dst[i] = p.Out.Byte(clamp(v, p.Lo, p.Hi))
	}
}
