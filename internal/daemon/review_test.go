package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/alphad/alphad/device"
	"github.com/alphad/alphad/internal/control"
	"github.com/alphad/alphad/internal/metrics"
	"github.com/alphad/alphad/pipeline/decide"
	"github.com/alphad/alphad/pipeline/store"
)

// gateDaemon is the part of a daemon reviewFrame uses, with no writer
// draining the candidates.
func gateDaemon(interval time.Duration) *Daemon {
	reg := metrics.NewRegistry()
	return &Daemon{settings: &settings{}, review: &reviewer{on: true, interval: interval, in: make(chan reviewCandidate, reviewQueue),
		queued: reg.Counter("q", ""), dropped: reg.Counter("d", "")}}
}

// TestReviewRule: unknown frames and flips between classes are kept at
// most once per interval, a lasting unknown stretch once per 10
// intervals; label changes from unknown to a class are not flips.
func TestReviewRule(t *testing.T) {
	d := gateDaemon(10 * time.Second)
	fl := &frameLoop{classes: []string{"a", "b"}}
	t0 := time.Unix(1700000000, 0)
	steps := []struct {
		at   int // seconds after t0
		v    decide.Verdict
		kept string // the reason kept, or ""
	}{
		{0, decide.Verdict{Label: "", Confidence: 0.4}, store.ReasonUnknown}, // a new unknown stretch
		{1, decide.Verdict{Label: ""}, ""},                                   // the same stretch
		{2, decide.Verdict{Label: "a", Changed: true}, ""},                   // unknown → a: not a flip
		{3, decide.Verdict{Label: ""}, ""},                                   // a new stretch, within the interval
		{4, decide.Verdict{Label: "a", Changed: true}, ""},
		{11, decide.Verdict{Label: "b", Changed: true, Previous: "a"}, store.ReasonFlip},
		{12, decide.Verdict{Label: "a", Changed: true, Previous: "b"}, ""}, // flicker within the interval
		{13, decide.Verdict{Label: "a"}, ""},                               // confident: never
		{25, decide.Verdict{Label: ""}, store.ReasonUnknown},
		{60, decide.Verdict{Label: ""}, ""},
		{124, decide.Verdict{Label: ""}, ""},
		{125, decide.Verdict{Label: ""}, store.ReasonUnknown}, // 10 intervals on
	}
	for _, s := range steps {
		fl.work = device.Frame{Format: device.RGB24, Width: 1, Height: 1, Data: []byte{byte(s.at), 0, 0}, Time: t0.Add(time.Duration(s.at) * time.Second)}
		d.reviewFrame(fl, s.v, []float32{0.4, 0.6}, "v000001")
		var got string
		select {
		case c := <-d.review.in:
			got = c.item.Reason
			if c.frame.Data[0] != byte(s.at) || c.item.Label != s.v.Label || c.item.Previous != s.v.Previous || c.item.ModelVersion != "v000001" || len(c.item.Scores) != 2 {
				t.Errorf("at %d s: candidate %+v", s.at, c.item)
			}
			fl.work.Data[0] = 99 // the frame loop reuses its buffer: the candidate has its own copy
			if c.frame.Data[0] != byte(s.at) {
				t.Errorf("at %d s: the candidate shares the frame buffer", s.at)
			}
		default:
		}
		if got != s.kept {
			t.Errorf("at %d s (%+v): kept %q, want %q", s.at, s.v, got, s.kept)
		}
	}
}

// TestReviewNeverBlocks: with the writer stuck (nobody drains), the frame
// loop's offers return at once and the surplus is counted as dropped.
func TestReviewNeverBlocks(t *testing.T) {
	d := gateDaemon(0)
	fl := &frameLoop{classes: []string{"a", "b"}}
	for i := range 50 {
		fl.work = device.Frame{Data: make([]byte, 640*480*2), Time: time.Unix(int64(i), 0)}
		d.reviewFrame(fl, decide.Verdict{Label: ""}, []float32{0.5, 0.5}, "v1")
	}
	if len(d.review.in) != reviewQueue || d.review.dropped.Value() != 50-reviewQueue {
		t.Fatalf("%d queued, %d dropped; want %d and %d", len(d.review.in), d.review.dropped.Value(), reviewQueue, 50-reviewQueue)
	}
}

