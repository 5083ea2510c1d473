package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"github.com/alphad/alphad/internal/atomicfile"
)

// The web password: generated on the daemon's first start (shown once in
// its log), set with `alphad ui password`, stored as an argon2id hash in
// the state directory (PasswordFile). The daemon reads the file at every
// password login, so a new password applies at once, and a change of the
// file ends every session (auth).

// PasswordFile is the password hash's file name in the state directory.
const PasswordFile = "web-password"

// Password rules and argon2id's cost (RFC 9106, sized for a Pi: 19 MiB,
// two passes, one lane — about 60 ms on a Pi 4).
const (
	MinPassword  = 8
	MaxPassword  = 1024
	argonTime    = 2
	argonMemory  = 19 * 1024 // KiB
	argonThreads = 1
	argonKeyLen  = 32
	saltLen      = 16
)

// ErrNoPassword means no password is set (password login is off until one
// is).
var ErrNoPassword = errors.New("no web password set (alphad ui password)")

// ValidPassword reports whether pw may be the web password.
func ValidPassword(pw string) error {
	switch {
	case len(pw) < MinPassword:
		return fmt.Errorf("password: shorter than %d characters", MinPassword)
	case len(pw) > MaxPassword:
		return fmt.Errorf("password: longer than %d bytes", MaxPassword)
	case strings.TrimSpace(pw) != pw:
		return errors.New("password: has leading or trailing spaces")
	case !utf8.ValidString(pw) || strings.ContainsFunc(pw, unicode.IsControl):
		return errors.New("password: not UTF-8 or has control characters")
	}
	return nil
}

// HashPassword is pw's argon2id hash in the PHC string format
// ($argon2id$v=19$m=…,t=…,p=…$salt$hash).
func HashPassword(pw string) string {
	salt := make([]byte, saltLen)
	rand.Read(salt) // never fails (crypto/rand)
	key := argon2.IDKey([]byte(pw), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

// checkPassword reports whether pw matches the PHC hash encoded.
func checkPassword(encoded, pw string) (bool, error) {
	parts := strings.Split(strings.TrimSpace(encoded), "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, errors.New("password file: not an argon2id hash")
	}
	var v int
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return false, fmt.Errorf("password file: argon2 version %q", parts[2])
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil ||
		m < 8 || m > 64*1024 || t < 1 || t > 10 || p < 1 || p > 4 { // at most 64 MiB: a file never makes a login costly
		return false, fmt.Errorf("password file: argon2 parameters %q", parts[3])
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(want) < 16 || len(want) > 64 {
		return false, errors.New("password file: bad salt or hash")
	}
	got := argon2.IDKey([]byte(pw), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// SetPassword stores pw's hash in path (atomically, owner-only).
func SetPassword(path, pw string) error {
	if err := ValidPassword(pw); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(path, []byte(HashPassword(pw)+"\n"), 0o600); err != nil {
		return fmt.Errorf("password: %w", err)
	}
	return nil
}

// GeneratePassword is a new random password: 20 letters and digits
// without look-alikes, in groups of four (about 100 bits).
func GeneratePassword() string {
	const alphabet = "abcdefghjkmnpqrstuvwxyz23456789" // 31 symbols
	var b strings.Builder
	buf := make([]byte, 1)
	for n := 0; n < 20; {
		rand.Read(buf)
		if buf[0] >= 31*8 { // uniform: reject the tail
			continue
		}
		if n > 0 && n%4 == 0 {
			b.WriteByte('-')
		}
		b.WriteByte(alphabet[buf[0]%31])
		n++
	}
	return b.String()
}

// EnsurePassword creates the password on first start: when the password
// file does not exist it stores a new random password's hash and returns
// the password (to be shown once); otherwise it returns "".
func (s *Server) EnsurePassword() (string, error) {
	if s.passwordFile == "" {
		return "", nil
	}
	switch _, err := os.Stat(s.passwordFile); {
	case err == nil:
		return "", nil
	case !errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("password: %w", err)
	}
	pw := GeneratePassword()
	if err := SetPassword(s.passwordFile, pw); err != nil {
		return "", err
	}
	return pw, nil
}

// verify checks a password against the stored hash. One check runs at a
// time (each takes 19 MiB for a moment).
func (s *Server) verify(pw string) (bool, error) {
	if s.passwordFile == "" {
		return false, ErrNoPassword
	}
	data, err := os.ReadFile(s.passwordFile)
	if errors.Is(err, fs.ErrNotExist) {
		return false, ErrNoPassword
	}
	if err != nil {
		return false, fmt.Errorf("password: %w", err)
	}
	if len(pw) > MaxPassword {
		return false, nil
	}
	s.hashMu.Lock()
	defer s.hashMu.Unlock()
	return checkPassword(string(data), pw)
}

// passwordLogin is POST /login (form field password): a session for the
// right password; failures count toward the login throttle.
func (s *Server) passwordLogin(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		jsonError(w, http.StatusForbidden, "web: cross-origin request refused")
		return
	}
	if s.loginThrottled(r, false) {
		s.loginPage(w, http.StatusTooManyRequests, "Too many failed logins: try again in a minute.")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	pw := r.PostFormValue("password")
	stamp := stampOf(s.passwordFile) // before the check: a change after it ends this session too
	ok, err := s.verify(pw)
	if err != nil && !errors.Is(err, ErrNoPassword) {
		s.log.Error("web: password login", "err", err)
	}
	if !ok {
		s.loginThrottled(r, true)
		s.log.Warn("web: refused password login", "remote", r.RemoteAddr)
		msg := "Wrong password."
		if errors.Is(err, ErrNoPassword) {
			msg = "No password is set: run <code>alphad ui password</code> on the device, or log in with <code>alphad ui url</code>."
		}
		s.loginPage(w, http.StatusUnauthorized, msg)
		return
	}
	s.startSession(w, r, "password", stamp)
}

// startSession sets a new session cookie, made under the password p, and
// sends the browser to the app.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, how string, p passwordStamp) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: s.auth.newSession(p), Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil, MaxAge: int(SessionTTL / time.Second)})
	s.log.Info("web: login", "remote", r.RemoteAddr, "with", how)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// loginPage answers with the login page: a message and the password form.
func (s *Server) loginPage(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	io.WriteString(w, `<!doctype html><html lang="en"><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">`+
		`<meta name="color-scheme" content="light dark"><title>alphad: log in</title>`+
		`<body style="font:16px/1.4 system-ui,sans-serif;margin:2rem auto;max-width:26rem;padding:0 1rem"><h1>alphad</h1><p id="msg">`+msg+`</p>`+
		`<form method="post" action="/login"><label for="password">Password</label><br>`+
		`<input id="password" name="password" type="password" autocomplete="current-password" required `+
		`style="font:inherit;width:100%;min-height:48px;margin:6px 0 12px;padding:0 10px;box-sizing:border-box">`+
		`<button type="submit" style="font:inherit;min-height:48px;width:100%">Log in</button></form>`+
		`<p style="opacity:.75">Or run <code>alphad ui url</code> on the device and open the one-time link (or scan its QR code).</p></body></html>`)
}
