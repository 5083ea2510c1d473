package mqtt

import (
	"encoding/json"
	"math"
	"strconv"
	"time"
)

// State is one classifier decision, published retained on <prefix>/state.
type State struct {
	Label        string    // decided class ("" before the first decision: null)
	Confidence   float64   // of Label, in [0, 1] (null while Label is "")
	Classes      []string  // class names, in score order
	Scores       []float32 // one per class
	ModelVersion string
	Seq          uint64    // frame sequence number
	Time         time.Time // frame time; zero means "now"
	// CameraDown: no frames, no decision (label "", confidence null).
	CameraDown bool
}

// Event is a label change, published (not retained) on <prefix>/event
// with the state of the decision that changed the label.
type Event struct {
	From, To   string
	Confidence float64
	Seq        uint64
	Time       time.Time
}

// Settings are the values Home Assistant's select and number show,
// published retained on <prefix>/settings.
type Settings struct {
	TeachClass string  // class that capture and the buttons teach
	Threshold  float64 // decision threshold
}

// Diagnostics are published retained on <prefix>/diagnostics.
type Diagnostics struct {
	FPS                float64
	InferenceMS        float64
	DroppedFrames      uint64
	SamplesPerClass    map[string]int
	ModelVersion       string
	ValidationAccuracy float64       // NaN when unknown
	Uptime             time.Duration // zero: time since the Client was made
	// StartedAt is the daemon's start (Home Assistant's uptime sensor is
	// this timestamp); zero: the time of PublishDiagnostics minus Uptime,
	// to the second.
	StartedAt time.Time
	// Camera is "ok" while frames flow, else the camera's last error
	// ("" = not reported).
	Camera string
	// Fleet is the fleet link's status (JSON-encoded as is; nil = off).
	Fleet any
}

// TrainingProgress is published on <prefix>/training/progress (QoS 0, not
// retained; only the latest is kept while offline).
type TrainingProgress struct {
	// Phase is embed, train, commit or done; Percent is the whole run's
	// progress in [0, 100], monotonic across ensemble heads and the refit.
	Phase              string
	Percent            float64
	Epoch, Epochs      int
	Loss               float64
	Accuracy           float64
	ValidationAccuracy float64 // NaN when unknown
	Head               string  // "i/n" of the ensemble heads and the refit; "" for one head
}

// TrainingResult is published retained on <prefix>/training/result.
type TrainingResult struct {
	OK                 bool
	Error              string // when !OK
	ModelVersion       string
	Epochs             int
	Accuracy           float64
	ValidationAccuracy float64 // NaN when unknown
	Duration           time.Duration
	SamplesPerClass    map[string]int
	// ClassAccuracy is the validation accuracy per class (nil when
	// unknown); EmbedDuration and TrainDuration split Duration by phase.
	ClassAccuracy                map[string]float64
	EmbedDuration, TrainDuration time.Duration
	// PhaseSeconds is the wall time of each training phase (embed, heads,
	// refit, calibrate; nil when unknown).
	PhaseSeconds map[string]float64
}

// Wire formats. Every message carries "id" and "time" (RFC 3339, UTC).

type header struct {
	ID   string `json:"id"`
	Time string `json:"time"`
}

type stateMsg struct {
	header
	Seq          uint64             `json:"seq"`
	Label        *string            `json:"label"`
	Confidence   *float64           `json:"confidence"`
	Scores       map[string]float64 `json:"scores"`
	ModelVersion string             `json:"model_version"`
}

type eventMsg struct {
	header
	EventType  string   `json:"event_type"`
	From       *string  `json:"from"`
	To         *string  `json:"to"`
	Confidence *float64 `json:"confidence"`
	Seq        uint64   `json:"seq"`
}

type settingsMsg struct {
	header
	TeachClass string  `json:"teach_class"`
	Threshold  float64 `json:"threshold"`
}

type mqttStats struct {
	DroppedEvents  uint64 `json:"dropped_events"`
	DroppedResults uint64 `json:"dropped_results"`
	Reconnects     uint64 `json:"reconnects"`
}

type diagMsg struct {
	header
	FPS                float64        `json:"fps"`
	InferenceMS        float64        `json:"inference_ms"`
	DroppedFrames      uint64         `json:"dropped_frames"`
	SamplesPerClass    map[string]int `json:"samples_per_class"`
	ModelVersion       string         `json:"model_version"`
	ValidationAccuracy *float64       `json:"validation_accuracy"`
	UptimeS            float64        `json:"uptime_s"`
	StartedAt          string         `json:"started_at"`
	Camera             string         `json:"camera,omitempty"`
	MQTT               mqttStats      `json:"mqtt"`
	Fleet              any            `json:"fleet,omitempty"`
}

type progressMsg struct {
	header
	Phase              string   `json:"phase"`
	Percent            float64  `json:"percent"`
	Epoch              int      `json:"epoch"`
	Epochs             int      `json:"epochs"`
	Loss               float64  `json:"loss"`
	Accuracy           float64  `json:"accuracy"`
	ValidationAccuracy *float64 `json:"validation_accuracy"`
	Head               string   `json:"head,omitempty"`
}

type trainResultMsg struct {
	header
	OK                 bool               `json:"ok"`
	Error              string             `json:"error,omitempty"`
	ModelVersion       string             `json:"model_version,omitempty"`
	Epochs             int                `json:"epochs"`
	Accuracy           float64            `json:"accuracy"`
	ValidationAccuracy *float64           `json:"validation_accuracy"`
	DurationS          float64            `json:"duration_s"`
	SamplesPerClass    map[string]int     `json:"samples_per_class,omitempty"`
	ClassAccuracy      map[string]float64 `json:"class_accuracy,omitempty"`
	EmbedS             float64            `json:"embed_s,omitempty"`
	TrainS             float64            `json:"train_s,omitempty"`
	PhasesS            map[string]float64 `json:"phases_s,omitempty"`
}

type resultMsg struct {
	header
	RequestID string         `json:"request_id"`
	Command   string         `json:"command"`
	OK        bool           `json:"ok"`
	Message   string         `json:"message,omitempty"`
	Error     string         `json:"error,omitempty"`
	Details   map[string]any `json:"details,omitempty"`
}

// finite maps NaN and ±Inf to 0 (JSON has no such numbers).
func finite(f float64) float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return f
}

// nullable maps "" (no decision) to null.
func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// optional maps NaN and ±Inf to null.
func optional(f float64) *float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil
	}
	return &f
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func encodeState(h header, s *State) ([]byte, error) {
	m := stateMsg{header: h, Seq: s.Seq, Label: nullable(s.Label), Scores: make(map[string]float64, len(s.Scores)), ModelVersion: s.ModelVersion}
	if !s.CameraDown && s.Label != "" {
		m.Confidence = optional(finite(s.Confidence))
	}
	for i, v := range s.Scores {
		name := ""
		if i < len(s.Classes) {
			name = s.Classes[i]
		}
		if name == "" {
			name = "class_" + strconv.Itoa(i)
		}
		m.Scores[name] = finite(float64(v))
	}
	return json.Marshal(m)
}
