package native

import (
	"testing"

	"github.com/alphad/alphad/pipeline/tflite"
)

func TestReshapeAndSqueeze(t *testing.T) {
	for _, code := range []tflite.BuiltinOperator{tflite.OpReshape, tflite.OpSqueeze} {
		t.Run(tflite.OpName(code), func(t *testing.T) {
			in := randF32(seeded(3), 6)
			// Model input straight to the output: no alias possible (the
			// input is not the op's to reuse), so the bytes are copied.
			var b modelBuilder
			x, y := b.f32(1, 1, 2, 3), b.f32(2, 3)
			b.op(code, nil, []int{x}, []int{y})
			closeTo(t, runF32(t, b.io([]int{x}, []int{y}), 1, in), in, 0)
		})
	}
	t.Run("size mismatch", func(t *testing.T) {
		var b modelBuilder
		x, y := b.f32(2, 3), b.f32(5)
		b.op(tflite.OpReshape, nil, []int{x}, []int{y})
		assertUnsupported(t, newErr(b.io([]int{x}, []int{y})), "RESHAPE")
	})
}
