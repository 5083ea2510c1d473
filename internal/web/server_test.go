package web

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alphad/alphad/internal/control"
	"github.com/alphad/alphad/internal/daemon"
	"github.com/alphad/alphad/pipeline/store"
)

// fakeDevice records the commands it is given.
type fakeDevice struct {
	mu   sync.Mutex
	cmds []control.Command
}

func (f *fakeDevice) Do(_ context.Context, cmd control.Command, source string) (control.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if source != "web" {
		return control.Result{}, errors.New("source " + source)
	}
	f.cmds = append(f.cmds, cmd)
	return control.Result{Message: "done " + cmd.Name, Details: map[string]any{}}, nil
}

func (f *fakeDevice) WatchFrames() (<-chan []byte, func()) { return make(chan []byte), func() {} }
func (f *fakeDevice) SampleImagePath(id string) (string, bool) {
	return "", false // the store holds no sample: every id is unknown
}
func (f *fakeDevice) ModelVersions() ([]store.Version, string, error) { return nil, "", nil }
func (f *fakeDevice) LiveStats() daemon.LiveStats                     { return daemon.LiveStats{} }

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newTestServer(t *testing.T) (*Server, *fakeDevice, *httptest.Server, *clock) {
	clk := &clock{t: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}
	s := New(Options{Now: clk.now})
	dev := &fakeDevice{}
	s.Bind(dev)
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return s, dev, ts, clk
}

func client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func login(t *testing.T, s *Server, ts *httptest.Server) *http.Client {
	t.Helper()
	c := client()
	link, _ := s.LoginLink()
	resp, err := c.Get(ts.URL + link)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %s", resp.Status)
	}
	return c
}

func post(t *testing.T, c *http.Client, u, origin, body string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// TestNoSession: nothing answers without a session.
func TestNoSession(t *testing.T) {
	_, dev, ts, _ := newTestServer(t)
	c := client()
	for _, p := range []string{"/", "/static/app.js", "/static/style.css", "/api/status", "/api/events", "/api/stream.mjpeg",
		"/api/samples", "/api/samples/x/image", "/api/models", "/api/models/v000001/export", "/nope"} {
		resp, err := c.Get(ts.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET %s without a session: %s, want 401", p, resp.Status)
		}
		if strings.Contains(string(body), "<script") {
			t.Errorf("GET %s without a session served the app", p)
		}
	}
	if resp := post(t, c, ts.URL+"/api/cmd/create_class", ts.URL, `{"label":"a"}`); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("POST without a session: %s, want 401", resp.Status)
	}
	if len(dev.cmds) != 0 {
		t.Errorf("commands ran without a session: %v", dev.cmds)
	}
}

// TestLoginLinks: a link works once, not after 10 minutes, and failed
// logins are rate limited.
func TestLoginLinks(t *testing.T) {
	s, _, ts, clk := newTestServer(t)
	c := client()
	link, _ := s.LoginLink()
	get := func(u string) int {
		resp, err := c.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get(ts.URL + link); code != http.StatusSeeOther {
		t.Fatalf("fresh link: %d, want 303", code)
	}
	u, _ := url.Parse(ts.URL)
	var ck *http.Cookie
	for _, k := range c.Jar.Cookies(u) {
		if k.Name == cookieName {
			ck = k
		}
	}
	if ck == nil {
		t.Fatal("no session cookie")
	}
	if code := get(ts.URL + "/api/status"); code != http.StatusOK {
		t.Errorf("with the session: %d, want 200", code)
	}
	c2 := client()
	resp, _ := c2.Get(ts.URL + link)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("used link: %d, want 403", resp.StatusCode)
	}
	old, _ := s.LoginLink()
	clk.add(LinkTTL + time.Second)
	if resp, _ := c2.Get(ts.URL + old); resp.StatusCode != http.StatusForbidden {
		t.Errorf("expired link: %d, want 403", resp.StatusCode)
	}
	for i := 0; i < loginFails; i++ {
		resp, _ := c2.Get(ts.URL + "/login?t=guess" + string(rune('a'+i)))
		resp.Body.Close()
	}
	fresh, _ := s.LoginLink()
	if resp, _ := c2.Get(ts.URL + fresh); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("after %d failed logins: %d, want 429", loginFails, resp.StatusCode)
	}
	clk.add(time.Minute + time.Second)
	if resp, _ := c2.Get(ts.URL + fresh); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("a minute later: %d, want 303", resp.StatusCode)
	}
	// Sessions end.
	clk.add(SessionTTL)
	if code := get(ts.URL + "/api/status"); code != http.StatusUnauthorized {
		t.Errorf("expired session: %d, want 401", code)
	}
	if ck.HttpOnly != true && ck.Raw != "" && !strings.Contains(ck.Raw, "HttpOnly") {
		t.Errorf("session cookie not HttpOnly: %q", ck.Raw)
	}
}

