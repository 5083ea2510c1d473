package native

import (
	"math"

	"github.com/alphad/alphad/pipeline/tflite"
)

// LOGISTIC, float32: 1/(1+exp(-x)).
func prepareLogistic(p *plan, op *tflite.Operator) (runFunc, error) {
	return prepareUnary(p, op, prepareQuantLogistic, logistic)
}

func logistic(dst, src []float32) {
	src = src[:len(dst)]
	for i, v := range src {
		dst[i] = float32(1 / (1 + math.Exp(-float64(v))))
	}
}
