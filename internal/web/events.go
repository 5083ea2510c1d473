package web

import (
	"encoding/json"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alphad/alphad/internal/control"
)

// Server-sent events: Notify (called by the daemon, the frame loop among
// others) turns an event into one SSE message and offers it to every
// client's bounded queue without waiting; a full queue loses the message
// (counted in dropped). The latest message of each kind but predictions is
// kept and sent first to a new client, so a page starts complete.

const (
	clientQueue = 64                     // messages a slow client may lag
	predEvery   = 100 * time.Millisecond // predictions sent at most 10/s (label changes always)
	maxClients  = 32
)

type hub struct {
	mu       sync.Mutex
	clients  map[chan []byte]struct{}
	latest   map[string][]byte // by event name
	lastPred time.Time
	pred     *predictionEvent // the latest sent or changed (GET /api/status)
	dropped  atomic.Uint64
	nclients atomic.Int32
}

func newHub() *hub {
	return &hub{clients: map[chan []byte]struct{}{}, latest: map[string][]byte{}}
}

// subscribe adds a client; ok is false when there are too many.
func (h *hub) subscribe() (ch chan []byte, snapshot [][]byte, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.clients) >= maxClients {
		return nil, nil, false
	}
	ch = make(chan []byte, clientQueue)
	h.clients[ch] = struct{}{}
	h.nclients.Store(int32(len(h.clients)))
	for _, name := range []string{"classes", "samples", "settings", "model", "camera", "training", "result", "prediction"} {
		if m, ok := h.latest[name]; ok {
			snapshot = append(snapshot, m)
		}
	}
	return ch, snapshot, true
}

func (h *hub) unsubscribe(ch chan []byte) {
	h.mu.Lock()
	delete(h.clients, ch)
	h.nclients.Store(int32(len(h.clients)))
	h.mu.Unlock()
}

// publish sends one event to every client without blocking.
func (h *hub) publish(name string, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		return
	}
	msg := make([]byte, 0, len(data)+len(name)+16)
	msg = append(msg, "event: "...)
	msg = append(msg, name...)
	msg = append(msg, "\ndata: "...)
	msg = append(msg, data...)
	msg = append(msg, "\n\n"...)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.latest[name] = msg
	// A new page replays the latest state: progress of a finished run, or
	// the result of the run before the one in progress, would mislead.
	switch name {
	case "training":
		delete(h.latest, "result")
	case "result":
		delete(h.latest, "training")
	}
	for ch := range h.clients {
		select {
		case ch <- msg:
		default:
			h.dropped.Add(1)
		}
	}
}

// lastPrediction is the latest decision sent to pages or that changed the
// label (nil before the first).
func (h *hub) lastPrediction() *predictionEvent {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.pred
}

// num is a float that is null in JSON when NaN or infinite.
func num(f float64) *float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil
	}
	return &f
}

// Event payloads (docs/api.md).
type (
	predictionEvent struct {
		Label        string    `json:"label"` // "" = unknown / no decision
		Confidence   *float64  `json:"confidence"`
		Scores       []float32 `json:"scores"`
		Classes      []string  `json:"classes"`
		Changed      bool      `json:"changed"`
		CameraDown   bool      `json:"camera_down"`
		ModelVersion string    `json:"model_version"`
		Time         time.Time `json:"time"`
	}
	classesEvent struct {
		Names  []string       `json:"names"`
		Counts map[string]int `json:"counts"`
	}
	settingsEvent struct {
		TeachClass string  `json:"teach_class"`
		Threshold  float64 `json:"threshold"`
		Window     int     `json:"window"`
	}
	trainingEvent struct {
		Phase              string   `json:"phase"`
		Percent            float64  `json:"percent"`
		Epoch              int      `json:"epoch"`
		Epochs             int      `json:"epochs"`
		Loss               *float64 `json:"loss"`
		Accuracy           *float64 `json:"accuracy"`
		ValidationAccuracy *float64 `json:"validation_accuracy"`
	}
	resultEvent struct {
		OK                 bool           `json:"ok"`
		Error              string         `json:"error,omitempty"`
		Cancelled          bool           `json:"cancelled"`
		ModelVersion       string         `json:"model_version"`
		DurationS          float64        `json:"duration_s"`
		Epochs             int            `json:"epochs"`
		Accuracy           *float64       `json:"accuracy"`
		ValidationAccuracy *float64       `json:"validation_accuracy"`
		SamplesPerClass    map[string]int `json:"samples_per_class"`
	}
	modelEvent struct {
		Version string   `json:"version"`
		Classes []string `json:"classes"`
	}
	cameraEvent struct {
		Up    bool   `json:"up"`
		Error string `json:"error,omitempty"`
	}
)

// Notify implements the daemon's Output: it never blocks.
func (s *Server) Notify(e control.Event) {
	h := s.hub
	switch e := e.(type) {
	case control.Decision:
		if h.nclients.Load() == 0 && !e.Changed {
			return // nobody watches: no work on the frame loop
		}
		now := time.Now()
		h.mu.Lock()
		skip := !e.Changed && !e.CameraDown && now.Sub(h.lastPred) < predEvery
		if !skip {
			h.lastPred = now
		}
		h.mu.Unlock()
		if skip {
			return
		}
		conf := num(e.Confidence)
		if e.CameraDown {
			conf = nil
		}
		// Scores may be the engine's buffer: kept, it is copied.
		p := &predictionEvent{Label: e.Label, Confidence: conf, Scores: slices.Clone(e.Scores), Classes: e.Classes,
			Changed: e.Changed, CameraDown: e.CameraDown, ModelVersion: e.ModelVersion, Time: e.Time}
		h.mu.Lock()
		h.pred = p
		h.mu.Unlock()
		if h.nclients.Load() > 0 {
			h.publish("prediction", p)
		}
	case control.Classes:
		// "samples" is the name for it; "classes" stays for pages
		// that listen to it.
		h.publish("classes", classesEvent{Names: e.Names, Counts: e.Counts})
		h.publish("samples", classesEvent{Names: e.Names, Counts: e.Counts})
	case control.Settings:
		h.publish("settings", settingsEvent{TeachClass: e.TeachClass, Threshold: e.Threshold, Window: e.Window})
	case control.TrainingProgress:
		s.train.onProgress(trainingEvent{Phase: e.Phase, Percent: e.Percent, Epoch: e.Epoch, Epochs: e.Epochs,
			Loss: num(e.Loss), Accuracy: num(e.Accuracy), ValidationAccuracy: num(e.ValidationAccuracy)})
		h.publish("training", trainingEvent{Phase: e.Phase, Percent: e.Percent, Epoch: e.Epoch, Epochs: e.Epochs,
			Loss: num(e.Loss), Accuracy: num(e.Accuracy), ValidationAccuracy: num(e.ValidationAccuracy)})
	case control.TrainingResult:
		r := resultEvent{OK: e.OK, Error: e.Error, Cancelled: e.Cancelled, ModelVersion: e.ModelVersion,
			DurationS: e.Duration.Seconds(), Epochs: e.Epochs, Accuracy: num(e.Accuracy),
			ValidationAccuracy: num(e.ValidationAccuracy), SamplesPerClass: e.SamplesPerClass}
		s.train.onResult(r)
		h.publish("result", r)
	case control.ModelChanged:
		h.publish("model", modelEvent{Version: e.Version, Classes: e.Classes})
	case control.Camera:
		h.publish("camera", cameraEvent{Up: e.Up, Error: e.Err})
	case control.ReviewChanged:
		s.notifyReview(e) // review.go
	}
}
