package native

import (
	"math"

	"github.com/alphad/alphad/pipeline/tflite"
)

// SOFTMAX, float32, over the last dimension: exp(β(x-max)) / Σ.
func prepareSoftmax(p *plan, op *tflite.Operator) (runFunc, error) {
	if err := p.checkIO(op, 1, 1); err != nil {
		return nil, err
	}
	in, out := op.Inputs[0], op.Outputs[0]
	if isQuant(p, in) {
		return prepareQuantSoftmax(p, op)
	}
	for _, t := range []int{in, out} {
		if err := checkType(p, op, t, tflite.Float32); err != nil {
			return nil, err
		}
	}
	shape := p.tensor(in).Shape
	if len(shape) == 0 || p.tensor(out).NumElements() != p.tensor(in).NumElements() {
		return nil, p.unsupported(op, "input shape %v, output shape %v", shape, p.tensor(out).Shape)
	}
	beta := float32(1)
	if o, ok := op.Options.(*tflite.SoftmaxOptions); ok {
		beta = o.Beta
	}
	n := shape[len(shape)-1]
	src, dst := p.f32(in), p.f32(out)
	return func() {
		for i := 0; i+n <= len(dst); i += n {
			softmax(dst[i:i+n], src[i:i+n], beta)
		}
	}, nil
}

// softmax writes the softmax of x (scaled by beta) into dst.
func softmax(dst, x []float32, beta float32) {
	if len(x) == 0 {
		return
	}
	x = x[:len(dst)]
	m := x[0]
	for _, v := range x {
		m = max(m, v)
	}
	var sum float32
	for i, v := range x {
		e := float32(math.Exp(float64((v - m) * beta)))
		dst[i] = e
		sum += e
	}
	inv := 1 / sum
	for i := range dst {
		dst[i] *= inv
	}
}
