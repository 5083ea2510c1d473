package enginetest

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/alphad/alphad/internal/cputime"
	"github.com/alphad/alphad/internal/testshared"
	"github.com/alphad/alphad/pipeline/engine"
	"github.com/alphad/alphad/pipeline/tflite"
)

// Bench times Invoke of an engine built by newEngine with opts for the
// model file (relative to the shared directory, or absolute), its input
// filled from golden/inputs/<input> and run once to warm up. It reports
// the median wall time per Invoke ("median-ms"), the process CPU time per
// Invoke ("cpu-ms/op", which a busy machine does not inflate; left out
// where it is not measured) and allocations, and returns the median in ms.
func Bench(b *testing.B, newEngine engine.New, model, input string, opts engine.Options) float64 {
	b.Helper()
	if !filepath.IsAbs(model) {
		model = testshared.Path(b, model)
	}
	m, err := tflite.ReadFile(model)
	if err != nil {
		b.Fatal(err)
	}
	e, err := newEngine(m, opts)
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
	times := make([]float64, 0, b.N)
	b.ReportAllocs()
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
	med := Median(times)
	b.ReportMetric(med, "median-ms")
	if cpu := cputime.Process() - cpu0; cpu > 0 {
		b.ReportMetric(float64(cpu.Microseconds())/1e3/float64(b.N), "cpu-ms/op")
	}
	return med
}

// Median is the median of v (the mean of the middle two for an even
// length), 0 for none; v is not modified.
func Median(v []float64) float64 {
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
