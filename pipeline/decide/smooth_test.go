package decide

import (
	"strings"
	"testing"
	"time"
)

func feed(t *testing.T, s *Smoother, start time.Time, step time.Duration, frames ...[]float32) []Decision {
	t.Helper()
	var out []Decision
	for i, f := range frames {
		d := s.Add(f, start.Add(time.Duration(i)*step))
		d.Scores = nil
		out = append(out, d)
	}
	return out
}

func labels(ds []Decision) []int {
	var l []int
	for _, d := range ds {
		l = append(l, d.Label)
	}
	return l
}

func eq(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestSmoother(t *testing.T) {
	A := []float32{0.9, 0.1}
	B := []float32{0.1, 0.9}
	U := []float32{0.5, 0.5}
	t0 := time.Unix(1000, 0)
	for _, tc := range []struct {
		name   string
		cfg    SmoothConfig
		frames [][]float32
		want   []int
	}{
		{"none follows each frame", SmoothConfig{Mode: SmoothNone, Window: 1, Threshold: 0.6}, [][]float32{A, B, A, U}, []int{0, 1, 0, Unknown}},
		{"average delays a switch", SmoothConfig{Mode: SmoothAverage, Window: 3, Threshold: 0.6}, [][]float32{A, A, A, B, B, B}, []int{0, 0, 0, 0, 1, 1}},
		{"majority ignores one outlier", SmoothConfig{Mode: SmoothMajority, Window: 3, Threshold: 0.6}, [][]float32{A, A, B, A, A}, []int{0, 0, 0, 0, 0}},
		{"below threshold is unknown", SmoothConfig{Mode: SmoothNone, Window: 1, Threshold: 0.95}, [][]float32{A, B}, []int{Unknown, Unknown}},
		{"hysteresis keeps current", SmoothConfig{Mode: SmoothNone, Window: 1, Threshold: 0.4, Hysteresis: 0.2}, [][]float32{A, {0.45, 0.55}, B}, []int{0, 0, 1}},
		{"min dwell", SmoothConfig{Mode: SmoothNone, Window: 1, Threshold: 0.6, MinDwell: 2 * time.Second}, [][]float32{A, A, A, B, B, B, B}, []int{Unknown, Unknown, 0, 0, 0, 1, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := NewSmoother(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			got := labels(feed(t, s, t0, time.Second, tc.frames...))
			if !eq(got, tc.want) {
				t.Fatalf("labels %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSmootherChanged(t *testing.T) {
	s, _ := NewSmoother(SmoothConfig{Mode: SmoothNone, Window: 1, Threshold: 0.6})
	ds := feed(t, s, time.Unix(0, 0), time.Second, []float32{0.9, 0.1}, []float32{0.9, 0.1}, []float32{0.1, 0.9})
	if !ds[0].Changed || ds[1].Changed || !ds[2].Changed || ds[2].Previous != 0 {
		t.Fatalf("changed flags wrong: %+v", ds)
	}
	// A new class count resets.
	d := s.Add([]float32{0.1, 0.1, 0.8}, time.Unix(10, 0))
	if d.Label != 2 || !d.Changed {
		t.Fatalf("after resize: %+v", d)
	}
}

func TestSmoothConfigValidate(t *testing.T) {
	err := SmoothConfig{Mode: "x", Window: 0, Threshold: 2, Hysteresis: -1, MinDwell: -1}.Validate()
	if err == nil {
		t.Fatal("want errors")
	}
	for _, f := range []string{"mode", "window", "threshold", "hysteresis", "min_dwell"} {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("error does not list %s: %v", f, err)
		}
	}
	if err := DefaultSmoothConfig().Validate(); err != nil {
		t.Fatal(err)
	}
}

func BenchmarkSmootherAverage(b *testing.B) {
	s, _ := NewSmoother(DefaultSmoothConfig())
	scores := []float32{0.1, 0.7, 0.2}
	t0 := time.Unix(0, 0)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		s.Add(scores, t0.Add(time.Duration(i)*time.Millisecond))
	}
}
