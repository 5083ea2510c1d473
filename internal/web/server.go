package web

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/alphad/alphad/internal/control"
	"github.com/alphad/alphad/internal/daemon"
	"github.com/alphad/alphad/pipeline/store"
)

//go:embed static
var static embed.FS

// Device is the running daemon as the web app uses it (*daemon.Daemon).
type Device interface {
	Do(ctx context.Context, cmd control.Command, source string) (control.Result, error)
	WatchFrames() (frames <-chan []byte, stop func())
	SampleImagePath(id string) (string, bool)
	ModelVersions() ([]store.Version, string, error)
	LiveStats() daemon.LiveStats
}

// Options configure a Server.
type Options struct {
	Log *slog.Logger
	// Now is the clock of links and sessions (default time.Now).
	Now func() time.Time
	// PasswordFile holds the password's hash (<state>/PasswordFile);
	// "" = no password login (one-time links only).
	PasswordFile string
}

// Limits on request bodies.
const (
	maxBody     = 64 << 10  // a command without files
	maxBulkBody = 256 << 20 // POST /api/cmd/add_samples|import: base64 files (as the control socket)
	maxUpload   = 64 << 20  // one multipart upload (images, a model zip)
)

// Server is the web app. Build it with New, hand it to the daemon as an
// Output and as daemon.Options.Web, then Bind the daemon.
type Server struct {
	log          *slog.Logger
	auth         *auth
	hub          *hub
	mux          *http.ServeMux
	now          func() time.Time
	passwordFile string
	hashMu       sync.Mutex // one password check at a time
	patterns     []string   // every route behind a session (tests walk them)
	openPatterns []string   // the routes without one

	dev Device // set once by Bind, before the daemon runs

	throttle throttle // failed logins

	train trainState
}

// New builds the web app; it serves 503 until Bind.
func New(o Options) *Server {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Server{log: o.Log, auth: newAuth(o.Now), hub: newHub(), now: o.Now, passwordFile: o.PasswordFile}
	s.routes()
	return s
}

// Bind attaches the daemon (call before the daemon's Run).
func (s *Server) Bind(d Device) { s.dev = d }

// LoginLink returns the path of a new one-time login link (valid LinkTTL,
// once).
func (s *Server) LoginLink() (string, error) { return s.auth.newLink(), nil }

// RequireSession puts h behind the web app's sessions (/metrics with
// http.metrics_auth).
func (s *Server) RequireSession(h http.Handler) http.Handler { return s.session(h.ServeHTTP) }

// ServeHTTP serves the app.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Referrer-Policy", "same-origin")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' blob: data:; style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'")
	if r.TLS != nil {
		w.Header().Set("Strict-Transport-Security", "max-age=31536000")
	}
	if s.dev == nil {
		jsonError(w, http.StatusServiceUnavailable, "web: not ready")
		return
	}
	// Secure by default: every route but the login page needs a session,
	// however it was registered.
	if r.URL.Path == "/login" {
		s.mux.ServeHTTP(w, r)
		return
	}
	s.session(s.mux.ServeHTTP)(w, r)
}

