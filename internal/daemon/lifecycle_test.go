package daemon

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alphad/alphad/hooks"
	"github.com/alphad/alphad/internal/sdnotify"
	"github.com/alphad/alphad/internal/testshared"
	"github.com/alphad/alphad/mqtt"
	"github.com/alphad/alphad/mqtt/mqtttest"
	"github.com/alphad/alphad/pipeline/engine"
	"github.com/alphad/alphad/pipeline/tflite"
)

// notifySocket is a fake systemd notification socket recording datagrams.
type notifySocket struct {
	path string
	conn *net.UnixConn
	mu   sync.Mutex
	msgs []string
}

func newNotifySocket(t *testing.T) *notifySocket {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	s := &notifySocket{path: path, conn: conn}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			s.mu.Lock()
			for _, line := range strings.Split(string(buf[:n]), "\n") {
				s.msgs = append(s.msgs, line)
			}
			s.mu.Unlock()
		}
	}()
	t.Cleanup(func() { conn.Close() })
	return s
}

func (s *notifySocket) all() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.msgs...)
}

func (s *notifySocket) count(prefix string) int {
	n := 0
	for _, m := range s.all() {
		if strings.HasPrefix(m, prefix) {
			n++
		}
	}
	return n
}

func index(msgs []string, prefix string) int {
	for i, m := range msgs {
		if strings.HasPrefix(m, prefix) {
			return i
		}
	}
	return -1
}

// imagenetConfig runs Google's quantized ImageNet classifier from
// model.path, without smoothing, on the last test engine (xnnpack when
// compiled in: fast).
func imagenetConfig(t *testing.T) (Config, testEngine, *sceneCam) {
	cfg := testConfig()
	cfg.Model.Path = testshared.Path(t, "models", "mobilenet_v2_1.0_224_quant.tflite")
	cfg.Model.Labels = testshared.Path(t, "models", "imagenet_labels.txt")
	cfg.Smoothing.Window = 1
	cfg.Smoothing.Threshold = 0
	engines := testEngines()
	cam := newSceneCam(10)
	images := testshared.Path(t, "images")
	cam.addFile(t, "hopper", filepath.Join(images, "grace_hopper.bmp"))
	cam.addFile(t, "cat", filepath.Join(images, "cat.bmp"))
	cam.show("hopper")
	return cfg, engines[len(engines)-1], cam
}

