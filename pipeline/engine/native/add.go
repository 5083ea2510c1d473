package native

import "github.com/alphad/alphad/pipeline/tflite"

// ADD, float32, with broadcasting (see broadcast.go) and a fused
// activation.
func prepareAdd(p *plan, op *tflite.Operator) (runFunc, error) {
	if err := p.checkIO(op, 2, 1); err != nil {
		return nil, err
	}
	if isQuant(p, op.Inputs[0]) {
		return prepareQuantAdd(p, op)
	}
	act := tflite.ActNone
	if o, ok := op.Options.(*tflite.AddOptions); ok {
		act = o.Activation
	}
	return prepareBinary(p, op, binAdd, act)
}
