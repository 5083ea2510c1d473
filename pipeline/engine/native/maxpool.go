package native

import "github.com/alphad/alphad/pipeline/tflite"

// MAX_POOL_2D, float32 (geometry in pool2d.go).
func prepareMaxPool2D(p *plan, op *tflite.Operator) (runFunc, error) {
	if err := p.checkIO(op, 1, 1); err != nil {
		return nil, err
	}
	if isQuant(p, op.Inputs[0]) {
		return prepareQuantMaxPool2D(p, op)
	}
	k, err := preparePool2D(p, op)
	if err != nil {
		return nil, err
	}
	j := k.job(p, true)
	return func() { p.pool.runJob(j) }, nil
}
