package main

import (
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
