package native_test

import (
	"testing"

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
