package decide

import (
	"slices"
	"time"
)

// Verdict is the decision on one frame, with class names.
type Verdict struct {
	// Label is the decided class: the last class the smoothed scores
	// chose. It holds while no class passes the threshold (a hand moving
	// between two classes is one change, not two through "unknown"); ""
	// only before the first decision and while the camera is down.
	Label string
	// Confidence is the smoothed confidence of Label (it may be below the
	// threshold while Label holds); 0 when Label is "".
	Confidence float64
	// Current is the class the smoothed scores choose on this frame, ""
	// when none passes the threshold (or the model rejected the frames).
	Current  string
	Changed  bool   // Label differs from the previous verdict
	Previous string // the label before a change
}

// Decider owns the current decided label: it turns scores (through a
// Smoother) and camera outages into verdicts and detects label changes.
// Changes go from class to class; "" appears only before the first
// decision and for a camera outage (one change to "" and one back).
// Not safe for concurrent use: the frame loop owns it.
type Decider struct {
	smooth  *Smoother
	classes []string
	label   string
}

// NewDecider returns a decider; cfg must be valid.
func NewDecider(cfg SmoothConfig) (*Decider, error) {
	s, err := NewSmoother(cfg)
	if err != nil {
		return nil, err
	}
	return &Decider{smooth: s}, nil
}

// Label is the current decided label ("" = none yet, or camera down).
func (d *Decider) Label() string { return d.label }

// SetThreshold changes the confidence threshold.
func (d *Decider) SetThreshold(t float64) { d.smooth.SetThreshold(t) }

// SetWindow changes the smoothing window (frames) and forgets the history.
func (d *Decider) SetWindow(n int) {
	d.smooth.cfg.Window = n
	d.smooth.Reset()
	d.smooth.ring = nil
}

// Frame decides on one frame's scores for the given classes (a new class
// list, i.e. a new model, restarts the smoothing history; the decided
// label stays until the new model decides). known is false when the
// model's unknown rule rejected the frame (it counts for no class).
func (d *Decider) Frame(scores []float32, known bool, classes []string, t time.Time) Verdict {
	if !slices.Equal(classes, d.classes) {
		d.smooth.Reset()
		d.smooth.ring = nil
		d.classes = append(d.classes[:0], classes...)
	}
	s := d.smooth.add(scores, known, t)
	if s.Label != Unknown && s.Label < len(classes) {
		v := d.set(classes[s.Label], s.Confidence)
		v.Current = v.Label
		return v
	}
	// No class passes the threshold: the decided label holds, with its
	// own smoothed confidence.
	v := d.set(d.label, 0)
	if i := slices.Index(classes, d.label); i >= 0 && i < len(s.Scores) {
		v.Confidence = s.Scores[i]
	}
	return v
}

// CameraDown is the verdict when frames stop: no decision. The smoothing
// history is forgotten so that old frames do not decide after the outage.
func (d *Decider) CameraDown() Verdict {
	d.smooth.Reset()
	d.smooth.ring = nil
	return d.set("", 0)
}

func (d *Decider) set(label string, conf float64) Verdict {
	v := Verdict{Label: label, Confidence: conf, Previous: d.label}
	if label != d.label {
		v.Changed = true
		d.label = label
	} else {
		v.Previous = ""
	}
	return v
}

// Window is the smoothing window in frames.
func (d *Decider) Window() int { return d.smooth.cfg.Window }
