package web

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// Lifetimes of login links and sessions.
const (
	LinkTTL    = 10 * time.Minute
	SessionTTL = 30 * 24 * time.Hour
	cookieName = "alphad_session"
	maxLinks   = 64   // outstanding login links kept
	maxSession = 1024 // sessions kept (the oldest go first)
)

// auth holds one-time login links and sessions, both by the SHA-256 of
// their random token (a leaked memory dump does not hand out access).
type auth struct {
	now func() time.Time

	mu       sync.Mutex
	links    map[[32]byte]time.Time // expiry
	sessions map[[32]byte]time.Time // expiry
}

func newAuth(now func() time.Time) *auth {
	return &auth{now: now, links: map[[32]byte]time.Time{}, sessions: map[[32]byte]time.Time{}}
}

func token() string {
	var b [32]byte
	rand.Read(b[:]) // never fails (crypto/rand)
	return hex.EncodeToString(b[:])
}

func hash(tok string) [32]byte { return sha256.Sum256([]byte(tok)) }

// newLink returns the path of a new one-time login link.
func (a *auth) newLink() string {
	tok := token()
	a.mu.Lock()
	defer a.mu.Unlock()
	a.expire(a.links)
	if len(a.links) >= maxLinks {
		dropOldest(a.links)
	}
	a.links[hash(tok)] = a.now().Add(LinkTTL)
	return "/login?t=" + url.QueryEscape(tok)
}

// useLink consumes a login link's token: true once, if not expired.
func (a *auth) useLink(tok string) bool {
	if tok == "" {
		return false
	}
	h := hash(tok)
	a.mu.Lock()
	defer a.mu.Unlock()
	exp, ok := a.links[h]
	delete(a.links, h)
	return ok && a.now().Before(exp)
}

// newSession returns a new session token.
func (a *auth) newSession() string {
	tok := token()
	a.mu.Lock()
	defer a.mu.Unlock()
	a.expire(a.sessions)
	if len(a.sessions) >= maxSession {
		dropOldest(a.sessions)
	}
	a.sessions[hash(tok)] = a.now().Add(SessionTTL)
	return tok
}

// valid reports whether r carries a live session.
func (a *auth) valid(r *http.Request) bool {
	c, err := r.Cookie(cookieName)
	if err != nil || c.Value == "" {
		return false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	exp, ok := a.sessions[hash(c.Value)]
	return ok && a.now().Before(exp)
}

// end forgets r's session.
func (a *auth) end(r *http.Request) {
	if c, err := r.Cookie(cookieName); err == nil {
		a.mu.Lock()
		delete(a.sessions, hash(c.Value))
		a.mu.Unlock()
	}
}

func (a *auth) expire(m map[[32]byte]time.Time) {
	now := a.now()
	for k, exp := range m {
		if !now.Before(exp) {
			delete(m, k)
		}
	}
}

func dropOldest(m map[[32]byte]time.Time) {
	var oldest [32]byte
	var t time.Time
	first := true
	for k, exp := range m {
		if first || exp.Before(t) {
			oldest, t, first = k, exp, false
		}
	}
	delete(m, oldest)
}

// sameOrigin reports whether a state-changing request comes from this
// server's own pages: its Origin (or, without one, its Referer) names the
// request's host. Browsers send Origin on every cross-origin POST.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		o = r.Header.Get("Referer")
		if o == "" {
			// Not from a browser (curl, scripts): a session cookie was
			// still required, and SameSite=Strict keeps it from foreign
			// pages.
			return r.Header.Get("Sec-Fetch-Site") == "" || r.Header.Get("Sec-Fetch-Site") == "same-origin"
		}
	}
	u, err := url.Parse(o)
	if err != nil || u.Host == "" {
		return false
	}
	return u.Host == r.Host
}
