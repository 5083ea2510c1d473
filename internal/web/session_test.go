package web

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestPasswordChangeEndsSessions: a new password (SetPassword, what
// `alphad ui password` runs in its own process) ends every session, the
// password's and the login links', including open event and MJPEG
// streams; a login with the new password then holds.
func TestPasswordChangeEndsSessions(t *testing.T) {
	clk := &clock{t: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}
	file := filepath.Join(t.TempDir(), PasswordFile)
	if err := SetPassword(file, "first password 1"); err != nil {
		t.Fatal(err)
	}
	s := New(Options{Now: clk.now, PasswordFile: file})
	s.Bind(&fakeDevice{})
	ts := httptest.NewServer(s)
	defer ts.Close()
	byPassword := func(pw string) (*http.Client, int) {
		t.Helper()
		c := client()
		req, _ := http.NewRequest(http.MethodPost, ts.URL+"/login", strings.NewReader(url.Values{"password": {pw}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", ts.URL)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return c, resp.StatusCode
	}
	status := func(c *http.Client, path string) int {
		t.Helper()
		resp, err := c.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	a, code := byPassword("first password 1")
	if code != http.StatusSeeOther {
		t.Fatalf("password login: %d", code)
	}
	b := login(t, s, ts) // a one-time link
	// Open streams: they must end too.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var streams []*http.Response
	for _, st := range []struct {
		c    *http.Client
		path string
	}{{a, "/api/events"}, {b, "/api/stream.mjpeg"}} {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, ts.URL+st.path, nil)
		resp, err := st.c.Do(req)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %v %v", st.path, resp, err)
		}
		defer resp.Body.Close()
		streams = append(streams, resp)
	}
	for _, c := range []*http.Client{a, b} {
		if code := status(c, "/api/status"); code != http.StatusOK {
			t.Fatalf("before the change: %d", code)
		}
	}

	if err := SetPassword(file, "second password 2"); err != nil {
		t.Fatal(err)
	}
	for i, c := range []*http.Client{a, b} {
		if code := status(c, "/api/status"); code != http.StatusUnauthorized {
			t.Errorf("session %d after the password change: /api/status %d, want 401", i, code)
		}
		if code := status(c, "/"); code != http.StatusUnauthorized {
			t.Errorf("session %d after the password change: / %d, want 401 (the login page)", i, code)
		}
	}
	for i, resp := range streams {
		_, err := io.Copy(io.Discard, resp.Body)
		if err != nil || ctx.Err() != nil {
			t.Errorf("stream %d did not end after the password change: %v", i, errors.Join(err, ctx.Err()))
		}
	}
	if _, code := byPassword("first password 1"); code != http.StatusUnauthorized {
		t.Errorf("old password: %d, want 401", code)
	}
	c, code := byPassword("second password 2")
	if code != http.StatusSeeOther {
		t.Fatalf("new password login: %d", code)
	}
	for range 2 {
		if code := status(c, "/api/status"); code != http.StatusOK {
			t.Errorf("session of the new password: %d, want 200", code)
		}
	}
}

// TestLoginThrottlePerClient: failed logins are counted per client
// address (an IPv6 client by its /64): one guesser does not lock the
// owner out, while a global ceiling still holds many addresses back.
func TestLoginThrottlePerClient(t *testing.T) {
	clk := &clock{t: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}
	file := filepath.Join(t.TempDir(), PasswordFile)
	const pw = "right password 1"
	if err := SetPassword(file, pw); err != nil {
		t.Fatal(err)
	}
	s := New(Options{Now: clk.now, PasswordFile: file})
	s.Bind(&fakeDevice{})
	const host = "alphad.local"
	// guess tries a login link that does not exist; logIn the password.
	guess := func(remote string) int {
		r := httptest.NewRequest(http.MethodGet, "http://"+host+"/login?t=guess", nil)
		r.RemoteAddr = remote
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		return w.Code
	}
	logIn := func(remote string) int {
		r := httptest.NewRequest(http.MethodPost, "http://"+host+"/login", strings.NewReader(url.Values{"password": {pw}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Origin", "http://"+host)
		r.RemoteAddr = remote
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		return w.Code
	}
	for range loginFails {
		if code := guess("192.0.2.1:5000"); code != http.StatusForbidden {
			t.Fatalf("a wrong link: %d, want 403", code)
		}
	}
	if code := logIn("192.0.2.1:5001"); code != http.StatusTooManyRequests {
		t.Errorf("the guesser (another port) with the right password: %d, want 429", code)
	}
	if code := logIn("198.51.100.7:4000"); code != http.StatusSeeOther {
		t.Errorf("the owner from another address: %d, want 303 (before: 429, one global count)", code)
	}
	for range loginFails {
		guess("[2001:db8::1]:443")
	}
	if code := logIn("[2001:db8::2]:443"); code != http.StatusTooManyRequests {
		t.Errorf("the same IPv6 /64: %d, want 429", code)
	}
	if code := logIn("[2001:db8:0:1::1]:443"); code != http.StatusSeeOther {
		t.Errorf("another IPv6 /64: %d, want 303", code)
	}
	// The global ceiling: many addresses, each under its own limit.
	failed := 2 * loginFails
	for i := 0; failed < loginFailsAll; i++ {
		for range loginFails - 1 {
			if failed < loginFailsAll {
				guess("10.0." + strconv.Itoa(i) + ".1:80")
				failed++
			}
		}
	}
	if code := logIn("203.0.113.9:1"); code != http.StatusTooManyRequests {
		t.Errorf("after %d failures from many addresses: %d, want 429", failed, code)
	}
	clk.add(time.Minute + time.Second)
	for _, remote := range []string{"203.0.113.9:1", "192.0.2.1:5000"} {
		if code := logIn(remote); code != http.StatusSeeOther {
			t.Errorf("%s a minute later: %d, want 303", remote, code)
		}
	}
}
