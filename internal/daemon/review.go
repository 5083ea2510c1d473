package daemon

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"slices"
	"time"

	"github.com/alphad/alphad/device"
	"github.com/alphad/alphad/internal/control"
	"github.com/alphad/alphad/internal/metrics"
	"github.com/alphad/alphad/pipeline/decide"
	"github.com/alphad/alphad/pipeline/preprocess"
	"github.com/alphad/alphad/pipeline/store"
	"github.com/alphad/alphad/pipeline/tflite"
)

// The review queue: frames the model was unsure about are kept (in the
// store's bounded queue, State.Review) for a person to file into a class
// or discard.
//
// Which frames: a frame decided unknown (its smoothed top score under the
// threshold) or a flip (the decided label changed from one class to
// another). So that a flickering scene does not write every frame, the
// frame loop keeps a candidate only when review.interval passed since the
// last one; while one situation lasts (the same stretch of unknown
// frames) it keeps one every 10 intervals. With the default 10 s that is
// at most 6 frames a minute while flickering, one per 100 s while a scene
// stays unknown.
//
// The frame loop never touches the disk: it copies the frame and hands it
// to the review writer over a small channel; when the writer is behind
// the candidate is dropped and counted (alphad_review_dropped_total). The
// writer turns the frame into the model's input image under the camera
// settings of the moment it was seen, stores it and tells the outputs
// (control.ReviewChanged).

// reviewQueue is how many candidates may wait for the writer.
const reviewQueue = 4

// reviewLasting: a lasting situation adds a frame every this many
// intervals.
const reviewLasting = 10

// reviewGate is the frame loop's rate limit state.
type reviewGate struct {
	last    time.Time // when the last candidate was kept
	unknown bool      // inside a stretch of unknown frames
}

// reviewCandidate is an unsure frame on its way to the queue.
type reviewCandidate struct {
	frame device.Frame
	opts  preprocess.Options
	item  store.ReviewItem
}

// reviewer owns the writer's side of the review queue.
type reviewer struct {
	q        *store.Review
	interval time.Duration
	on       bool
	in       chan reviewCandidate
	queued   *metrics.Counter
	dropped  *metrics.Counter
}

func newReviewer(q *store.Review, cfg ReviewConfig, reg *metrics.Registry) (*reviewer, error) {
	if err := q.SetSize(cfg.Size); err != nil {
		return nil, err
	}
	return &reviewer{q: q, interval: cfg.Interval, on: cfg.Size > 0, in: make(chan reviewCandidate, reviewQueue),
		queued:  reg.Counter("alphad_review_queued_total", "Unsure frames stored in the review queue."),
		dropped: reg.Counter("alphad_review_dropped_total", "Unsure frames dropped because the review writer was behind or failed.")}, nil
}

// reviewFrame is called by the frame loop with every verdict: it offers
// an unsure frame to the writer under the rate limit, without waiting.
func (d *Daemon) reviewFrame(fl *frameLoop, v decide.Verdict, scores []float32, version string) {
	r := d.review
	if !r.on {
		return
	}
	f := &fl.work
	g := &fl.review
	unknown := v.Label == ""
	flip := v.Changed && v.Label != "" && v.Previous != ""
	fresh := flip || unknown && !g.unknown // a new situation
	g.unknown = unknown
	if !unknown && !flip {
		return
	}
	now := f.Time
	if now.IsZero() {
		now = time.Now()
	}
	gap := r.interval
	if !fresh {
		gap *= reviewLasting
	}
	if !g.last.IsZero() && now.Sub(g.last) < gap {
		return
	}
	g.last = now
	if len(r.in) == cap(r.in) { // the writer is behind: skip the copy
		r.dropped.Inc()
		return
	}
	reason := store.ReasonUnknown
	if flip {
		reason = store.ReasonFlip
	}
	c := reviewCandidate{frame: *f, opts: d.preprocessOptions(), item: store.ReviewItem{Time: now, Reason: reason,
		Label: v.Label, Previous: v.Previous, Classes: slices.Clone(fl.classes), Scores: slices.Clone(scores), ModelVersion: version}}
	c.frame.Data = bytes.Clone(f.Data)
	select {
	case r.in <- c:
	default:
		r.dropped.Inc()
	}
}

