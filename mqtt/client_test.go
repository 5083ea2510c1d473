package mqtt_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/alphad/alphad/internal/control"
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

// watchConnectFailures returns opts logging through a handler that notes
// the client's failed connection attempts ("mqtt: connect failed"), and a
// function that waits until n attempts have failed.
func watchConnectFailures(opts mqtt.Options) (mqtt.Options, func(t *testing.T, n int)) {
	h := &failureLog{Handler: opts.Logger.Handler(), failed: make(chan struct{}, 1000)}
	opts.Logger = slog.New(h)
	return opts, func(t *testing.T, n int) {
		t.Helper()
		timeout := time.After(10 * time.Second)
		for i := range n {
			select {
			case <-h.failed:
			case <-timeout:
				t.Fatalf("%d of %d connection attempts failed in 10 s", i, n)
			}
		}
	}
}

type failureLog struct {
	slog.Handler
	failed chan struct{}
}

func (h *failureLog) Enabled(context.Context, slog.Level) bool { return true }

func (h *failureLog) WithAttrs(as []slog.Attr) slog.Handler {
	return &failureLog{Handler: h.Handler.WithAttrs(as), failed: h.failed}
}

func (h *failureLog) WithGroup(name string) slog.Handler {
	return &failureLog{Handler: h.Handler.WithGroup(name), failed: h.failed}
}

func (h *failureLog) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == "mqtt: connect failed" {
		select {
		case h.failed <- struct{}{}:
		default:
		}
	}
	if !h.Handler.Enabled(ctx, r.Level) {
		return nil
	}
	return h.Handler.Handle(ctx, r)
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
	c.PublishState(mqtt.State{Label: "rock", Confidence: 0.9, Classes: classes, Scores: []float32{0.9, 0.05, 0.05}, ModelVersion: "v1", Seq: 1}, nil)
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

	c.Notify(control.Decision{Label: "paper", Confidence: 0.8, Classes: classes, Scores: []float32{0.1, 0.8, 0.1}, ModelVersion: "v1", Seq: 2,
		Changed: true, Previous: "rock"})
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
	if len(rec.cmds) != 1 || rec.cmds[0].Train.Epochs != 5 {
		t.Errorf("handled %+v, want one train with 5 epochs", rec.cmds)
	}
	rec.mu.Unlock()

	c.Close()
	sub.Wait("alphad/pi1/availability", 5*time.Second, func(m mqtttest.Message) bool { return string(m.Payload) == "offline" })
}

func TestBrokerRestart(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	users := map[string]string{"alphad": "pw", "sub": "subpw"}
	b := mqtttest.StartBroker(t, mqtttest.BrokerOptions{Users: users})
	subURL := strings.Replace(b.URL, "mqtt://", "mqtt://sub:subpw@", 1)
	cfg := testConfig(b.URL)
	cfg.Username, cfg.Password = "alphad", "pw"
	c, err := mqtt.New(cfg, deterministic(nil))
	if err != nil {
		t.Fatal(err)
	}
	classes := []string{"a", "b"}
	state := func(label string, seq uint64) mqtt.State {
		return mqtt.State{Label: label, Confidence: 1, Classes: classes, Scores: []float32{1, 0}, Seq: seq}
	}
	runClient(t, c)
	sub := mqtttest.Subscribe(t, subURL, "alphad/pi1/#")
	c.PublishState(state("a", 1), nil)
	sub.Wait("alphad/pi1/state", 5*time.Second, nil)
	sub.Close()

	b.Kill()
	// While the broker is down publishing must return at once; events
	// beyond the queue size (4) are dropped and counted.
	start := time.Now()
	for i := range 20 {
		from, to := []string{"a", "b"}[i%2], []string{"a", "b"}[(i+1)%2]
		c.PublishState(state(to, uint64(2+i)), &mqtt.Event{From: from, To: to, Confidence: 1, Seq: uint64(2 + i)})
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("20 PublishState calls with the broker down took %v", d)
	}
	// Restart without the client's user so that the test subscriber is in
	// place before the client gets back (events are not retained).
	b.SetUsers(map[string]string{"sub": "subpw"})
	b.Start()
	sub = mqtttest.Subscribe(t, subURL, "alphad/pi1/#", "homeassistant/#")
	b.SetUsers(users)

	sub.Wait("alphad/pi1/availability", 10*time.Second, func(m mqtttest.Message) bool { return string(m.Payload) == "online" })
	sub.Wait(c.DiscoveryTopic(), 10*time.Second, nil)
	st := decode(t, sub.Wait("alphad/pi1/state", 10*time.Second, nil))
	if st["label"] != "a" || st["seq"].(float64) != 21 {
		t.Errorf("first state after restart = %v, want the latest (seq 21)", st)
	}
	// The 4 newest events survive, oldest first.
	var seqs []float64
	for range 4 {
		m := sub.Wait("alphad/pi1/event", 5*time.Second, func(m mqtttest.Message) bool {
			s := decode(t, m)["seq"].(float64)
			return len(seqs) == 0 || s > seqs[len(seqs)-1]
		})
		seqs = append(seqs, decode(t, m)["seq"].(float64))
	}
	if seqs[0] != 18 || seqs[3] != 21 {
		t.Errorf("event seqs after restart = %v, want 18..21", seqs)
	}
	// The retained state is the latest one, as a new subscriber sees it.
	late := mqtttest.Subscribe(t, subURL, "alphad/pi1/state")
	if m := late.Wait("alphad/pi1/state", 5*time.Second, nil); !m.Retained || decode(t, m)["seq"].(float64) != 21 {
		t.Errorf("retained state = %s (retained %v)", m.Payload, m.Retained)
	}
	if stats := c.Stats(); stats.DroppedEvents != 20-4 || stats.Connects < 2 {
		t.Errorf("stats = %+v, want 16 dropped events and 2 connects", stats)
	}
}

