package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/alphad/alphad/device"
	"github.com/alphad/alphad/device/panel"
	"github.com/alphad/alphad/hooks"
	"github.com/alphad/alphad/internal/control"
	"github.com/alphad/alphad/internal/metrics"
	"github.com/alphad/alphad/mqtt"
	"github.com/alphad/alphad/pipeline/engine"
	"github.com/alphad/alphad/pipeline/head"
	"github.com/alphad/alphad/pipeline/store"
)

// Panel is the GPIO panel as the daemon drives it (*panel.Panel).
type Panel interface {
	Events() <-chan panel.Event
	Show(panel.Pattern)
	Run(ctx context.Context) error
}

// Notifier is systemd's notification socket (*sdnotify.Notifier).
type Notifier interface {
	Ready(status string) error
	Status(status string) error
	Watchdog() error
	Stopping() error
}

// Output consumes the daemon's events: decisions, classes, settings,
// training progress and results, model and camera changes. Notify must not
// block (the frame loop calls it).
type Output interface {
	Notify(control.Event)
}

// Link is an output with a connection of its own that runs beside the
// daemon (MQTT; its connected gauge follows mqtt.Options.OnConnection).
type Link interface {
	Output
	Run(ctx context.Context) error
}

// Options are the daemon's dependencies; cmd/alphad, the composition
// root, builds them (it reads the environment, initialises the GPIO host,
// resolves pins and knows how to open cameras).
type Options struct {
	Config   Config // validated (ParseConfig)
	StateDir string // samples and model versions
	Log      *slog.Logger
	// LogLevel, when set, is the level of Log; SIGHUP (Reload) changes it.
	LogLevel *slog.LevelVar
	// OpenCamera opens the configured camera; it is called again to
	// reopen it after a failure. It must return when ctx ends.
	OpenCamera func(ctx context.Context) (device.Camera, error)
	// Engine builds inference engines (with its auto-fallback applied).
	Engine engine.New
	// MQTT builds the MQTT link, given the daemon's command handler and
	// diagnostics (nil: MQTT off).
	MQTT func(mqtt.Options) (Link, error)
	// Outputs are further consumers of the daemon's events (e.g. tests).
	Outputs []Output
	// Panel is the GPIO panel (nil: none).
	Panel Panel
	// Notifier talks to systemd (nil: none). WatchdogInterval is how often
	// WATCHDOG=1 is sent (0: no watchdog).
	Notifier         Notifier
	WatchdogInterval time.Duration
	// Web is the web app, served on the HTTP listener beside /metrics and
	// /healthz (nil: none). The login_link command asks it for links.
	Web WebApp
	// Listener serves /metrics and /healthz; nil: listen on
	// Config.HTTP.Listen ("" = off).
	Listener net.Listener
	// ControlSocket is the unix socket the local CLI reaches the daemon
	// on ("" = <state>/control.sock; "-" = none).
	ControlSocket string
	DeviceID      string // names the device in hook events
	// StatusInterval is how often STATUS= and the gauges are refreshed
	// (default 5 s).
	StatusInterval time.Duration
	// HealthWindow: /healthz fails when no frame was processed for this
	// long (default 5 s).
	HealthWindow time.Duration
	// StuckAfter: the watchdog is starved when the frame loop spends this
	// long on one frame or the capture loop goes this long without a
	// heartbeat (default 25 s, inside WatchdogSec=30s).
	StuckAfter time.Duration
	// StopTimeout bounds the whole shutdown (default 8 s, inside
	// systemd's TimeoutStopSec=10s).
	StopTimeout time.Duration
}

// Timeouts of the lifecycle.
const (
	// frameTimeout is how long Next may wait before the camera counts as
	// stalled and is reopened.
	frameTimeout = 10 * time.Second
	// defaultStopTimeout bounds the whole shutdown (systemd's
	// TimeoutStopSec is 10 s).
	defaultStopTimeout = 8 * time.Second
	// cameraCloseTimeout bounds closing the camera.
	cameraCloseTimeout = 5 * time.Second
)

// ErrNoBackbone means the daemon has neither a model to run nor a
// backbone to train one; the message says how to get one.
var ErrNoBackbone = store.ErrNoBackbone

