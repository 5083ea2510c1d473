package native

import (
	"math"

	"github.com/alphad/alphad/pipeline/tflite"
)

// QUANTIZE from float32 to uint8/int8: clamp(round(x/scale) + zero_point),
// rounding half away from zero as TFLite does. Integer-to-integer
// requantization is a quantized kernel (prepareQuantRequantize).
func prepareQuantize(p *plan, op *tflite.Operator) (runFunc, error) {
	if err := p.checkIO(op, 1, 1); err != nil {
		return nil, err
	}
	in, out := op.Inputs[0], op.Outputs[0]
	if isQuant(p, in) {
		return prepareQuantRequantize(p, op)
	}
	if err := checkType(p, op, in, tflite.Float32); err != nil {
		return nil, err
	}
	ot := p.tensor(out)
	var qmin, qmax int32
	switch ot.Type {
	case tflite.Uint8:
		qmin, qmax = 0, 255
	case tflite.Int8:
		qmin, qmax = -128, 127
	default:
		return nil, p.unsupported(op, "%s output", ot.Type)
	}
	if p.tensor(in).NumElements() != ot.NumElements() {
		return nil, p.unsupported(op, "input shape %v, output shape %v", p.tensor(in).Shape, ot.Shape)
	}
	scales, zps, _, err := affine(p, op, out)
	if err != nil {
		return nil, err
	}
	if len(scales) != 1 {
		return nil, p.unsupported(op, "per-channel output quantization")
	}
	scale, zp := float32(scales[0]), zps[0]
	src, dst := p.f32(in), p.bytes(out)
	return func() { quantize(dst, src, scale, zp, qmin, qmax) }, nil
}

// quantize is the kernel.
func quantize(dst []byte, src []float32, scale float32, zp, qmin, qmax int32) {
	src = src[:len(dst)]
	for i, v := range src {
		q := math.Round(float64(v/scale)) + float64(zp)
		dst[i] = byte(int32(min(max(q, float64(qmin)), float64(qmax))))
	}
}
