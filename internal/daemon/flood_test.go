package daemon

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/alphad/alphad/internal/testshared"
	"github.com/alphad/alphad/mqtt"
	"github.com/alphad/alphad/mqtt/mqtttest"
)

// TestCommandFlood: a burst of capture commands over MQTT gets exactly
// one answer each (stored, or busy), and the samples the answers report
// stored are the samples in the store.
func TestCommandFlood(t *testing.T) {
	mqtttest.Binary(t)
	rps := testshared.Path(t, "datasets", "rps_picam")
	broker := mqtttest.StartBroker(t, mqtttest.BrokerOptions{})
	sub := mqtttest.Subscribe(t, broker.URL, "alphad/flood/result")
	cam := newSceneCam(50)
	cam.addScene(t, "rock", rps+"/rock", 0, 100)
	cam.show("rock")
	state := t.TempDir()
	cfg := testConfig()
	installBackbone(t, state, cfg.Model.Backbone)
	cfg.MQTT.Broker, cfg.MQTT.DeviceID, cfg.MQTT.Discovery = broker.URL, "flood", false
	d, err := New(Options{Config: cfg, StateDir: state, Log: testLog(t), OpenCamera: cam.open, Engine: testEngines()[0].new,
		MQTT: func(o mqtt.Options) (Link, error) { return mqtt.New(cfg.MQTT, o) }})
	if err != nil {
		t.Fatal(err)
	}
	start(t, d, nil)
	waitFor(t, 20*time.Second, "frames and MQTT", func() bool { return d.ready.Load() && d.m.mqttUp.Value() == 1 })
	const n = 300
	for i := range n {
		sub.Publish("alphad/flood/cmd/capture", false, []byte(fmt.Sprintf(`{"label":"rock","request_id":"c%d"}`, i)))
	}
	answers := map[string]map[string]any{}
	waitFor(t, 60*time.Second, fmt.Sprintf("%d answers", n), func() bool {
		for _, m := range sub.Messages() {
			var a map[string]any
			json.Unmarshal(m.Payload, &a)
			answers[fmt.Sprint(a["request_id"])] = a
		}
		return len(answers) >= n
	})
	stored, existing, busy := 0, 0, 0
	for i := range n {
		a, ok := answers[fmt.Sprintf("c%d", i)]
		switch {
		case !ok:
			t.Fatalf("no answer to c%d", i)
		case a["ok"] == true:
			det := a["details"].(map[string]any)
			stored += int(det["stored"].(float64))
			existing += int(det["existing"].(float64)) // the scene loops: a frame may be stored already
		case a["error"] == "mqtt: command capture: busy, try again":
			busy++
		default:
			t.Fatalf("answer to c%d: %v", i, a)
		}
	}
	if len(sub.Messages()) != n {
		t.Errorf("%d answers to %d commands", len(sub.Messages()), n)
	}
	if got := d.st.Counts()["rock"]; got != stored-existing {
		t.Errorf("answers say %d stored (%d of them already there), the store holds %d", stored, existing, got)
	}
	t.Logf("%d commands: %d stored one sample, %d busy", n, stored, busy)
}
