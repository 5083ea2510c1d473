package control

import "time"

// Event is something the daemon reports to its outputs (MQTT, hooks, the
// web app): one of the types below.
type Event interface{ event() }

// Decision is the decide stage's verdict on one classified frame, or on a
// camera outage. It is made once; every output consumes the same value.
type Decision struct {
	// Label is the decided class; "" means no decision: below the
	// threshold (unknown) or, with CameraDown, no frames at all.
	Label        string
	Confidence   float64   // smoothed confidence of Label (of the best class when unknown); 0 when the camera is down
	Scores       []float32 // this frame's raw model scores, in Classes order (nil when the camera is down)
	Classes      []string
	Changed      bool   // Label differs from the previous decision
	Previous     string // the label before a change
	CameraDown   bool   // no frames: the decision is "" until frames come back
	ModelVersion string
	Seq          uint64
	Time         time.Time
}

// Classes is the list of classes outputs should show: the model's, or the
// recorded ones before there is a model. Counts are the stored samples.
type Classes struct {
	Names  []string
	Counts map[string]int
}

// Settings are the runtime settings (persisted in the state directory).
type Settings struct {
	TeachClass string
	Threshold  float64
	Window     int
	Camera     CameraSettings
}

// CameraSettings are how frames are turned, mirrored and cropped before
// the model (and samples, and the live view) see them.
type CameraSettings struct {
	Crop   Crop
	Mirror bool
	Rotate int // clockwise degrees: 0, 90, 180, 270
}

// ReviewChanged reports a change of the review queue (an unsure frame
// queued, an item filed or discarded): Items is how many are queued.
type ReviewChanged struct {
	Items   int
	Added   string   // the id of a new item ("" when none)
	Removed []string // ids that left the queue (filed, discarded, dropped)
}

// TrainingProgress reports a running training: Percent grows
// monotonically from 0 to 100 across all phases.
type TrainingProgress struct {
	Phase              string // embed, train, commit
	Percent            float64
	Epoch, Epochs      int
	Loss, Accuracy     float64
	ValidationAccuracy float64 // NaN when there is no validation split
	Head               string  // "i/n": the head of an ensemble (or the refit) in training; "" for one
}

// TrainingResult is the outcome of a training run.
type TrainingResult struct {
	OK                 bool
	Error              string
	Cancelled          bool
	ModelVersion       string
	Duration           time.Duration
	Epochs             int
	Accuracy           float64
	ValidationAccuracy float64 // NaN when unknown
	SamplesPerClass    map[string]int
	// ClassAccuracy is the validation accuracy per class (nil when
	// unknown); EmbedDuration and TrainDuration split Duration by phase.
	ClassAccuracy                map[string]float64
	EmbedDuration, TrainDuration time.Duration
	// PhaseSeconds is the wall time of each training phase in seconds
	// (embed, heads, refit, calibrate; nil when unknown).
	PhaseSeconds map[string]float64
}

// ModelChanged reports the model in use (after a swap, import, rollback).
type ModelChanged struct {
	Version string
	Classes []string
}

// Camera reports a camera transition: up, or down with the reason.
type Camera struct {
	Up  bool
	Err string
}

// SampleStored reports a sample the recorder stored (a live frame as the
// model saw it; uploads are not reported). The fleet link shares it when
// fleet.share_samples is on.
type SampleStored struct {
	ID, Label, Source string
	Time              time.Time
}

func (SampleStored) event() {}

func (Decision) event()         {}
func (Classes) event()          {}
func (Settings) event()         {}
func (TrainingProgress) event() {}
func (TrainingResult) event()   {}
func (ModelChanged) event()     {}
func (Camera) event()           {}
func (ReviewChanged) event()    {}
