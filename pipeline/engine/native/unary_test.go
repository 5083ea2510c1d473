package native

import (
	"math"
	"testing"

	"github.com/alphad/alphad/pipeline/tflite"
)

// testUnary runs a one-op model on values around the interesting points
// and compares with ref applied element by element.
func testUnary(t *testing.T, code tflite.BuiltinOperator, ref func(float64) float64) {
	t.Helper()
	in := []float32{-100, -7, -6, -3.5, -3, -1, -0.5, 0, 0.25, 1, 2.9, 3, 5.5, 6, 6.5, 100}
	in = append(in, randF32(seeded(1), 37)...)
	want := make([]float32, len(in))
	for i, v := range in {
		want[i] = float32(ref(float64(v)))
	}
	var b modelBuilder
	x, y := b.f32(1, len(in)), b.f32(1, len(in))
	b.op(code, nil, []int{x}, []int{y})
	got := runF32(t, b.io([]int{x}, []int{y}), 1, in)
	closeTo(t, got, want, 1e-6)
}

func TestRelu(t *testing.T) {
	testUnary(t, tflite.OpRelu, func(x float64) float64 { return max(x, 0) })
}

func TestRelu6(t *testing.T) {
	testUnary(t, tflite.OpRelu6, func(x float64) float64 { return min(max(x, 0), 6) })
}

func TestLogistic(t *testing.T) {
	testUnary(t, tflite.OpLogistic, func(x float64) float64 { return 1 / (1 + math.Exp(-x)) })
}

func TestHardSwish(t *testing.T) {
	testUnary(t, tflite.OpHardSwish, func(x float64) float64 { return x * min(max(x+3, 0), 6) / 6 })
}

func TestUnaryTypeMismatch(t *testing.T) {
	var b modelBuilder
	x := b.f32(4)
	y := b.tensor(tflite.Int32, []int{4}, nil)
	b.op(tflite.OpRelu, nil, []int{x}, []int{y})
	assertUnsupported(t, newErr(b.io([]int{x}, []int{y})), "RELU")
}
