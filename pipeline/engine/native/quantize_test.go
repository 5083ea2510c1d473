package native

import (
	"testing"

	"github.com/alphad/alphad/pipeline/engine"
	"github.com/alphad/alphad/pipeline/tflite"
)

func TestQuantize(t *testing.T) {
	in := []float32{-100, -1.25, -0.75, -0.25, 0, 0.25, 0.75, 1.25, 100}
	tests := []struct {
		name string
		typ  tflite.TensorType
		zp   int64
		want []byte
	}{
		// scale 0.5: x·2 rounds half to even (as the TFLite runtime), then clamps.
		{"uint8", tflite.Uint8, 10, []byte{0, 8, 8, 10, 10, 10, 12, 12, 210}},
		{"int8", tflite.Int8, -2, []byte{0x80, 0xfc, 0xfc, 0xfe, 0xfe, 0xfe, 0, 0, 0x7f}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b modelBuilder
			x := b.f32(len(in))
			y := b.tensor(tc.typ, []int{len(in)}, nil)
			b.m.Tensors[y].Quant = &tflite.Quantization{Scale: []float32{0.5}, ZeroPoint: []int64{tc.zp}}
			b.op(tflite.OpQuantize, nil, []int{x}, []int{y})
			e, err := New(b.io([]int{x}, []int{y}), engine.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			copy(engine.Float32s(e.Input(0)), in)
			if err := e.Invoke(); err != nil {
				t.Fatal(err)
			}
			if got := e.Output(0); string(got) != string(tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}
