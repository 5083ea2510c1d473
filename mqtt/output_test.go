package mqtt_test

import (
	"math"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/alphad/alphad/internal/control"
	"github.com/alphad/alphad/mqtt"
	"github.com/alphad/alphad/mqtt/mqtttest"
)

// TestNotifyTrainingProgress: every phase is published with percent and
// phase, and what arrives never goes back and ends at 100.
func TestNotifyTrainingProgress(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	b := mqtttest.StartBroker(t, mqtttest.BrokerOptions{})
	sub := mqtttest.Subscribe(t, b.URL, "alphad/pi1/#")
	c, err := mqtt.New(testConfig(b.URL), deterministic(&recorder{}))
	if err != nil {
		t.Fatal(err)
	}
	runClient(t, c)
	sub.Wait("alphad/pi1/availability", 5*time.Second, nil) // connected: no progress is coalesced offline
	nan := math.NaN()
	steps := []control.TrainingProgress{
		{Phase: "embed", Percent: 20, ValidationAccuracy: nan},
		{Phase: "train", Percent: 50, Epoch: 1, Epochs: 2, Loss: 0.4, Accuracy: 0.8, ValidationAccuracy: 0.7},
		{Phase: "train", Percent: 69, Epoch: 1, Epochs: 1, Loss: 0.3, Accuracy: 0.9, ValidationAccuracy: nan}, // refit
		{Phase: "commit", Percent: 99, ValidationAccuracy: nan},
		{Phase: "done", Percent: 100, ValidationAccuracy: nan},
	}
	for _, s := range steps {
		c.Notify(s)
	}
	last := decode(t, sub.Wait("alphad/pi1/training/progress", 5*time.Second, func(m mqtttest.Message) bool {
		return decode(t, m)["phase"] == "done"
	}))
	if last["percent"] != 100.0 {
		t.Errorf("last progress = %v, want percent 100", last)
	}
	prev := -1.0
	for _, m := range sub.Messages() {
		if m.Topic != "alphad/pi1/training/progress" {
			continue
		}
		p := decode(t, m)
		pct, ok := p["percent"].(float64)
		if !ok || pct < prev || p["phase"] == "" {
			t.Errorf("progress %v after percent %v", p, prev)
		}
		prev = pct
	}
}

// TestNotifyClassesRefreshesDiagnostics: a change of the class list (a
// capture changes sample counts) publishes diagnostics at once, not at
// the next interval; diagnostics carry started_at.
func TestNotifyClassesRefreshesDiagnostics(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	b := mqtttest.StartBroker(t, mqtttest.BrokerOptions{})
	sub := mqtttest.Subscribe(t, b.URL, "alphad/pi1/diagnostics")
	cfg := testConfig(b.URL)
	cfg.DiagnosticsInterval = time.Hour
	opts := deterministic(&recorder{})
	var samples atomic.Int64
	opts.Diagnostics = func() mqtt.Diagnostics {
		return mqtt.Diagnostics{SamplesPerClass: map[string]int{"rock": int(samples.Load())}, ValidationAccuracy: math.NaN(),
			Uptime: 90 * time.Second}
	}
	c, err := mqtt.New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	runClient(t, c)
	d := decode(t, sub.Wait("alphad/pi1/diagnostics", 5*time.Second, nil))
	if want := fixedTime.Add(-90 * time.Second).Format(time.RFC3339); d["started_at"] != want {
		t.Errorf("started_at = %v, want %s", d["started_at"], want)
	}
	samples.Store(7)
	c.Notify(control.Classes{Names: []string{"rock"}})
	sub.Wait("alphad/pi1/diagnostics", 5*time.Second, func(m mqtttest.Message) bool {
		return decode(t, m)["samples_per_class"].(map[string]any)["rock"] == 7.0
	})
}
