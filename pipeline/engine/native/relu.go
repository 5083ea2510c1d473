package native

import "github.com/alphad/alphad/pipeline/tflite"

// RELU, float32: max(x, 0).
func prepareRelu(p *plan, op *tflite.Operator) (runFunc, error) {
	return prepareUnary(p, op, prepareQuantRelu, relu)
}

func relu(dst, src []float32) {
	src = src[:len(dst)]
	for i, v := range src {
		dst[i] = max(v, 0)
	}
}
