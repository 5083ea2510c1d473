package qmath

import "math"

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

// XNNPACKAddParams are the parameters of XNNPACK's quantized ADD (qu8 and
// qs8 vadd), which the TFLite runtime delegates ADD to: both inputs are
// scaled by 21-bit integer multipliers of inScale/outScale and the sum is
// shifted right, rounding half up.
type XNNPACKAddParams struct {
	In1, In2, Out    Type
	In1Zero, In2Zero int32
	OutZero          int32
	M1, M2           int32
	Shift            uint
	Lo, Hi           int32
	// t1 and t2 are each input byte's scaled term,
	// M·(value-zero), with the rounding constant in t1: AddXNNPACK adds
	// two table entries instead of multiplying (the same int32 sums).
	t1, t2 [256]int32
	vec    addVec
}

// addVec is XNNPACKAddParams as the vector kernel reads it (layout shared
// with add_amd64.s).
type addVec struct {
	z1, z2, m1, m2 int32    // 0
	round, zo      int32    // 16
	lo, hi         int32    // 24
	shift          uint64   // 32: the shift count (the low 64 bits of an XMM)
	_              uint64   // 40
	pick           [16]byte // 48: the low byte of each 32-bit lane
}

// NewXNNPACKAddParams computes the parameters from the tensor scales and
// zero points as XNNPACK's init function does. It reports false when the
// scale ratios are outside the range XNNPACK accepts ([2^-10, 2^8)).
func NewXNNPACKAddParams(in1, in2, out Type, s1, s2, so float32, z1, z2, zo, lo, hi int32) (XNNPACKAddParams, bool) {
	r1, r2 := s1/so, s2/so
	const lim0, lim1 = 1.0 / 1024, 256
	if r1 < lim0 || r2 < lim0 || r1 >= lim1 || r2 >= lim1 {
		return XNNPACKAddParams{}, false
	}
	exp := int(math.Float32bits(max(r1, r2))>>23) - 127
	shift := uint(20 - exp)
	scaled := func(r float32) int32 {
		return int32(math.RoundToEven(float64(math.Float32frombits(math.Float32bits(r) + uint32(shift)<<23))))
	}
	p := XNNPACKAddParams{In1: in1, In2: in2, Out: out, In1Zero: z1, In2Zero: z2, OutZero: zo,
		M1: scaled(r1), M2: scaled(r2), Shift: shift, Lo: lo, Hi: hi}
	round := int32(1) << (p.Shift - 1)
	for b := range 256 {
		p.t1[b] = p.M1*(in1.Value(byte(b))-z1) + round
		p.t2[b] = p.M2 * (in2.Value(byte(b)) - z2)
	}
	p.vec = addVec{z1: z1, z2: z2, m1: p.M1, m2: p.M2, round: round, zo: zo, lo: lo, hi: hi, shift: uint64(shift),
		pick: [16]byte{0, 4, 8, 12, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80}}
	return p, true
}

// AddXNNPACK is XNNPACK's quantized elementwise ADD of equal-shaped a and b.
func AddXNNPACK(dst, a, b []byte, p *XNNPACKAddParams) {
	a = a[:len(dst)]
	b = b[:len(dst)]
	if done := addVector(dst, a, b, p); done > 0 {
		dst, a, b = dst[done:], a[done:], b[done:]
	}
	t1, t2 := &p.t1, &p.t2
	shift, zo, lo, hi := p.Shift&31, p.OutZero, p.Lo, p.Hi
	for i := range dst {
		v := (t1[a[i]]+t2[b[i]])>>shift + zo
		dst[i] = byte(min(max(v, lo), hi))
	}
}