// TestReviewFromCamera: a running daemon with a scene camera queues
// unsure frames (every frame is unknown under a 0.999 threshold) as the
// model's 224×224 input, bounded by review.size, and a flip between two
// scenes with its previous label; filing one makes a sample, discarding
// removes one; the commands and events say so.
func TestReviewFromCamera(t *testing.T) {
	cfg, eng, cam := imagenetConfig(t)
	cfg.Smoothing.Threshold = 0.999
	cfg.Review.Size = 3
	cfg.Review.Interval = 50 * time.Millisecond
	state := t.TempDir()
	events := &eventLog{}
	d, err := New(Options{Config: cfg, StateDir: state, Log: testLog(t), OpenCamera: cam.open, Engine: eng.new, Outputs: []Output{events}})
	if err != nil {
		t.Fatal(err)
	}
	start(t, d, nil)
	ctx := context.Background()
	list := func() []map[string]any {
		res, err := d.Do(ctx, control.Command{Name: control.Review}, "test")
		if err != nil {
			t.Fatal(err)
		}
		var out []map[string]any
		b, _ := json.Marshal(res.Details["items"])
		json.Unmarshal(b, &out)
		return out
	}
	// A lasting unknown stretch: the first frame, then one per 10
	// intervals; wait for the queue to fill and drop its oldest.
	waitFor(t, 30*time.Second, "a full review queue", func() bool { return d.state.Review().Len() == 3 })
	first := d.state.Review().List()[2].ID
	waitFor(t, 30*time.Second, "the oldest item dropped", func() bool {
		_, ok := d.state.Review().Item(first)
		return !ok
	})
	items := list()
	if len(items) != 3 {
		t.Fatalf("%d items, want 3 (review.size)", len(items))
	}
	it := items[0]
	if it["reason"] != store.ReasonUnknown || it["label"] != "" || it["top"] == "" || it["model_version"] == "" {
		t.Errorf("item %v", it)
	}
	png1, err := d.ReviewImage(it["id"].(string))
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(png1))
	if err != nil || img.Bounds().Dx() != sampleSize || img.Bounds().Dy() != sampleSize {
		t.Fatalf("review image: %v %v", err, img.Bounds())
	}
	if _, err := d.ReviewImage("../settings.json"); err == nil {
		t.Error("a path-like id was served")
	}
	if !events.has(func(e control.Event) bool {
		r, ok := e.(control.ReviewChanged)
		return ok && r.Added != "" && len(r.Removed) == 1
	}) {
		t.Error("no ReviewChanged event with an added and a dropped item")
	}

	// File one into a class: a sample (Source review); discard another.
	if _, err := d.Do(ctx, control.Command{Name: control.ReviewFile, ID: it["id"].(string), Label: "hopper"}, "test"); err != nil {
		t.Fatal(err)
	}
	if n := d.st.Counts()["hopper"]; n != 1 {
		t.Errorf("hopper has %d samples after filing, want 1", n)
	}
	if s := d.st.Samples(); len(s) != 1 || s[0].Source != "review" {
		t.Errorf("samples %+v", s)
	}
	if _, err := d.Do(ctx, control.Command{Name: control.ReviewDiscard, ID: items[1]["id"].(string)}, "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Do(ctx, control.Command{Name: control.ReviewDiscard, ID: items[1]["id"].(string)}, "test"); err == nil {
		t.Error("discarding twice succeeded")
	}

	// A flip: confident labels (threshold 0) and a scene change.
	if _, err := d.Do(ctx, control.Command{Name: control.Threshold, Threshold: ptrF(0)}, "test"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "a confident label on the first scene", func() bool {
		return events.has(func(e control.Event) bool { v, ok := e.(control.Decision); return ok && v.Label != "" })
	})
	cam.show("cat")
	waitFor(t, 30*time.Second, "a flip queued", func() bool {
		l := d.state.Review().List()
		return len(l) > 0 && l[0].Reason == store.ReasonFlip
	})
	flip := d.state.Review().List()[0]
	if flip.Label == "" || flip.Previous == "" || flip.Label == flip.Previous {
		t.Errorf("flip item %+v", flip)
	}
	if _, err := os.Stat(filepath.Join(state, "review", flip.ID+".png")); err != nil {
		t.Error(err)
	}
}

func ptrF(f float64) *float64 { return &f }

// eventLog is an Output that keeps every event.
type eventLog struct {
	mu     sync.Mutex
	events []control.Event
}

func (l *eventLog) Notify(e control.Event) {
	l.mu.Lock()
	l.events = append(l.events, e)
	l.mu.Unlock()
}

func (l *eventLog) has(f func(control.Event) bool) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range l.events {
		if f(e) {
			return true
		}
	}
	return false
}

// BenchmarkReviewFrame is the frame loop's review cost per classified
// frame: a confident one (the common case: nothing to do), an unsure one
// kept (a copy of a VGA YUYV frame handed over; the bench drains it) and
// one dropped because the writer is behind (no copy).
func BenchmarkReviewFrame(b *testing.B) {
	for _, c := range []struct {
		name  string
		v     decide.Verdict
		drain bool
	}{{"confident", decide.Verdict{Label: "a"}, true}, {"unsure-kept", decide.Verdict{Label: ""}, true}, {"unsure-writer-behind", decide.Verdict{Label: ""}, false}} {
		b.Run(c.name, func(b *testing.B) {
			d := gateDaemon(0)
			fl := &frameLoop{classes: []string{"a", "b"}, work: device.Frame{Format: device.YUYV, Width: 640, Height: 480, Data: make([]byte, 640*480*2)}}
			scores := []float32{0.5, 0.5}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				fl.work.Time = time.Unix(int64(i), 0)
				d.reviewFrame(fl, c.v, scores, "v1")
				if c.drain && len(d.review.in) > 0 {
					<-d.review.in
				}
			}
		})
	}
}
