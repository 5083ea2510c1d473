package decide_test

import (
	"slices"
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
		{scores: []float32{0.9, 0.1}, label: "open"}, // average 0.5: below the threshold, open holds
		{scores: []float32{0.9, 0.1}, label: "closed", changed: true, prev: "open"},
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
	// Frames the unknown rule rejects count for no class: the current
	// choice is none, the decided label holds with a falling confidence.
	for range 2 {
		d.Frame([]float32{0.9, 0.1}, false, classes, t0)
	}
	if v := d.Frame([]float32{0.9, 0.1}, false, classes, t0); v.Current != "" || v.Label != "closed" || v.Changed || v.Confidence != 0 {
		t.Fatalf("rejected frames: %+v, want current \"\", label closed held at confidence 0", v)
	}
	d.SetThreshold(0.99)
	if v := d.Frame([]float32{0.9, 0.1}, true, classes, t0); v.Current != "" || v.Label != "closed" {
		t.Fatalf("threshold 0.99: %+v", v)
	}
	d.SetWindow(1)
	if d.Window() != 1 {
		t.Fatal("window not set")
	}
}

// TestDeciderEvents counts label changes on a scripted score sequence: a
// hand moving rock → paper → scissors → paper with noisy frames between
// (below the threshold for a few frames each time) makes exactly the 3
// real changes plus the first decision, and a camera outage exactly one
// change each way.
func TestDeciderEvents(t *testing.T) {
	d, err := decide.NewDecider(decide.DefaultSmoothConfig())
	if err != nil {
		t.Fatal(err)
	}
	classes := []string{"rock", "paper", "scissors"}
	rock, paper, scissors := []float32{0.9, 0.05, 0.05}, []float32{0.05, 0.9, 0.05}, []float32{0.05, 0.05, 0.9}
	mixed := []float32{0.34, 0.33, 0.33}
	var script [][]float32
	add := func(f []float32, n int) {
		for range n {
			script = append(script, f)
		}
	}
	add(rock, 10)
	add(mixed, 3)
	add(paper, 10)
	add(mixed, 4)
	add(scissors, 10)
	add(mixed, 2)
	add(paper, 10)
	t0 := time.Now()
	var got []string
	for i, f := range script {
		v := d.Frame(f, true, classes, t0.Add(time.Duration(i)*66*time.Millisecond))
		if v.Changed {
			got = append(got, v.Previous+"→"+v.Label)
		}
		if v.Label == "" && i > 0 {
			t.Fatalf("frame %d: label \"\" after the first decision: %+v", i, v)
		}
	}
	want := []string{"→rock", "rock→paper", "paper→scissors", "scissors→paper"}
	if !slices.Equal(got, want) {
		t.Fatalf("changes %q, want %q", got, want)
	}
	// A camera outage: one change to "" however long it lasts, one back.
	got = nil
	for range 3 {
		if v := d.CameraDown(); v.Changed {
			got = append(got, v.Previous+"→"+v.Label)
		}
	}
	for range 5 {
		if v := d.Frame(rock, true, classes, t0); v.Changed {
			got = append(got, v.Previous+"→"+v.Label)
		}
	}
	if want := []string{"paper→", "→rock"}; !slices.Equal(got, want) {
		t.Fatalf("outage changes %q, want %q", got, want)
	}
}
