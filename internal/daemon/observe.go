package daemon

import (
	"context"
	"fmt"
	"math"
	"net"
	"net/http"
	"time"

	"github.com/alphad/alphad/internal/metrics"
	"github.com/alphad/alphad/mqtt"
)

var nan = math.NaN()

// daemonMetrics are the daemon's Prometheus metrics.
type daemonMetrics struct {
	reg            *metrics.Registry
	frames         *metrics.Counter
	cameraFrames   *metrics.Counter
	dropped        *metrics.Counter
	fps            *metrics.Gauge
	latency        *metrics.Histogram
	inferErrors    *metrics.Counter
	labelChanges   *metrics.Counter
	cameraUp       *metrics.Gauge
	cameraErrors   *metrics.Counter
	mqttUp         *metrics.Gauge
	trainRuns      *metrics.Counter
	trainFailures  *metrics.Counter
	samples        *metrics.GaugeVec
	samplesSaved   *metrics.Counter
	samplesDropped *metrics.Counter
	modelLoaded    *metrics.Gauge
	hookRuns       *metrics.Gauge
	hookFailures   *metrics.Gauge
	modelAccuracy  *metrics.GaugeVec
}

func newMetrics() *daemonMetrics {
	r := metrics.NewRegistry()
	return &daemonMetrics{
		reg:            r,
		frames:         r.Counter("alphad_frames_total", "Frames taken by the frame loop."),
		cameraFrames:   r.Counter("alphad_camera_frames_total", "Frames delivered by the camera."),
		dropped:        r.Counter("alphad_frames_dropped_total", "Frames replaced by a newer one before the frame loop took them."),
		fps:            r.Gauge("alphad_fps", "Frames processed per second over the last status interval."),
		latency:        r.Histogram("alphad_inference_seconds", "Time to preprocess and classify one frame.", []float64{0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.2, 0.5, 1}),
		inferErrors:    r.Counter("alphad_inference_errors_total", "Frames the model failed on."),
		labelChanges:   r.Counter("alphad_label_changes_total", "Changes of the decided label."),
		cameraUp:       r.Gauge("alphad_camera_up", "1 while the camera delivers frames."),
		cameraErrors:   r.Counter("alphad_camera_errors_total", "Camera failures (open, read, stall)."),
		mqttUp:         r.Gauge("alphad_mqtt_connected", "1 while connected to the MQTT broker."),
		trainRuns:      r.Counter("alphad_training_runs_total", "Training runs started."),
		trainFailures:  r.Counter("alphad_training_failures_total", "Training runs that failed."),
		samples:        r.GaugeVec("alphad_samples", "Stored samples per class.", "class"),
		samplesSaved:   r.Counter("alphad_samples_recorded_total", "Samples recorded by the daemon."),
		samplesDropped: r.Counter("alphad_samples_dropped_total", "Recorded samples that could not be stored."),
		modelLoaded:    r.Gauge("alphad_model_loaded", "1 when a model classifies frames."),
		hookRuns:       r.Gauge("alphad_hook_runs", "Hook runs."),
		hookFailures:   r.Gauge("alphad_hook_failures", "Hook runs that failed."),
		modelAccuracy:  r.GaugeVec("alphad_model_accuracy", "Validation accuracy per class of the model in use (absent when unknown).", "class"),
	}
}

// sessionGuard is a web app that can put a handler behind its sessions
// (http.metrics_auth).
type sessionGuard interface {
	RequireSession(http.Handler) http.Handler
}

// httpHandler serves /metrics and /healthz.
func (d *Daemon) httpHandler() http.Handler {
	mux := http.NewServeMux()
	var metricsH http.Handler = d.m.reg.Handler()
	if d.cfg.HTTP.MetricsAuth {
		metricsH = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "metrics: http.metrics_auth needs the web app", http.StatusForbidden)
		})
		if g, ok := d.opts.Web.(sessionGuard); ok {
			metricsH = g.RequireSession(d.m.reg.Handler())
		}
	}
	mux.Handle("/metrics", metricsH)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		ok, reason := d.health()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if !ok {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, reason)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	if d.opts.Web != nil {
		mux.Handle("/", d.opts.Web)
	}
	return mux
}

