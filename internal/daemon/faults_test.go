package daemon

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alphad/alphad/internal/control"
	"github.com/alphad/alphad/internal/testshared"
)

// syncBuffer is a bytes.Buffer safe for the daemon's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestFaultTeachUnknownLabel (finding 5, one typo blocks training
// forever): teach of a new label creates no class until a sample
// arrives; a label that is not a clean printable name ("\ud800", ESC,
// tab, surrounding spaces) is refused by the command layer; training
// skips an empty class with a warning instead of failing; delete_class
// removes it through the command layer that MQTT, the socket and the web
// app share. Before: the empty class made every later train fail "class
// has no samples" and nothing over MQTT removed it.
func TestFaultTeachUnknownLabel(t *testing.T) {
	rps := testshared.Path(t, "datasets", "rps_picam")
	cam := newSceneCam(50)
	cam.addScene(t, "rock", rps+"/rock", 0, 10)
	cam.addScene(t, "paper", rps+"/paper", 0, 10)
	cam.show("rock")
	state := t.TempDir()
	cfg := testConfig()
	installBackbone(t, state, cfg.Model.Backbone)
	var logs syncBuffer
	d, err := New(Options{Config: cfg, StateDir: state, Log: slog.New(slog.NewTextHandler(&logs, nil)), OpenCamera: cam.open, Engine: testEngines()[0].new})
	if err != nil {
		t.Fatal(err)
	}
	start(t, d, nil)
	ctx := context.Background()
	do := func(c control.Command) (control.Result, error) {
		t.Helper()
		return d.Do(ctx, c, "test")
	}

	// Bad names never reach the daemon: MQTT, socket and web parse with
	// control.Parse.
	for _, payload := range []string{`{"label":"\ud800"}`, "{\"label\":\"rock\\u001b[31m\"}", `{"label":"ro\tck"}`, `{"label":"rock "}`, `{"label":" rock"}`, `{"label":""}`} {
		if _, err := control.Parse("teach", []byte(payload), false); !errors.Is(err, control.ErrBadCommand) {
			t.Errorf("teach %s: %v, want a bad command", payload, err)
		}
	}

	if _, err := do(control.Command{Name: control.Capture, Label: "rock", Count: 3}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "3 rock samples", func() bool { return d.st.Counts()["rock"] == 3 })
	res, err := do(control.Command{Name: control.Teach, Label: "papr"}) // the typo
	if err != nil || !strings.Contains(res.Message, "created with its first sample") {
		t.Fatalf("teach papr: %+v, %v", res, err)
	}
	if slices.Contains(d.st.Classes(), "papr") {
		t.Fatalf("teach of a new label created the class: %v", d.st.Classes())
	}
	res, err = do(control.Command{Name: control.Teach, Label: "paper"})
	if err != nil {
		t.Fatal(err)
	}
	cam.show("paper")
	waitFrames(t, d, 3)
	if _, err := do(control.Command{Name: control.Capture, Count: 2, Interval: 50 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "2 paper samples", func() bool { return d.st.Counts()["paper"] == 2 })
	if got := d.st.Classes(); !slices.Equal(got, []string{"paper", "rock"}) && !slices.Equal(got, []string{"rock", "paper"}) {
		t.Fatalf("classes %v, want rock and paper (the class came with its first sample)", got)
	}

	// An empty class (made explicitly, or left by deleting samples) is
	// skipped by training, with a warning.
	if _, err := do(control.Command{Name: control.CreateClass, Label: "scissors"}); err != nil {
		t.Fatal(err)
	}
	res, err = do(control.Command{Name: control.Train, Wait: true, Train: control.TrainParams{Epochs: 5}})
	if err != nil {
		t.Fatalf("train with an empty class: %v", err)
	}
	if !strings.Contains(logs.String(), "training skips a class without samples") || !strings.Contains(logs.String(), "class=scissors") {
		t.Errorf("no warning for the skipped class:\n%s", logs.String())
	}
	if labels := d.model.clf.Model().Labels; !slices.Equal(labels, []string{"paper", "rock"}) && !slices.Equal(labels, []string{"rock", "paper"}) {
		t.Errorf("model labels %v, want the two classes with samples", labels)
	}
	// delete_class is one command of the table every transport serves.
	if _, ok := control.Lookup(string(control.DeleteClass)); !ok {
		t.Fatal("delete_class is not in the command table")
	}
	if _, err := do(control.Command{Name: control.DeleteClass, Label: "scissors"}); err != nil {
		t.Fatal(err)
	}
	if slices.Contains(d.st.Classes(), "scissors") {
		t.Errorf("delete_class left the class: %v", d.st.Classes())
	}
}

// TestFaultHTTPWriteStall (finding 6, HTTP timeouts): a response whose
// client stops reading is cut once a write stalls for the timeout, while
// a long-lived stream whose client reads goes on past it (the web app's
// event stream and live view); idle keep-alive connections are closed by
// the server's IdleTimeout (30 s, set beside it). Before: no write
// timeout, keep-alive connections held ≥ 60 s.
func TestFaultHTTPWriteStall(t *testing.T) {
	const stall = 300 * time.Millisecond
	chunk := bytes.Repeat([]byte("x"), 64<<10)
	ended := make(chan error, 2)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		for i := 0; ; i++ {
			if _, err := w.Write(chunk); err != nil {
				ended <- err
				return
			}
			http.NewResponseController(w).Flush()
			if r.URL.Path == "/slow" && i < 10 {
				time.Sleep(stall / 2) // a stream with pauses between frames
			}
			if r.URL.Path == "/slow" && i == 10 {
				ended <- nil
				return
			}
		}
	}))
	srv.Config = newHTTPServer(srv.Config.Handler, context.Background(), httpTimeouts{header: stall, idle: 2 * stall, stall: stall})
	srv.Start()
	defer srv.Close()

	// A reader that keeps reading gets the whole stream, which lasts
	// longer than the write timeout.
	began := time.Now()
	resp, err := http.Get(srv.URL + "/slow")
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil || n != 11*int64(len(chunk)) || <-ended != nil {
		t.Fatalf("reading stream: %d bytes, %v", n, err)
	}
	if took := time.Since(began); took < stall {
		t.Fatalf("the stream took %v, not longer than the %v timeout: the test proves nothing", took, stall)
	}

	// A client that stops reading: the handler's write fails.
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /stuck HTTP/1.1\r\nHost: x\r\n\r\n")
	select {
	case err := <-ended:
		if err == nil {
			t.Fatal("the stalled response ended without an error")
		}
		t.Logf("stalled response cut: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("a response to a client that stopped reading was not cut within 30 s")
	}

	// An idle keep-alive connection is closed by the server.
	idle, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	fmt.Fprintf(idle, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err = http.ReadResponse(bufio.NewReader(idle), nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	<-ended
	idle.SetReadDeadline(time.Now().Add(30 * time.Second))
	began = time.Now()
	if n, err := idle.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("idle keep-alive connection: read %d, %v; want the server to close it", n, err)
	}
	t.Logf("idle keep-alive connection closed after %v (idle timeout %v)", time.Since(began).Round(time.Millisecond), 2*stall)
}
