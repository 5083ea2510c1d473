package native

import (
	"testing"

	"github.com/alphad/alphad/pipeline/engine"
	"github.com/alphad/alphad/pipeline/tflite"
)

func TestDequantize(t *testing.T) {
	tests := []struct {
		name  string
		typ   tflite.TensorType
		quant *tflite.Quantization
		shape []int
		in    []byte
		want  []float32
	}{
		{"uint8", tflite.Uint8, &tflite.Quantization{Scale: []float32{0.5}, ZeroPoint: []int64{128}}, []int{4},
			[]byte{0, 127, 128, 255}, []float32{-64, -0.5, 0, 63.5}},
		{"int8", tflite.Int8, &tflite.Quantization{Scale: []float32{0.25}, ZeroPoint: []int64{-1}}, []int{3},
			[]byte{0x80, 0xff, 0x7f}, []float32{-31.75, 0, 32}},
		{"int8 per channel", tflite.Int8, &tflite.Quantization{Scale: []float32{1, 2}, ZeroPoint: []int64{0, 0}, Axis: 1}, []int{2, 2},
			[]byte{1, 1, 3, 3}, []float32{1, 2, 3, 6}},
		{"float16", tflite.Float16, nil, []int{4},
			[]byte{0x00, 0x3c, 0x00, 0xc0, 0x00, 0x00, 0x01, 0x00}, []float32{1, -2, 0, 5.9604645e-08}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b modelBuilder
			x := b.tensor(tc.typ, tc.shape, nil)
			b.m.Tensors[x].Quant = tc.quant
			y := b.f32(tc.shape...)
			b.op(tflite.OpDequantize, nil, []int{x}, []int{y})
			e, err := New(b.io([]int{x}, []int{y}), engine.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			copy(e.Input(0), tc.in)
			if err := e.Invoke(); err != nil {
				t.Fatal(err)
			}
			closeTo(t, engine.Float32s(e.Output(0)), tc.want, 1e-7)
		})
	}
}

// TestDequantizeThreads dequantizes a tensor large enough to split over
// two threads (by its per-tensor table) and checks every value against the
// formula.
func TestDequantizeThreads(t *testing.T) {
	for _, typ := range []tflite.TensorType{tflite.Uint8, tflite.Int8} {
		t.Run(typ.String(), func(t *testing.T) {
			shape := []int{1, 100, 100, 3}
			var b modelBuilder
			x := b.tensor(typ, shape, nil)
			b.m.Tensors[x].Quant = &tflite.Quantization{Scale: []float32{0.0173}, ZeroPoint: []int64{7}}
			y := b.f32(shape...)
			b.op(tflite.OpDequantize, nil, []int{x}, []int{y})
			e, err := New(b.io([]int{x}, []int{y}), engine.Options{Threads: 2})
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			in := e.Input(0)
			for i := range in {
				in[i] = byte(i * 7)
			}
			if err := e.Invoke(); err != nil {
				t.Fatal(err)
			}
			got := engine.Float32s(e.Output(0))
			for i, v := range in {
				q := int32(v)
				if typ == tflite.Int8 {
					q = int32(int8(v))
				}
				if want := float32(float64(float32(0.0173)) * float64(q-7)); got[i] != want {
					t.Fatalf("element %d (byte %d) = %g, want %g", i, v, got[i], want)
				}
			}
		})
	}
}
