package native

import (
	"math"
	"testing"

	"github.com/alphad/alphad/pipeline/tflite"
)

func TestAdd(t *testing.T) { testBinary(t, tflite.OpAdd) }

// BenchmarkAddResidual is MobileNetV2's largest residual ADD (56×56×24,
// no activation), one thread.
func BenchmarkAddResidual(b *testing.B) {
	r := seeded(1)
	n := 56 * 56 * 24
	x, y, dst := randF32(r, n), randF32(r, n), make([]float32, n)
	inf := float32(math.Inf(1))
	for b.Loop() {
		binFlat(binAdd, dst, x, y, -inf, inf)
	}
}