// routes registers every route (the API is documented in docs/api.md).
// Only /login is open; ServeHTTP demands a session (and, for changes, this
// server's Origin) for everything else, and s.handle checks it again.
func (s *Server) routes() {
	m := http.NewServeMux()
	s.mux = m
	s.open("GET /login", s.login)
	s.open("POST /login", s.passwordLogin)

	s.handle("POST /logout", s.logout)
	s.handle("GET /{$}", s.page)
	s.handle("GET /static/", s.staticFile)

	s.handle("GET /api/status", s.status)
	s.handle("GET /api/events", s.events)
	s.handle("GET /api/stream.mjpeg", s.stream)
	s.handle("PATCH /api/settings", s.settings)

	s.handle("GET /api/classes", s.classes)
	s.handle("POST /api/classes", s.createClass)
	s.handle("PATCH /api/classes/{name}", s.renameClass)
	s.handle("DELETE /api/classes/{name}", s.deleteClass)
	s.handle("GET /api/classes/{name}/samples", s.classSamples)
	s.handle("POST /api/classes/{name}/samples", s.uploadSamples)
	s.handle("POST /api/classes/{name}/record", s.record)

	s.handle("GET /api/samples", s.samples)
	s.handle("GET /api/samples/{id}/image", s.sampleImage)
	s.handle("DELETE /api/samples/{id}", s.deleteSample)
	s.handle("POST /api/samples/move", s.moveSamples)
	s.handle("POST /api/samples/delete", s.deleteSamples)

	s.handle("POST /api/train", s.startTraining)
	s.handle("GET /api/train", s.training)
	s.handle("DELETE /api/train", s.cancelTraining)

	s.handle("GET /api/models", s.models)
	s.handle("POST /api/models/{version}/activate", s.activate)
	s.handle("GET /api/models/{version}/export", s.export)
	s.handle("POST /api/models/import", s.importModel)

	s.handle("POST /api/cmd/{name}", s.command)
	s.handle("GET /api/fleet", s.fleetView)
	s.reviewRoutes() // review.go: review queue and camera settings

	s.handle("/", func(w http.ResponseWriter, r *http.Request) {
		jsonError(w, http.StatusNotFound, "web: no such page: "+r.URL.Path)
	})
}

// open registers a route that needs no session (only /login: ServeHTTP
// lets nothing else through without one).
func (s *Server) open(pattern string, h http.HandlerFunc) {
	s.openPatterns = append(s.openPatterns, pattern)
	s.mux.HandleFunc(pattern, h)
}

// handle registers a route behind a session.
func (s *Server) handle(pattern string, h http.HandlerFunc) {
	s.patterns = append(s.patterns, pattern)
	s.mux.HandleFunc(pattern, s.session(h))
}

// session admits requests with a live session; state-changing ones must
// also come from this server's pages (Origin).
func (s *Server) session(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.sessionLive(r) {
			if r.Method == http.MethodGet && (r.URL.Path == "/" || r.URL.Path == "/index.html") {
				s.loginPage(w, http.StatusUnauthorized, "Log in with the device's password.")
				return
			}
			jsonError(w, http.StatusUnauthorized, "web: no session: log in (password, or a one-time link from alphad ui url)")
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead && !sameOrigin(r) {
			jsonError(w, http.StatusForbidden, "web: cross-origin request refused")
			return
		}
		h(w, r)
	}
}

func jsonError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]any{"ok": false, "error": msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

// readBody reads a request body of at most limit bytes; on failure it has
// answered (413 naming the limit, or 400).
func readBody(w http.ResponseWriter, r *http.Request, what string, limit int64) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			jsonError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("%s: body larger than %d bytes", what, limit))
			return nil, false
		}
		jsonError(w, http.StatusBadRequest, fmt.Sprintf("%s: read body: %v", what, err))
		return nil, false
	}
	return body, true
}

// readFields reads a JSON object body (at most maxBody; empty = {}) as
// raw fields.
func readFields(w http.ResponseWriter, r *http.Request, what string) (map[string]json.RawMessage, bool) {
	body, ok := readBody(w, r, what, maxBody)
	if !ok {
		return nil, false
	}
	fields := map[string]json.RawMessage{}
	if len(strings.TrimSpace(string(body))) == 0 {
		return fields, true
	}
	if err := json.Unmarshal(body, &fields); err != nil {
		jsonError(w, http.StatusBadRequest, fmt.Sprintf("%s: body is not a JSON object: %v", what, err))
		return nil, false
	}
	return fields, true
}

