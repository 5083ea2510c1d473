package web

import (
	"archive/zip"
	"bytes"
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
	"os"
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
}

// Limits on request bodies.
const (
	maxBody     = 64 << 10  // a command without files
	maxBulkBody = 256 << 20 // add_samples / import: base64 files (as the control socket)
	loginFails  = 10        // failed logins per minute before 429
)

// Server is the web app. Build it with New, hand it to the daemon as an
// Output and as daemon.Options.Web, then Bind the daemon.
type Server struct {
	log  *slog.Logger
	auth *auth
	hub  *hub
	mux  *http.ServeMux
	now  func() time.Time

	dev Device // set once by Bind, before the daemon runs

	failMu    sync.Mutex
	failStart time.Time
	fails     int
}

// New builds the web app; it serves 503 until Bind.
func New(o Options) *Server {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Server{log: o.Log, auth: newAuth(o.Now), hub: newHub(), now: o.Now}
	s.routes()
	return s
}

// Bind attaches the daemon (call before the daemon's Run).
func (s *Server) Bind(d Device) { s.dev = d }

// LoginLink returns the path of a new one-time login link (valid LinkTTL,
// once).
func (s *Server) LoginLink() (string, error) { return s.auth.newLink(), nil }

// ServeHTTP serves the app.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Referrer-Policy", "same-origin")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' blob: data:; style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'")
	if s.dev == nil {
		jsonError(w, http.StatusServiceUnavailable, "web: not ready")
		return
	}
	s.mux.ServeHTTP(w, r)
}

func (s *Server) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /login", s.login)
	m.HandleFunc("POST /logout", s.session(s.logout))
	m.HandleFunc("GET /{$}", s.page)
	m.HandleFunc("GET /static/", s.session(s.staticFile))
	m.HandleFunc("POST /api/cmd/{name}", s.session(s.command))
	m.HandleFunc("GET /api/status", s.session(s.status))
	m.HandleFunc("GET /api/events", s.session(s.events))
	m.HandleFunc("GET /api/stream.mjpeg", s.session(s.stream))
	m.HandleFunc("GET /api/samples", s.session(s.samples))
	m.HandleFunc("GET /api/samples/{id}/image", s.session(s.sampleImage))
	m.HandleFunc("GET /api/models", s.session(s.models))
	m.HandleFunc("GET /api/models/{version}/export", s.session(s.export))
	m.HandleFunc("GET /api/fleet", s.session(s.fleetView))
	m.HandleFunc("/", s.session(func(w http.ResponseWriter, r *http.Request) {
		jsonError(w, http.StatusNotFound, "web: no such page: "+r.URL.Path)
	}))
	s.mux = m
}

// session admits requests with a live session; state-changing ones must
// also come from this server's pages (Origin).
func (s *Server) session(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.auth.valid(r) {
			jsonError(w, http.StatusUnauthorized, "web: no session: open a login link (alphad web link)")
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

// loginThrottled counts a failed login; true when there were too many
// this minute.
func (s *Server) loginThrottled(fail bool) bool {
	s.failMu.Lock()
	defer s.failMu.Unlock()
	if now := s.now(); now.Sub(s.failStart) > time.Minute {
		s.failStart, s.fails = now, 0
	}
	if fail {
		s.fails++
	}
	return s.fails >= loginFails
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if s.loginThrottled(false) {
		jsonError(w, http.StatusTooManyRequests, "web: too many failed logins, try again in a minute")
		return
	}
	if !s.auth.useLink(r.URL.Query().Get("t")) {
		s.loginThrottled(true)
		s.log.Warn("web: refused login link", "remote", r.RemoteAddr)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, loginPage("This login link is used or expired. Run <code>alphad web link</code> on the device for a new one."))
		return
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: s.auth.newSession(), Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil, MaxAge: int(SessionTTL / time.Second)})
	s.log.Info("web: login", "remote", r.RemoteAddr)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	s.auth.end(r)
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
}

func loginPage(msg string) string {
	return `<!doctype html><html lang="en"><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">` +
		`<title>alphad</title><body style="font:16px system-ui,sans-serif;margin:2rem;max-width:30rem"><h1>alphad</h1><p>` + msg + `</p></body></html>`
}

func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	if !s.auth.valid(r) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, loginPage("Log in with a one-time link: run <code>alphad web link</code> on the device and open the link it prints."))
		return
	}
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

