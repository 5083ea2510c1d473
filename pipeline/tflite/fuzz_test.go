package tflite_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/alphad/alphad/pipeline/tflite"
	"github.com/alphad/alphad/pipeline/tflite/tflitetest"
)

// allOpsModel uses every supported op and option type, per-channel
// quantization and a custom op, so that the fuzzer starts from a file
// that reaches every branch of the reader. Shapes are consistent enough
// for the parser, not for an engine.
func allOpsModel() *tflite.Model {
	m := tflitetest.Tiny()
	add := func(t *tflite.Tensor) int {
		t.Index = len(m.Tensors)
		m.Tensors = append(m.Tensors, t)
		return t.Index
	}
	act := func() int { return add(&tflite.Tensor{Type: tflite.Float32, Shape: []int{1, 4, 4, 3}}) }
	x := 2 // conv output [1,4,4,3]
	op := func(code tflite.BuiltinOperator, version int, opts any, in ...int) {
		out := act()
		m.Operators = append(m.Operators, &tflite.Operator{Index: len(m.Operators), Op: code, Version: version, Inputs: in, Outputs: []int{out}, Options: opts})
		x = out
	}
	shape := add(&tflite.Tensor{Type: tflite.Int32, Shape: []int{4}, Data: []byte{1, 0, 0, 0, 4, 0, 0, 0, 4, 0, 0, 0, 3, 0, 0, 0}})
	pads := add(&tflite.Tensor{Type: tflite.Int32, Shape: []int{4, 2}, Data: make([]byte, 32)})
	dw := add(&tflite.Tensor{Type: tflite.Int8, Shape: []int{1, 3, 3, 3}, Data: make([]byte, 27),
		Quant: &tflite.Quantization{Scale: []float32{0.1, 0.2, 0.3}, ZeroPoint: []int64{0, 0, 0}, Axis: 3}})
	op(tflite.OpAdd, 1, &tflite.AddOptions{Activation: tflite.ActRelu}, x, x)
	op(tflite.OpMul, 1, &tflite.MulOptions{}, x, x)
	op(tflite.OpAveragePool2D, 1, &tflite.Pool2DOptions{Padding: tflite.PaddingSame, StrideW: 1, StrideH: 1, FilterWidth: 2, FilterHeight: 2}, x)
	op(tflite.OpMaxPool2D, 2, &tflite.Pool2DOptions{Padding: tflite.PaddingValid, StrideW: 2, StrideH: 2, FilterWidth: 1, FilterHeight: 1}, x)
	op(tflite.OpDepthwiseConv2D, 3, &tflite.DepthwiseConv2DOptions{StrideW: 1, StrideH: 1, DepthMultiplier: 1, DilationW: 2, DilationH: 1}, x, dw, -1)
	op(tflite.OpConcatenation, 1, &tflite.ConcatenationOptions{Axis: 3}, x, x)
	op(tflite.OpLogistic, 1, nil, x)
	op(tflite.OpRelu, 1, nil, x)
	op(tflite.OpRelu6, 1, nil, x)
	op(tflite.OpHardSwish, 1, nil, x)
	op(tflite.OpReshape, 1, &tflite.ReshapeOptions{NewShape: []int{1, 4, 4, 3}}, x, shape)
	op(tflite.OpPad, 1, nil, x, pads)
	op(tflite.OpSqueeze, 1, &tflite.SqueezeOptions{SqueezeDims: []int{0}}, x)
	op(tflite.OpQuantize, 1, nil, x)
	op(tflite.OpDequantize, 2, nil, x)
	op(tflite.OpCustom, 1, nil, x)
	m.Operators[len(m.Operators)-1].CustomCode = "alphad_test"
	op(150, 1, nil, x) // GELU: a builtin alphad does not run
	op(tflite.OpAdd, 99, &tflite.AddOptions{Activation: tflite.ActRelu6}, x, x)
	m.Outputs = append(m.Outputs, x)
	return m
}

func FuzzParse(f *testing.F) {
	for _, m := range []*tflite.Model{tflitetest.Tiny(), allOpsModel()} {
		data, err := tflite.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
		f.Add(data[:len(data)/2])
		flipped := append([]byte(nil), data...)
		flipped[len(flipped)/3] ^= 0x10
		f.Add(flipped)
	}
	external, err := tflite.MarshalExternal(tflitetest.Tiny())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(external)
	f.Fuzz(func(t *testing.T, data []byte) {
		m, unsupported, err := tflite.InspectNoRecover(data)
		if err != nil {
			var fe *tflite.FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error %T %v, want *FormatError", err, err)
			}
			return
		}
		_ = m.OpHistogram()
		// What parses must write back and parse to the same model.
		out, err := tflite.Marshal(m)
		if err != nil {
			t.Fatalf("Marshal of a parsed model: %v", err)
		}
		back, unsupported2, err := tflite.InspectNoRecover(out)
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		if len(unsupported2) != len(unsupported) || !reflect.DeepEqual(back, m) {
			t.Fatalf("round trip differs:\n got %s\nwant %s", dump(back), dump(m))
		}
		_, _ = m.FindGlobalPool()
		for _, op := range m.Operators {
			for _, o := range op.Outputs {
				if cut, err := m.CutAt(o); err == nil {
					if _, err := tflite.Marshal(cut); err != nil {
						t.Fatalf("cut at %d does not marshal: %v", o, err)
					}
				}
			}
		}
	})
}

func TestAllOpsModel(t *testing.T) {
	data, err := tflite.Marshal(allOpsModel())
	if err != nil {
		t.Fatal(err)
	}
	m, unsupported, err := tflite.Inspect(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(unsupported) != 3 || unsupported[0].Op != "alphad_test" || unsupported[1].Op != "GELU" || unsupported[2].Version != 99 {
		t.Errorf("unsupported = %v, want the custom op, GELU and ADD v99", unsupported)
	}
	if !reflect.DeepEqual(m, allOpsModel()) {
		t.Errorf("round trip differs:\n got %s\nwant %s", dump(m), dump(allOpsModel()))
	}
}
