//go:build linux

package main

// End-to-end test of `alphad run` against real kernel drivers, run inside the
// test VM by scripts/vmtest.sh (make vmtest): vivid streams, buttons are
// gpio-sim lines read through periph's character-device driver, and a real
// mosquitto carries the predictions. It skips unless VMTEST=1.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/alphad/alphad/mqtt/mqtttest"
)

// vivid's "Test Pattern" menu control and two of its items.
const (
	vividTestPattern = 0x00f0f000 // VIVID_CID_VIVID_BASE + 0
	patternRed       = 7          // 100% Red
	patternBlue      = 9          // 100% Blue
	vidiocSCtrl      = 0xC008561C // _IOWR('V', 28, struct v4l2_control)
)

// vmSim is a gpio-sim chip made through configfs.
type vmSim struct {
	t      *testing.T
	sysDir string
	lines  map[string]int
}

func newVMSim(t *testing.T, name string, lines ...string) *vmSim {
	t.Helper()
	chip := filepath.Join("/sys/kernel/config/gpio-sim", name)
	bank := filepath.Join(chip, "bank0")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("gpio-sim: %v", err)
		}
	}
	must(os.Mkdir(chip, 0o755))
	t.Cleanup(func() {
		os.WriteFile(filepath.Join(chip, "live"), []byte("0"), 0)
		for i := range lines {
			os.Remove(filepath.Join(bank, fmt.Sprintf("line%d", i)))
		}
		os.Remove(bank)
		os.Remove(chip)
	})
	must(os.Mkdir(bank, 0o755))
	must(os.WriteFile(filepath.Join(bank, "num_lines"), []byte(fmt.Sprint(len(lines))), 0))
	s := &vmSim{t: t, lines: map[string]int{}}
	for i, ln := range lines {
		d := filepath.Join(bank, fmt.Sprintf("line%d", i))
		must(os.Mkdir(d, 0o755))
		must(os.WriteFile(filepath.Join(d, "name"), []byte(ln), 0))
		s.lines[ln] = i
	}
	must(os.WriteFile(filepath.Join(chip, "live"), []byte("1"), 0))
	read := func(p string) string {
		b, err := os.ReadFile(p)
		must(err)
		return strings.TrimSpace(string(b))
	}
	s.sysDir = filepath.Join("/sys/devices/platform", read(filepath.Join(chip, "dev_name")), read(filepath.Join(bank, "chip_name")))
	return s
}

func (s *vmSim) path(line, attr string) string {
	return filepath.Join(s.sysDir, fmt.Sprintf("sim_gpio%d", s.lines[line]), attr)
}

// button pulls a line low (pressed, a button to ground) or lets the
// consumer's pull-up win (released).
func (s *vmSim) button(line string, pressed bool) {
	s.t.Helper()
	v := "pull-up"
	if pressed {
		v = "pull-down"
	}
	if err := os.WriteFile(s.path(line, "pull"), []byte(v), 0); err != nil {
		s.t.Fatalf("gpio-sim %s: %v", line, err)
	}
}

func (s *vmSim) value(line string) string {
	b, err := os.ReadFile(s.path(line, "value"))
	if err != nil {
		s.t.Fatalf("gpio-sim %s: %v", line, err)
	}
	return strings.TrimSpace(string(b))
}

// setPattern switches vivid's picture through a second file descriptor
// while the daemon streams.
func setPattern(t *testing.T, v int32) {
	t.Helper()
	dev, err := os.OpenFile("/dev/video0", os.O_RDWR|unix.O_NONBLOCK, 0)
	if err != nil {
		t.Fatalf("open /dev/video0 for the test pattern: %v", err)
	}
	defer dev.Close()
	ctrl := struct {
		id    uint32
		value int32
	}{vividTestPattern, v}
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, dev.Fd(), vidiocSCtrl, uintptr(unsafe.Pointer(&ctrl))); e != 0 {
		t.Fatalf("vivid test pattern %d: VIDIOC_S_CTRL: %v", v, e)
	}
}

