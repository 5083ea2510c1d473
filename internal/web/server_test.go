package web

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
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

// routeRequest turns a registered pattern ("METHOD /path/{name}") into a
// request path with sample values.
func routeRequest(pattern string) (method, path string) {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok {
		method, path = http.MethodGet, pattern
	}
	path = strings.NewReplacer("{$}", "", "{name}", "rock", "{id}", "0123abcd", "{version}", "v000001").Replace(path)
	switch {
	case path == "/":
		path = "/no-such-page"
	case strings.HasSuffix(path, "/"):
		path += "app.js"
	}
	return method, path
}

// TestNoSession: no registered route but /login answers without a
// session — the routes are walked as registered, so a new one is
// covered — and no command runs.
func TestNoSession(t *testing.T) {
	s, dev, ts, _ := newTestServer(t)
	if want := []string{"GET /login", "POST /login"}; !slices.Equal(s.openPatterns, want) {
		t.Errorf("open routes %v, want only %v", s.openPatterns, want)
	}
	if len(s.patterns) < 25 {
		t.Fatalf("only %d routes registered: %v", len(s.patterns), s.patterns)
	}
	c := client()
	for _, p := range append(s.patterns, "GET /index.html", "GET /static/style.css", "GET /metrics", "PUT /api/classes") {
		method, path := routeRequest(p)
		req, _ := http.NewRequest(method, ts.URL+path, strings.NewReader(`{"name":"x","ids":["a"],"action":"one"}`))
		req.Header.Set("Origin", ts.URL)
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s %s without a session: %s, want 401", method, path, resp.Status)
		}
		if strings.Contains(string(body), "<script") || strings.Contains(string(body), "alphad web app") {
			t.Errorf("%s %s without a session served the app", method, path)
		}
	}
	if len(dev.cmds) != 0 {
		t.Errorf("commands ran without a session: %v", dev.cmds)
	}
	// The page without a session is the login form.
	resp, err := c.Get(ts.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `<form method="post" action="/login">`) {
		t.Errorf("GET / without a session: no login form in %q", body)
	}
}

// TestCrossOrigin: with a session, every state-changing route refuses a
// foreign (or null) Origin with 403 before any command runs.
func TestCrossOrigin(t *testing.T) {
	s, dev, ts, _ := newTestServer(t)
	c := login(t, s, ts)
	n := 0
	for _, p := range s.patterns {
		method, path := routeRequest(p)
		if method == http.MethodGet {
			continue
		}
		for _, origin := range []string{"http://evil.example", "null"} {
			req, _ := http.NewRequest(method, ts.URL+path, strings.NewReader(`{"name":"x","ids":["a"],"action":"one","label":"x"}`))
			req.Header.Set("Origin", origin)
			req.Header.Set("Content-Type", "application/json")
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("%s %s from %s: %s, want 403", method, path, origin, resp.Status)
			}
			n++
		}
	}
	// A browser's fetch from another site without Origin still names
	// itself in Sec-Fetch-Site.
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/api/classes", strings.NewReader(`{"name":"x"}`))
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if resp, err := c.Do(req); err != nil {
		t.Fatal(err)
	} else if resp.Body.Close(); resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site fetch without Origin: %s, want 403", resp.Status)
	}
	if n < 20 {
		t.Errorf("only %d state-changing requests tried", n)
	}
	if len(dev.cmds) != 0 {
		t.Errorf("commands ran for foreign origins: %v", dev.cmds)
	}
}

