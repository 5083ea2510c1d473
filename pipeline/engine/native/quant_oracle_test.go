package native

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/alphad/alphad/pipeline/engine/enginetest"
	"github.com/alphad/alphad/pipeline/engine/native/qmath"
	"github.com/alphad/alphad/pipeline/tflite"
)

// qt builds an activation tensor with per-tensor quantization.
func qt(ty tflite.TensorType, shape []int, scale float32, zero int64) *tflite.Tensor {
	return &tflite.Tensor{Type: ty, Shape: shape, Quant: &tflite.Quantization{Scale: []float32{scale}, ZeroPoint: []int64{zero}}}
}

// TestQuantOpsOracle runs one-operator models through the native engine and
// the real TFLite runtime on random inputs and asserts they agree exactly
// (the ops the shared models do not use, or use in one configuration only).
func TestQuantOpsOracle(t *testing.T) {
	u8, i8 := tflite.Uint8, tflite.Int8
	tests := []struct {
		name    string
		tensors []*tflite.Tensor // inputs first, output last
		op      *tflite.Operator
		tol     int
	}{
		{"avgpool int8 valid 3x3 s2", []*tflite.Tensor{qt(i8, []int{1, 9, 9, 5}, 0.1, -3), qt(i8, []int{1, 4, 4, 5}, 0.1, -3)},
			&tflite.Operator{Op: tflite.OpAveragePool2D, Version: 2, Options: &tflite.Pool2DOptions{Padding: tflite.PaddingValid, StrideW: 2, StrideH: 2, FilterWidth: 3, FilterHeight: 3}}, 0},
		{"avgpool uint8 same relu6", []*tflite.Tensor{qt(u8, []int{1, 7, 6, 4}, 0.05, 100), qt(u8, []int{1, 4, 3, 4}, 0.05, 100)},
			&tflite.Operator{Op: tflite.OpAveragePool2D, Version: 1, Options: &tflite.Pool2DOptions{Padding: tflite.PaddingSame, StrideW: 2, StrideH: 2, FilterWidth: 3, FilterHeight: 3, Activation: tflite.ActRelu6}}, 0},
		{"maxpool int8 same", []*tflite.Tensor{qt(i8, []int{1, 7, 7, 3}, 0.1, 5), qt(i8, []int{1, 4, 4, 3}, 0.1, 5)},
			&tflite.Operator{Op: tflite.OpMaxPool2D, Version: 2, Options: &tflite.Pool2DOptions{Padding: tflite.PaddingSame, StrideW: 2, StrideH: 2, FilterWidth: 2, FilterHeight: 2}}, 0},
		// With differing input scales the WASM runtime copies bytes without
		// rescaling (its XNNPACK delegate); qmath follows TFLite's
		// ConcatenationWithScaling there (see qmath.TestConcat), so only the
		// equal-quantization case is compared here.
		{"concat uint8", []*tflite.Tensor{qt(u8, []int{1, 3, 3, 2}, 0.1, 128), qt(u8, []int{1, 3, 3, 3}, 0.1, 128), qt(u8, []int{1, 3, 3, 5}, 0.1, 128)},
			&tflite.Operator{Op: tflite.OpConcatenation, Version: 1, Options: &tflite.ConcatenationOptions{Axis: 3}}, 0},
		{"concat int8 same quantization", []*tflite.Tensor{qt(i8, []int{2, 3}, 0.1, 1), qt(i8, []int{1, 3}, 0.1, 1), qt(i8, []int{3, 3}, 0.1, 1)},
			&tflite.Operator{Op: tflite.OpConcatenation, Version: 2, Options: &tflite.ConcatenationOptions{Axis: 0}}, 0},
		{"logistic int8", []*tflite.Tensor{qt(i8, []int{1, 256}, 0.06, 3), qt(i8, []int{1, 256}, 1.0/256, -128)},
			&tflite.Operator{Op: tflite.OpLogistic, Version: 2}, 0},
		{"mul int8", []*tflite.Tensor{qt(i8, []int{1, 4, 4, 8}, 0.05, -2), qt(i8, []int{1, 4, 4, 8}, 0.03, 7), qt(i8, []int{1, 4, 4, 8}, 0.02, 1)},
			&tflite.Operator{Op: tflite.OpMul, Version: 2, Options: &tflite.MulOptions{}}, 0},
		{"add int8 relu", []*tflite.Tensor{qt(i8, []int{1, 4, 4, 8}, 0.05, -2), qt(i8, []int{1, 4, 4, 8}, 0.03, 7), qt(i8, []int{1, 4, 4, 8}, 0.06, -10)},
			&tflite.Operator{Op: tflite.OpAdd, Version: 2, Options: &tflite.AddOptions{Activation: tflite.ActRelu}}, 0},
		{"requantize int8 to uint8", []*tflite.Tensor{qt(i8, []int{1, 300}, 0.05, -2), qt(u8, []int{1, 300}, 0.07, 120)},
			&tflite.Operator{Op: tflite.OpQuantize, Version: 2}, 0},
		{"softmax uint8 2-D", []*tflite.Tensor{qt(u8, []int{3, 50}, 0.2, 100), qt(u8, []int{3, 50}, 1.0/256, 0)},
			&tflite.Operator{Op: tflite.OpSoftmax, Version: 1, Options: &tflite.SoftmaxOptions{Beta: 1}}, 0},
		{"mean int8 other axis", []*tflite.Tensor{qt(i8, []int{1, 4, 6, 3}, 0.1, 3), {Type: tflite.Int32, Shape: []int{1}, Data: []byte{3, 0, 0, 0}}, qt(i8, []int{1, 4, 6}, 0.05, -1)},
			&tflite.Operator{Op: tflite.OpMean, Version: 2, Options: &tflite.ReducerOptions{}}, 0},
		{"mean uint8 same quantization axis 1 keep", []*tflite.Tensor{qt(u8, []int{1, 5, 3, 4}, 0.1, 30), {Type: tflite.Int32, Shape: []int{1}, Data: []byte{1, 0, 0, 0}}, qt(u8, []int{1, 1, 3, 4}, 0.1, 30)},
			&tflite.Operator{Op: tflite.OpMean, Version: 1, Options: &tflite.ReducerOptions{KeepDims: true}}, 0},
		{"mean uint8 rescaled axis 2", []*tflite.Tensor{qt(u8, []int{1, 5, 3, 4}, 0.1, 30), {Type: tflite.Int32, Shape: []int{1}, Data: []byte{2, 0, 0, 0}}, qt(u8, []int{1, 5, 4}, 0.07, 3)},
			&tflite.Operator{Op: tflite.OpMean, Version: 1, Options: &tflite.ReducerOptions{}}, 0},
		{"mean uint8 hw", []*tflite.Tensor{qt(u8, []int{1, 5, 5, 8}, 0.1, 30), {Type: tflite.Int32, Shape: []int{2}, Data: []byte{1, 0, 0, 0, 2, 0, 0, 0}}, qt(u8, []int{1, 8}, 0.05, 7)},
			&tflite.Operator{Op: tflite.OpMean, Version: 1, Options: &tflite.ReducerOptions{}}, 0},
		{"mean int8 same quantization axis 1", []*tflite.Tensor{qt(i8, []int{1, 5, 3, 4}, 0.1, -30), {Type: tflite.Int32, Shape: []int{1}, Data: []byte{1, 0, 0, 0}}, qt(i8, []int{1, 3, 4}, 0.1, -30)},
			&tflite.Operator{Op: tflite.OpMean, Version: 2, Options: &tflite.ReducerOptions{}}, 0},
		{"mean int8 hw keep same quantization", []*tflite.Tensor{qt(i8, []int{1, 6, 6, 256}, 0.1, -3), {Type: tflite.Int32, Shape: []int{2}, Data: []byte{1, 0, 0, 0, 2, 0, 0, 0}}, qt(i8, []int{1, 1, 1, 256}, 0.1, -3)},
			&tflite.Operator{Op: tflite.OpMean, Version: 2, Options: &tflite.ReducerOptions{KeepDims: true}}, 0},
		{"mean uint8 hw keep same quantization", []*tflite.Tensor{qt(u8, []int{1, 6, 6, 256}, 0.1, 3), {Type: tflite.Int32, Shape: []int{2}, Data: []byte{1, 0, 0, 0, 2, 0, 0, 0}}, qt(u8, []int{1, 1, 1, 256}, 0.1, 3)},
			&tflite.Operator{Op: tflite.OpMean, Version: 1, Options: &tflite.ReducerOptions{KeepDims: true}}, 0},
		{"mean int8 hw same quantization", []*tflite.Tensor{qt(i8, []int{1, 6, 6, 256}, 0.1, -3), {Type: tflite.Int32, Shape: []int{2}, Data: []byte{1, 0, 0, 0, 2, 0, 0, 0}}, qt(i8, []int{1, 256}, 0.1, -3)},
			&tflite.Operator{Op: tflite.OpMean, Version: 2, Options: &tflite.ReducerOptions{}}, 0},
		// Large enough to split over two threads (checked below).
		{"add uint8 28x28x32", []*tflite.Tensor{qt(u8, []int{1, 28, 28, 32}, 0.41, 122), qt(u8, []int{1, 28, 28, 32}, 0.27, 130), qt(u8, []int{1, 28, 28, 32}, 0.52, 127)},
			&tflite.Operator{Op: tflite.OpAdd, Version: 1, Options: &tflite.AddOptions{}}, 0},
		{"avgpool uint8 global 7x7x1280", []*tflite.Tensor{qt(u8, []int{1, 7, 7, 1280}, 0.02, 0), qt(u8, []int{1, 1, 1, 1280}, 0.02, 0)},
			&tflite.Operator{Op: tflite.OpAveragePool2D, Version: 1, Options: &tflite.Pool2DOptions{Padding: tflite.PaddingValid, StrideW: 2, StrideH: 2, FilterWidth: 7, FilterHeight: 7}}, 0},
		{"mean int8 hw 7x7x1280", []*tflite.Tensor{qt(i8, []int{1, 7, 7, 1280}, 0.02, -128), {Type: tflite.Int32, Shape: []int{2}, Data: []byte{1, 0, 0, 0, 2, 0, 0, 0}}, qt(i8, []int{1, 1280}, 0.01, -120)},
			&tflite.Operator{Op: tflite.OpMean, Version: 2, Options: &tflite.ReducerOptions{}}, 0},
		{"requantize uint8 to int8 224x224x3", []*tflite.Tensor{qt(u8, []int{1, 224, 224, 3}, 1.0/255, 0), qt(i8, []int{1, 224, 224, 3}, 1.0/255, -128)},
			&tflite.Operator{Op: tflite.OpQuantize, Version: 2}, 0},
		{"mean uint8 hw keep", []*tflite.Tensor{qt(u8, []int{1, 5, 5, 8}, 0.1, 30), {Type: tflite.Int32, Shape: []int{2}, Data: []byte{1, 0, 0, 0, 2, 0, 0, 0}}, qt(u8, []int{1, 1, 1, 8}, 0.05, 7)},
			&tflite.Operator{Op: tflite.OpMean, Version: 1, Options: &tflite.ReducerOptions{KeepDims: true}}, 0},
	}
	r := rand.New(rand.NewPCG(11, 12))
	// Convolutions with power-of-two scales (requantization by 1/16) and
	// weights of -1, 0, 1 put about one output in sixteen on an exact tie:
	// the runtime rounds those half to even (XNNPACK), not half away from
	// zero (TFLite's fixed point).
	small := func(ty tflite.TensorType, shape []int, q *tflite.Quantization, zero int) *tflite.Tensor {
		t := &tflite.Tensor{Type: ty, Shape: shape, Quant: q}
		t.Data = make([]byte, t.ByteSize())
		for i := range t.Data {
			t.Data[i] = byte(zero + r.IntN(3) - 1)
		}
		return t
	}
	// zeroBias is a zero int32 bias quantized as TFLite expects: scale
	// inputScale·filterScale (per channel when q has several scales).
	zeroBias := func(n int, inScale float32, q *tflite.Quantization) *tflite.Tensor {
		bq := &tflite.Quantization{Axis: 0}
		for _, s := range q.Scale {
			bq.Scale = append(bq.Scale, inScale*s)
			bq.ZeroPoint = append(bq.ZeroPoint, 0)
		}
		return &tflite.Tensor{Type: tflite.Int32, Shape: []int{n}, Data: make([]byte, 4*n), Quant: bq}
	}
	u8w := &tflite.Quantization{Scale: []float32{1.0 / 128}, ZeroPoint: []int64{120}}
	i8w := &tflite.Quantization{Scale: []float32{1.0 / 128}, ZeroPoint: []int64{0}}
	perChannel := &tflite.Quantization{Axis: 0}
	for c := 0; c < 16; c++ {
		perChannel.Scale = append(perChannel.Scale, float32(int(1)<<(c%3))/128)
		perChannel.ZeroPoint = append(perChannel.ZeroPoint, 0)
	}
	type opCase = struct {
		name    string
		tensors []*tflite.Tensor
		op      *tflite.Operator
		tol     int
	}
	tests = append(tests,
		opCase{"conv uint8 ties", []*tflite.Tensor{qt(u8, []int{1, 8, 8, 8}, 0.125, 100),
			small(u8, []int{16, 3, 3, 8}, u8w, 120), zeroBias(16, 0.125, u8w), qt(u8, []int{1, 6, 6, 16}, 1.0/64, 100)},
			&tflite.Operator{Op: tflite.OpConv2D, Version: 1, Options: &tflite.Conv2DOptions{Padding: tflite.PaddingValid, StrideW: 1, StrideH: 1, DilationW: 1, DilationH: 1}}, 0},
		opCase{"conv int8 per-channel ties", []*tflite.Tensor{qt(i8, []int{1, 8, 8, 8}, 0.125, -5), small(i8, []int{16, 3, 3, 8}, perChannel, 0),
			zeroBias(16, 0.125, perChannel), qt(i8, []int{1, 4, 4, 16}, 1.0/64, 3)},
			&tflite.Operator{Op: tflite.OpConv2D, Version: 3, Options: &tflite.Conv2DOptions{Padding: tflite.PaddingSame, StrideW: 2, StrideH: 2, DilationW: 1, DilationH: 1, Activation: tflite.ActRelu6}}, 0},
		opCase{"depthwise uint8 ties", []*tflite.Tensor{qt(u8, []int{1, 8, 8, 16}, 0.125, 100),
			small(u8, []int{1, 3, 3, 16}, u8w, 120), zeroBias(16, 0.125, u8w), qt(u8, []int{1, 8, 8, 16}, 1.0/512, 100)},
			&tflite.Operator{Op: tflite.OpDepthwiseConv2D, Version: 1, Options: &tflite.DepthwiseConv2DOptions{Padding: tflite.PaddingSame, StrideW: 1, StrideH: 1, DepthMultiplier: 1, DilationW: 1, DilationH: 1}}, 0},
		opCase{"depthwise uint8 ties no bias", []*tflite.Tensor{qt(u8, []int{1, 8, 8, 16}, 0.125, 100),
			small(u8, []int{1, 3, 3, 16}, u8w, 120), qt(u8, []int{1, 8, 8, 16}, 1.0/512, 100)},
			&tflite.Operator{Op: tflite.OpDepthwiseConv2D, Version: 1, Options: &tflite.DepthwiseConv2DOptions{Padding: tflite.PaddingSame, StrideW: 1, StrideH: 1, DepthMultiplier: 1, DilationW: 1, DilationH: 1}}, 0},
		opCase{"fully connected int8 ties", []*tflite.Tensor{qt(i8, []int{4, 64}, 0.125, -5),
			small(i8, []int{32, 64}, i8w, 0), zeroBias(32, 0.125, i8w), qt(i8, []int{4, 32}, 1.0/64, 3)},
			&tflite.Operator{Op: tflite.OpFullyConnected, Version: 4, Options: &tflite.FullyConnectedOptions{}}, 0},
		opCase{"fully connected int8 ties no bias", []*tflite.Tensor{qt(i8, []int{4, 64}, 0.125, -5),
			small(i8, []int{32, 64}, i8w, 0), qt(i8, []int{4, 32}, 1.0/64, 3)},
			&tflite.Operator{Op: tflite.OpFullyConnected, Version: 4, Options: &tflite.FullyConnectedOptions{}}, 0},
	)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &tflite.Model{Version: 3, Tensors: tt.tensors}
			n := len(tt.tensors)
			var inputs []int
			for i := 0; i < n-1; i++ {
				tt.op.Inputs = append(tt.op.Inputs, i)
				if !tt.tensors[i].IsConst() {
					inputs = append(inputs, i)
				}
			}
			tt.op.Outputs = []int{n - 1}
			m.Operators = []*tflite.Operator{tt.op}
			m.Outputs = []int{n - 1}
			if len(inputs) != 1 {
				// The oracle takes one input file per model input; pass the
				// extra inputs as constants instead.
				for _, i := range inputs[1:] {
					tt.tensors[i].Data = randBytes(r, tt.tensors[i].ByteSize())
				}
				inputs = inputs[:1]
			}
			m.Inputs = inputs
			file, parsed := writeModel(t, m, "op.tflite")
			in := randBytes(r, parsed.Input(0).ByteSize())
			want := enginetest.Oracle(t, file, in)
			got := runModel(t, parsed, in, 1)
			d, at, _ := compareQuant(got, want, parsed.Output(0).Type == tflite.Int8)
			if d > tt.tol {
				t.Errorf("max |diff| %d LSB at %d (got %d, want %d), tolerance %d", d, at, got[at], want[at], tt.tol)
			}
			// Split over two threads (where the op is large enough to
			// split), the bytes must not change.
			if got2 := runModel(t, parsed, in, 2); !bytes.Equal(got2, got) {
				t.Errorf("2 threads differ from 1: %v vs %v", got2, got)
			}
		})
	}
}

func randBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.IntN(256))
	}
	return b
}

// TestQuantizeFloatOracle checks QUANTIZE from float32 against the real
// runtime, which rounds half to even (its XNNPACK delegate converts) where
// TFLite's reference kernel rounds half away from zero: qmath.QuantizeXNNPACK
// must agree exactly; the engine's float QUANTIZE kernel is reported.
func TestQuantizeFloatOracle(t *testing.T) {
	const n, scale, zero = 4000, 0.05, 3
	r := rand.New(rand.NewPCG(1, 2))
	in := make([]byte, 4*n)
	f := make([]float32, n)
	for i := range f {
		f[i] = float32(r.IntN(400)-200) * 0.025 // half of the values are ties
		if i%2 == 0 {
			f[i] = float32(r.NormFloat64() * 3)
		}
		binary.LittleEndian.PutUint32(in[4*i:], math.Float32bits(f[i]))
	}
	for _, ty := range []tflite.TensorType{tflite.Int8, tflite.Uint8} {
		t.Run(ty.String(), func(t *testing.T) {
			m := &tflite.Model{Version: 3,
				Tensors:   []*tflite.Tensor{{Type: tflite.Float32, Shape: []int{1, n}}, qt(ty, []int{1, n}, scale, zero)},
				Operators: []*tflite.Operator{{Op: tflite.OpQuantize, Version: 2, Inputs: []int{0}, Outputs: []int{1}}},
				Inputs:    []int{0}, Outputs: []int{1}}
			file, parsed := writeModel(t, m, "quantize.tflite")
			want := enginetest.Oracle(t, file, in)
			typ := qmath.Uint8
			if ty == tflite.Int8 {
				typ = qmath.Int8
			}
			got := make([]byte, n)
			qmath.QuantizeXNNPACK(got, f, typ, scale, zero)
			if d, at, _ := compareQuant(got, want, ty == tflite.Int8); d != 0 {
				t.Errorf("QuantizeXNNPACK: max |diff| %d at %d (x=%g)", d, at, f[at])
			}
			eng := runModel(t, parsed, in, 1)
			differ := 0
			for i := range eng {
				if eng[i] != want[i] {
					differ++
				}
			}
			t.Logf("engine QUANTIZE kernel: %d of %d values differ from the runtime", differ, n)
			if eng2 := runModel(t, parsed, in, 2); !bytes.Equal(eng2, eng) {
				t.Errorf("QUANTIZE over 2 threads differs from 1 thread")
			}
		})
	}
}