// command is POST /api/cmd/{name}: a command of the table (docs/commands.md)
// with its fields as a JSON object.
func (s *Server) command(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	spec, ok := control.Lookup(name)
	if ok && spec.Local {
		ok = false
	}
	if !ok {
		jsonError(w, http.StatusNotFound, fmt.Sprintf("command %q: unknown command", name))
		return
	}
	limit := int64(maxBody)
	if spec.Bulk {
		limit = maxBulkBody
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			jsonError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("command %s: body larger than %d bytes", name, limit))
			return
		}
		jsonError(w, http.StatusBadRequest, fmt.Sprintf("command %s: read body: %v", name, err))
		return
	}
	cmd, err := control.Parse(name, body, true)
	if err != nil {
		jsonError(w, http.StatusBadRequest, err.Error())
		return
	}
	res, err := s.dev.Do(r.Context(), cmd, "web")
	if err != nil {
		jsonError(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "message": res.Message, "details": res.Details, "data": res.Data})
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	res, err := s.dev.Do(r.Context(), control.Command{Name: control.Status}, "web")
	if err != nil {
		jsonError(w, http.StatusInternalServerError, err.Error())
		return
	}
	ls := s.dev.LiveStats()
	det := res.Details
	if det == nil {
		det = map[string]any{}
	}
	det["message"] = res.Message
	det["fps"] = num(ls.FPS)
	det["inference_ms"] = num(ls.InferenceMS)
	det["mqtt"] = ls.MQTT
	det["events_dropped"] = s.hub.dropped.Load()
	det["live_streams"] = ls.Watchers
	writeJSON(w, http.StatusOK, det)
}

// events is GET /api/events: server-sent events (prediction, classes,
// settings, training, result, model, camera).
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		jsonError(w, http.StatusInternalServerError, "web: streaming unsupported")
		return
	}
	ch, snap, ok := s.hub.subscribe()
	if !ok {
		jsonError(w, http.StatusServiceUnavailable, "web: too many open pages")
		return
	}
	defer s.hub.unsubscribe(ch)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, "retry: 2000\n\n")
	for _, m := range snap {
		w.Write(m)
	}
	fl.Flush()
	keep := time.NewTicker(15 * time.Second)
	defer keep.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case m := <-ch:
			if _, err := w.Write(m); err != nil {
				return
			}
			// Drain what queued meanwhile before one flush.
			for n := len(ch); n > 0; n-- {
				w.Write(<-ch)
			}
			fl.Flush()
		case <-keep.C:
			io.WriteString(w, ": keep-alive\n\n")
			fl.Flush()
		}
	}
}

// stream is GET /api/stream.mjpeg: the frames the model sees, as MJPEG
// (multipart/x-mixed-replace), at ui.stream_fps.
func (s *Server) stream(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		jsonError(w, http.StatusInternalServerError, "web: streaming unsupported")
		return
	}
	frames, stop := s.dev.WatchFrames()
	defer stop()
	const boundary = "alphadframe"
	w.Header().Set("Content-Type", "multipart/x-mixed-replace; boundary="+boundary)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	fl.Flush()
	for {
		select {
		case <-r.Context().Done():
			return
		case jpg := <-frames:
			if _, err := fmt.Fprintf(w, "--%s\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n", boundary, len(jpg)); err != nil {
				return
			}
			w.Write(jpg)
			io.WriteString(w, "\r\n")
			fl.Flush()
		}
	}
}