func TestFirstConnectRetried(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	port := mqtttest.FreePort(t)
	opts, failed := watchConnectFailures(deterministic(nil))
	c, err := mqtt.New(testConfig(fmt.Sprintf("mqtt://127.0.0.1:%d", port)), opts)
	if err != nil {
		t.Fatal(err)
	}
	c.PublishState(mqtt.State{Label: "x", Classes: []string{"x"}, Scores: []float32{1}, Seq: 7}, nil)
	runClient(t, c)
	failed(t, 3) // a few refused attempts
	b := mqtttest.StartBroker(t, mqtttest.BrokerOptions{Port: port})
	sub := mqtttest.Subscribe(t, b.URL, "alphad/pi1/state")
	if m := sub.Wait("alphad/pi1/state", 10*time.Second, nil); decode(t, m)["seq"].(float64) != 7 {
		t.Errorf("state = %s", m.Payload)
	}
}

func TestCloseWithoutBroker(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	port := mqtttest.FreePort(t)
	opts, failed := watchConnectFailures(deterministic(nil))
	c, err := mqtt.New(testConfig(fmt.Sprintf("mqtt://127.0.0.1:%d", port)), opts)
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- c.Run(context.Background()) }()
	failed(t, 1) // Run is in its reconnect loop
	start := time.Now()
	c.Close()
	if err := <-errc; err != nil {
		t.Errorf("Run = %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Close took %v", d)
	}
}

func TestDiscovery(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	b := mqtttest.StartBroker(t, mqtttest.BrokerOptions{})
	cfg := testConfig(b.URL)
	opts := deterministic(&recorder{})
	opts.ConfigurationURL = "http://pi1.local:8080/"
	c, err := mqtt.New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	c.SetClasses([]string{"rock", "paper", "Scissors!"})
	runClient(t, c)
	sub := mqtttest.Subscribe(t, b.URL, "homeassistant/#")
	m := sub.Wait(c.DiscoveryTopic(), 5*time.Second, nil)
	if c.DiscoveryTopic() != "homeassistant/device/alphad_pi1/config" {
		t.Errorf("discovery on %s", c.DiscoveryTopic())
	}
	if m := mqtttest.Subscribe(t, b.URL, c.DiscoveryTopic()).Wait(c.DiscoveryTopic(), 5*time.Second, nil); !m.Retained {
		t.Errorf("discovery not retained")
	}
	golden(t, "discovery.json", m.Payload)
	for _, e := range validateDiscovery(m.Payload) {
		t.Errorf("discovery.json: %s", e)
	}

	// Removing a class re-publishes the config with platform-only entries.
	sub.Reset()
	c.SetClasses([]string{"rock", "paper"})
	m = sub.Wait(c.DiscoveryTopic(), 5*time.Second, nil)
	golden(t, "discovery_removed.json", m.Payload)
	for _, e := range validateDiscovery(m.Payload) {
		t.Errorf("discovery_removed.json: %s", e)
	}

	// Home Assistant coming online gets the config again.
	sub.Reset()
	sub.Publish("homeassistant/status", false, []byte("online"))
	sub.Wait(c.DiscoveryTopic(), 5*time.Second, nil)
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, got, "", "  "); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	buf.WriteByte('\n')
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("%s differs from the golden file (go test -run %s -update to accept):\n%s", name, t.Name(), buf.Bytes())
	}
}

type slowHandler struct{ release chan struct{} }

func (h slowHandler) HandleCommand(ctx context.Context, cmd mqtt.Command) (mqtt.Result, error) {
	select {
	case <-h.release:
	case <-ctx.Done():
	}
	return mqtt.Result{Message: "done", Details: map[string]any{"n": 1}}, nil
}

