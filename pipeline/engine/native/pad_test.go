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

// TestPadSplit pads a tensor large enough for the pool to split it over
// output rows, in all four dimensions, against an index-by-index
// reference, with one and two threads.
func TestPadSplit(t *testing.T) {
	is := [4]int{2, 20, 30, 8}
	before, after := [4]int{1, 2, 1, 0}, [4]int{0, 3, 2, 1}
	var os [4]int
	for d := range os {
		os[d] = before[d] + is[d] + after[d]
	}
	in := randF32(seeded(7), is[0]*is[1]*is[2]*is[3])
	want := make([]float32, os[0]*os[1]*os[2]*os[3])
	for i0 := range is[0] {
		for i1 := range is[1] {
			for i2 := range is[2] {
				for i3 := range is[3] {
					o := (((i0+before[0])*os[1]+i1+before[1])*os[2]+i2+before[2])*os[3] + i3 + before[3]
					want[o] = in[((i0*is[1]+i1)*is[2]+i2)*is[3]+i3]
				}
			}
		}
	}
	var pads []int32
	for d := range 4 {
		pads = append(pads, int32(before[d]), int32(after[d]))
	}
	for _, threads := range []int{1, 2} {
		var b modelBuilder
		x := b.f32(is[:]...)
		pt := b.tensor(tflite.Int32, []int{4, 2}, pads)
		y := b.f32(os[:]...)
		b.op(tflite.OpPad, nil, []int{x, pt}, []int{y})
		closeTo(t, runF32(t, b.io([]int{x}, []int{y}), threads, in), want, 0)
	}
}
