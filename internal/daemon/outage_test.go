package daemon

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/alphad/alphad/hooks"
	"github.com/alphad/alphad/mqtt"
	"github.com/alphad/alphad/mqtt/mqtttest"
)

// TestOutageChangesReachMQTTAndHooksAlike drives one daemon through a
// label, a camera outage, the recovery and another label: the label
// changes MQTT publishes as events and the ones hooks see are the same
// list, outage included ("" = no decision while the camera is down).
func TestOutageChangesReachMQTTAndHooksAlike(t *testing.T) {
	mqtttest.Binary(t)
	cfg, eng, cam := imagenetConfig(t)
	broker := mqtttest.StartBroker(t, mqtttest.BrokerOptions{})
	sub := mqtttest.Subscribe(t, broker.URL, "alphad/out/#")
	cfg.MQTT.Broker, cfg.MQTT.DeviceID, cfg.MQTT.StateInterval = broker.URL, "out", 0
	hookFile := filepath.Join(t.TempDir(), "changes.txt")
	cfg.Hooks = []hooks.Config{{Name: "log", Command: []string{"/bin/sh", "-c", `echo "$ALPHAD_PREVIOUS>$ALPHAD_LABEL" >> "$0"`, hookFile}}}
	d, err := New(Options{Config: cfg, StateDir: t.TempDir(), Log: testLog(t), OpenCamera: cam.open, Engine: eng.new, DeviceID: "out",
		MQTT: func(o mqtt.Options) (Link, error) { return mqtt.New(cfg.MQTT, o) }})
	if err != nil {
		t.Fatal(err)
	}
	start(t, d, nil)
	events := func() []string {
		var out []string
		for _, m := range sub.Messages() {
			if m.Topic != "alphad/out/event" {
				continue
			}
			var e struct{ From, To string }
			json.Unmarshal(m.Payload, &e)
			out = append(out, e.From+">"+e.To)
		}
		return out
	}
	hooked := func() []string {
		b, _ := os.ReadFile(hookFile)
		return strings.Fields(strings.ReplaceAll(string(b), " ", "_"))
	}
	// Both lists reach n entries and agree.
	agree := func(what string, n int) {
		t.Helper()
		waitFor(t, 20*time.Second, what, func() bool { return len(events()) >= n && len(hooked()) >= n })
		ev, hk := events(), hooked()
		for i := range ev {
			ev[i] = strings.ReplaceAll(ev[i], " ", "_")
		}
		if !slices.Equal(ev, hk) {
			t.Fatalf("%s: MQTT events %q, hooks %q", what, ev, hk)
		}
	}
	agree("the first label", 1)
	first := events()[0]
	if !strings.HasPrefix(first, ">") || first == ">" {
		t.Fatalf("first change %q, want from no decision to a label", first)
	}
	cam.setFail(errUnplugged)
	agree("the outage", 2)
	if got := events()[1]; !strings.HasSuffix(got, ">") {
		t.Fatalf("outage change %q, want to no decision", got)
	}
	sub.Wait("alphad/out/state", 5*time.Second, func(m mqtttest.Message) bool {
		return strings.Contains(string(m.Payload), `"label":null`) && strings.Contains(string(m.Payload), `"confidence":null`)
	})
	cam.setFail(nil)
	agree("the recovery", 3)
	cam.show("cat")
	agree("the next label", 4)
}
