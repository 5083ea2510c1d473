package native

import (
	"testing"

	"github.com/alphad/alphad/pipeline/engine"
	"github.com/alphad/alphad/pipeline/tflite"
)

func TestAveragePool2D(t *testing.T) { testPool2D(t, tflite.OpAveragePool2D) }

// BenchmarkAveragePool7x7 is MobileNetV2's head: a 7×7 average over
// 7×7×1280, one thread.
func BenchmarkAveragePool7x7(b *testing.B) {
	var mb modelBuilder
	x, y := mb.f32(1, 7, 7, 1280), mb.f32(1, 1, 1, 1280)
	mb.op(tflite.OpAveragePool2D, &tflite.Pool2DOptions{Padding: tflite.PaddingValid, StrideH: 1, StrideW: 1,
		FilterHeight: 7, FilterWidth: 7}, []int{x}, []int{y})
	e, err := New(mb.io([]int{x}, []int{y}), engine.Options{Threads: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	copy(engine.Float32s(e.Input(0)), randF32(seeded(1), 7*7*1280))
	b.ReportAllocs()
	for b.Loop() {
		if err := e.Invoke(); err != nil {
			b.Fatal(err)
		}
	}
}