// TestSystemdNotify checks the sd_notify sequence against a unixgram
// NOTIFY_SOCKET: READY=1 once the model is loaded and a frame came, then
// WATCHDOG=1 and STATUS= lines, and STOPPING=1 last.
func TestSystemdNotify(t *testing.T) {
	cfg, eng, cam := imagenetConfig(t)
	sock := newNotifySocket(t)
	d, err := New(Options{Config: cfg, StateDir: t.TempDir(), Log: testLog(t), OpenCamera: cam.open, Engine: eng.new,
		Notifier: sdnotify.New(sock.path), WatchdogInterval: 50 * time.Millisecond, StatusInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	run := start(t, d, nil)
	waitFor(t, 20*time.Second, "READY, WATCHDOG and STATUS", func() bool {
		return sock.count("READY=1") == 1 && sock.count("WATCHDOG=1") >= 2 && statusWithFPS(sock.all()) != ""
	})
	run.stop(t)
	waitFor(t, 5*time.Second, "STOPPING=1", func() bool { return sock.count("STOPPING=1") == 1 })
	msgs := sock.all()
	ready, wd, stopping := index(msgs, "READY=1"), index(msgs, "WATCHDOG=1"), index(msgs, "STOPPING=1")
	if !(ready >= 0 && ready < wd && wd < stopping) {
		t.Fatalf("order READY %d, WATCHDOG %d, STOPPING %d: %q", ready, wd, stopping, msgs)
	}
	for _, m := range msgs[stopping+1:] {
		if m == "WATCHDOG=1" || m == "READY=1" {
			t.Errorf("%s after STOPPING=1", m)
		}
	}
	if st := msgs[index(msgs, "READY=1")+1]; st != "STATUS=running, model file:mobilenet_v2_1.0_224_quant.tflite" {
		t.Errorf("READY status %q", st)
	}
	if st := statusWithFPS(msgs); !strings.Contains(st, " fps, model file:mobilenet_v2_1.0_224_quant.tflite") {
		t.Errorf("status line %q", st)
	}
}

// statusWithFPS is the first periodic STATUS= line (with a frame rate).
func statusWithFPS(msgs []string) string {
	for _, m := range msgs {
		if strings.HasPrefix(m, "STATUS=") && strings.Contains(m, " fps") {
			return m
		}
	}
	return ""
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestCameraOutageAndBrokerDown: a camera that fails mid-run is reported
// (MQTT state and diagnostics, metrics, /healthz) while the daemon keeps
// running and feeding the watchdog, and frames resume when it is back;
// with the broker down, inference and hooks go on.
func TestCameraOutageAndBrokerDown(t *testing.T) {
	mqtttest.Binary(t)
	cfg, eng, cam := imagenetConfig(t)
	broker := mqtttest.StartBroker(t, mqtttest.BrokerOptions{})
	sub := mqtttest.Subscribe(t, broker.URL, "alphad/cam/#")
	prefix := "alphad/cam/"
	cfg.MQTT.Broker, cfg.MQTT.DeviceID, cfg.MQTT.StateInterval = broker.URL, "cam", 0
	cfg.MQTT.ReconnectMin, cfg.MQTT.ReconnectMax = 100*time.Millisecond, 200*time.Millisecond
	hookFile := filepath.Join(t.TempDir(), "labels.txt")
	cfg.Hooks = []hooks.Config{{Name: "log", Command: []string{"/bin/sh", "-c", `echo "$ALPHAD_LABEL" >> "$0"`, hookFile}}}
	sock := newNotifySocket(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d, err := New(Options{Config: cfg, StateDir: t.TempDir(), Log: testLog(t), OpenCamera: cam.open, Engine: eng.new,
		Notifier: sdnotify.New(sock.path), WatchdogInterval: 50 * time.Millisecond, StatusInterval: 100 * time.Millisecond,
		HealthWindow: time.Second, Listener: ln, DeviceID: "cam",
		MQTT: func(o mqtt.Options) (Link, error) { return mqtt.New(cfg.MQTT, o) }})
	if err != nil {
		t.Fatal(err)
	}
	run := start(t, d, ln)
	base := "http://" + run.addr
	first := sub.Wait(prefix+"state", 20*time.Second, func(m mqtttest.Message) bool { return !strings.Contains(string(m.Payload), `"label":null`) })
	var hopper stateMsg
	json.Unmarshal(first.Payload, &hopper)
	if code, body := httpGet(t, base+"/healthz"); code != 200 {
		t.Fatalf("healthz %d %q while frames flow", code, body)
	}

	// Unplug: reported, daemon alive, watchdog still fed.
	cam.setFail(errUnplugged)
	sub.Wait(prefix+"state", 5*time.Second, func(m mqtttest.Message) bool { return strings.Contains(string(m.Payload), `"label":null`) })
	sub.Wait(prefix+"diagnostics", 5*time.Second, func(m mqtttest.Message) bool { return strings.Contains(string(m.Payload), `"fps":0,`) })
	waitFor(t, 5*time.Second, "/healthz 503", func() bool {
		code, body := httpGet(t, base+"/healthz")
		return code == 503 && strings.Contains(body, "unplugged")
	})
	_, metricsText := httpGet(t, base+"/metrics")
	for _, want := range []string{"alphad_camera_up 0", "alphad_camera_errors_total "} {
		if !strings.Contains(metricsText, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	wd := sock.count("WATCHDOG=1")
	waitFor(t, 5*time.Second, "the watchdog fed during the outage", func() bool { return sock.count("WATCHDOG=1") > wd+2 })
	select {
	case err := <-run.done:
		t.Fatalf("daemon stopped during the outage: %v", err)
	default:
	}

	// Plug back in: frames resume.
	cam.setFail(nil)
	waitFor(t, 10*time.Second, "/healthz 200", func() bool { code, _ := httpGet(t, base+"/healthz"); return code == 200 })
	sub.Wait(prefix+"state", 10*time.Second, func(m mqtttest.Message) bool {
		return strings.Contains(string(m.Payload), `"label":"`+hopper.Label+`"`)
	})

	// Broker down: inference and hooks go on.
	broker.Kill()
	frames := d.stats.frames.Load()
	cam.show("cat")
	waitFor(t, 20*time.Second, "a hook run for the cat", func() bool {
		b, _ := os.ReadFile(hookFile)
		lines := strings.Fields(strings.TrimSpace(string(b)))
		return len(lines) > 0 && !strings.Contains(string(b[strings.LastIndexByte(strings.TrimSpace(string(b)), '\n')+1:]), hopper.Label)
	})
	waitFor(t, 5*time.Second, "frames while the broker is down", func() bool { return d.stats.frames.Load() > frames+3 })
	waitFor(t, 5*time.Second, "mqtt_connected 0", func() bool {
		_, m := httpGet(t, base+"/metrics")
		return strings.Contains(m, "alphad_mqtt_connected 0")
	})
}

// hangingEngine blocks Invoke while its gate is closed.
type hangingEngine struct {
	engine.Engine
	gate <-chan struct{}
}

func (e hangingEngine) Invoke() error {
	<-e.gate
	return e.Engine.Invoke()
}

// TestWatchdogStarvesWhenStuck: a frame loop stuck on one frame (a hung
// engine) stops WATCHDOG=1, so systemd restarts the daemon.
func TestWatchdogStarvesWhenStuck(t *testing.T) {
	cfg, eng, cam := imagenetConfig(t)
	sock := newNotifySocket(t)
	gate := make(chan struct{})
	hang := func(m *tflite.Model, o engine.Options) (engine.Engine, error) {
		e, err := eng.new(m, o)
		if err != nil {
			return nil, err
		}
		return hangingEngine{Engine: e, gate: gate}, nil
	}
	fed := &countingNotifier{Notifier: sdnotify.New(sock.path)}
	d, err := New(Options{Config: cfg, StateDir: t.TempDir(), Log: testLog(t), OpenCamera: cam.open, Engine: hang,
		Notifier: fed, WatchdogInterval: 20 * time.Millisecond, StuckAfter: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	run := start(t, d, nil)
	waitFor(t, 5*time.Second, "READY", func() bool { return sock.count("READY=1") == 1 })
	waitFor(t, 5*time.Second, "the frame loop counted as stuck", func() bool { return !d.alive(time.Now()) })
	// Two more ticks: a tick that fired before the loop counted as stuck
	// (and was handled late) is behind us.
	ticks := d.wdTicks.Load()
	waitFor(t, 5*time.Second, "two watchdog ticks", func() bool { return d.wdTicks.Load() >= ticks+2 })
	n := fed.watchdogs.Load()
	ticks = d.wdTicks.Load()
	waitFor(t, 5*time.Second, "ten watchdog ticks", func() bool { return d.wdTicks.Load() >= ticks+10 })
	if got := fed.watchdogs.Load(); got != n {
		t.Errorf("watchdog fed %d times while the frame loop hung", got-n)
	}
	close(gate)
	waitFor(t, 5*time.Second, "the watchdog fed again", func() bool { return fed.watchdogs.Load() > n })
	run.stop(t)
}

// countingNotifier counts WATCHDOG=1 as it is sent.
type countingNotifier struct {
	Notifier
	watchdogs atomic.Int64
}

func (c *countingNotifier) Watchdog() error {
	c.watchdogs.Add(1)
	return c.Notifier.Watchdog()
}
