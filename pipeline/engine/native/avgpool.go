package native

import "github.com/alphad/alphad/pipeline/tflite"

// AVERAGE_POOL_2D, float32 (geometry in pool2d.go).
func prepareAveragePool2D(p *plan, op *tflite.Operator) (runFunc, error) {
	if err := p.checkIO(op, 1, 1); err != nil {
		return nil, err
	}
	if isQuant(p, op.Inputs[0]) {
		return prepareQuantAveragePool2D(p, op)
	}
	k, err := preparePool2D(p, op)
	if err != nil {
		return nil, err
	}
	j := k.job(p, false)
	return func() { p.pool.runJob(j) }, nil
}
