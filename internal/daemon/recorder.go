package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/alphad/alphad/internal/control"
	"github.com/alphad/alphad/pipeline/store"
)

// burst is one recording: a held button, a press (one sample) or a
// capture command. The frame loop saves a sample whenever one is due.
type burst struct {
	label    string
	id       int64
	max      int
	interval time.Duration // 0: every frame
	until    time.Time
	next     time.Time
	queued   int
	source   string

	// Guarded by the recorder's mutex: what became of the samples.
	pending        int           // queued for the saver
	saved, dropped int           // stored, or lost (encode error, full queue, store error)
	existed        int           // of saved: already in the store (the same image, kept once)
	ended          bool          // no more samples will be taken
	done           chan struct{} // closed once ended and nothing is pending
}

// endLocked marks b ended; r.mu is held.
func (b *burst) endLocked() {
	if !b.ended {
		b.ended = true
		b.settleLocked()
	}
}

func (b *burst) settleLocked() {
	if b.ended && b.pending == 0 {
		close(b.done)
	}
}

// sample is a recorded frame on its way to the store.
type sample struct {
	burst *burst
	ns    store.NewSample
}

// recorder owns the recording burst in progress and the queue of samples
// to store (PNG encoding and fsync stay off the frame loop).
type recorder struct {
	// stored, if set, is told of every stored sample (SampleStored).
	stored func(store.Sample)
	st     *store.Store
	cfg    RecordingConfig
	log    *slog.Logger
	m      *daemonMetrics

	mu      sync.Mutex
	cur     *burst
	pending chan sample
}

func newRecorder(st *store.Store, cfg RecordingConfig, log *slog.Logger, m *daemonMetrics) *recorder {
	return &recorder{st: st, cfg: cfg, log: log, m: m, pending: make(chan sample, 32)}
}

// start starts recording samples of label; a burst in progress ends.
func (r *recorder) start(label string, count int, interval time.Duration, source string) (*burst, error) {
	if err := control.ValidLabel(label); err != nil {
		return nil, fmt.Errorf("record %q: %w", label, err)
	}
	now := time.Now()
	b := &burst{label: label, id: r.st.NextBurst(), max: count, interval: interval,
		until: now.Add(r.cfg.MaxTime), next: now, source: source, done: make(chan struct{})}
	r.mu.Lock()
	old := r.cur
	r.cur = b
	if old != nil {
		old.endLocked()
	}
	r.mu.Unlock()
	if old != nil {
		r.log.Info("recording ended", "label", old.label, "samples", old.queued, "burst", old.id)
	}
	if count > 1 {
		r.log.Info("recording", "label", label, "burst", b.id, "max", count, "source", source)
	}
	return b, nil
}

// stop ends the burst in progress; it returns it (nil: none).
func (r *recorder) stop() *burst {
	r.mu.Lock()
	b := r.cur
	r.cur = nil
	if b != nil {
		b.endLocked()
	}
	r.mu.Unlock()
	if b != nil {
		r.log.Info("recording ended", "label", b.label, "samples", b.queued, "burst", b.id)
	}
	return b
}

// active is the label being recorded ("" = none).
func (r *recorder) active() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cur == nil {
		return ""
	}
	return r.cur.label
}

// due reports whether the frame loop should save this frame.
func (r *recorder) due(now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cur != nil && !now.Before(r.cur.next)
}

// take claims the next sample of the burst in progress (nil: none); done
// reports that the burst ended with it.
func (r *recorder) take(now time.Time) (b *burst, done bool) {
	r.mu.Lock()
	b = r.cur
	if b == nil {
		r.mu.Unlock()
		return nil, false
	}
	b.queued++
	b.next = now.Add(b.interval)
	b.pending++ // until queue or drop settles it
	done = b.queued >= b.max || !now.Before(b.until)
	if done {
		r.cur = nil
		b.ended = true // settled when its last sample is
	}
	r.mu.Unlock()
	if done && b.max > 1 {
		r.log.Info("recording ended", "label", b.label, "samples", b.queued, "burst", b.id)
	}
	return b, done
}

// queue hands a sample taken from b to the saver; a full queue drops it
// (counted).
func (r *recorder) queue(b *burst, ns store.NewSample) {
	select {
	case r.pending <- sample{burst: b, ns: ns}:
	default:
		r.m.samplesDropped.Inc()
		r.settle(b, false)
	}
}

// drop settles a sample taken from b that could not be made.
func (r *recorder) drop(b *burst) { r.settle(b, false) }

// settle records the fate of one sample of b.
func (r *recorder) settle(b *burst, saved bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	b.pending--
	if saved {
		b.saved++
	} else {
		b.dropped++
	}
	b.settleLocked()
}

// outcome is what became of a burst's samples once it settled.
func (r *recorder) outcome(b *burst) (saved, dropped int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return b.saved, b.dropped
}

// existing is how many of a burst's saved samples were already stored.
func (r *recorder) existing(b *burst) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return b.existed
}

// saver stores recorded samples; changed runs after each. On shutdown it
// stores what is queued.
func (r *recorder) saver(ctx context.Context, changed func()) error {
	for {
		select {
		case s := <-r.pending:
			r.save(s, changed)
		case <-ctx.Done():
			for {
				select {
				case s := <-r.pending:
					r.save(s, changed)
				default:
					return nil
				}
			}
		}
	}
}

func (r *recorder) save(s sample, changed func()) {
	added, err := r.st.Add(s.burst.id, []store.NewSample{s.ns})
	if err != nil {
		r.log.Error("save sample", "label", s.ns.Label, "err", err)
		r.m.samplesDropped.Inc()
		r.settle(s.burst, false)
		return
	}
	r.m.samplesSaved.Inc()
	if len(added) == 1 && added[0].Burst != s.burst.id {
		r.mu.Lock()
		s.burst.existed++
		r.mu.Unlock()
	}
	r.settle(s.burst, true)
	changed()
	if r.stored != nil && len(added) == 1 {
		r.stored(added[0])
	}
}