func (s *Server) samples(w http.ResponseWriter, r *http.Request) {
	cmd, err := control.Parse(control.Samples, labelArgs(r.URL.Query().Get("label")), false)
	if err != nil {
		jsonError(w, http.StatusBadRequest, err.Error())
		return
	}
	res, err := s.dev.Do(r.Context(), cmd, "web")
	if err != nil {
		jsonError(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, res.Details)
}

func labelArgs(label string) []byte {
	if label == "" {
		return nil
	}
	b, _ := json.Marshal(map[string]string{"label": label})
	return b
}

// sampleImage serves a stored sample's PNG; only ids the store holds.
func (s *Server) sampleImage(w http.ResponseWriter, r *http.Request) {
	p, ok := s.dev.SampleImagePath(r.PathValue("id"))
	if !ok {
		jsonError(w, http.StatusNotFound, "web: no such sample: "+r.PathValue("id"))
		return
	}
	f, err := os.Open(p)
	if err != nil {
		jsonError(w, http.StatusNotFound, "web: sample image: "+err.Error())
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "private, max-age=3600")
	io.Copy(w, f)
}

// modelJSON is a model version in GET /api/models.
type modelJSON struct {
	Version   string      `json:"version"`
	Created   time.Time   `json:"created"`
	Kind      string      `json:"kind"`
	Classes   []string    `json:"classes"`
	Samples   int         `json:"samples"`
	Source    string      `json:"source,omitempty"`
	Current   bool        `json:"current"`
	Accuracy  *float64    `json:"accuracy"` // on Report.On
	On        string      `json:"on,omitempty"`
	PerClass  []classAcc  `json:"per_class,omitempty"`
	Confusion [][]int     `json:"confusion,omitempty"`
	Epochs    []epochJSON `json:"epochs,omitempty"`
}

type classAcc struct {
	Class    string   `json:"class"`
	Support  int      `json:"support"`
	Accuracy *float64 `json:"accuracy"`
}

type epochJSON struct {
	Epoch       int      `json:"epoch"`
	Loss        *float64 `json:"loss"`
	Accuracy    *float64 `json:"accuracy"`
	ValLoss     *float64 `json:"val_loss"`
	ValAccuracy *float64 `json:"val_accuracy"`
}

func (s *Server) models(w http.ResponseWriter, r *http.Request) {
	vs, cur, err := s.dev.ModelVersions()
	if err != nil {
		jsonError(w, http.StatusInternalServerError, err.Error())
		return
	}
	list := make([]modelJSON, 0, len(vs))
	for i := len(vs) - 1; i >= 0; i-- { // newest first
		v := vs[i]
		m := modelJSON{Version: v.Name, Created: v.Created, Kind: v.Kind, Classes: v.Labels, Samples: v.Samples,
			Source: v.Source, Current: v.Name == cur}
		if rep := v.Report; rep != nil {
			m.Accuracy, m.On, m.Confusion = num(rep.Final.Accuracy), rep.On, rep.Final.Confusion
			for j, c := range rep.Final.PerClass {
				name := ""
				if j < len(v.Labels) {
					name = v.Labels[j]
				}
				m.PerClass = append(m.PerClass, classAcc{Class: name, Support: c.Support, Accuracy: num(c.Accuracy)})
			}
			for _, e := range rep.Epochs {
				if e.Refit || e.Member > 1 {
					continue
				}
				ej := epochJSON{Epoch: e.Epoch, Loss: num(e.TrainLoss), Accuracy: num(e.TrainAccuracy)}
				if e.HasVal {
					ej.ValLoss, ej.ValAccuracy = num(e.ValLoss), num(e.ValAccuracy)
				}
				m.Epochs = append(m.Epochs, ej)
			}
		}
		list = append(list, m)
	}
	writeJSON(w, http.StatusOK, map[string]any{"current": cur, "models": list})
}

// export is GET /api/models/{version}/export: a zip of model.tflite and
// labels.txt (Teachable Machine's layout).
func (s *Server) export(w http.ResponseWriter, r *http.Request) {
	args, _ := json.Marshal(map[string]string{"version": r.PathValue("version")})
	cmd, err := control.Parse(control.Export, args, false)
	if err != nil {
		jsonError(w, http.StatusBadRequest, err.Error())
		return
	}
	res, err := s.dev.Do(r.Context(), cmd, "web")
	if err != nil {
		jsonError(w, http.StatusNotFound, err.Error())
		return
	}
	labels, _ := res.Details["labels"].([]string)
	version, _ := res.Details["model_version"].(string)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range []struct {
		name string
		data []byte
	}{{"model.tflite", res.Data}, {"labels.txt", tmLabels(labels)}} {
		fw, err := zw.Create(f.name)
		if err == nil {
			_, err = fw.Write(f.data)
		}
		if err != nil {
			jsonError(w, http.StatusInternalServerError, "web: export zip: "+err.Error())
			return
		}
	}
	if err := zw.Close(); err != nil {
		jsonError(w, http.StatusInternalServerError, "web: export zip: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", "alphad-"+version+".zip"))
	w.Write(buf.Bytes())
}

// tmLabels is labels.txt as Teachable Machine writes it: "<i> <label>".
func tmLabels(labels []string) []byte {
	var b bytes.Buffer
	for i, l := range labels {
		fmt.Fprintf(&b, "%d %s\n", i, l)
	}
	return b.Bytes()
}
