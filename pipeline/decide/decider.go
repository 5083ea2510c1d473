package decide

import (
	"slices"
	"time"
)

// Verdict is the decision on one frame, with class names.
type Verdict struct {
	Label      string  // "" = no decision (unknown, or no frames)
	Confidence float64 // of Label, or of the best class when unknown
	Changed    bool    // Label differs from the previous verdict
	Previous   string  // the label before a change
}

// Decider owns the current decided label: it turns scores (through a
// Smoother) and camera outages into verdicts and detects label changes.
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

// Label is the current decided label ("" = none).
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
// label stays until the new model decides).
func (d *Decider) Frame(scores []float32, classes []string, t time.Time) Verdict {
	if !slices.Equal(classes, d.classes) {
		d.smooth.Reset()
		d.smooth.ring = nil
		d.classes = append(d.classes[:0], classes...)
	}
	s := d.smooth.Add(scores, t)
	label := ""
	if s.Label != Unknown && s.Label < len(classes) {
		label = classes[s.Label]
	}
	return d.set(label, s.Confidence)
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