// Daemon is `alphad run`: camera → frame loop (preprocess, backbone, head,
// decide) → outputs, plus the recorder, the trainer and the command layer.
// Build it with New and run it once with Run.
type Daemon struct {
	cfg    Config
	opts   Options
	log    *slog.Logger
	state  *store.State // the state directory, owned while the daemon runs
	st     *store.Store
	models *store.Models
	model  *modelSlot
	hooks  *hooks.Runner
	links  []Link // outputs with a connection (MQTT): run beside the daemon
	out    outputs
	m      *daemonMetrics

	reloadMu sync.Mutex
	loaded   Config // the configuration last applied (New, Reload)

	rec      *recorder
	trainer  *trainer
	settings *settings
	review   *reviewer
	cam      cameraState
	mb       mailbox

	started   time.Time
	ready     atomic.Bool // READY=1 was sent
	readyOnce sync.Once
	// Heartbeats (unix nanoseconds) for the watchdog supervisor.
	capBeat    atomic.Int64
	capWaiting atomic.Bool   // capture waits for the frame loop to take a frame
	busySince  atomic.Int64  // processing a frame since; 0 = idle
	lastFrame  atomic.Int64  // last frame processed
	wdTicks    atomic.Uint64 // watchdog ticks seen by the supervisor
	stats      frameStats
	tap        frameTap // the live view's frames (webhooks.go)
	fleet      fleetPart
}

