package daemon

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"

	"github.com/alphad/alphad/device/panel"
	"github.com/alphad/alphad/device/panel/paneltest"
	"github.com/alphad/alphad/internal/testshared"
	"github.com/alphad/alphad/mqtt"
	"github.com/alphad/alphad/mqtt/mqtttest"
)

// stateMsg is the part of <prefix>/state the tests read.
type stateMsg struct {
	Seq          uint64  `json:"seq"`
	Label        string  `json:"label"`
	Confidence   float64 `json:"confidence"`
	ModelVersion string  `json:"model_version"`
}

type resultMsg struct {
	Command      string         `json:"command"`
	OK           bool           `json:"ok"`
	Error        string         `json:"error"`
	Details      map[string]any `json:"details"`
	ModelVersion string         `json:"model_version"`
}

// panelRig is a real panel.Panel on fake pins and a fake clock.
type panelRig struct {
	clk  *paneltest.Clock
	pins map[string]*paneltest.Pin
	led  *paneltest.Recorder
	p    *panel.Panel
	cfg  panel.Config
}

func newPanelRig(t *testing.T, buttons ...panel.ButtonConfig) *panelRig {
	t.Helper()
	r := &panelRig{clk: paneltest.NewClock(), pins: map[string]*paneltest.Pin{}}
	r.cfg = panel.Default()
	r.cfg.Buttons = buttons
	var pins panel.Pins
	for i, b := range buttons {
		pin := paneltest.NewPin(b.Pin, 17+i)
		pin.L = gpio.High // released (active low)
		r.pins[b.Name] = pin
		pins.Buttons = append(pins.Buttons, pin)
	}
	r.led = paneltest.NewRecorder(r.cfg.LED.Pin, 27, r.clk)
	pins.LED = r.led
	p, err := panel.New(r.cfg, pins, panel.Options{Clock: r.clk, Wake: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	r.p = p
	return r
}

// hold presses a button until the panel reports a hold.
func (r *panelRig) hold(name string) {
	r.pins[name].Edge(gpio.Low)
	r.clk.Advance(r.cfg.Debounce + r.cfg.HoldAfter + 10*time.Millisecond)
}

// release lets a held button go.
func (r *panelRig) release(name string) {
	r.pins[name].Edge(gpio.High)
	r.clk.Advance(r.cfg.Debounce + 10*time.Millisecond)
}

// press is a short press.
func (r *panelRig) press(name string) {
	r.pins[name].Edge(gpio.Low)
	r.clk.Advance(r.cfg.Debounce + 50*time.Millisecond)
	r.pins[name].Edge(gpio.High)
	r.clk.Advance(r.cfg.Debounce + 10*time.Millisecond)
}

// TestEndToEnd teaches a fresh device rock and paper with the (fake GPIO)
// buttons while a camera shows rps_picam frames, trains with the train
// button, and checks that a real MQTT subscriber sees the right label for
// held-out frames of each class; then trains again over MQTT and rolls
// back to the first model.
func TestEndToEnd(t *testing.T) {
	rps := testshared.Path(t, "datasets", "rps_picam")
	mqtttest.Binary(t)
	engines := testEngines()
	if raceOn { // the race detector slows the native kernels ten-fold: the fastest engine covers the concurrency
		engines = engines[len(engines)-1:]
	}
	for _, eng := range engines {
		t.Run(eng.name, func(t *testing.T) { testEndToEnd(t, eng, rps) })
	}
}

func testEndToEnd(t *testing.T, eng testEngine, rps string) {
	const perClass = 16
	broker := mqtttest.StartBroker(t, mqtttest.BrokerOptions{})
	sub := mqtttest.Subscribe(t, broker.URL, "alphad/e2e/#")
	prefix := "alphad/e2e/"

	cam := newSceneCam(20)
	cam.addScene(t, "rock-train", rps+"/rock", 0, perClass)
	cam.addScene(t, "paper-train", rps+"/paper", 0, perClass)
	cam.addScene(t, "rock", rps+"/rock", 50, 70)
	cam.addScene(t, "paper", rps+"/paper", 50, 70)
	cam.show("rock-train")

	rig := newPanelRig(t,
		panel.ButtonConfig{Name: "a", Pin: "GPIO17", Action: "class:rock"},
		panel.ButtonConfig{Name: "b", Pin: "GPIO22", Action: "class:paper"},
		panel.ButtonConfig{Name: "train", Pin: "GPIO23", Action: "train"})

	state := t.TempDir()
	cfg := testConfig()
	cfg.Model.Backbone = "features"
	installBackbone(t, state, cfg.Model.Backbone)
	cfg.Recording.Rate = 20
	cfg.Recording.MaxBurst = perClass
	cfg.Training.Epochs = 30
	cfg.Smoothing.Window = 3
	cfg.Panel.Enabled = true
	cfg.Panel.Config = rig.cfg
	cfg.MQTT.Broker = broker.URL
	cfg.MQTT.DeviceID = "e2e"
	cfg.MQTT.StateInterval = 0
	cfg.MQTT.Discovery = false
	d, err := New(Options{Config: cfg, StateDir: state, Log: testLog(t), OpenCamera: cam.open, Engine: eng.new,
		Panel: rig.p, DeviceID: "e2e", MQTT: func(o mqtt.Options) (Link, error) { return mqtt.New(cfg.MQTT, o) }})
	if err != nil {
		t.Fatal(err)
	}
	run := start(t, d, nil)
	waitFor(t, 10*time.Second, "first frame", func() bool { return d.ready.Load() })
	sub.Wait(prefix+"availability", 10*time.Second, func(m mqtttest.Message) bool { return string(m.Payload) == "online" })

	// Teach: hold A on rock, B on paper, until a burst is full. (Normally
	// about a second; the bound only ends a hang — with the whole test suite
	// on two cores, fsync-bound sample writes have taken over 30 s in CI.)
	for _, c := range []struct{ button, label string }{{"a", "rock"}, {"b", "paper"}} {
		cam.show(c.label + "-train")
		waitFrames(t, d, 3) // let the mailbox drain the old scene
		rig.hold(c.button)
		t0 := time.Now()
		func() {
			defer func() {
				if t.Failed() {
					t.Logf("samples after %v: %v (frames %d)", time.Since(t0).Round(time.Millisecond), d.st.Counts(), d.stats.frames.Load())
				}
			}()
			waitFor(t, 2*time.Minute, c.label+" samples", func() bool { return d.st.Counts()[c.label] >= perClass-2 })
		}()
		t.Logf("%s: %d samples in %v", c.label, d.st.Counts()[c.label], time.Since(t0).Round(time.Millisecond))
		rig.release(c.button)
	}
	waitFor(t, 5*time.Second, "recording to end", func() bool { return d.rec.active() == "" })
	counts := d.st.Counts()
	t.Logf("samples: %v", counts)

	// Train with the train button; inference starts with v000001.
	rig.press("train")
	res := sub.Wait(prefix+"training/result", 3*time.Minute, nil)
	var tr struct {
		OK           bool               `json:"ok"`
		Error        string             `json:"error"`
		ModelVersion string             `json:"model_version"`
		Phases       map[string]float64 `json:"phases_s"`
	}
	json.Unmarshal(res.Payload, &tr)
	if !tr.OK || tr.ModelVersion != "v000001" {
		t.Fatalf("training result: %s", res.Payload)
	}
	if tr.Phases["embed"] <= 0 || tr.Phases["heads"] <= 0 {
		t.Errorf("training result without per-phase timings: %s", res.Payload)
	}

	// Held-out frames: the subscriber must see the right label.
	const need = 20
	for _, label := range []string{"rock", "paper"} {
		cam.show(label)
		mark := len(sub.Messages())
		waitFor(t, 2*time.Minute, "states for "+label, func() bool {
			return len(statesOf(sub.Messages()[mark:], prefix, cam, label)) >= need
		})
		states := statesOf(sub.Messages()[mark:], prefix, cam, label)
		sort.Slice(states, func(i, j int) bool { return states[i].Seq < states[j].Seq })
		// The first Window decisions after the switch average in the
		// previous scene (smoothing lag by design).
		states = states[cfg.Smoothing.Window:]
		right := 0
		for _, s := range states {
			if s.Label == label {
				right++
			}
		}
		acc := float64(right) / float64(len(states))
		t.Logf("%s: %d/%d states right (%.0f %%)", label, right, len(states), 100*acc)
		if acc < 0.9 {
			t.Errorf("%s: only %.0f %% of %d states right: %+v", label, 100*acc, len(states), states)
		}
	}

	// Train again over MQTT (embeddings are cached), then roll back.
	sub.Publish(prefix+"cmd/train", false, []byte(`{"epochs": 5, "request_id": "t2"}`))
	sub.Wait(prefix+"result", 10*time.Second, func(m mqtttest.Message) bool {
		return strings.Contains(string(m.Payload), `"t2"`) && strings.Contains(string(m.Payload), `"ok":true`)
	})
	sub.Wait(prefix+"training/result", 2*time.Minute, func(m mqtttest.Message) bool {
		return strings.Contains(string(m.Payload), `"model_version":"v000002"`)
	})
	waitFor(t, 30*time.Second, "v000002 in use", func() bool { return lastState(sub, prefix).ModelVersion == "v000002" })
	sub.Publish(prefix+"cmd/rollback", false, []byte(`{"request_id": "rb"}`))
	m := sub.Wait(prefix+"result", 10*time.Second, func(m mqtttest.Message) bool { return strings.Contains(string(m.Payload), `"rb"`) })
	var rr resultMsg
	json.Unmarshal(m.Payload, &rr)
	if !rr.OK || rr.Details["model_version"] != "v000001" {
		t.Fatalf("rollback result: %s", m.Payload)
	}
	waitFor(t, 30*time.Second, "v000001 back in use", func() bool {
		s := lastState(sub, prefix)
		return s.ModelVersion == "v000001" && s.Label == "paper"
	})

	if len(rig.led.Changes()) == 0 {
		t.Error("the LED never changed")
	}
	run.stop(t)
	sub.Wait(prefix+"availability", 5*time.Second, func(m mqtttest.Message) bool { return string(m.Payload) == "offline" })
	if rig.led.Read() != gpio.Low {
		t.Error("LED left on after stop")
	}
	if cam.closes == 0 {
		t.Error("camera not closed")
	}
}

// statesOf decodes the state messages of frames that showed scene.
func statesOf(msgs []mqtttest.Message, prefix string, cam *sceneCam, scene string) []stateMsg {
	var out []stateMsg
	for _, m := range msgs {
		if m.Topic != prefix+"state" {
			continue
		}
		var s stateMsg
		if json.Unmarshal(m.Payload, &s) != nil || s.Seq == 0 || cam.sceneOf(s.Seq) != scene {
			continue
		}
		out = append(out, s)
	}
	return out
}

func lastState(sub *mqtttest.Subscriber, prefix string) stateMsg {
	msgs := sub.Messages()
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Topic == prefix+"state" {
			var s stateMsg
			json.Unmarshal(msgs[i].Payload, &s)
			return s
		}
	}
	return stateMsg{}
}

var _ = context.Background
