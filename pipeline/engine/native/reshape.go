package native

import "github.com/alphad/alphad/pipeline/tflite"

// RESHAPE and SQUEEZE, any element type. The arena usually aliases the
// output to the input (see layout), leaving nothing to do; otherwise the
// bytes are copied.
func prepareReshape(p *plan, op *tflite.Operator) (runFunc, error) {
	if err := p.checkIO(op, 1, 1); err != nil {
		return nil, err
	}
	in, out := op.Inputs[0], op.Outputs[0]
	it, ot := p.tensor(in), p.tensor(out)
	if it.Type != ot.Type || it.Type.Size() == 0 {
		return nil, p.unsupported(op, "input %s, output %s", it.Type, ot.Type)
	}
	if it.NumElements() != ot.NumElements() {
		return nil, p.unsupported(op, "input shape %v and output shape %v differ in size", it.Shape, ot.Shape)
	}
	if (it.Type == tflite.Uint8 || it.Type == tflite.Int8) && !sameQuant(it.Quant, ot.Quant) {
		return nil, p.unsupported(op, "input and output quantization differ")
	}
	src, dst := p.bytes(in), p.bytes(out)
	if len(src) > 0 && &src[0] == &dst[0] {
		return func() {}, nil
	}
	return func() { copy(dst, src) }, nil
}
