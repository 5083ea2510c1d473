package decide_test

import (
	"testing"
	"time"

	"github.com/alphad/alphad/pipeline/decide"
)

// TestDecider: label changes are reported once, a camera outage is a
// change to no decision (and back), and a new class list restarts the
// smoothing without inventing a change.
func TestDecider(t *testing.T) {
	d, err := decide.NewDecider(decide.SmoothConfig{Mode: decide.SmoothAverage, Window: 2, Threshold: 0.6})
	if err != nil {
		t.Fatal(err)
	}
	classes := []string{"closed", "open"}
	t0 := time.Now()
	steps := []struct {
		scores  []float32
		down    bool
		classes []string
		label   string
		changed bool
		prev    string
	}{
		{scores: []float32{0.1, 0.9}, label: "open", changed: true, prev: ""},
		{scores: []float32{0.1, 0.9}, label: "open"},
		{down: true, label: "", changed: true, prev: "open"},
		{down: true, label: ""},
		{scores: []float32{0.1, 0.9}, label: "open", changed: true, prev: ""},
		{scores: []float32{0.9, 0.1}, label: "", changed: true, prev: "open"}, // average 0.5: below the threshold
		{scores: []float32{0.9, 0.1}, label: "closed", changed: true, prev: ""},
		{scores: []float32{0.95, 0.05, 0}, classes: []string{"closed", "open", "ajar"}, label: "closed"}, // a new model, same verdict
	}
	for i, s := range steps {
		var v decide.Verdict
		if s.down {
			v = d.CameraDown()
		} else {
			c := classes
			if s.classes != nil {
				c = s.classes
			}
			v = d.Frame(s.scores, true, c, t0.Add(time.Duration(i)*time.Second))
		}
		if v.Label != s.label || v.Changed != s.changed || (s.changed && v.Previous != s.prev) {
			t.Fatalf("step %d: got %+v, want label %q changed %v previous %q", i, v, s.label, s.changed, s.prev)
		}
	}
	// Frames the unknown rule rejects count for no class.
	for range 2 {
		d.Frame([]float32{0.9, 0.1}, false, classes, t0)
	}
	if v := d.Frame([]float32{0.9, 0.1}, false, classes, t0); v.Label != "" {
		t.Fatalf("rejected frames decided %q", v.Label)
	}
	d.SetThreshold(0.99)
	if v := d.Frame([]float32{0.9, 0.1}, true, classes, t0); v.Label != "" {
		t.Fatalf("threshold 0.99: %+v", v)
	}
	d.SetWindow(1)
	if d.Window() != 1 {
		t.Fatal("window not set")
	}
}
