//go:build xnnpack && cgo

package xnnpack

import (
	"context"
	"os"
	"testing"

	"github.com/alphad/alphad/internal/testshared"
	"github.com/alphad/alphad/internal/tfliteoracle"
	"github.com/alphad/alphad/pipeline/engine"
	"github.com/alphad/alphad/pipeline/engine/enginetest"
)

// BenchmarkMobileNetV2F32 times one Invoke of float MobileNetV2 1.0/224 on
// one thread and reports the median. With -benchtime of 10x or more each
// benchmark also runs the real TFLite oracle (WASM build, 1 thread, 20 runs,
// the first dropped) on the same model in the same run and reports its
// median and the ratio:
//
//	go test -tags xnnpack -run '^$' -bench MobileNetV2 -benchtime 30x ./pipeline/engine/xnnpack/
func BenchmarkMobileNetV2F32(b *testing.B) {
	benchModel(b, "models/mobilenet_v2_1.0_224_dequant_f32.tflite", "grace_hopper_224_f32m11.raw")
}

// BenchmarkMobileNetV2U8 is the TF1 uint8 model (qu8 nodes).
func BenchmarkMobileNetV2U8(b *testing.B) {
	benchModel(b, "models/mobilenet_v2_1.0_224_quant.tflite", "grace_hopper_224_u8.raw")
}

// BenchmarkMobileNetV2PTQ is the TF2 int8 per-channel model (qs8/qc8 nodes).
func BenchmarkMobileNetV2PTQ(b *testing.B) {
	benchModel(b, "models/tf2_mobilenet_v2_1.0_224_ptq.tflite", "grace_hopper_224_u8.raw")
}

func benchModel(b *testing.B, model, input string) {
	med := enginetest.Bench(b, newXNNPACK, model, input, engine.Options{Threads: 1})
	if b.N < 10 {
		return
	}
	if oracle := oracleMedian(b, testshared.Path(b, model), 20); oracle > 0 {
		b.ReportMetric(oracle, "tflite-median-ms")
		b.ReportMetric(med/oracle, "x-tflite")
	}
}

// oracleMedian times the real TFLite oracle on model with a zero input
// (repeat runs, the first dropped) and returns its median in ms, or 0 when
// it is not installed.
func oracleMedian(b *testing.B, model string, repeat int) float64 {
	b.Helper()
	p := os.Getenv("ALPHAD_ORACLE")
	if p == "" {
		p = testshared.RepoRoot() + "/.cache/oracle/run_tflite.js"
	}
	if _, err := os.Stat(p); err != nil {
		b.Logf("no TFLite oracle at %s (make oracle): %v", p, err)
		return 0
	}
	med, err := tfliteoracle.Median(context.Background(), p, model, repeat-1, 1)
	if err != nil {
		b.Fatalf("oracle: %v", err)
	}
	return med
}
