//go:build fleetscale

package main

// The fleet's scale run (make fleet-scale, not part of make test): one
// mosquitto, FLEET_N (default 50) alphad processes of the built binary
// (ALPHAD_BIN) at 1 fps on file cameras, every one adopting. A model
// trained beforehand is published once; the run reports the rollout time
// to every device (median and max, from the publish command to each
// device's diagnostics saying it runs the model), the broker's messages
// per second before and after, and the RSS of each daemon.

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/alphad/alphad/internal/fleet"
	"github.com/alphad/alphad/internal/testshared"
	"github.com/alphad/alphad/mqtt/mqtttest"
)

func TestFleetScale(t *testing.T) {
	bin := os.Getenv("ALPHAD_BIN")
	if bin == "" {
		t.Fatal("set ALPHAD_BIN to the built alphad (make fleet-scale does)")
	}
	n := 50
	if v := os.Getenv("FLEET_N"); v != "" {
		n, _ = strconv.Atoi(v)
	}
	mqtttest.Binary(t)
	rps := testshared.Path(t, "datasets", "rps_picam")
	features := testshared.Path(t, "models", "mobilenet_v2_1.0_224_quant_features.tflite")
	data, err := os.ReadFile(features)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	tmp := t.TempDir()
	alphad := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(bin, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("alphad %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	pull := func(state string) {
		alphad("--state-dir", state, "model", "pull", "features", "--mirror", features, "--sha256", hex.EncodeToString(sum[:]))
	}

	broker := mqtttest.StartBroker(t, mqtttest.BrokerOptions{Extra: "sys_interval 1\nmax_queued_messages 10000\n"})
	sub := mqtttest.Subscribe(t, broker.URL, "alphad/+/diagnostics", "alphad/+/availability", "$SYS/broker/load/publish/received/1min", "$SYS/broker/publish/messages/sent")
	key := filepath.Join(tmp, "fleet.key")
	alphad("fleet", "keygen", "--out", key)

	// The publisher: 20 samples of rock and paper, trained.
	pubState := filepath.Join(tmp, "publisher")
	pull(pubState)
	for _, c := range []string{"rock", "paper"} {
		ents, _ := os.ReadDir(filepath.Join(rps, c))
		args := []string{"--state-dir", pubState, "dataset", "add", c}
		for _, e := range ents[:20] {
			args = append(args, filepath.Join(rps, c, e.Name()))
		}
		alphad(args...)
	}
	alphad("--state-dir", pubState, "train", "--epochs", "20")
	pubCfg := filepath.Join(tmp, "publisher.yaml")
	os.WriteFile(pubCfg, []byte(fmt.Sprintf("version: 1\nmqtt:\n  broker: %s\n  device_id: publisher\nfleet:\n  group: scale\n  signing_key: %s\n", broker.URL, key)), 0o644)

	// The fleet.
	type dev struct {
		id  string
		cmd *exec.Cmd
		log *syncBuf
	}
	var devs []*dev
	var wg sync.WaitGroup
	for i := range n {
		id := fmt.Sprintf("d%02d", i)
		state := filepath.Join(tmp, id)
		pull(state)
		cfg := filepath.Join(tmp, id+".yaml")
		os.WriteFile(cfg, []byte(fmt.Sprintf(`version: 1
camera:
  source: dir:%s/rock?fps=1&loop=true
model:
  backbone: features
mqtt:
  broker: %s
  device_id: %s
fleet:
  group: scale
  adopt: true
  trusted_keys: [%s.pub]
http:
  listen: ""
`, rps, broker.URL, id, key)), 0o644)
		d := &dev{id: id, cmd: exec.Command(bin, "--state-dir", state, "run", "--config", cfg), log: &syncBuf{}}
		d.cmd.Stderr = d.log
		d.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := d.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		devs = append(devs, d)
		wg.Add(1)
		go func() { defer wg.Done(); d.cmd.Wait() }()
	}
	t.Cleanup(func() {
		for _, d := range devs {
			d.cmd.Process.Signal(syscall.SIGTERM)
		}
		wg.Wait()
	})
	online := func() int {
		last := map[string]string{}
		for _, m := range sub.Messages() {
			if strings.HasSuffix(m.Topic, "/availability") {
				last[m.Topic] = string(m.Payload)
			}
		}
		k := 0
		for _, v := range last {
			if v == "online" {
				k++
			}
		}
		return k
	}
	waitUntil(t, 5*time.Minute, "all online", func() bool { return online() == n })
	time.Sleep(15 * time.Second) // settle: every daemon at its steady 1 fps (a measurement window, not synchronisation)
	rate := func(window time.Duration) (float64, float64) {
		counter := func(topic string) (float64, time.Time) {
			msgs := sub.Messages()
			for i := len(msgs) - 1; i >= 0; i-- {
				if msgs[i].Topic == topic {
					v, _ := strconv.ParseFloat(string(msgs[i].Payload), 64)
					return v, time.Now()
				}
			}
			return 0, time.Now()
		}
		// mosquitto publishes no received-PUBLISH counter, only its
		// one-minute moving average (messages per minute); sent is a counter.
		s0, t0 := counter("$SYS/broker/publish/messages/sent")
		time.Sleep(window)
		s1, t1 := counter("$SYS/broker/publish/messages/sent")
		perMin, _ := counter("$SYS/broker/load/publish/received/1min")
		return perMin / 60, (s1 - s0) / t1.Sub(t0).Seconds()
	}
	inBefore, outBefore := rate(20 * time.Second)

	cpu := func() float64 { // CPU seconds of every daemon so far
		var total float64
		for _, d := range devs {
			b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", d.cmd.Process.Pid))
			if i := strings.LastIndexByte(string(b), ')'); i > 0 {
				f := strings.Fields(string(b)[i+2:])
				if len(f) > 13 {
					u, _ := strconv.ParseFloat(f[11], 64)
					k, _ := strconv.ParseFloat(f[12], 64)
					total += (u + k) / 100 // clock ticks (USER_HZ = 100)
				}
			}
		}
		return total
	}
	loadavg := func() string {
		b, _ := os.ReadFile("/proc/loadavg")
		return strings.Join(strings.Fields(string(b))[:3], " ")
	}
	load0, cpu0 := loadavg(), cpu()
	t0 := time.Now()
	out := alphad("--state-dir", pubState, "model", "publish", "--config", pubCfg)
	acked := time.Since(t0)
	t.Logf("%s(acknowledged after %v)", out, acked.Round(time.Millisecond))
	var version string
	fmt.Sscanf(out, "published %s", &version)
	took := map[string]time.Duration{}
	waitUntil(t, 5*time.Minute, "every device running the publication", func() bool {
		for _, m := range sub.Messages() {
			id := strings.TrimSuffix(strings.TrimPrefix(m.Topic, "alphad/"), "/diagnostics")
			if _, done := took[id]; done || !strings.HasSuffix(m.Topic, "/diagnostics") {
				continue
			}
			var dg struct {
				ModelVersion string        `json:"model_version"`
				Fleet        *fleet.Status `json:"fleet"`
			}
			if json.Unmarshal(m.Payload, &dg) == nil && dg.Fleet != nil && dg.Fleet.Adopted != nil &&
				dg.Fleet.Adopted.Version == version && dg.ModelVersion == dg.Fleet.Adopted.LocalVersion {
				took[id] = time.Since(t0)
			}
		}
		return len(took) == n
	})
	cpuRollout, rolloutWall := cpu()-cpu0, time.Since(t0)
	var ds []time.Duration
	for _, d := range took {
		ds = append(ds, d)
	}
	slices.Sort(ds)
	time.Sleep(10 * time.Second) // settle after the swap (a measurement window)
	inAfter, outAfter := rate(20 * time.Second)
	var rss []int
	for _, d := range devs {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", d.cmd.Process.Pid))
		if err != nil {
			t.Fatalf("%s: %v\n%s", d.id, err, d.log)
		}
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
				kb, _ := strconv.Atoi(f[1])
				rss = append(rss, kb)
			}
		}
	}
	slices.Sort(rss)
	t.Logf("fleet scale, %d daemons at 1 fps, one mosquitto:", n)
	t.Logf("  rollout of %s (publish command to diagnostics): median %v, max %v, min %v", version,
		ds[len(ds)/2].Round(time.Millisecond), ds[len(ds)-1].Round(time.Millisecond), ds[0].Round(time.Millisecond))
	t.Logf("  load average at the publish: %s (%d CPUs; other work on the machine counts)", load0, runtime.NumCPU())
	t.Logf("  daemons' CPU during the rollout: %.1f s in %.1f s (%.2f s per daemon: adoption plus its first inferences)",
		cpuRollout, rolloutWall.Seconds(), cpuRollout/float64(n))
	t.Logf("  broker PUBLISH messages/s before: %.0f in, %.0f out; after (models running): %.0f in, %.0f out", inBefore, outBefore, inAfter, outAfter)
	t.Logf("  RSS per daemon: median %.1f MB, max %.1f MB, min %.1f MB", float64(rss[len(rss)/2])/1024, float64(rss[len(rss)-1])/1024, float64(rss[0])/1024)
}

func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
