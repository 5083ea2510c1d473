package native

import (
	"math"

	"github.com/alphad/alphad/pipeline/tflite"
)

// Elementwise float32 activations: RELU, RELU6, LOGISTIC and HARD_SWISH
// share this prepare; each has its own kernel below.

const maxFloat = math.MaxFloat32

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

func prepareRelu(p *plan, op *tflite.Operator) (runFunc, error) {
	return prepareUnary(p, op, prepareQuantRelu, relu)
}

func prepareRelu6(p *plan, op *tflite.Operator) (runFunc, error) {
	return prepareUnary(p, op, prepareQuantRelu, relu6)
}

func prepareLogistic(p *plan, op *tflite.Operator) (runFunc, error) {
	return prepareUnary(p, op, prepareQuantLogistic, logistic)
}

func prepareHardSwish(p *plan, op *tflite.Operator) (runFunc, error) {
	return prepareUnary(p, op, prepareQuantHardSwish, hardSwish)
}

func relu(dst, src []float32) {
	src = src[:len(dst)]
	for i, v := range src {
		dst[i] = max(v, 0)
	}
}

func relu6(dst, src []float32) {
	src = src[:len(dst)]
	for i, v := range src {
		dst[i] = min(max(v, 0), 6)
	}
}

func logistic(dst, src []float32) {
	src = src[:len(dst)]
	for i, v := range src {
		dst[i] = float32(1 / (1 + math.Exp(-float64(v))))
	}
}

// hardSwish is x·relu6(x+3)/6.
func hardSwish(dst, src []float32) {
	src = src[:len(dst)]
	for i, v := range src {
		dst[i] = v * min(max(v+3, 0), 6) / 6
	}
}