func TestTopics(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	b := mqtttest.StartBroker(t, mqtttest.BrokerOptions{})
	sub := mqtttest.Subscribe(t, b.URL, "alphad/pi1/#")
	cfg := testConfig(b.URL)
	cfg.DisabledCommands = []string{"rollback"}
	cfg.StateInterval = time.Hour
	cfg.QueueSize = 32
	h := slowHandler{release: make(chan struct{})}
	opts := deterministic(h)
	opts.Diagnostics = func() mqtt.Diagnostics {
		return mqtt.Diagnostics{FPS: 14.5, InferenceMS: 21, DroppedFrames: 3, SamplesPerClass: map[string]int{"a": 5}, ModelVersion: "v2",
			ValidationAccuracy: math.NaN()}
	}
	c, err := mqtt.New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	// A stale retained command must not run when the client subscribes.
	sub.Publish("alphad/pi1/cmd/undo", true, []byte(`{"request_id":"retained"}`))
	runClient(t, c)

	diag := decode(t, sub.Wait("alphad/pi1/diagnostics", 5*time.Second, nil))
	if diag["fps"] != 14.5 || diag["validation_accuracy"] != nil || diag["samples_per_class"].(map[string]any)["a"] != 5.0 || diag["id"] == "" {
		t.Errorf("diagnostics = %v", diag)
	}
	c.PublishSettings(mqtt.Settings{TeachClass: "a", Threshold: 0.6})
	if s := decode(t, sub.Wait("alphad/pi1/settings", 5*time.Second, nil)); s["teach_class"] != "a" || s["threshold"] != 0.6 {
		t.Errorf("settings = %v", s)
	}
	c.PublishTrainingProgress(mqtt.TrainingProgress{Epoch: 3, Epochs: 10, Loss: 0.5, Accuracy: 0.8, ValidationAccuracy: 0.75})
	if p := decode(t, sub.Wait("alphad/pi1/training/progress", 5*time.Second, nil)); p["epoch"] != 3.0 || p["validation_accuracy"] != 0.75 {
		t.Errorf("progress = %v", p)
	}
	c.PublishTrainingResult(mqtt.TrainingResult{OK: true, ModelVersion: "v3", Epochs: 10, Accuracy: 0.9, ValidationAccuracy: 0.85, Duration: 1500 * time.Millisecond,
		PhaseSeconds: map[string]float64{"embed": 1.25, "heads": 0.25}})
	m := sub.Wait("alphad/pi1/training/result", 5*time.Second, nil)
	if r := decode(t, m); r["ok"] != true || r["model_version"] != "v3" || r["duration_s"] != 1.5 ||
		r["phases_s"].(map[string]any)["embed"] != 1.25 {
		t.Errorf("training result = %v", r)
	}

	// State interval: a second state with the same label waits; a label
	// change goes out at once.
	st := func(label string, seq uint64) mqtt.State {
		return mqtt.State{Label: label, Classes: []string{"a", "b"}, Scores: []float32{1, 0}, Seq: seq}
	}
	c.PublishState(st("a", 1), nil)
	sub.Wait("alphad/pi1/state", 5*time.Second, nil)
	c.PublishState(st("a", 2), nil)
	c.PublishState(st("b", 3), nil)
	if s := decode(t, sub.Wait("alphad/pi1/state", 5*time.Second, func(m mqtttest.Message) bool { return decode(t, m)["seq"] != 1.0 })); s["seq"] != 3.0 {
		t.Errorf("state after a label change = %v, want seq 3", s)
	}

	// Commands: disabled, retained (ignored), busy worker.
	sub.Publish("alphad/pi1/cmd/rollback", false, []byte(`{"request_id":"rb"}`))
	r := decode(t, sub.Wait("alphad/pi1/result", 5*time.Second, func(m mqtttest.Message) bool { return decode(t, m)["request_id"] == "rb" }))
	if r["ok"] != false || !strings.Contains(r["error"].(string), "disabled") {
		t.Errorf("disabled command answer = %v", r)
	}
	for i := range 9 { // 1 in the handler + 8 queued; the 10th is refused
		sub.Publish("alphad/pi1/cmd/undo", false, []byte(fmt.Sprintf(`{"request_id":"u%d"}`, i)))
	}
	sub.Publish("alphad/pi1/cmd/undo", false, []byte(`{"request_id":"u9"}`))
	sub.Wait("alphad/pi1/result", 5*time.Second, func(m mqtttest.Message) bool {
		r := decode(t, m)
		return r["ok"] == false && strings.Contains(r["error"].(string), "busy")
	})
	close(h.release)
	r = decode(t, sub.Wait("alphad/pi1/result", 5*time.Second, func(m mqtttest.Message) bool { return decode(t, m)["request_id"] == "u0" }))
	if r["ok"] != true || r["message"] != "done" {
		t.Errorf("answer = %v", r)
	}
	for _, m := range sub.Messages() {
		if m.Topic == "alphad/pi1/result" && strings.Contains(string(m.Payload), `"retained"`) {
			t.Errorf("a retained command was answered: %s", m.Payload)
		}
	}
	sub.Publish("alphad/pi1/cmd/undo", true, nil) // clear the retained command
	if s := c.Stats(); s.BusyCommands != 1 {
		t.Errorf("stats = %+v", s)
	}
}
