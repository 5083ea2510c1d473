package native

import (
	"testing"

	"github.com/alphad/alphad/pipeline/engine"
	"github.com/alphad/alphad/pipeline/engine/enginetest"
	"github.com/alphad/alphad/pipeline/engine/native/qmath"
	"github.com/alphad/alphad/pipeline/tflite"
)

// variant is one choice of kernels for build.
type variant struct {
	name string
	bo   buildOptions
}

// gemmVariants are the float GEMM micro-kernels this CPU runs.
func gemmVariants() []variant {
	var vs []variant
	for _, kern := range gemmKernels() {
		vs = append(vs, variant{kern.name, buildOptions{kern: kern}})
	}
	return vs
}

// dotVariants are the integer dot-product kernels this CPU runs (with the
// fastest GEMM kernel).
func dotVariants() []variant {
	var vs []variant
	for _, d := range qmath.Dots() {
		vs = append(vs, variant{gemmKernels()[0].name + "+" + d.String(), buildOptions{kern: gemmKernels()[0], qdot: d}})
	}
	return vs
}

// TestGoldenEachKernel runs the golden rows with every GEMM micro-kernel
// and every integer dot-product kernel this CPU has, so the portable
// scalar kernels (the only ones on arm: the scalar GEMM also turns the
// assembly depthwise rows off) are checked against TFLite here too, not
// just the fastest ones.
func TestGoldenEachKernel(t *testing.T) {
	vs := gemmVariants()
	vs = append(vs, dotVariants()[1:]...) // the first is gemmVariants()[0] again
	for _, v := range vs {
		t.Run(v.name, func(t *testing.T) {
			enginetest.Golden(t, func(m *tflite.Model, opts engine.Options) (engine.Engine, error) {
				return build(m, opts, v.bo)
			}, 1e-4, 2)
		})
	}
}
