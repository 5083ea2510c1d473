//go:build xnnpack && cgo

package xnnpack

import (
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/alphad/alphad/internal/cputime"
	"github.com/alphad/alphad/internal/testshared"
	"github.com/alphad/alphad/pipeline/engine"
	"github.com/alphad/alphad/pipeline/tflite"
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
	path := testshared.Path(b, model)
	m, err := tflite.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	e, err := New(m, engine.Options{Threads: 1})
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
	var oracle float64
	if b.N >= 10 {
		oracle = oracleMedian(b, path, 20)
	}
	times := make([]float64, 0, b.N)
	cpu0 := cputime.Process()
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		if err := e.Invoke(); err != nil {
			b.Fatal(err)
		}
		times = append(times, float64(time.Since(t0).Microseconds())/1e3)
	}
	b.StopTimer()
	med := median(times)
	b.ReportMetric(med, "median-ms")
	if cpu := cputime.Process() - cpu0; cpu > 0 {
		b.ReportMetric(float64(cpu.Microseconds())/1e3/float64(b.N), "cpu-ms/op")
	}
	if oracle > 0 {
		b.ReportMetric(oracle, "tflite-median-ms")
		b.ReportMetric(med/oracle, "x-tflite")
	}
}

var inferMS = regexp.MustCompile(`infer_ms=\[([^\]]*)\]`)

// oracleMedian runs the real TFLite oracle on model with a zero input and
// returns the median inference time in ms, or 0 when it is not installed.
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
	out, err := exec.Command("node", p, model, "--threads=1", "--repeat="+strconv.Itoa(repeat)).Output()
	if err != nil {
		b.Fatalf("oracle: %v", err)
	}
	mm := inferMS.FindSubmatch(out)
	if mm == nil {
		b.Fatalf("oracle: no infer_ms in %q", out)
	}
	var t []float64
	for i, s := range strings.Split(string(mm[1]), ", ") {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			b.Fatalf("oracle: infer_ms %q: %v", s, err)
		}
		if i > 0 { // the first run includes delegate warm-up
			t = append(t, v)
		}
	}
	return median(t)
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
