package native

import "github.com/alphad/alphad/pipeline/tflite"

// HARD_SWISH, float32.
func prepareHardSwish(p *plan, op *tflite.Operator) (runFunc, error) {
	return prepareUnary(p, op, prepareQuantHardSwish, hardSwish)
}

// hardSwish is x·relu6(x+3)/6.
func hardSwish(dst, src []float32) {
	src = src[:len(dst)]
	for i, v := range src {
		dst[i] = v * min(max(v+3, 0), 6) / 6
	}
}
