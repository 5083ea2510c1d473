package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestUsageErrorsExit2: unknown flags and commands, missing or extra
// arguments and bad flag values all exit 2 with a message naming the
// command; --version prints the version.
func TestUsageErrorsExit2(t *testing.T) {
	for _, args := range [][]string{
		{"--bogus"},
		{"frobnicate"},
		{"model", "rollback", "a", "b"},
		{"dataset", "rename", "only-one"},
		{"bench", "--runs", "x"},
		{"classify", "--top", "-"},
	} {
		_, stderr, code := cli(t, args...)
		if code != 2 || !strings.Contains(stderr, "alphad") {
			t.Errorf("%q: exit %d, stderr %q; want 2", args, code, stderr)
		}
	}
	out, _, code := cli(t, "--version")
	if code != 0 || !strings.HasPrefix(out, "alphad ") || !strings.Contains(out, "commit ") {
		t.Errorf("--version: exit %d, %q", code, out)
	}
}

func TestWebURL(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:9464": "", "localhost:9464": "", "": "", "[::1]:80": "",
		"192.168.1.5:9464": "http://192.168.1.5:9464/", "garage.lan:8080": "http://garage.lan:8080/",
	} {
		if got := webURL(in); got != want {
			t.Errorf("webURL(%q) = %q, want %q", in, got, want)
		}
	}
	if got := webURL("0.0.0.0:9464"); !strings.HasPrefix(got, "http://") || !strings.HasSuffix(got, ":9464/") {
		t.Errorf("webURL(0.0.0.0:9464) = %q", got)
	}
}

// TestConfigCheckExit2ListsEveryField: `config check` exits 2 naming every
// bad field with its line, in user words, with "did you mean".
func TestConfigCheckExit2ListsEveryField(t *testing.T) {
	file := filepath.Join(t.TempDir(), "alphad.yaml")
	os.WriteFile(file, []byte("version: 1\nmqtt:\n  brokr: mqtt://x\ncamera:\n  infer_every: often\nsmoothing:\n  window: 0\n"), 0o644)
	out, stderr, code := cli(t, "config", "check", file)
	if code != 2 || out != "" {
		t.Fatalf("exit %d, stdout %q; want 2 and nothing on stdout", code, out)
	}
	for _, w := range []string{"3 problem(s)", "line 3: mqtt.brokr: unknown key (did you mean broker?)",
		`line 5: camera.infer_every: "often" is not a whole number`, "line 7: smoothing.window: 0 is not in 1..1000"} {
		if !strings.Contains(stderr, w) {
			t.Errorf("stderr lacks %q:\n%s", w, stderr)
		}
	}
	os.WriteFile(file, []byte("version: 1\n"), 0o644)
	if out, stderr, code := cli(t, "config", "check", file); code != 0 || !strings.Contains(out, ": ok") {
		t.Fatalf("a good file: exit %d %q %q", code, out, stderr)
	}
}