// reviewWriter stores the candidates the frame loop hands over until ctx
// ends.
func (d *Daemon) reviewWriter(ctx context.Context) error {
	var p *preprocess.Preprocessor
	var popts preprocess.Options
	for {
		var c reviewCandidate
		select {
		case <-ctx.Done():
			return nil
		case c = <-d.review.in:
		}
		if p == nil || c.opts != popts {
			var err error
			t := &tflite.Tensor{Type: tflite.Uint8, Shape: []int{1, sampleSize, sampleSize, 3}}
			if p, err = preprocess.New(t, c.opts); err != nil {
				d.log.Warn("review", "err", err)
				d.review.dropped.Inc()
				continue
			}
			popts = c.opts
		}
		img, err := rgbaOf(p, c.frame)
		if err == nil {
			var gone []string
			c.item, gone, err = d.review.q.Add(c.item, img)
			if err == nil {
				d.review.queued.Inc()
				d.out.emit(control.ReviewChanged{Items: d.review.q.Len(), Added: c.item.ID, Removed: gone})
				continue
			}
		}
		d.log.Warn("review: storing an unsure frame", "err", err)
		d.review.dropped.Inc()
	}
}

// rgbaOf is a frame as p makes it (a uint8 tensor), as an image.
func rgbaOf(p *preprocess.Preprocessor, f device.Frame) (*image.RGBA, error) {
	rgb := make([]byte, p.Size())
	if err := p.Frame(rgb, f); err != nil {
		return nil, err
	}
	img := image.NewRGBA(image.Rect(0, 0, p.Width(), p.Height()))
	for i, j := 0, 0; i < len(rgb); i, j = i+3, j+4 {
		img.Pix[j], img.Pix[j+1], img.Pix[j+2], img.Pix[j+3] = rgb[i], rgb[i+1], rgb[i+2], 255
	}
	return img, nil
}

// reviewJSON is a review item as commands answer it.
func reviewJSON(it store.ReviewItem) map[string]any {
	top, score := it.Top()
	return map[string]any{"id": it.ID, "time": it.Time, "reason": it.Reason, "label": it.Label, "previous": it.Previous,
		"classes": it.Classes, "scores": it.Scores, "model_version": it.ModelVersion, "top": top, "top_score": score}
}

func (d *Daemon) cmdReview(context.Context, control.Command, string) (control.Result, error) {
	items := d.state.Review().List()
	list := make([]map[string]any, 0, len(items))
	for _, it := range items {
		list = append(list, reviewJSON(it))
	}
	return control.Result{Message: fmt.Sprintf("%d frame(s) to review", len(items)),
		Details: map[string]any{"items": list, "classes": d.st.Classes(), "size": d.cfg.Review.Size}}, nil
}

func (d *Daemon) cmdReviewFile(_ context.Context, cmd control.Command, _ string) (control.Result, error) {
	sm, err := d.state.Review().File(cmd.ID, cmd.Label)
	if err != nil {
		return control.Result{}, err
	}
	d.samplesChanged()
	d.out.emit(control.ReviewChanged{Items: d.state.Review().Len(), Removed: []string{cmd.ID}})
	return control.Result{Message: fmt.Sprintf("review item %s filed as a sample of %s", cmd.ID, cmd.Label),
		Details: map[string]any{"id": cmd.ID, "sample": sm.ID, "label": sm.Label}}, nil
}

func (d *Daemon) cmdReviewDiscard(_ context.Context, cmd control.Command, _ string) (control.Result, error) {
	if err := d.state.Review().Discard(cmd.ID); err != nil {
		return control.Result{}, err
	}
	d.out.emit(control.ReviewChanged{Items: d.state.Review().Len(), Removed: []string{cmd.ID}})
	return control.Result{Message: "review item " + cmd.ID + " discarded", Details: map[string]any{"id": cmd.ID}}, nil
}

// ReviewImage is a review item's PNG (the web app serves it); only ids the
// queue holds.
func (d *Daemon) ReviewImage(id string) ([]byte, error) {
	if !control.ValidReviewID(id) {
		return nil, fmt.Errorf("review item %q: %w", id, store.ErrNoReviewItem)
	}
	return d.state.Review().Image(id)
}

// ErrNoReviewItem means an id the review queue does not hold.
var ErrNoReviewItem = store.ErrNoReviewItem

// cameraJSON is the camera settings as commands answer them.
func cameraJSON(c control.CameraSettings) map[string]any {
	m := map[string]any{"crop": c.Crop.Mode, "mirror": c.Mirror, "rotate": c.Rotate}
	if c.Crop.Mode == "roi" {
		m["region"] = map[string]float64{"x": c.Crop.X, "y": c.Crop.Y, "w": c.Crop.W, "h": c.Crop.H}
	}
	return m
}

// cameraText says the camera settings in a few words.
func cameraText(c control.CameraSettings) string {
	s := "crop " + c.Crop.Mode
	if c.Crop.Mode == "roi" {
		s += fmt.Sprintf(" %.2f,%.2f %.2f×%.2f", c.Crop.X, c.Crop.Y, c.Crop.W, c.Crop.H)
	}
	if c.Mirror {
		s += ", mirrored"
	}
	if c.Rotate != 0 {
		s += fmt.Sprintf(", rotated %d°", c.Rotate)
	}
	return s
}
