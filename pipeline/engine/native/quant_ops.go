package native

// Quantized (uint8/int8) dispatch. The float prepare funcs call these when
// an op's input is uint8 or int8. They wrap the integer math of package
// qmath; see the contract at the top of kernel.go.
//
// These are stubs until the qmath wrappers land: each reports the op as
// unsupported.

import "github.com/alphad/alphad/pipeline/tflite"

func prepareQuantConv2D(p *plan, op *tflite.Operator) (runFunc, error) {
	return nil, p.unsupported(op, "quantized kernel not implemented")
}

func prepareQuantDepthwiseConv2D(p *plan, op *tflite.Operator) (runFunc, error) {
	return nil, p.unsupported(op, "quantized kernel not implemented")
}

func prepareQuantFullyConnected(p *plan, op *tflite.Operator) (runFunc, error) {
	return nil, p.unsupported(op, "quantized kernel not implemented")
}

func prepareQuantAdd(p *plan, op *tflite.Operator) (runFunc, error) {
	return nil, p.unsupported(op, "quantized kernel not implemented")
}

func prepareQuantMul(p *plan, op *tflite.Operator) (runFunc, error) {
	return nil, p.unsupported(op, "quantized kernel not implemented")
}

func prepareQuantMean(p *plan, op *tflite.Operator) (runFunc, error) {
	return nil, p.unsupported(op, "quantized kernel not implemented")
}

func prepareQuantAveragePool2D(p *plan, op *tflite.Operator) (runFunc, error) {
	return nil, p.unsupported(op, "quantized kernel not implemented")
}

func prepareQuantMaxPool2D(p *plan, op *tflite.Operator) (runFunc, error) {
	return nil, p.unsupported(op, "quantized kernel not implemented")
}

func prepareQuantSoftmax(p *plan, op *tflite.Operator) (runFunc, error) {
	return nil, p.unsupported(op, "quantized kernel not implemented")
}

func prepareQuantConcatenation(p *plan, op *tflite.Operator) (runFunc, error) {
	return nil, p.unsupported(op, "quantized kernel not implemented")
}

// prepareQuantRelu handles RELU and RELU6 (op.Op tells which).
func prepareQuantRelu(p *plan, op *tflite.Operator) (runFunc, error) {
	return nil, p.unsupported(op, "quantized kernel not implemented")
}

func prepareQuantLogistic(p *plan, op *tflite.Operator) (runFunc, error) {
	return nil, p.unsupported(op, "quantized kernel not implemented")
}

func prepareQuantHardSwish(p *plan, op *tflite.Operator) (runFunc, error) {
	return nil, p.unsupported(op, "quantized kernel not implemented")
}

// prepareQuantRequantize handles QUANTIZE from uint8/int8 to uint8/int8
// (QUANTIZE from float32 and DEQUANTIZE are float kernels).
func prepareQuantRequantize(p *plan, op *tflite.Operator) (runFunc, error) {
	return nil, p.unsupported(op, "quantized kernel not implemented")
}
