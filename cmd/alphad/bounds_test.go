package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestClassNameRule: the CLI refuses the class names the daemon and MQTT
// refuse (control.ValidLabel), with exit 2 and the reason, before
// touching the state directory.
func TestClassNameRule(t *testing.T) {
	tmp := t.TempDir()
	state := filepath.Join(tmp, "state")
	sd := "--state-dir=" + state
	for _, tc := range []struct{ name, why string }{
		{"rock ", "leading or trailing spaces"},
		{" rock", "leading or trailing spaces"},
		{"\x1b[31mred", "control or invalid characters"},
		{"a\tb", "control or invalid characters"},
		{"\xff", "control or invalid characters"},
		{strings.Repeat("x", 65), "longer than 64 bytes"},
	} {
		_, errText, code := cli(t, "dataset", "add", sd, tc.name)
		if code != 2 || !strings.Contains(errText, "bad class name") || !strings.Contains(errText, tc.why) {
			t.Errorf("dataset add %q: exit %d, %q; want exit 2 naming %q", tc.name, code, errText, tc.why)
		}
		if strings.ContainsRune(errText, '\x1b') {
			t.Errorf("dataset add %q: the error echoes ESC raw: %q", tc.name, errText)
		}
	}
	if _, err := os.Stat(state); err == nil {
		t.Error("refused class names created the state directory")
	}
	if _, errText, code := cli(t, "dataset", "add", sd, "rock"); code != 0 {
		t.Fatalf("dataset add rock: exit %d: %s", code, errText)
	}
	if _, errText, code := cli(t, "dataset", "rename", sd, "rock", "rock "); code != 2 || !strings.Contains(errText, "bad class name") {
		t.Errorf("dataset rename rock 'rock ': exit %d, %q; want exit 2", code, errText)
	}
	in := filepath.Join(tmp, "in")
	writeClassImages(t, filepath.Join(in, "ok"), 0, 2, 16)
	writeClassImages(t, filepath.Join(in, "tab\there"), 1, 2, 16)
	if _, errText, code := cli(t, "dataset", "import", sd, in); code != 2 || !strings.Contains(errText, `bad class name "tab\there"`) {
		t.Errorf("dataset import with a folder %q: exit %d, %q; want exit 2 naming it", "tab\there", code, errText)
	}
	out, _, code := cli(t, "dataset", "ls", sd)
	if code != 0 || strings.Contains(out, "ok") {
		t.Errorf("a refused import added samples: exit %d\n%s", code, out)
	}
}

// TestTrainBounds: every numeric training option is bounded, refused with
// exit 2 naming the option before any work (a batch of 10⁹ aborted the
// runtime; an ensemble of 10⁶ grew to 1.3 GB).
func TestTrainBounds(t *testing.T) {
	sd := "--state-dir=" + filepath.Join(t.TempDir(), "state")
	for _, tc := range []struct{ flag, value, want string }{
		{"--batch-size", "1000000000", "batch_size = 1000000000: want 1..4096"},
		{"--batch-size", "0", "batch_size = 0"},
		{"--ensemble", "1000000", "ensemble = 1000000: want 0..16"},
		{"--ensemble", "-1", "ensemble = -1"},
		{"--epochs", "10001", "epochs = 10001: want 1..10000"},
		{"--hidden", "4097", "hidden = 4097: want 0..4096"},
		{"--patience", "10001", "patience = 10001"},
		{"--threads", "65", "--threads 65: want 0..64"},
		{"--threads", "-1", "--threads -1"},
	} {
		_, errText, code := cli(t, "train", sd, tc.flag, tc.value)
		if code != 2 || !strings.Contains(errText, tc.want) {
			t.Errorf("train %s %s: exit %d, %q; want exit 2 with %q", tc.flag, tc.value, code, errText, tc.want)
		}
	}
}

// TestConfigCheckListen: `config check` refuses the listen address `run`
// could not listen on (it passed, then run exited 1 and systemd restarted
// it forever).
func TestConfigCheckListen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "alphad.yaml")
	if err := os.WriteFile(path, []byte("version: 1\nhttp:\n  listen: 999.1.1.1:99999\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, errText, code := cli(t, "config", "check", path)
	if code != 2 || !strings.Contains(errText, "line 3") || !strings.Contains(errText, "http.listen") {
		t.Errorf("config check: exit %d, %q; want exit 2 naming http.listen at line 3", code, errText)
	}
}

// TestFaultConfigBounds (finding 6, bad values that pass checks): every
// numeric option of the configuration is bounded; `config check` names
// each bad field with its line and exits 2, and `run` refuses the same
// file with exit 2 before opening anything (systemd does not restart a
// unit that exits 2 with RestartPreventExitStatus=2).
func TestFaultConfigBounds(t *testing.T) {
	lines := []struct{ yaml, field string }{
		{"version: 1", ""},
		{"camera:", ""},
		{"  max_fps: 100000", "camera.max_fps"},
		{"  infer_every: 0", "camera.infer_every"},
		{"  retry: 48h", "camera.retry"},
		{"model:", ""},
		{"  threads: 1000", "model.threads"},
		{"recording:", ""},
		{"  rate: 1000000", "recording.rate"},
		{"  max_burst: 1000000000", "recording.max_burst"},
		{"  max_time: 10000h", "recording.max_time"},
		{"training:", ""},
		{"  epochs: 1000000", "training.epochs"},
		{"  batch_size: 1000000000", "training.batch_size"},
		{"  hidden: 100000", "training.hidden"},
		{"  ensemble: 1000000", "training.ensemble"},
		{"  keep_versions: 100000000", "training.keep_versions"},
		{"  patience: -1", "training.patience"},
		{"  learning_rate: 1000", "training.learning_rate"},
		{"http:", ""},
		{"  listen: 999.1.1.1:99999", "http.listen"},
		{"ui:", ""},
		{"  stream_fps: 1000", "ui.stream_fps"},
		{"images:", ""},
		{"  max_pixels: 1000000000000", "images.max_pixels"},
		{"  max_side: 0", "images.max_side"},
		{"  max_file_mb: 100000", "images.max_file_mb"},
	}
	var doc strings.Builder
	for _, l := range lines {
		doc.WriteString(l.yaml + "\n")
	}
	path := filepath.Join(t.TempDir(), "alphad.yaml")
	if err := os.WriteFile(path, []byte(doc.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	_, errText, code := cli(t, "config", "check", path)
	if code != 2 {
		t.Fatalf("config check: exit %d, want 2\n%s", code, errText)
	}
	for i, l := range lines {
		if l.field != "" && !strings.Contains(errText, fmt.Sprintf("line %d: %s:", i+1, l.field)) {
			t.Errorf("config check does not name %s at line %d:\n%s", l.field, i+1, errText)
		}
	}
	_, errRun, code := cli(t, "run", "--config", path, "--state-dir", t.TempDir())
	if code != 2 || !strings.Contains(errRun, "training.batch_size") {
		t.Errorf("run: exit %d, %q; want exit 2 naming the same fields", code, errRun)
	}
	// A number given as a string is a type error, not a number.
	os.WriteFile(path, []byte("version: 1\ntraining:\n  epochs: \"50\"\n"), 0o644)
	if _, errText, code := cli(t, "config", "check", path); code != 2 || !strings.Contains(errText, "line 3") {
		t.Errorf(`config check of epochs: "50": exit %d, %q; want exit 2 at line 3`, code, errText)
	}
}
