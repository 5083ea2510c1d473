package native

import (
	"testing"

	"github.com/alphad/alphad/pipeline/engine"
	"github.com/alphad/alphad/pipeline/tflite"
)

func TestPad(t *testing.T) {
	in := []float32{1, 2, 3, 4, 5, 6} // [1,2,3,1]
	var b modelBuilder
	x := b.f32(1, 2, 3, 1)
	pads := b.tensor(tflite.Int32, []int{4, 2}, []int32{0, 0, 1, 0, 0, 2, 0, 1})
	y := b.f32(1, 3, 5, 2)
	b.op(tflite.OpPad, nil, []int{x, pads}, []int{y})
	got := runF32(t, b.io([]int{x}, []int{y}), 1, in)
	want := []float32{
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		1, 0, 2, 0, 3, 0, 0, 0, 0, 0,
		4, 0, 5, 0, 6, 0, 0, 0, 0, 0,
	}
	closeTo(t, got, want, 0)
}

func TestPadQuantizedFillsZeroPoint(t *testing.T) {
	q := &tflite.Quantization{Scale: []float32{0.5}, ZeroPoint: []int64{128}}
	var b modelBuilder
	x := b.tensor(tflite.Uint8, []int{1, 2}, nil)
	b.m.Tensors[x].Quant = q
	pads := b.tensor(tflite.Int32, []int{2, 2}, []int32{0, 0, 1, 1})
	y := b.tensor(tflite.Uint8, []int{1, 4}, nil)
	b.m.Tensors[y].Quant = q
	b.op(tflite.OpPad, nil, []int{x, pads}, []int{y})
	e, err := New(b.io([]int{x}, []int{y}), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	copy(e.Input(0), []byte{7, 9})
	if err := e.Invoke(); err != nil {
		t.Fatal(err)
	}
	if got := string(e.Output(0)); got != string([]byte{128, 7, 9, 128}) {
		t.Errorf("got %v, want [128 7 9 128]", e.Output(0))
	}
}