// health is ok when a frame was processed within Options.HealthWindow.
func (d *Daemon) health() (bool, string) {
	last := d.lastFrame.Load()
	_, camErr := d.cam.get()
	if last == 0 {
		if camErr != "" {
			return false, "no frame yet: " + camErr
		}
		return false, "no frame yet"
	}
	age := time.Since(time.Unix(0, last))
	if age > d.opts.HealthWindow {
		reason := fmt.Sprintf("no frame for %v", age.Round(time.Second))
		if camErr != "" {
			reason += ": " + camErr
		}
		return false, reason
	}
	return true, ""
}

// alive reports whether the frame loop goroutines are not stuck: the
// capture loop beats on every frame, error and retry (so a camera outage
// still counts as alive), and the frame loop is not stuck on one frame.
func (d *Daemon) alive(now time.Time) bool {
	if !d.capWaiting.Load() && now.Sub(time.Unix(0, d.capBeat.Load())) > d.opts.StuckAfter {
		return false
	}
	if b := d.busySince.Load(); b != 0 && now.Sub(time.Unix(0, b)) > d.opts.StuckAfter {
		return false
	}
	return true
}

// sendReady tells systemd the daemon is up: called on the first frame,
// with the model loaded (or no-model mode entered) in New.
func (d *Daemon) sendReady() {
	d.readyOnce.Do(func() {
		status := d.status(-1)
		d.log.Info("ready", "status", status)
		if d.opts.Notifier != nil {
			if err := d.opts.Notifier.Ready(status); err != nil {
				d.log.Warn("sd_notify", "err", err)
			}
		}
		d.ready.Store(true) // after READY=1: the watchdog starts now
	})
}

// supervise feeds the systemd watchdog while the frame loop is alive and
// refreshes STATUS= and the gauges.
func (d *Daemon) supervise(ctx context.Context) error {
	var wd <-chan time.Time
	if d.opts.WatchdogInterval > 0 && d.opts.Notifier != nil {
		t := time.NewTicker(d.opts.WatchdogInterval)
		defer t.Stop()
		wd = t.C
	}
	st := time.NewTicker(d.opts.StatusInterval)
	defer st.Stop()
	lastN, lastT := d.stats.frames.Load(), time.Now()
	lastInf, lastNS := d.stats.infers.Load(), d.stats.inferNS.Load()
	starving := false
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-wd:
			d.wdTicks.Add(1)
			if !d.ready.Load() {
				continue // systemd's start timeout covers the start
			}
			if d.alive(time.Now()) { // not the tick time: a tick handled late must not vouch for now
				d.opts.Notifier.Watchdog()
				starving = false
			} else if !starving {
				starving = true
				d.log.Error("frame loop stuck: not feeding the watchdog")
			}
		case now := <-st.C:
			n, inf, ns := d.stats.frames.Load(), d.stats.infers.Load(), d.stats.inferNS.Load()
			fps := float64(n-lastN) / now.Sub(lastT).Seconds()
			ms := nan
			if inf > lastInf {
				ms = float64(ns-lastNS) / float64(inf-lastInf) / 1e6
			}
			lastN, lastT, lastInf, lastNS = n, now, inf, ns
			d.stats.fps.Store(math.Float64bits(fps))
			d.stats.inferMS.Store(math.Float64bits(ms))
			d.m.fps.Set(fps)
			hs := d.hooks.Stats()
			d.m.hookRuns.Set(float64(hs.Runs))
			d.m.hookFailures.Set(float64(hs.Failures))
			loaded := 0.0
			if d.model.clf.Model() != nil {
				loaded = 1
			}
			d.m.modelLoaded.Set(loaded)
			if d.opts.Notifier != nil && d.ready.Load() {
				d.opts.Notifier.Status(d.status(fps))
			}
		}
	}
}

