package native_test

import (
	"path/filepath"
	"testing"

	"github.com/alphad/alphad/pipeline/engine"
	"github.com/alphad/alphad/pipeline/engine/enginetest"
)

// benchModel times Invoke of a model in the shared models folder (see
// enginetest.Bench for the metrics).
//
//	GOAMD64=v3 go test -run '^$' -bench MobileNetV2 -benchtime 20x ./pipeline/engine/native/
func benchModel(b *testing.B, model, input string, threads int) {
	enginetest.Bench(b, newNative, filepath.Join("models", model), input, engine.Options{Threads: threads})
}

func BenchmarkMobileNetV2F32(b *testing.B) {
	benchModel(b, "mobilenet_v2_1.0_224_dequant_f32.tflite", "grace_hopper_224_f32m11.raw", 1)
}

// BenchmarkMobileNetV2F32Threads2 splits the heavy ops over two threads.
func BenchmarkMobileNetV2F32Threads2(b *testing.B) {
	benchModel(b, "mobilenet_v2_1.0_224_dequant_f32.tflite", "grace_hopper_224_f32m11.raw", 2)
}

func BenchmarkMobileNetV2U8(b *testing.B) {
	benchModel(b, "mobilenet_v2_1.0_224_quant.tflite", "grace_hopper_224_u8.raw", 1)
}
