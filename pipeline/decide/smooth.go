package decide

import (
	"errors"
	"fmt"
	"time"
)

// SmoothMode selects how per-frame scores are combined.
type SmoothMode string

// Smoothing modes.
const (
	SmoothNone     SmoothMode = "none"     // the latest frame decides
	SmoothAverage  SmoothMode = "average"  // moving average of scores over Window frames
	SmoothMajority SmoothMode = "majority" // most frequent top-1 over Window frames
)

// SmoothConfig configures a Smoother.
type SmoothConfig struct {
	Mode   SmoothMode `yaml:"mode"`
	Window int        `yaml:"window"` // frames
	// Threshold is the smoothed confidence a label needs to be reported;
	// below it the decision is Unknown.
	Threshold float64 `yaml:"threshold"`
	// Hysteresis is the margin by which a new label's confidence must
	// exceed the current label's before switching.
	Hysteresis float64 `yaml:"hysteresis"`
	// MinDwell is how long a candidate must win before it replaces the
	// current decision.
	MinDwell time.Duration `yaml:"min_dwell"`
}

// DefaultSmoothConfig is a moving average over 5 frames, threshold 0.6,
// hysteresis 0.05, no dwell.
func DefaultSmoothConfig() SmoothConfig {
	return SmoothConfig{Mode: SmoothAverage, Window: 5, Threshold: 0.6, Hysteresis: 0.05}
}

// Validate lists every bad field.
func (c SmoothConfig) Validate() error {
	var errs []error
	switch c.Mode {
	case SmoothNone, SmoothAverage, SmoothMajority:
	default:
		errs = append(errs, fmt.Errorf("mode: %q is not none, average or majority", c.Mode))
	}
	if c.Window < 1 || c.Window > 1000 {
		errs = append(errs, fmt.Errorf("window: %d is not in 1..1000", c.Window))
	}
	if c.Threshold < 0 || c.Threshold > 1 {
		errs = append(errs, fmt.Errorf("threshold: %v is not in 0..1", c.Threshold))
	}
	if c.Hysteresis < 0 || c.Hysteresis > 1 {
		errs = append(errs, fmt.Errorf("hysteresis: %v is not in 0..1", c.Hysteresis))
	}
	if c.MinDwell < 0 {
		errs = append(errs, fmt.Errorf("min_dwell: %v is negative", c.MinDwell))
	}
	return errors.Join(errs...)
}

// Unknown is the label index of "no confident decision".
const Unknown = -1

// Decision is the smoother's output for one frame.
type Decision struct {
	Label      int       // class index, or Unknown
	Confidence float64   // smoothed confidence of Label (or of the best class when Unknown)
	Scores     []float64 // smoothed per-class scores; owned by the Smoother, valid until the next Add
	Changed    bool      // Label differs from the previous decision
	Previous   int       // the label before a change
}

// Smoother turns per-frame scores into stable decisions. It allocates only
// when the number of classes changes. Not safe for concurrent use.
type Smoother struct {
	cfg       SmoothConfig
	n         int         // classes
	ring      [][]float64 // last Window score vectors (average mode)
	votes     []int       // last Window top-1 indices (majority mode)
	filled    int
	next      int
	smoothed  []float64
	current   int
	candidate int
	since     time.Time
}

// NewSmoother returns a smoother; cfg must be valid.
func NewSmoother(cfg SmoothConfig) (*Smoother, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("smoothing: %w", err)
	}
	return &Smoother{cfg: cfg, current: Unknown, candidate: Unknown}, nil
}

// SetThreshold changes the confidence threshold (e.g. from an MQTT command).
func (s *Smoother) SetThreshold(t float64) { s.cfg.Threshold = t }

// Reset forgets the history, e.g. after the model (and its classes) changed.
func (s *Smoother) Reset() {
	s.n = 0
	s.current, s.candidate = Unknown, Unknown
}

func (s *Smoother) resize(n int) {
	s.n = n
	w := s.cfg.Window
	if s.cfg.Mode == SmoothNone {
		w = 1
	}
	s.ring = make([][]float64, w)
	for i := range s.ring {
		s.ring[i] = make([]float64, n)
	}
	s.votes = make([]int, w)
	s.smoothed = make([]float64, n)
	s.filled, s.next = 0, 0
}

// Add feeds one frame's class scores (probabilities) observed at t.
func (s *Smoother) Add(scores []float32, t time.Time) Decision { return s.add(scores, true, t) }

// AddUnknown feeds a frame the model's unknown rule rejected: it counts
// for no class (its scores weigh zero in the average, its vote goes to
// nobody), so enough of them make the decision unknown.
func (s *Smoother) AddUnknown(scores []float32, t time.Time) Decision { return s.add(scores, false, t) }

func (s *Smoother) add(scores []float32, known bool, t time.Time) Decision {
	if len(scores) != s.n || s.ring == nil {
		s.resize(len(scores))
		s.current, s.candidate = Unknown, Unknown
	}
	w := len(s.ring)
	slot := s.ring[s.next]
	top := 0
	for i, v := range scores {
		slot[i] = float64(v)
		if !known {
			slot[i] = 0
		}
		if v > scores[top] {
			top = i
		}
	}
	if !known {
		top = Unknown
	}
	s.votes[s.next] = top
	s.next = (s.next + 1) % w
	if s.filled < w {
		s.filled++
	}
	for i := range s.smoothed {
		s.smoothed[i] = 0
	}
	if s.cfg.Mode == SmoothMajority {
		for k := 0; k < s.filled; k++ {
			if v := s.votes[k]; v != Unknown {
				s.smoothed[v] += 1 / float64(s.filled)
			}
		}
	} else {
		for k := 0; k < s.filled; k++ {
			for i, v := range s.ring[k] {
				s.smoothed[i] += v / float64(s.filled)
			}
		}
	}
	best := 0
	for i, v := range s.smoothed {
		if v > s.smoothed[best] {
			best = i
		}
	}
	proposed := Unknown
	if len(s.smoothed) > 0 && s.smoothed[best] >= s.cfg.Threshold {
		proposed = best
	}
	// Hysteresis: keep the current label unless the new one beats it by the margin.
	if proposed != Unknown && s.current != Unknown && proposed != s.current &&
		s.smoothed[proposed]-s.smoothed[s.current] < s.cfg.Hysteresis {
		proposed = s.current
	}
	d := Decision{Label: s.current, Scores: s.smoothed, Previous: s.current}
	if proposed != s.current {
		if proposed != s.candidate {
			s.candidate, s.since = proposed, t
		}
		if t.Sub(s.since) >= s.cfg.MinDwell {
			d.Changed = true
			d.Label = proposed
			s.current, s.candidate = proposed, Unknown
		}
	} else {
		s.candidate = Unknown
	}
	if d.Label != Unknown {
		d.Confidence = s.smoothed[d.Label]
	} else if len(s.smoothed) > 0 {
		d.Confidence = s.smoothed[best]
	}
	return d
}
