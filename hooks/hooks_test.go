package hooks

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// drive runs r until every queued event has been handled.
func drive(t *testing.T, r *Runner, events ...Event) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	for _, e := range events {
		r.queue <- e
	}
	for len(r.queue) > 0 {
		time.Sleep(time.Millisecond)
	}
	// The last event may still be running: wait for the runner to go idle.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		n := r.runs
		r.mu.Unlock()
		time.Sleep(50 * time.Millisecond)
		r.mu.Lock()
		m := r.runs
		r.mu.Unlock()
		if n == m {
			break
		}
	}
	cancel()
	<-done
}

func TestCommandHookEnvAndFilter(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	r, err := New([]Config{{
		Name:    "log",
		Labels:  []string{"open"},
		Command: []string{"/bin/sh", "-c", `echo "$ALPHAD_LABEL $ALPHAD_PREVIOUS $ALPHAD_CONFIDENCE" >> "$0"`, out},
	}}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	drive(t, r,
		Event{Label: "open", Previous: "closed", Confidence: 0.91},
		Event{Label: "closed", Previous: "open", Confidence: 0.8},
	)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(b)); got != "open closed 0.9100" {
		t.Fatalf("hook output %q", got)
	}
}

func TestShellHookAndTimeout(t *testing.T) {
	r, err := New([]Config{{Name: "slow", Command: []string{"sleep 5"}, Shell: true, Timeout: 100 * time.Millisecond}}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	drive(t, r, Event{Label: "x"})
	if s := r.Stats(); s.Failures != 1 {
		t.Fatalf("stats %+v, want one failure", s)
	}
	if time.Since(start) > 4*time.Second {
		t.Fatal("timeout not enforced")
	}
}

func TestWebhookRetriesAndCooldown(t *testing.T) {
	var calls atomic.Int32
	var mu sync.Mutex
	var got []Event
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if calls.Add(1) == 1 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		var e Event
		if err := json.NewDecoder(req.Body).Decode(&e); err != nil {
			t.Error(err)
		}
		mu.Lock()
		got = append(got, e)
		mu.Unlock()
	}))
	defer srv.Close()
	r, err := New([]Config{{Name: "web", URL: srv.URL, Retries: 2, Cooldown: time.Hour}}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	drive(t, r, Event{Label: "a", Seq: 7}, Event{Label: "b", Seq: 8})
	if calls.Load() != 2 {
		t.Fatalf("calls %d, want 2 (one retry; second event in cooldown)", calls.Load())
	}
	if len(got) != 1 || got[0].Label != "a" || got[0].Seq != 7 {
		t.Fatalf("received %+v", got)
	}
}

func TestFireNeverBlocks(t *testing.T) {
	r, _ := New([]Config{{Name: "x", Command: []string{"true"}}}, quiet())
	for i := 0; i < 100; i++ {
		r.Fire(Event{Label: "a"})
	}
	if s := r.Stats(); s.Dropped != 100-uint64(cap(r.queue)) {
		t.Fatalf("dropped %d", s.Dropped)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		c    Config
		want string
	}{
		{Config{}, "needs a command or a url"},
		{Config{URL: "ftp://x"}, "url"},
		{Config{Command: []string{"a", "b"}, Shell: true}, "exactly one"},
		{Config{Command: []string{"a"}, Retries: 11}, "retries"},
		{Config{Command: []string{"a"}, Timeout: -1}, "timeout"},
	} {
		err := tc.c.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.c, err, tc.want)
		}
	}
}