// New opens the state directory's store and models and loads the model to
// run: Config.Model.Path, else the state directory's current version.
// With no model it still runs (recording and training only) when a
// backbone is available; with neither it fails with ErrNoBackbone and a
// message saying how to get one.
func New(o Options) (*Daemon, error) {
	if err := o.Config.Validate(); err != nil {
		return nil, err
	}
	if o.OpenCamera == nil || o.Engine == nil || o.StateDir == "" {
		return nil, errors.New("daemon: OpenCamera, Engine and StateDir are required")
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.StatusInterval <= 0 {
		o.StatusInterval = 5 * time.Second
	}
	if o.HealthWindow <= 0 {
		o.HealthWindow = 5 * time.Second
	}
	if o.StuckAfter <= 0 {
		o.StuckAfter = 25 * time.Second
	}
	if o.StopTimeout <= 0 {
		o.StopTimeout = defaultStopTimeout
	}
	var err error
	d := &Daemon{cfg: o.Config, loaded: o.Config, opts: o, log: o.Log, model: newModelSlot(), m: newMetrics()}
	d.mb.init()
	d.stats.inferMS.Store(math.Float64bits(nan))
	d.trainer = newTrainer()
	d.trainer.onIdle = d.showLED
	if d.state, err = store.OpenState(o.StateDir, o.Log); err != nil {
		return nil, fmt.Errorf("daemon: %w", err)
	}
	d.st, d.models = d.state.Samples(), d.state.Models()
	m, fromFile, err := d.loadStartModel()
	if err != nil {
		d.state.Close()
		return nil, err
	}
	if m == nil {
		if _, src, err := d.backbone(); err != nil && !o.Config.Fleet.Adopt {
			d.state.Close()
			return nil, err
		} else if err != nil {
			d.log.Info("no model and no backbone yet: waiting for the fleet's model", "group", o.Config.Fleet.Group)
		} else {
			d.log.Info("no model yet: recording and training only", "backbone", src)
		}
	}
	d.model.set(m, fromFile, d.versionValAcc(m, fromFile))
	d.setAccuracyMetric(m, fromFile)
	d.models.Keep = o.Config.Training.KeepVersions
	if d.settings, err = openSettings(d.state, o.Config.Smoothing, o.Config.Camera, d.st.Classes(), o.Log); err != nil {
		d.close(true, true)
		return nil, fmt.Errorf("daemon: %w", err)
	}
	d.rec = newRecorder(d.st, o.Config.Recording, o.Log, d.m)
	if d.review, err = newReviewer(d.state.Review(), o.Config.Review, d.m.reg); err != nil {
		d.close(true, true)
		return nil, fmt.Errorf("daemon: %w", err)
	}
	d.rec.stored = func(s store.Sample) {
		d.out.emit(control.SampleStored{ID: s.ID, Label: s.Label, Source: s.Source, Time: s.Time})
	}
	if d.hooks, err = hooks.New(o.Config.Hooks, o.Log); err != nil {
		d.close(true, true)
		return nil, fmt.Errorf("daemon: %w", err)
	}
	d.hooks.SetDevice(o.DeviceID)
	d.out = append(d.out, d.hooks)
	if o.MQTT != nil {
		mq, err := o.MQTT(mqtt.Options{Logger: o.Log, Handler: mqttHandler{d}, Diagnostics: d.diagnostics,
			OnConnection: func(up bool) { d.m.mqttUp.Set(map[bool]float64{true: 1}[up]) }})
		if err != nil {
			d.close(true, true)
			return nil, fmt.Errorf("daemon: %w", err)
		}
		d.links = append(d.links, mq)
		d.out = append(d.out, mq)
	}
	if err := d.openFleet(); err != nil {
		d.close(true, true)
		return nil, fmt.Errorf("daemon: %w", err)
	}
	d.out = append(d.out, o.Outputs...)
	d.refreshClassMetrics()
	return d, nil
}

// Metrics is the daemon's Prometheus registry (served at /metrics).
func (d *Daemon) Metrics() *metrics.Registry { return d.m.reg }

// close releases what New opened. A model or store a stuck goroutine may
// still use is left open (the process is about to exit anyway).
func (d *Daemon) close(modelFree, storeFree bool) {
	if modelFree {
		if m := d.model.clf.Swap(nil); m != nil {
			m.Close()
		}
	} else {
		d.log.Error("frame loop still busy: model left open")
	}
	if d.state != nil {
		if storeFree {
			d.state.Close()
		} else {
			d.log.Error("training still busy: store left open")
		}
	}
}

// Run runs the daemon until ctx ends (a success: it returns nil) or a
// component fails. On the way out it tells systemd STOPPING=1, stops
// training, the frame loop and the camera, then the panel (LED off), the
// control socket, MQTT (offline published) and the HTTP server — every
// wait bounded by one stop deadline (Options.StopTimeout). Run may be
// called once.
func (d *Daemon) Run(ctx context.Context) error {
	d.started = time.Now()
	modelFree, storeFree := true, true
	defer func() { d.close(modelFree, storeFree) }()
	ln := d.opts.Listener
	if ln == nil && d.cfg.HTTP.Listen != "" {
		var err error
		if ln, err = net.Listen("tcp", d.cfg.HTTP.Listen); err != nil {
			return fmt.Errorf("daemon: http listen %s: %w", d.cfg.HTTP.Listen, err)
		}
	}
	sock, err := d.listenControl()
	if err != nil {
		if ln != nil {
			ln.Close()
		}
		return err
	}

	// Outer tier: MQTT, panel, hooks, HTTP, control socket. It outlives
	// ctx until the core has stopped, so offline and LED-off come last.
	ioCtx, ioCancel := context.WithCancel(context.WithoutCancel(ctx))
	defer ioCancel()
	io, ioCtx := errgroup.WithContext(ioCtx)
	var srv *http.Server
	if ln != nil {
		// Long-lived responses (the web app's event stream and live view)
		// end when Shutdown begins: their context is cancelled.
		reqCtx, reqCancel := context.WithCancel(context.WithoutCancel(ctx))
		defer reqCancel()
		srv = newHTTPServer(d.httpHandler(), reqCtx, httpTimeouts{header: 5 * time.Second, idle: 30 * time.Second, stall: httpWriteStall})
		srv.RegisterOnShutdown(reqCancel)
		io.Go(func() error {
			serve := func() error { return srv.Serve(ln) }
			if d.cfg.HTTP.TLS() {
				serve = func() error { return srv.ServeTLS(ln, d.cfg.HTTP.TLSCert, d.cfg.HTTP.TLSKey) }
			}
			if err := serve(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("daemon: http: %w", err)
			}
			return nil
		})
		what := "/metrics and /healthz"
		if d.opts.Web != nil {
			what = "the web app, /metrics and /healthz"
		}
		d.log.Info("serving "+what, "addr", ln.Addr().String())
	}
	for _, l := range d.links {
		io.Go(func() error { return l.Run(ioCtx) })
		if il, ok := l.(imageLink); ok && il.ImageInterval() > 0 {
			io.Go(func() error { return d.publishImages(ioCtx, il) })
		}
	}
	io.Go(func() error { return d.hooks.Run(ioCtx) })
	if d.opts.Panel != nil {
		io.Go(func() error { return d.opts.Panel.Run(ioCtx) })
		d.opts.Panel.Show(panel.Idle)
	}
	d.publishClasses()
	d.out.emit(d.settings.event())

	// Inner tier: frame loop, saver, control, supervisor. It stops first.
	coreCtx, coreCancel := context.WithCancel(ctx)
	defer coreCancel()
	context.AfterFunc(ioCtx, coreCancel) // an outer failure stops everything
	core, coreCtx := errgroup.WithContext(coreCtx)
	d.trainer.begin(coreCtx)
	camClosed := make(chan struct{})
	frameLoopDone := make(chan struct{})
	core.Go(func() error { return d.capture(coreCtx, camClosed) })
	core.Go(func() error { defer close(frameLoopDone); return d.process(coreCtx) })
	core.Go(func() error { return d.rec.saver(coreCtx, d.samplesChanged) })
	core.Go(func() error { return d.reviewWriter(coreCtx) })
	core.Go(func() error { return d.supervise(coreCtx) })
	if d.opts.Panel != nil {
		core.Go(func() error { return d.panelEvents(coreCtx, d.opts.Panel.Events()) })
	}
	if sock != nil {
		core.Go(func() error { return sock.serve(coreCtx) })
	}

	<-coreCtx.Done()
	if d.opts.Notifier != nil {
		d.opts.Notifier.Stopping()
	}
	d.log.Info("stopping")
	// One deadline for every wait below; the inner tier gets three
	// quarters of it so that the outer one (offline, LED off) always has
	// time left.
	stopCtx, stopCancel := context.WithTimeout(context.Background(), d.opts.StopTimeout)
	defer stopCancel()
	coreStop, coreStopCancel := context.WithTimeout(stopCtx, d.opts.StopTimeout*3/4)
	defer coreStopCancel()
	trainDone := d.trainer.stop() // no training starts from now on
	coreErr := waitGroup(coreStop, core, "frame loop")
	if errors.Is(coreErr, errSourceEnded) {
		coreErr = nil // a finite source ended: a clean stop
	}
	if !waitChan(coreStop, trainDone) {
		storeFree = false
		coreErr = errors.Join(coreErr, errors.New("daemon: training did not stop in time"))
	}
	if !waitChan(coreStop, frameLoopDone) {
		modelFree = false
	}
	if !waitChan(coreStop, camClosed) {
		d.log.Error("camera did not close in time")
	}
	if d.opts.Panel != nil {
		d.opts.Panel.Show(panel.Off)
	}
	if srv != nil {
		sctx, cancel := context.WithTimeout(stopCtx, time.Second)
		srv.Shutdown(sctx)
		cancel()
	}
	ioCancel()
	ioErr := waitGroup(stopCtx, io, "mqtt/panel/hooks")
	d.logSummary()
	if err := errors.Join(coreErr, ioErr); err != nil {
		return err
	}
	return nil
}

// waitGroup waits for g until stop ends; cancellation errors are success.
func waitGroup(stop context.Context, g *errgroup.Group, what string) error {
	done := make(chan error, 1)
	go func() { done <- g.Wait() }()
	select {
	case err := <-done:
		if errors.Is(err, context.Canceled) {
			return nil
		}
		return err
	case <-stop.Done():
		return fmt.Errorf("daemon: %s did not stop in time", what)
	}
}

// waitChan waits for ch to close until stop ends.
func waitChan(stop context.Context, ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	case <-stop.Done():
		return false
	}
}

