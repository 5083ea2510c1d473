package native

import (
	"testing"

	"github.com/alphad/alphad/pipeline/engine"
	"github.com/alphad/alphad/pipeline/engine/enginetest"
	"github.com/alphad/alphad/pipeline/tflite"
)

// TestGoldenEachKernel runs the golden rows with every GEMM micro-kernel
// this CPU has, so the portable scalar kernels (the only ones on arm: the
// scalar GEMM also turns the assembly depthwise rows off) are checked
// against TFLite here too, not just the fastest ones.
func TestGoldenEachKernel(t *testing.T) {
	for _, kern := range gemmKernels() {
		t.Run(kern.name, func(t *testing.T) {
			enginetest.Golden(t, func(m *tflite.Model, opts engine.Options) (engine.Engine, error) {
				return build(m, opts, buildOptions{kern: kern})
			}, 1e-4, 2)
		})
	}
}
