package mqtt_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/alphad/alphad/mqtt"
	"github.com/alphad/alphad/mqtt/mqtttest"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata")

var fixedTime = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

// deterministic returns Options with a fixed clock and counting ids.
func deterministic(h mqtt.Handler) mqtt.Options {
	var n atomic.Int64
	return mqtt.Options{
		Logger:         testLogger(),
		Handler:        h,
		Origin:         mqtt.Origin{Version: "1.2.3"},
		Now:            func() time.Time { return fixedTime },
		NewID:          func() string { return fmt.Sprintf("id-%d", n.Add(1)) },
		DiscoveryDelay: func() time.Duration { return 10 * time.Millisecond },
	}
}

func testLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func testConfig(broker string) mqtt.Config {
	cfg := mqtt.Default()
	cfg.Broker = broker
	cfg.DeviceID = "pi1"
	cfg.ReconnectMin = 50 * time.Millisecond
	cfg.ReconnectMax = 400 * time.Millisecond
	cfg.StateInterval = 0
	cfg.ConnectTimeout = 2 * time.Second
	cfg.QueueSize = 4
	return cfg
}

// runClient starts c.Run and stops it at cleanup, checking it returned nil.
func runClient(t *testing.T, c *mqtt.Client) {
	t.Helper()
	errc := make(chan error, 1)
	go func() { errc <- c.Run(context.Background()) }()
	t.Cleanup(func() {
		c.Close()
		if err := <-errc; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

type recorder struct {
	mu   sync.Mutex
	cmds []mqtt.Command
}

func (r *recorder) HandleCommand(_ context.Context, cmd mqtt.Command) (mqtt.Result, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cmds = append(r.cmds, cmd)
	return mqtt.Result{Message: "ok " + cmd.Name}, nil
}

func decode(t *testing.T, m mqtttest.Message) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(m.Payload, &v); err != nil {
		t.Fatalf("%s: %v: %s", m.Topic, err, m.Payload)
	}
	return v
}

func TestRoundTrip(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	b := mqtttest.StartBroker(t, mqtttest.BrokerOptions{})
	sub := mqtttest.Subscribe(t, b.URL, "alphad/pi1/#", "homeassistant/#")
	rec := &recorder{}
	c, err := mqtt.New(testConfig(b.URL), deterministic(rec))
	if err != nil {
		t.Fatal(err)
	}
	classes := []string{"rock", "paper", "scissors"}
	c.PublishState(mqtt.State{Label: "rock", Confidence: 0.9, Classes: classes, Scores: []float32{0.9, 0.05, 0.05}, ModelVersion: "v1", Seq: 1})
	runClient(t, c)

	sub.Wait("alphad/pi1/availability", 5*time.Second, func(m mqtttest.Message) bool { return string(m.Payload) == "online" })
	st := decode(t, sub.Wait("alphad/pi1/state", 5*time.Second, nil))
	if st["label"] != "rock" || st["seq"].(float64) != 1 || st["model_version"] != "v1" || st["time"] != "2026-11-29T12:00:00Z" || st["id"] == "" {
		t.Errorf("state = %v", st)
	}
	if sc := st["scores"].(map[string]any); sc["paper"].(float64) < 0.04 {
		t.Errorf("scores = %v", sc)
	}
	sub.Wait(c.DiscoveryTopic(), 5*time.Second, nil)

	c.PublishState(mqtt.State{Label: "paper", Confidence: 0.8, Classes: classes, Scores: []float32{0.1, 0.8, 0.1}, ModelVersion: "v1", Seq: 2})
	ev := decode(t, sub.Wait("alphad/pi1/event", 5*time.Second, nil))
	if ev["from"] != "rock" || ev["to"] != "paper" || ev["event_type"] != "label_changed" || ev["confidence"].(float64) != 0.8 {
		t.Errorf("event = %v", ev)
	}

	sub.Publish("alphad/pi1/cmd/train", false, []byte(`{"request_id":"r1","epochs":5}`))
	res := decode(t, sub.Wait("alphad/pi1/result", 5*time.Second, nil))
	if res["request_id"] != "r1" || res["ok"] != true || res["command"] != "train" {
		t.Errorf("result = %v", res)
	}
	sub.Publish("alphad/pi1/cmd/threshold", false, []byte(`{"request_id":"r2","threshold":7}`))
	res = decode(t, sub.Wait("alphad/pi1/result", 5*time.Second, func(m mqtttest.Message) bool { return decode(t, m)["request_id"] == "r2" }))
	if res["ok"] != false || res["error"] == "" {
		t.Errorf("bad command result = %v", res)
	}
	rec.mu.Lock()
	if len(rec.cmds) != 1 || rec.cmds[0].Epochs != 5 {
		t.Errorf("handled %+v, want one train with 5 epochs", rec.cmds)
	}
	rec.mu.Unlock()

	c.Close()
	sub.Wait("alphad/pi1/availability", 5*time.Second, func(m mqtttest.Message) bool { return string(m.Payload) == "offline" })
}