// TestCookieFlags: HttpOnly and SameSite=Strict.
func TestCookieFlags(t *testing.T) {
	s, _, ts, _ := newTestServer(t)
	link, _ := s.LoginLink()
	resp, err := client().Get(ts.URL + link)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	sc := resp.Header.Get("Set-Cookie")
	for _, want := range []string{"HttpOnly", "SameSite=Strict", "Path=/"} {
		if !strings.Contains(sc, want) {
			t.Errorf("Set-Cookie %q lacks %s", sc, want)
		}
	}
}

// TestCommands: same-origin commands run with source "web"; foreign
// origins, local-only commands and bad input are refused with a message.
func TestCommands(t *testing.T) {
	s, dev, ts, _ := newTestServer(t)
	c := login(t, s, ts)
	cases := []struct {
		name, path, origin, body string
		code                     int
	}{
		{"same origin", "/api/cmd/create_class", ts.URL, `{"label":"rock"}`, 200},
		{"foreign origin", "/api/cmd/create_class", "http://evil.example", `{"label":"x"}`, 403},
		{"foreign referer-less null origin", "/api/cmd/create_class", "null", `{"label":"x"}`, 403},
		{"login link over the web", "/api/cmd/login_link", ts.URL, `{}`, 404},
		{"unknown", "/api/cmd/format_disk", ts.URL, `{}`, 404},
		{"bad field", "/api/cmd/create_class", ts.URL, `{"label":" padded "}`, 400},
		{"string number", "/api/cmd/train", ts.URL, `{"epochs":"50"}`, 400},
		{"too big", "/api/cmd/create_class", ts.URL, `{"label":"` + strings.Repeat("a", maxBody) + `"}`, 413},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if resp := post(t, c, ts.URL+tc.path, tc.origin, tc.body); resp.StatusCode != tc.code {
				t.Errorf("%s: %s, want %d", tc.path, resp.Status, tc.code)
			}
		})
	}
	if len(dev.cmds) != 1 || dev.cmds[0].Label != "rock" {
		t.Errorf("commands run: %+v, want only create_class rock", dev.cmds)
	}
}

// TestSampleIDs: only ids the store holds reach the file system.
func TestSampleIDs(t *testing.T) {
	s, _, ts, _ := newTestServer(t)
	c := login(t, s, ts)
	for _, id := range []string{"..%2f..%2fetc%2fpasswd", "../../etc/passwd", "%2e%2e"} {
		resp, err := c.Get(ts.URL + "/api/samples/" + id + "/image")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		// 404, or the mux's redirect to the cleaned path (which is not
		// a sample route).
		if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusTemporaryRedirect {
			t.Errorf("sample %s: %s, want 404 or 307", id, resp.Status)
		}
	}
}

// TestSlowClient: a client that does not read loses events (counted);
// Notify never blocks.
func TestSlowClient(t *testing.T) {
	s, _, _, _ := newTestServer(t)
	ch, _, ok := s.hub.subscribe()
	if !ok {
		t.Fatal("subscribe refused")
	}
	defer s.hub.unsubscribe(ch)
	const n = 3 * clientQueue
	done := make(chan struct{})
	go func() {
		for i := 0; i < n; i++ {
			s.Notify(control.Classes{Names: []string{"a"}, Counts: map[string]int{"a": i}})
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Notify blocked on a slow client")
	}
	if got := s.hub.dropped.Load(); got != 2*n-clientQueue { // classes and samples
		t.Errorf("dropped %d events, want %d", got, 2*n-clientQueue)
	}
	if len(ch) != clientQueue {
		t.Errorf("queue holds %d, want %d", len(ch), clientQueue)
	}
}

// TestEvents: a page gets the latest state at once, then live events.
func TestEvents(t *testing.T) {
	s, _, ts, _ := newTestServer(t)
	c := login(t, s, ts)
	s.Notify(control.Classes{Names: []string{"rock"}, Counts: map[string]int{"rock": 3}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, ts.URL+"/api/events", nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	buf := make([]byte, 0, 4096)
	read := func(want string) {
		t.Helper()
		for !strings.Contains(string(buf), want) {
			p := make([]byte, 1024)
			n, err := resp.Body.Read(p)
			if err != nil {
				t.Fatalf("reading events, want %q, have %q: %v", want, buf, err)
			}
			buf = append(buf, p[:n]...)
		}
	}
	read(`event: classes` + "\n" + `data: {"names":["rock"],"counts":{"rock":3}}`)
	s.Notify(control.Decision{Label: "rock", Confidence: 0.9, Scores: []float32{0.9}, Classes: []string{"rock"}, Changed: true})
	read(`event: prediction`)
	read(`"label":"rock"`)
}
