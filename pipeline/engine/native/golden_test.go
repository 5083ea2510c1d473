package native_test

import (
	"os"
	"testing"

	"github.com/alphad/alphad/internal/testshared"
	"github.com/alphad/alphad/pipeline/engine"
	"github.com/alphad/alphad/pipeline/engine/enginetest"
	"github.com/alphad/alphad/pipeline/engine/native"
	"github.com/alphad/alphad/pipeline/tflite"
)

func newNative(m *tflite.Model, opts engine.Options) (engine.Engine, error) {
	return native.New(m, opts)
}

// TestGolden checks every row of ../shared/golden against the real TFLite
// outputs: float32 within 1e-4, quantized within 2 LSB, argmax equal.
func TestGolden(t *testing.T) {
	enginetest.Golden(t, newNative, 1e-4, 2)
}

// TestThreadsAgree runs the float and the uint8 feature extractors with one
// and with three threads: splitting rows must not change a single bit.
func TestThreadsAgree(t *testing.T) {
	threads3 := func(m *tflite.Model, _ engine.Options) (engine.Engine, error) {
		return native.New(m, engine.Options{Threads: 3})
	}
	for _, tc := range []struct{ model, input string }{
		{"models/mobilenet_v2_1.0_224_dequant_f32_features.tflite", "grace_hopper_224_f32m11.raw"},
		{"models/mobilenet_v2_1.0_224_quant_features.tflite", "cat_224_u8.raw"},
	} {
		t.Run(tc.model, func(t *testing.T) {
			in, err := os.ReadFile(testshared.Path(t, "golden", "inputs", tc.input))
			if err != nil {
				t.Fatal(err)
			}
			enginetest.Agree(t, newNative, threads3, tc.model, [][]byte{in}, 0, 0)
		})
	}
}