// status is the one-line STATUS= text, e.g. "running, 14.8 fps, model
// v000007"; fps < 0 leaves the rate out.
func (d *Daemon) status(fps float64) string {
	camUp, camErr := d.cam.get()
	var s string
	m := d.model.clf.Model()
	switch {
	case !camUp && camErr != "":
		s = "camera down (" + camErr + "), retrying"
	case m == nil:
		s = "no model: recording and training only"
		if fps >= 0 {
			s += fmt.Sprintf(", %.1f fps", fps)
		}
	default:
		s = "running"
		if fps >= 0 {
			s += fmt.Sprintf(", %.1f fps", fps)
		}
		s += ", model " + m.Version
	}
	if d.trainer.busy() {
		s += ", training"
	}
	if l := d.rec.active(); l != "" {
		s += ", recording " + l
	}
	return s
}

// diagnostics are polled by the MQTT client.
func (d *Daemon) diagnostics() mqtt.Diagnostics {
	up, camErr := d.cam.get()
	diag := mqtt.Diagnostics{FPS: math.Float64frombits(d.stats.fps.Load()), InferenceMS: math.Float64frombits(d.stats.inferMS.Load()),
		SamplesPerClass: d.st.Counts(), ValidationAccuracy: d.model.info.Load().valAcc}
	switch {
	case up:
		diag.Camera = "ok"
	case camErr != "":
		diag.FPS = 0
		diag.Camera = camErr
	default:
		diag.FPS = 0
	}
	diag.DroppedFrames = d.stats.dropped.Load()
	diag.Fleet = d.fleetStatus()
	if m := d.model.clf.Model(); m != nil {
		diag.ModelVersion = m.Version
	}
	if math.IsNaN(diag.InferenceMS) {
		diag.InferenceMS = 0
	}
	if !d.started.IsZero() {
		diag.Uptime = time.Since(d.started)
		diag.StartedAt = d.started
	}
	return diag
}

// httpTimeouts bound the HTTP server's connections.
type httpTimeouts struct {
	header time.Duration // to read a request's headers
	idle   time.Duration // a keep-alive connection between requests
	stall  time.Duration // one write of a response (see writeTimeout)
}

// newHTTPServer serves h with the timeouts t; requests' contexts derive
// from base.
func newHTTPServer(h http.Handler, base context.Context, t httpTimeouts) *http.Server {
	return &http.Server{Handler: writeTimeout(h, t.stall), ReadHeaderTimeout: t.header, IdleTimeout: t.idle,
		WriteTimeout: t.stall, BaseContext: func(net.Listener) context.Context { return base }}
}

// httpWriteStall is how long one write of an HTTP response may take: a
// client that stops reading is dropped after it.
const httpWriteStall = 30 * time.Second

// writeTimeout gives every write of h's responses its own deadline, stall
// from when it starts, through http.ResponseController: the server's
// WriteTimeout alone would cut the long-lived responses (the web app's
// event stream and live view) after that long, while these only end when
// the client stops reading. A handler that answers late (a training run
// awaited) gets the full stall for its first write too.
func writeTimeout(h http.Handler, stall time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(&stallWriter{ResponseWriter: w, rc: http.NewResponseController(w), stall: stall}, r)
	})
}

// stallWriter extends the write deadline before each write or flush.
type stallWriter struct {
	http.ResponseWriter
	rc    *http.ResponseController
	stall time.Duration
}

func (s *stallWriter) extend() { _ = s.rc.SetWriteDeadline(time.Now().Add(s.stall)) }

func (s *stallWriter) WriteHeader(code int) {
	s.extend()
	s.ResponseWriter.WriteHeader(code)
}

func (s *stallWriter) Write(p []byte) (int, error) {
	s.extend()
	return s.ResponseWriter.Write(p)
}

// Flush is http.Flusher's, for handlers that assert it.
func (s *stallWriter) Flush() {
	s.extend()
	_ = s.rc.Flush()
}

// Unwrap lets http.ResponseController reach the server's writer.
func (s *stallWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }
