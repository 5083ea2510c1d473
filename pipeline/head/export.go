package head

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/alphad/alphad/pipeline/tflite"
)

// Export appends h to the feature extractor fm as TFLite ops —
// [DEQUANTIZE when fm's output is quantized] → FULLY_CONNECTED (relu
// fused) → FULLY_CONNECTED → SOFTMAX — and returns one standalone model
// whose single output are the class probabilities [1,Classes]. Weights are
// float32. fm is not modified (the result shares its tensors).
func Export(fm *tflite.Model, h *Head) (*tflite.Model, error) {
	if len(fm.Inputs) != 1 || len(fm.Outputs) != 1 {
		return nil, fmt.Errorf("head: export: backbone has %d inputs and %d outputs, want 1 and 1", len(fm.Inputs), len(fm.Outputs))
	}
	feat := fm.Output(0)
	if feat.NumElements() != h.In {
		return nil, fmt.Errorf("head: export: backbone output %v has %d values, head wants %d", feat.Shape, feat.NumElements(), h.In)
	}
	m := &tflite.Model{
		Version:     3,
		Description: "alphad: backbone + trained head",
		Tensors:     append([]*tflite.Tensor(nil), fm.Tensors...),
		Operators:   append([]*tflite.Operator(nil), fm.Operators...),
		Inputs:      append([]int(nil), fm.Inputs...),
	}
	add := func(name string, shape []int, data []float32) int {
		t := &tflite.Tensor{Index: len(m.Tensors), Name: name, Type: tflite.Float32, Shape: shape}
		if data != nil {
			t.Data = make([]byte, 4*len(data))
			for i, v := range data {
				binary.LittleEndian.PutUint32(t.Data[4*i:], math.Float32bits(v))
			}
		}
		m.Tensors = append(m.Tensors, t)
		return t.Index
	}
	op := func(code tflite.BuiltinOperator, version int, in []int, out int, opts any) {
		m.Operators = append(m.Operators, &tflite.Operator{Index: len(m.Operators), Op: code, Version: version,
			Inputs: in, Outputs: []int{out}, Options: opts})
	}
	x := fm.Outputs[0]
	switch feat.Type {
	case tflite.Float32:
	case tflite.Uint8, tflite.Int8:
		deq := add("alphad/features_float", append([]int(nil), feat.Shape...), nil)
		version := 1
		if feat.Type == tflite.Int8 {
			version = 2
		}
		op(tflite.OpDequantize, version, []int{x}, deq, nil)
		x = deq
	default:
		return nil, fmt.Errorf("head: export: backbone output type %s not supported", feat.Type)
	}
	width := h.In
	if h.Hidden > 0 {
		w := add("alphad/dense1/weights", []int{h.Hidden, h.In}, h.W1)
		b := add("alphad/dense1/bias", []int{h.Hidden}, h.B1)
		out := add("alphad/dense1/relu", []int{1, h.Hidden}, nil)
		op(tflite.OpFullyConnected, 1, []int{x, w, b}, out, &tflite.FullyConnectedOptions{Activation: tflite.ActRelu})
		x, width = out, h.Hidden
	}
	w := add("alphad/dense2/weights", []int{h.Classes, width}, h.W2)
	b := add("alphad/dense2/bias", []int{h.Classes}, h.B2)
	logits := add("alphad/dense2/logits", []int{1, h.Classes}, nil)
	op(tflite.OpFullyConnected, 1, []int{x, w, b}, logits, &tflite.FullyConnectedOptions{})
	probs := add("alphad/probabilities", []int{1, h.Classes}, nil)
	op(tflite.OpSoftmax, 1, []int{logits}, probs, &tflite.SoftmaxOptions{Beta: 1})
	m.Outputs = []int{probs}
	return m, nil
}
