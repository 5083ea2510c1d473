package daemon

import (
	"slices"
	"testing"
	"time"

	"github.com/alphad/alphad/mqtt"
	"github.com/alphad/alphad/mqtt/mqtttest"
)

// TestBrokerFlaps: after each of 5 broker outages the connected gauge
// drops while the broker is gone and state messages come back once it is
// there again. The time from the broker's restart to the first state is
// logged (the figure behind reconnect_max; not a pass/fail bound beyond
// a generous 15 s).
func TestBrokerFlaps(t *testing.T) {
	mqtttest.Binary(t)
	cfg, eng, cam := imagenetConfig(t)
	broker := mqtttest.StartBroker(t, mqtttest.BrokerOptions{})
	cfg.MQTT.Broker, cfg.MQTT.DeviceID, cfg.MQTT.StateInterval, cfg.MQTT.Discovery = broker.URL, "flap", 0, false
	d, err := New(Options{Config: cfg, StateDir: t.TempDir(), Log: testLog(t), OpenCamera: cam.open, Engine: eng.new,
		MQTT: func(o mqtt.Options) (Link, error) { return mqtt.New(cfg.MQTT, o) }})
	if err != nil {
		t.Fatal(err)
	}
	start(t, d, nil)
	waitFor(t, 20*time.Second, "connected", func() bool { return d.m.mqttUp.Value() == 1 })
	var resumed []time.Duration
	for range 5 {
		broker.Kill()
		waitFor(t, 5*time.Second, "the connected gauge at 0", func() bool { return d.m.mqttUp.Value() == 0 })
		// Let the client fail a few reconnects against the dead port.
		infers := d.stats.infers.Load()
		waitFor(t, 10*time.Second, "inference while the broker is down", func() bool { return d.stats.infers.Load() > infers+10 })
		broker.Start()
		back := time.Now()
		s := mqtttest.Subscribe(t, broker.URL, "alphad/flap/state") // non-persistent broker: nothing retained
		s.Wait("alphad/flap/state", 15*time.Second, func(m mqtttest.Message) bool { return !m.Retained })
		resumed = append(resumed, time.Since(back))
		s.Close()
	}
	slices.Sort(resumed)
	t.Logf("state resumed after a broker restart: median %v, all %v", resumed[2].Round(10*time.Millisecond), resumed)
}
