// Package tflitetest builds small, valid TFLite models in memory for tests
// of the packages that read models (parser, engines, export). Marshal the
// result with tflite.Marshal to get file bytes.
package tflitetest

import (
	"encoding/binary"
	"math"

	"github.com/alphad/alphad/pipeline/tflite"
)

// Tiny is a 4-op float32 classifier: input [1,4,4,2] → CONV_2D 1×1 (3
// filters, RELU6) → MEAN over axes 1,2 → FULLY_CONNECTED (2 classes) →
// SOFTMAX → output [1,2]. Tensor 2 is the conv output, 5 the pooled
// features [1,3]. Weights are fixed, so outputs are reproducible.
func Tiny() *tflite.Model {
	f32 := func(shape []int, vals ...float32) *tflite.Tensor {
		t := &tflite.Tensor{Type: tflite.Float32, Shape: shape}
		if vals != nil {
			t.Data = make([]byte, 4*len(vals))
			for i, v := range vals {
				binary.LittleEndian.PutUint32(t.Data[4*i:], math.Float32bits(v))
			}
		}
		return t
	}
	axes := &tflite.Tensor{Type: tflite.Int32, Shape: []int{2}, Data: []byte{1, 0, 0, 0, 2, 0, 0, 0}}
	m := &tflite.Model{
		Version:     3,
		Description: "alphad tflitetest.Tiny",
		Tensors: []*tflite.Tensor{
			f32([]int{1, 4, 4, 2}),                             // 0 input
			f32([]int{3, 1, 1, 2}, 0.5, -0.25, 1, 0.75, -1, 2), // 1 conv weights
			f32([]int{1, 4, 4, 3}),                             // 2 conv output
			f32([]int{3}, 0.1, 0, -0.1),                        // 3 conv bias
			axes,                                               // 4 mean axes
			f32([]int{1, 3}),                                   // 5 features
			f32([]int{2, 3}, 1, -1, 0.5, -0.5, 0.25, 1.5),      // 6 fc weights
			f32([]int{2}, 0.01, -0.01),                         // 7 fc bias
			f32([]int{1, 2}),                                   // 8 logits
			f32([]int{1, 2}),                                   // 9 probabilities
		},
		Operators: []*tflite.Operator{
			{Op: tflite.OpConv2D, Version: 1, Inputs: []int{0, 1, 3}, Outputs: []int{2},
				Options: &tflite.Conv2DOptions{Padding: tflite.PaddingSame, StrideW: 1, StrideH: 1, DilationW: 1, DilationH: 1, Activation: tflite.ActRelu6}},
			{Op: tflite.OpMean, Version: 1, Inputs: []int{2, 4}, Outputs: []int{5}, Options: &tflite.ReducerOptions{}},
			{Op: tflite.OpFullyConnected, Version: 1, Inputs: []int{5, 6, 7}, Outputs: []int{8}, Options: &tflite.FullyConnectedOptions{}},
			{Op: tflite.OpSoftmax, Version: 1, Inputs: []int{8}, Outputs: []int{9}, Options: &tflite.SoftmaxOptions{Beta: 1}},
		},
		Inputs:  []int{0},
		Outputs: []int{9},
	}
	names := []string{"input", "conv/weights", "conv/out", "conv/bias", "mean/axes", "features", "fc/weights", "fc/bias", "logits", "probabilities"}
	for i, t := range m.Tensors {
		t.Index = i
		t.Name = names[i]
	}
	for i, op := range m.Operators {
		op.Index = i
	}
	return m
}
