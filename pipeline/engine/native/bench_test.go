package native_test

import (
	"os"
	"slices"
	"testing"
	"time"

	"github.com/alphad/alphad/internal/cputime"
	"github.com/alphad/alphad/internal/testshared"
	"github.com/alphad/alphad/pipeline/engine"
	"github.com/alphad/alphad/pipeline/engine/native"
	"github.com/alphad/alphad/pipeline/tflite"
)

// benchModel times Invoke and reports the median wall time
// per inference and the CPU time per inference (robust on a busy machine).
//
//	GOAMD64=v3 go test -run '^$' -bench MobileNetV2 -benchtime 20x ./pipeline/engine/native/
func benchModel(b *testing.B, model, input string, threads int) {
	m, err := tflite.ReadFile(testshared.Path(b, "models", model))
	if err != nil {
		b.Fatal(err)
	}
	e, err := native.New(m, engine.Options{Threads: threads})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	in, err := os.ReadFile(testshared.Path(b, "golden", "inputs", input))
	if err != nil {
		b.Fatal(err)
	}
	copy(e.Input(0), in)
	if err := e.Invoke(); err != nil { // warm up
		b.Fatal(err)
	}
	times := make([]time.Duration, 0, max(b.N, 1))
	b.ReportAllocs()
	cpu0 := cputime.Process()
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		if err := e.Invoke(); err != nil {
			b.Fatal(err)
		}
		times = append(times, time.Since(t0))
	}
	b.StopTimer()
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)/2].Microseconds())/1e3, "median-ms")
	b.ReportMetric(float64((cputime.Process()-cpu0).Microseconds())/1e3/float64(b.N), "cpu-ms/op")
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
