package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/alphad/alphad/internal/testshared"
	"github.com/alphad/alphad/mqtt/mqtttest"
)

// classFiles returns the first n image files of a dataset class.
func classFiles(t *testing.T, dir string, n int) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, e := range ents {
		files = append(files, filepath.Join(dir, e.Name()))
	}
	sort.Strings(files)
	return files[:min(n, len(files))]
}

// TestCLIThroughRunningDaemon: with a daemon on the state directory,
// `dataset add`, `train` and `model rollback` go through it, and the
// model_version it publishes follows.
func TestCLIThroughRunningDaemon(t *testing.T) {
	mqtttest.Binary(t)
	shared := testshared.Dir(t)
	rps := filepath.Join(shared, "datasets", "rps_picam")
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	if out, stderr, code := cli(t, "--state-dir", state, "model", "pull", "--mirror", filepath.Join(shared, "models", "mobilenet_v2_1.0_224_quant.tflite")); code != 0 {
		t.Fatalf("pull: %d %s%s", code, out, stderr)
	}
	broker := mqtttest.StartBroker(t, mqtttest.BrokerOptions{})
	sub := mqtttest.Subscribe(t, broker.URL, "alphad/clidev/#")
	cfg := filepath.Join(dir, "alphad.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("version: 1\nmqtt:\n  broker: %s\n  device_id: clidev\n  state_interval: 0s\nhttp:\n  listen: \"\"\n", broker.URL)), 0o644)
	c := startChild(t, "", "--state-dir", state, "run", "--config", cfg, "--camera", "dir:"+filepath.Join(rps, "rock")+"?loop=true&fps=10")
	sub.Wait("alphad/clidev/availability", 20*time.Second, func(m mqtttest.Message) bool { return string(m.Payload) == "online" })
	c.waitLog(t, "camera streaming", 20*time.Second)

	// The store belongs to the daemon: these go through its socket.
	for _, class := range []string{"rock", "paper"} {
		args := append([]string{"--state-dir", state, "dataset", "add", class}, classFiles(t, filepath.Join(rps, class), 12)...)
		out, stderr, code := cli(t, args...)
		if code != 0 || strings.Count(out, "added ") != 12 {
			t.Fatalf("dataset add %s: exit %d\n%s%s", class, code, out, stderr)
		}
	}
	out, stderr, code := cli(t, "--state-dir", state, "dataset", "ls")
	if code != 0 || !strings.Contains(out, "rock   12") || !strings.Contains(out, "paper  12") {
		t.Fatalf("dataset ls: exit %d\n%s%s", code, out, stderr)
	}
	modelVersion := func(want string) {
		t.Helper()
		sub.Wait("alphad/clidev/state", 30*time.Second, func(m mqtttest.Message) bool {
			var s struct {
				ModelVersion string `json:"model_version"`
			}
			json.Unmarshal(m.Payload, &s)
			return s.ModelVersion == want
		})
	}
	train := func(want string) {
		t.Helper()
		out, stderr, code := cli(t, "--state-dir", state, "train", "--epochs", "5")
		if code != 0 || !strings.Contains(out, "model "+want+" in use") {
			t.Fatalf("train: exit %d\n%s%s", code, out, stderr)
		}
		modelVersion(want)
	}
	train("v000001")
	args := append([]string{"--state-dir", state, "dataset", "add", "scissors"}, classFiles(t, filepath.Join(rps, "scissors"), 12)...)
	if out, stderr, code := cli(t, args...); code != 0 {
		t.Fatalf("dataset add scissors: exit %d\n%s%s", code, out, stderr)
	}
	train("v000002")
	out, stderr, code = cli(t, "--state-dir", state, "model", "rollback")
	if code != 0 || !strings.Contains(out, "model v000001 in use") {
		t.Fatalf("rollback: exit %d\n%s%s", code, out, stderr)
	}
	modelVersion("v000001")
	// A bad request is refused by the daemon with its reason.
	_, stderr, code = cli(t, "--state-dir", state, "model", "rollback", "v000009")
	if code == 0 || !strings.Contains(stderr, "through the running daemon") {
		t.Fatalf("rollback to a missing version: exit %d %s", code, stderr)
	}
	// Training options the daemon does not take over the socket are refused.
	_, stderr, code = cli(t, "--state-dir", state, "train", "--hidden", "8")
	if code != 2 || !strings.Contains(stderr, "--hidden") {
		t.Fatalf("train --hidden: exit %d %s", code, stderr)
	}
}
