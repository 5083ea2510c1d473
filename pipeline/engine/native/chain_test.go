package native

import (
	"fmt"
	"math"
	"os"
	"testing"

	"github.com/alphad/alphad/internal/testshared"
	"github.com/alphad/alphad/pipeline/engine"
	"github.com/alphad/alphad/pipeline/tflite"
)

// TestChainedOps runs small unfused blocks (maps under fuseMinPixels) with
// and without chains, with every GEMM kernel and one to three threads:
// the outputs must be equal bit for bit and match the reference loops.
// With one thread every depthwise and ADD after a 1×1 CONV_2D chains (one
// item covers the whole product); the ADD chains with any cut; the
// depthwise chains with two threads when the expand is cut by whole
// blocks of eight channels alone (256 channels: eight panels and more;
// three threads want twelve items, so they cut by rows too).
func TestChainedOps(t *testing.T) {
	tests := []struct {
		name string
		chainSpec
	}{
		{"7×7 block with residual", chainSpec{7, 7, 16, 256, 16, 1, tflite.PaddingSame, 1, 0, 0}},
		{"7×7 block, operands swapped, relu", chainSpec{7, 7, 24, 264, 24, 1, tflite.PaddingSame, 2, 0, 0}},
		{"14×14 stride 2, no project", chainSpec{14, 14, 8, 384, 0, 2, tflite.PaddingSame, 0, 0, 0}},
		{"odd map, few channels", chainSpec{5, 3, 4, 12, 4, 1, tflite.PaddingSame, 1, 0, 0}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, in, want := fusedChain(uint64(100+i), tc.chainSpec)
			for _, kern := range gemmKernels() {
				for _, threads := range []int{1, 2, 3} {
					unchained, _ := runBuilt(t, m, buildOptions{kern: kern, noChain: true}, threads, in)
					closeTo(t, unchained, want, 1e-4)
					e, err := build(m, engine.Options{Threads: threads}, buildOptions{kern: kern})
					if err != nil {
						t.Fatal(err)
					}
					copy(engine.Float32s(e.Input(0)), in)
					for range 2 { // the second run must not depend on the first
						if err := e.Invoke(); err != nil {
							t.Fatal(err)
						}
					}
					got := append([]float32(nil), engine.Float32s(e.Output(0))...)
					chained := chainedOps(e)
					e.Close()
					for j := range got {
						if math.Float32bits(got[j]) != math.Float32bits(unchained[j]) {
							t.Fatalf("%s, %d threads: output %d is %v chained, %v not", kern.name, threads, j, got[j], unchained[j])
						}
					}
					ops := m.Operators
					for j := 1; j < len(ops); j++ {
						dw := ops[j].Op == tflite.OpDepthwiseConv2D
						mustChain := ops[j].Op == tflite.OpAdd || dw && (threads == 1 || threads == 2 && tc.ce >= 256 && kern.nr%8 == 0)
						if mustChain && !chained[j] {
							t.Errorf("%s, %d threads: op %d (%s) runs on its own, want it chained", kern.name, threads, j, tflite.OpName(ops[j].Op))
						}
					}
				}
			}
		})
	}
}

// TestChainedMatchesUnchained runs the float MobileNetV2 models with and
// without chains, with one and two threads: the outputs must be the same
// bit for bit, and every DEPTHWISE_CONV_2D and ADD outside a fused block
// must run chained into the convolution before it (the kernels of this
// machine cut by whole blocks of eight channels).
func TestChainedMatchesUnchained(t *testing.T) {
	in, err := os.ReadFile(testshared.Path(t, "golden", "inputs", "grace_hopper_224_f32m11.raw"))
	if err != nil {
		t.Fatal(err)
	}
	kern := gemmKernels()[0]
	for _, model := range []string{
		"mobilenet_v2_1.0_224_dequant_f32.tflite",
		"mobilenet_v2_1.0_224_dequant_f32_features.tflite",
	} {
		t.Run(model, func(t *testing.T) {
			m, err := tflite.ReadFile(testshared.Path(t, "models", model))
			if err != nil {
				t.Fatal(err)
			}
			for _, threads := range []int{1, 2} {
				want := invokeFresh(t, m, buildOptions{kern: kern, noChain: true}, threads, in, nil)
				e, err := build(m, engine.Options{Threads: threads}, buildOptions{kern: kern})
				if err != nil {
					t.Fatal(err)
				}
				got := invoke(t, e, in)
				if i := firstDiff(got, want); i >= 0 {
					t.Errorf("%d threads: chained output byte %d differs from the unchained engine's", threads, i)
				}
				chained := chainedOps(e)
				n := 0
				for i, op := range m.Operators {
					if chained[i] {
						n++
					}
					if (op.Op == tflite.OpDepthwiseConv2D || op.Op == tflite.OpAdd) && e.fusedInto[i] == i && !chained[i] && kern.nr%8 == 0 {
						t.Errorf("%d threads: op %d (%s) runs on its own", threads, i, tflite.OpName(op.Op))
					}
				}
				t.Logf("%d threads: %d ops chained", threads, n)
				e.Close()
			}
		})
	}
}

// chainedOps is e.chained, checked against the empty runs the build gave
// the chained ops.
func chainedOps(e *Engine) []bool {
	for i, c := range e.chained {
		if c && len(e.opJobs[i]) != 0 {
			panic(fmt.Sprintf("op %d is chained but has jobs of its own", i))
		}
	}
	return e.chained
}
