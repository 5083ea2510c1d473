package native

import (
	"github.com/alphad/alphad/pipeline/engine/native/qmath"
	"github.com/alphad/alphad/pipeline/tflite"
)

// QUANTIZE from float32 to uint8/int8 as the TFLite runtime computes it
// (its XNNPACK delegate takes this op): x·(1/scale) in float32, clamped,
// rounded half to even, plus the zero point (qmath.QuantizeXNNPACK, checked
// against the runtime in quant_oracle_test.go). Integer-to-integer
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
	typ, err := qtype(p, op, out)
	if err != nil {
		return nil, err
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
	return func() { qmath.QuantizeXNNPACK(dst, src, typ, scale, zp) }, nil
}
