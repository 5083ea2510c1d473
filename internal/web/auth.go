package web

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
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
// Sessions belong to one password: when the password changes (`alphad ui
// password`, from another process, or any other write of the password
// file) every session ends.
type auth struct {
	now func() time.Time

	mu       sync.Mutex
	links    map[[32]byte]time.Time // expiry
	sessions map[[32]byte]time.Time // expiry
	password passwordStamp          // the password the sessions were made under
}

// passwordStamp identifies one version of the password file: the file
// (atomicfile writes a new one each time), its size and modification
// time; nil when there is none.
type passwordStamp os.FileInfo

// stampOf is the password file's current stamp ("" path or no file: nil).
func stampOf(path string) passwordStamp {
	if path == "" {
		return nil
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil
	}
	return fi
}

func sameStamp(a, b passwordStamp) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}

// passwordIs ends every session when the password is no longer the one
// they were made under. Call with a.mu held.
func (a *auth) passwordIs(p passwordStamp) {
	if !sameStamp(a.password, p) {
		clear(a.sessions)
		a.password = p
	}
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

// newSession returns a new session token, made under the password p.
func (a *auth) newSession(p passwordStamp) string {
	tok := token()
	a.mu.Lock()
	defer a.mu.Unlock()
	a.passwordIs(p)
	a.expire(a.sessions)
	if len(a.sessions) >= maxSession {
		dropOldest(a.sessions)
	}
	a.sessions[hash(tok)] = a.now().Add(SessionTTL)
	return tok
}

// valid reports whether r carries a live session while the password is p.
func (a *auth) valid(r *http.Request, p passwordStamp) bool {
	c, err := r.Cookie(cookieName)
	if err != nil || c.Value == "" {
		return false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.passwordIs(p)
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

// Login throttle: failed logins (password or link) a minute, per client
// address and in all.
const (
	loginFails      = 10   // per client address before 429
	loginFailsAll   = 100  // from all clients before 429 (many addresses, one guesser)
	throttleClients = 4096 // client addresses counted a minute; beyond, only the total counts
)

// throttle counts failed logins per minute, per client address (an IPv6
// client by its /64, what one host can easily hold) and in all.
type throttle struct {
	mu     sync.Mutex
	start  time.Time
	all    int
	client map[netip.Prefix]int
}

// clientKey is the address a request comes from, as counted: the host of
// RemoteAddr (a proxy's forwarded-for headers are not trusted), IPv6 by
// its /64. Unparsable addresses share one key.
func clientKey(remote string) netip.Prefix {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Prefix{}
	}
	ip = ip.Unmap()
	bits := 32
	if ip.Is6() {
		bits = 64
	}
	p, _ := ip.Prefix(bits)
	return p
}

// limited counts a failed login from remote when fail is set; it reports
// whether remote is over its limit or all clients together over theirs
// this minute.
func (t *throttle) limited(now time.Time, remote string, fail bool) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if now.Sub(t.start) > time.Minute || t.client == nil {
		t.start, t.all = now, 0
		t.client = map[netip.Prefix]int{}
	}
	k := clientKey(remote)
	if fail {
		t.all++
		if _, ok := t.client[k]; ok || len(t.client) < throttleClients {
			t.client[k]++
		}
	}
	return t.all >= loginFailsAll || t.client[k] >= loginFails
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