// lockedBuffer collects the daemon's log.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestVMRunEndToEnd teaches a fresh device two classes with the buttons
// while vivid streams — red frames while class1's button is held, blue
// frames while class2's is — trains with the train button and expects the
// right labels on MQTT for both pictures. Inference under TCG takes seconds,
// so bursts are small (4 samples, 16 embeddings with the flipped views).
func TestVMRunEndToEnd(t *testing.T) {
	if os.Getenv("VMTEST") != "1" {
		t.Skip("VM test: run with make vmtest")
	}
	model := filepath.Join(os.Getenv("VMTEST_DATA"), "features.tflite")
	if _, err := os.Stat(model); err != nil {
		t.Fatalf("backbone for the VM: %v", err)
	}
	t0 := time.Now()
	since := func() time.Duration { return time.Since(t0).Round(100 * time.Millisecond) }
	sim := newVMSim(t, "alphad-e2e", "GPIO17", "GPIO22", "GPIO23", "GPIO27")
	broker := mqtttest.StartBroker(t, mqtttest.BrokerOptions{})
	const prefix = "alphad/vm/"
	sub := mqtttest.Subscribe(t, broker.URL, prefix+"#")
	state := t.TempDir()

	var out, errLog lockedBuffer
	defer func() {
		if t.Failed() {
			t.Logf("alphad log:\n%s", errLog.String())
		}
	}()
	ctx := context.Background()
	cli := func(ctx context.Context, args ...string) int {
		return run(ctx, append([]string{"--state-dir", state}, args...), &out, &errLog)
	}
	if code := cli(ctx, "model", "pull", "features", "--mirror", model,
		"--sha256", "196264ff539ccb8e5275837d6636dc0f039afebfd44c0051be8883a3d20bea3a"); code != 0 {
		t.Fatalf("alphad model pull: exit %d\n%s", code, errLog.String())
	}

	setPattern(t, patternRed)
	cfg := fmt.Sprintf(`version: 1
camera:
  source: v4l2:/dev/video0?width=320&height=180&fps=5&format=yuyv
  max_fps: 5
model:
  engine: native
  backbone: features
recording:
  rate: 5
  max_burst: 4
  max_time: 30s
training:
  epochs: 20
  batch_size: 8
smoothing:
  window: 2
panel:
  enabled: true
mqtt:
  broker: %s
  device_id: vm
  discovery: false
  state_interval: 0s
  diagnostics_interval: 1s
http:
  listen: ""
`, broker.URL)
	cfgFile := filepath.Join(t.TempDir(), "alphad.yaml")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan int, 1)
	go func() { done <- cli(runCtx, "run", "--config", cfgFile) }()
	stopped := false
	stopDaemon := func() int {
		stop()
		select {
		case code := <-done:
			stopped = true
			return code
		case <-time.After(30 * time.Second):
			t.Fatal("alphad run did not stop within 30s")
		}
		return -1
	}
	defer func() {
		if !stopped {
			stopDaemon()
		}
	}()
	waitOnline := func() {
		for deadline := time.Now().Add(2 * time.Minute); ; {
			if time.Now().After(deadline) {
				t.Fatal("alphad run not online on MQTT after 2 minutes")
			}
			select {
			case code := <-done:
				stopped = true
				t.Fatalf("alphad run exited early with %d", code)
			default:
			}
			for _, m := range sub.Messages() {
				if m.Topic == prefix+"availability" && string(m.Payload) == "online" {
					return
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitOnline()
	t.Logf("%v: alphad run is online", since())

	samples := func() map[string]float64 {
		var counts map[string]float64
		for _, m := range sub.Messages() {
			if m.Topic != prefix+"diagnostics" {
				continue
			}
			var d struct {
				Samples map[string]float64 `json:"samples_per_class"`
			}
			if json.Unmarshal(m.Payload, &d) == nil && d.Samples != nil {
				counts = d.Samples
			}
		}
		return counts
	}
	// Teach: hold each class button on its picture until a burst is full.
	for _, c := range []struct {
		line, label string
		pattern     int32
	}{{"GPIO17", "class1", patternRed}, {"GPIO22", "class2", patternBlue}} {
		setPattern(t, c.pattern)
		time.Sleep(500 * time.Millisecond) // frames of the new picture
		sim.button(c.line, true)
		deadline := time.Now().Add(90 * time.Second)
		for samples()[c.label] < 4 {
			if time.Now().After(deadline) {
				t.Fatalf("%s: samples %v after 90 s of holding %s", c.label, samples(), c.line)
			}
			time.Sleep(200 * time.Millisecond)
		}
		sim.button(c.line, false)
		t.Logf("%v: held %s (%s): samples %v", since(), c.line, c.label, samples())
	}
	time.Sleep(time.Second) // the burst ends at release

	// Train with a short press of the train button.
	sim.button("GPIO23", true)
	time.Sleep(150 * time.Millisecond)
	sim.button("GPIO23", false)
	res := sub.Wait(prefix+"training/result", 4*time.Minute, nil)
	var tr struct {
		OK           bool               `json:"ok"`
		Error        string             `json:"error"`
		ModelVersion string             `json:"model_version"`
		Samples      map[string]float64 `json:"samples_per_class"`
	}
	if err := json.Unmarshal(res.Payload, &tr); err != nil || !tr.OK || tr.ModelVersion == "" {
		t.Fatalf("training result: %s", res.Payload)
	}
	t.Logf("%v: trained %s on %v", since(), tr.ModelVersion, tr.Samples)

	// Predictions: each picture must come out as its class on <p>/state.
	for _, c := range []struct {
		label   string
		pattern int32
	}{{"class1", patternRed}, {"class2", patternBlue}} {
		setPattern(t, c.pattern)
		mark := time.Now()
		m := sub.Wait(prefix+"state", 2*time.Minute, func(m mqtttest.Message) bool {
			var s struct {
				Time         time.Time `json:"time"`
				Label        string    `json:"label"`
				ModelVersion string    `json:"model_version"`
			}
			return json.Unmarshal(m.Payload, &s) == nil && s.Time.After(mark) && s.Label == c.label && s.ModelVersion == tr.ModelVersion
		})
		t.Logf("%v: %s: %s", since(), c.label, m.Payload)
	}

	// The LED shows something while running and is off after a clean stop.
	if code := stopDaemon(); code != 0 {
		t.Fatalf("alphad run exit code %d", code)
	}
	for _, l := range strings.Split(errLog.String(), "\n") {
		if strings.HasPrefix(l, "alphad run:") || strings.Contains(l, "msg=\"training") {
			t.Logf("%v: %s", since(), l)
		}
	}
	if v := sim.value("GPIO27"); v != "0" {
		t.Errorf("LED line after stop = %s, want 0", v)
	}
	var offline bool
	for _, m := range sub.Messages() {
		offline = offline || (m.Topic == prefix+"availability" && string(m.Payload) == "offline")
	}
	if !offline {
		t.Error("no offline availability after stop")
	}
}