// Summary are the run's totals (printed at exit, used by benchmarks).
type Summary struct {
	Elapsed     time.Duration
	Frames      uint64 // frames processed
	Inferences  uint64
	Dropped     uint64 // frames replaced by a newer one before processing
	FPS         float64
	InferenceMS float64 // mean
}

// Summary returns the totals so far.
func (d *Daemon) Summary() Summary {
	s := Summary{Elapsed: time.Since(d.started), Frames: d.stats.frames.Load(), Inferences: d.stats.infers.Load(), Dropped: d.stats.dropped.Load()}
	if s.Elapsed > 0 {
		s.FPS = float64(s.Frames) / s.Elapsed.Seconds()
	}
	if s.Inferences > 0 {
		s.InferenceMS = float64(d.stats.inferNS.Load()) / float64(s.Inferences) / 1e6
	}
	return s
}

func (d *Daemon) logSummary() {
	s := d.Summary()
	d.log.Info("stopped", "elapsed", s.Elapsed.Round(time.Millisecond), "frames", s.Frames, "inferences", s.Inferences,
		"fps", fmt.Sprintf("%.1f", s.FPS), "inference_ms", fmt.Sprintf("%.2f", s.InferenceMS), "dropped", s.Dropped)
}

// frameStats are the frame loop's counters.
type frameStats struct {
	frames  atomic.Uint64 // frames processed
	infers  atomic.Uint64
	inferNS atomic.Int64 // total inference time
	dropped atomic.Uint64
	fps     atomic.Uint64 // float64 bits, over the last status interval
	inferMS atomic.Uint64 // float64 bits, NaN when no inference
}

// outputs fans events out to every Output.
type outputs []Output

func (o outputs) emit(e control.Event) {
	for _, out := range o {
		out.Notify(e)
	}
}

// modelSlot is the model in use: the classifier (swapped atomically; the
// frame loop reads it per frame), where it came from and its validation
// accuracy.
type modelSlot struct {
	clf  *head.Classifier
	info atomic.Pointer[modelInfo]
	// swapping makes swapModel one at a time: a backbone a new version
	// shares stays open until the version is in use.
	swapping sync.Mutex
}

type modelInfo struct {
	fromFile string  // model.path when the model came from it
	valAcc   float64 // NaN when unknown
}

func newModelSlot() *modelSlot {
	s := &modelSlot{clf: head.NewClassifier(nil)}
	s.info.Store(&modelInfo{valAcc: nan})
	return s
}

// set puts m in use and returns the model it replaced.
func (s *modelSlot) set(m *head.Model, fromFile string, valAcc float64) *head.Model {
	s.info.Store(&modelInfo{fromFile: fromFile, valAcc: valAcc})
	return s.clf.Swap(m)
}