// TestPasswordLogin: the generated password is stored hashed (owner-only),
// logs in; a wrong one is refused and failures are rate limited; `ui
// password` (SetPassword) applies at once; a foreign Origin cannot log in.
func TestPasswordLogin(t *testing.T) {
	clk := &clock{t: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}
	file := filepath.Join(t.TempDir(), PasswordFile)
	s := New(Options{Now: clk.now, PasswordFile: file})
	s.Bind(&fakeDevice{})
	ts := httptest.NewServer(s)
	defer ts.Close()
	pw, err := s.EnsurePassword()
	if err != nil || ValidPassword(pw) != nil {
		t.Fatalf("EnsurePassword: %q, %v", pw, err)
	}
	if again, err := s.EnsurePassword(); again != "" || err != nil {
		t.Fatalf("second EnsurePassword: %q, %v (want the password kept)", again, err)
	}
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("password file mode %v, want 0600", fi.Mode().Perm())
	}
	stored, _ := os.ReadFile(file)
	if strings.Contains(string(stored), pw) || !strings.HasPrefix(string(stored), "$argon2id$v=19$") {
		t.Errorf("password file %q: want an argon2id hash, not the password", stored)
	}
	try := func(c *http.Client, origin, password string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, ts.URL+"/login", strings.NewReader(url.Values{"password": {password}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", origin)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	c := client()
	if code := try(c, ts.URL, pw+"x"); code != http.StatusUnauthorized {
		t.Errorf("wrong password: %d, want 401", code)
	}
	if code := try(c, "http://evil.example", pw); code != http.StatusForbidden {
		t.Errorf("login from a foreign origin: %d, want 403", code)
	}
	if code := try(c, ts.URL, pw); code != http.StatusSeeOther {
		t.Fatalf("right password: %d, want 303", code)
	}
	if resp, err := c.Get(ts.URL + "/api/status"); err != nil {
		t.Fatal(err)
	} else if resp.Body.Close(); resp.StatusCode != http.StatusOK {
		t.Errorf("after password login: %s", resp.Status)
	}
	// Rate limited: after loginFails failures a minute, even the right
	// password waits.
	for i := 1; i < loginFails; i++ { // one failure is counted already
		try(client(), ts.URL, fmt.Sprintf("guess%02d", i))
	}
	if code := try(client(), ts.URL, pw); code != http.StatusTooManyRequests {
		t.Errorf("after %d failed logins: %d, want 429", loginFails, code)
	}
	clk.add(time.Minute + time.Second)
	if code := try(client(), ts.URL, pw); code != http.StatusSeeOther {
		t.Errorf("a minute later: %d, want 303", code)
	}
	// A new password applies at once; the old one no longer works.
	if err := SetPassword(file, "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	if code := try(client(), ts.URL, pw); code != http.StatusUnauthorized {
		t.Errorf("old password after a change: %d, want 401", code)
	}
	if code := try(client(), ts.URL, "correct horse battery"); code != http.StatusSeeOther {
		t.Errorf("new password: %d, want 303", code)
	}
	for _, bad := range []string{"short", " padded password ", strings.Repeat("x", MaxPassword+1), "tab\tinside"} {
		if err := SetPassword(file, bad); err == nil {
			t.Errorf("SetPassword(%q) accepted", bad)
		}
	}
}

// TestPasswordHash: the PHC string round-trips, a tampered one fails.
func TestPasswordHash(t *testing.T) {
	h := HashPassword("open sesame 1")
	if ok, err := checkPassword(h, "open sesame 1"); !ok || err != nil {
		t.Fatalf("check own hash: %v %v", ok, err)
	}
	if ok, _ := checkPassword(h, "open sesame 2"); ok {
		t.Error("a wrong password matched")
	}
	for _, bad := range []string{"", "plain", "$argon2i$v=19$m=1,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", strings.Replace(h, "m=19456", "m=99999", 1)} {
		if ok, err := checkPassword(bad, "x"); ok || err == nil {
			t.Errorf("checkPassword(%q): %v %v, want an error", bad, ok, err)
		}
	}
	if a, b := GeneratePassword(), GeneratePassword(); a == b || len(a) != 24 {
		t.Errorf("generated %q and %q", a, b)
	}
}

// TestAppSize: the whole app (HTML + JS + CSS) stays within 150 KB.
func TestAppSize(t *testing.T) {
	total := 0
	fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		if !d.IsDir() {
			b, _ := fs.ReadFile(static, p)
			total += len(b)
		}
		return nil
	})
	t.Logf("app size: %d bytes", total)
	if total == 0 || total > 150<<10 {
		t.Errorf("app is %d bytes, want 1..%d", total, 150<<10)
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

// FuzzTMZip: any upload is refused with an error or yields a bounded
// model and labels.txt — never a panic.
func FuzzTMZip(f *testing.F) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range []string{"model_unquant.tflite", "model.tflite", "labels.txt", "model_edgetpu.tflite"} {
		w, _ := zw.Create(name)
		w.Write([]byte("0 a\n1 b\n"))
	}
	zw.Close()
	f.Add(buf.Bytes())
	f.Add([]byte("PK\x03\x04"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		files, err := tmZip(data)
		if err != nil {
			return
		}
		if len(files) != 2 || files[1].Name != "labels.txt" || !strings.HasSuffix(files[0].Name, ".tflite") ||
			len(files[0].Data) > maxModelFile || len(files[1].Data) > maxLabelsFile {
			t.Fatalf("tmZip gave %d files", len(files))
		}
	})
}

// TestTMZip: a Teachable Machine export picks the float model; a zip
// without labels or model is refused naming what it lacks.
func TestTMZip(t *testing.T) {
	mk := func(names ...string) []byte {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for _, n := range names {
			w, _ := zw.Create(n)
			w.Write([]byte(n))
		}
		zw.Close()
		return buf.Bytes()
	}
	files, err := tmZip(mk("converted_tflite/model.tflite", "converted_tflite/model_unquant.tflite", "converted_tflite/labels.txt", "model_edgetpu.tflite"))
	if err != nil || files[0].Name != "model_unquant.tflite" || string(files[0].Data) != "converted_tflite/model_unquant.tflite" {
		t.Errorf("TM export: %v %v", files, err)
	}
	if files, err := tmZip(mk("model.tflite", "labels.txt")); err != nil || files[0].Name != "model.tflite" {
		t.Errorf("quantized export: %v %v", files, err)
	}
	for _, z := range [][]byte{mk("labels.txt"), mk("model.tflite"), mk("model_edgetpu.tflite", "labels.txt"), []byte("not a zip")} {
		if _, err := tmZip(z); err == nil {
			t.Errorf("zip %q accepted", z[:min(len(z), 20)])
		}
	}
}

// FuzzCheckPassword: any stored text is an error or a verdict, never a
// panic, and never a match for a hash that is not argon2id.
func FuzzCheckPassword(f *testing.F) {
	f.Add(HashPassword("seed password"), "seed password")
	f.Add("$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "x")
	f.Fuzz(func(t *testing.T, encoded, pw string) {
		ok, err := checkPassword(encoded, pw)
		if ok && (err != nil || !strings.HasPrefix(strings.TrimSpace(encoded), "$argon2id$")) {
			t.Fatalf("match %v with %v for %q", ok, err, encoded)
		}
	})
}
