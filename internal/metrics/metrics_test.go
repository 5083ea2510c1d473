package metrics

import (
	"net/http/httptest"
	"strings"
	"testing"
)

func TestExposition(t *testing.T) {
	r := NewRegistry()
	c := r.Counter("alphad_frames_total", "Frames captured.")
	g := r.Gauge("alphad_fps", "Frames per second.")
	v := r.GaugeVec("alphad_samples", "Samples per class.", "class")
	h := r.Histogram("alphad_inference_seconds", "Inference latency.", []float64{0.01, 0.1})
	c.Add(3)
	g.Set(14.5)
	v.Set("rock", 10)
	v.Set(`pa"per`, 2)
	for _, x := range []float64{0.005, 0.05, 0.05, 2} {
		h.Observe(x)
	}
	rec := httptest.NewRecorder()
	r.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	want := `# HELP alphad_frames_total Frames captured.
# TYPE alphad_frames_total counter
alphad_frames_total 3
# HELP alphad_fps Frames per second.
# TYPE alphad_fps gauge
alphad_fps 14.5
# HELP alphad_samples Samples per class.
# TYPE alphad_samples gauge
alphad_samples{class="pa\"per"} 2
alphad_samples{class="rock"} 10
# HELP alphad_inference_seconds Inference latency.
# TYPE alphad_inference_seconds histogram
alphad_inference_seconds_bucket{le="0.01"} 1
alphad_inference_seconds_bucket{le="0.1"} 3
alphad_inference_seconds_bucket{le="+Inf"} 4
alphad_inference_seconds_sum 2.105
alphad_inference_seconds_count 4
`
	if got := rec.Body.String(); got != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
	if !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain") {
		t.Fatal("content type")
	}
}

func BenchmarkObserve(b *testing.B) {
	h := NewRegistry().Histogram("x", "x", []float64{0.001, 0.01, 0.1, 1})
	b.ReportAllocs()
	for b.Loop() {
		h.Observe(0.02)
	}
}