// run is the shape every action shares: the command name with its fields
// (a map, marshalled to JSON) goes through control.Parse — the one set of
// rules every transport applies — and the daemon's command layer (source
// "web"). On success it answers code with {"ok":true,"message","details"}
// unless quiet; errors are JSON naming the problem: 400 for a bad
// command, 404 for an unknown class or version, 409 for a conflict, 422
// for anything else the daemon refused.
func (s *Server) run(w http.ResponseWriter, r *http.Request, code int, name string, fields any, quiet bool) (control.Result, bool) {
	payload, err := json.Marshal(fields)
	if err != nil {
		jsonError(w, http.StatusBadRequest, fmt.Sprintf("command %s: %v", name, err))
		return control.Result{}, false
	}
	cmd, err := control.Parse(name, payload, true)
	if err != nil {
		jsonError(w, http.StatusBadRequest, err.Error())
		return control.Result{}, false
	}
	if spec, _ := control.Lookup(name); spec.Local {
		jsonError(w, http.StatusNotFound, fmt.Sprintf("command %q: unknown command", name))
		return control.Result{}, false
	}
	res, err := s.dev.Do(r.Context(), cmd, "web")
	if err != nil {
		jsonError(w, errorCode(err), err.Error())
		return control.Result{}, false
	}
	if !quiet {
		writeJSON(w, code, map[string]any{"ok": true, "message": res.Message, "details": res.Details})
	}
	return res, true
}

// errorCode is the HTTP status of a command the daemon refused.
func errorCode(err error) int {
	switch {
	case errors.Is(err, store.ErrUnknownClass), errors.Is(err, store.ErrNoSuchVersion), errors.Is(err, store.ErrNoModel):
		return http.StatusNotFound
	case errors.Is(err, store.ErrClassExists), errors.Is(err, daemon.ErrTrainingBusy), errors.Is(err, daemon.ErrNotTraining):
		return http.StatusConflict
	}
	return http.StatusUnprocessableEntity
}

// loginThrottled counts a failed login from r's client; true when there
// were too many this minute from it, or from all clients.
func (s *Server) loginThrottled(r *http.Request, fail bool) bool {
	return s.throttle.limited(s.now(), r.RemoteAddr, fail)
}

// sessionLive reports whether r carries a live session under the current
// password.
func (s *Server) sessionLive(r *http.Request) bool {
	return s.auth.valid(r, stampOf(s.passwordFile))
}

// login is GET /login: with ?t= a one-time link; without, the login page.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	tok := r.URL.Query().Get("t")
	if tok == "" {
		s.loginPage(w, http.StatusOK, "Log in with the device's password.")
		return
	}
	if s.loginThrottled(r, false) {
		s.loginPage(w, http.StatusTooManyRequests, "Too many failed logins: try again in a minute.")
		return
	}
	if !s.auth.useLink(tok) {
		s.loginThrottled(r, true)
		s.log.Warn("web: refused login link", "remote", r.RemoteAddr)
		s.loginPage(w, http.StatusForbidden, "This login link is used or expired. Run <code>alphad ui url</code> on the device for a new one.")
		return
	}
	s.startSession(w, r, "link", stampOf(s.passwordFile))
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	s.auth.end(r)
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
}

func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	s.serveAsset(w, r, "index.html")
}

func (s *Server) staticFile(w http.ResponseWriter, r *http.Request) {
	s.serveAsset(w, r, strings.TrimPrefix(r.URL.Path, "/static/"))
}

func (s *Server) serveAsset(w http.ResponseWriter, r *http.Request, name string) {
	data, err := fs.ReadFile(static, path.Join("static", path.Clean("/" + name)[1:]))
	if err != nil {
		jsonError(w, http.StatusNotFound, "web: no such file: "+name)
		return
	}
	ct := mime.TypeByExtension(path.Ext(name))
	if path.Ext(name) == ".js" {
		ct = "text/javascript; charset=utf-8"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(data)
}

// command is POST /api/cmd/{name}: any command of the table
// (docs/commands.md) with its fields as a JSON object; bulk commands take
// up to maxBulkBody.
func (s *Server) command(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	spec, ok := control.Lookup(name)
	if !ok || spec.Local {
		jsonError(w, http.StatusNotFound, fmt.Sprintf("command %q: unknown command", name))
		return
	}
	limit := int64(maxBody)
	if spec.Bulk {
		limit = maxBulkBody
	}
	body, ok := readBody(w, r, "command "+name, limit)
	if !ok {
		return
	}
	cmd, err := control.Parse(name, body, true)
	if err != nil {
		jsonError(w, http.StatusBadRequest, err.Error())
		return
	}
	res, err := s.dev.Do(r.Context(), cmd, "web")
	if err != nil {
		jsonError(w, errorCode(err), err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "message": res.Message, "details": res.Details, "data": res.Data})
}
