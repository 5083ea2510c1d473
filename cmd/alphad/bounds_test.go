package main

import (
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
