package native

import "github.com/alphad/alphad/pipeline/tflite"

// MUL, float32, with broadcasting (see broadcast.go) and a fused
// activation.
func prepareMul(p *plan, op *tflite.Operator) (runFunc, error) {
	if err := p.checkIO(op, 2, 1); err != nil {
		return nil, err
	}
	if isQuant(p, op.Inputs[0]) {
		return prepareQuantMul(p, op)
	}
	act := tflite.ActNone
	if o, ok := op.Options.(*tflite.MulOptions); ok {
		act = o.Activation
	}
	return prepareBinary(p, op, binMul, act)
}
