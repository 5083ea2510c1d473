package sdnotify

import (
	"net"
	"path/filepath"
	"testing"
	"time"
)

func TestNotifyOrder(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "notify.sock")
	l, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	n := New(sock)
	if !n.Enabled() {
		t.Fatal("not enabled")
	}
	for _, f := range []func() error{
		func() error { return n.Ready("running, model v1") },
		n.Watchdog,
		n.Stopping,
	} {
		if err := f(); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"READY=1\nSTATUS=running, model v1", "WATCHDOG=1", "STOPPING=1"}
	buf := make([]byte, 256)
	for _, w := range want {
		l.SetReadDeadline(time.Now().Add(2 * time.Second))
		k, err := l.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		if got := string(buf[:k]); got != w {
			t.Fatalf("got %q, want %q", got, w)
		}
	}
}

func TestNoSocketIsNoop(t *testing.T) {
	n := New("")
	if n.Enabled() || n.Ready("x") != nil || n.Watchdog() != nil {
		t.Fatal("empty notifier must be a silent no-op")
	}
}

func TestWatchdogInterval(t *testing.T) {
	for _, tc := range []struct {
		usec, pid string
		want      time.Duration
		err       bool
	}{
		{"", "", 0, false},
		{"20000000", "", 10 * time.Second, false},
		{"20000000", "42", 10 * time.Second, false},
		{"20000000", "43", 0, false},
		{"abc", "", 0, true},
		{"0", "", 0, true},
	} {
		got, err := WatchdogInterval(tc.usec, tc.pid, 42)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("WatchdogInterval(%q,%q) = %v, %v", tc.usec, tc.pid, got, err)
		}
	}
}
