package native

import "github.com/alphad/alphad/pipeline/tflite"

// Elementwise float32 activations (RELU, RELU6, LOGISTIC, HARD_SWISH)
// share this prepare; each op's kernel is in its own file.

type unaryKernel func(dst, src []float32)

func prepareUnary(p *plan, op *tflite.Operator, quant prepareFunc, k unaryKernel) (runFunc, error) {
	if err := p.checkIO(op, 1, 1); err != nil {
		return nil, err
	}
	in, out := op.Inputs[0], op.Outputs[0]
	if isQuant(p, in) {
		return quant(p, op)
	}
	for _, t := range []int{in, out} {
		if err := checkType(p, op, t, tflite.Float32); err != nil {
			return nil, err
		}
	}
	if p.tensor(in).NumElements() != p.tensor(out).NumElements() {
		return nil, p.unsupported(op, "input shape %v, output shape %v", p.tensor(in).Shape, p.tensor(out).Shape)
	}
	src, dst := p.f32(in), p.f32(out)
	return func() { k(dst, src) }, nil
}
