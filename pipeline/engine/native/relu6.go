package native

import "github.com/alphad/alphad/pipeline/tflite"

// RELU6, float32: min(max(x, 0), 6).
func prepareRelu6(p *plan, op *tflite.Operator) (runFunc, error) {
	return prepareUnary(p, op, prepareQuantRelu, relu6)
}

func relu6(dst, src []float32) {
	src = src[:len(dst)]
	for i, v := range src {
		dst[i] = min(max(v, 0), 6)
	}
}
