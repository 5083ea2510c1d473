package mqtt

import (
	"github.com/alphad/alphad/internal/control"
)

// Notify implements the daemon's output: decisions become the retained
// state (and a label_changed event when the decide stage says the label
// changed), class lists update discovery, settings, training progress and
// results are published. It never blocks.
func (c *Client) Notify(ev control.Event) {
	switch e := ev.(type) {
	case control.Decision:
		s := State{Label: e.Label, Confidence: e.Confidence, Classes: e.Classes, Scores: e.Scores,
			ModelVersion: e.ModelVersion, Seq: e.Seq, Time: e.Time, CameraDown: e.CameraDown}
		var change *Event
		if e.Changed {
			change = &Event{From: e.Previous, To: e.Label, Confidence: e.Confidence, Seq: e.Seq, Time: e.Time}
		}
		c.PublishState(s, change)
	case control.Classes:
		c.SetClasses(e.Names)
		c.refreshDiagnostics()
	case control.Settings:
		c.PublishSettings(Settings{TeachClass: e.TeachClass, Threshold: e.Threshold})
	case control.TrainingProgress:
		c.PublishTrainingProgress(TrainingProgress{Phase: e.Phase, Percent: e.Percent, Epoch: e.Epoch, Epochs: e.Epochs, Head: e.Head,
			Loss: e.Loss, Accuracy: e.Accuracy, ValidationAccuracy: e.ValidationAccuracy})
	case control.TrainingResult:
		c.refreshDiagnostics()
		if e.Cancelled {
			return
		}
		c.PublishTrainingResult(TrainingResult{OK: e.OK, Error: e.Error, ModelVersion: e.ModelVersion, Epochs: e.Epochs,
			Accuracy: e.Accuracy, ValidationAccuracy: e.ValidationAccuracy, Duration: e.Duration, SamplesPerClass: e.SamplesPerClass,
			ClassAccuracy: e.ClassAccuracy, EmbedDuration: e.EmbedDuration, TrainDuration: e.TrainDuration,
			PhaseSeconds: e.PhaseSeconds})
	case control.ModelChanged:
		c.SetClasses(e.Classes)
		c.refreshDiagnostics()
	case control.Camera:
		c.refreshDiagnostics() // diagnostics carry the camera status
	}
}

// Connected reports whether the client is connected to the broker.
func (c *Client) Connected() bool { return c.Stats().Connected }

// refreshDiagnostics publishes fresh diagnostics from Options.Diagnostics.
func (c *Client) refreshDiagnostics() {
	if c.diagFn != nil {
		c.PublishDiagnostics(c.diagFn())
	}
}
