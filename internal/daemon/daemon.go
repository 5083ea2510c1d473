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
	"github.com/alphad/alphad/internal/metrics"
	"github.com/alphad/alphad/mqtt"
	"github.com/alphad/alphad/pipeline"
	"github.com/alphad/alphad/pipeline/engine"
	"github.com/alphad/alphad/pipeline/head"
	"github.com/alphad/alphad/pipeline/hooks"
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

// Options are the daemon's dependencies; cmd/alphad, the composition
// root, builds them (it reads the environment, initialises the GPIO host,
// resolves pins and knows how to open cameras).
type Options struct {
	Config   Config // validated (ParseConfig)
	StateDir string // samples and model versions
	Log      *slog.Logger
	// OpenCamera opens the configured camera; it is called again to
	// reopen it after a failure.
	OpenCamera func(ctx context.Context) (device.Camera, error)
	// Engine builds inference engines (with its auto-fallback applied).
	Engine engine.New
	// MQTT builds the client, given the daemon's handler and diagnostics
	// (nil: MQTT off).
	MQTT func(mqtt.Options) (*mqtt.Client, error)
	// Panel is the GPIO panel (nil: none).
	Panel Panel
	// Notifier talks to systemd (nil: none). WatchdogInterval is how often
	// WATCHDOG=1 is sent (0: no watchdog).
	Notifier         Notifier
	WatchdogInterval time.Duration
	// Listener serves /metrics and /healthz; nil: listen on
	// Config.HTTP.Listen ("" = off).
	Listener net.Listener
	DeviceID string // names the device in hook events
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
}

// Timeouts of the lifecycle.
const (
	// frameTimeout is how long Next may wait before the camera counts as
	// stalled and is reopened.
	frameTimeout = 10 * time.Second
	// stopTimeout bounds the whole shutdown (systemd's TimeoutStopSec is 10 s).
	stopTimeout = 8 * time.Second
	// cameraCloseTimeout bounds closing the camera.
	cameraCloseTimeout = 5 * time.Second
)

// ErrNoBackbone means the daemon has neither a model to run nor a
// backbone to train one; the message says how to get one.
var ErrNoBackbone = store.ErrNoBackbone

// Daemon is `alphad run`: camera → tensor → backbone → head → smoothing →
// decisions → MQTT and hooks, plus recording, background training and
// model swaps. Build it with New and run it once with Run.
type Daemon struct {
	cfg      Config
	opts     Options
	log      *slog.Logger
	state    *store.State
	st       *store.Store
	models   *store.Models
	clf      *head.Classifier
	fromFile string // model.path when the model in use came from it
	mq       *mqtt.Client
	hooks    *hooks.Runner
	m        *daemonMetrics
	started  time.Time

	mb mailbox

	// Heartbeats (unix nanoseconds) for the watchdog supervisor.
	capBeat    atomic.Int64
	capWaiting atomic.Bool  // capture waits for the frame loop to take a frame
	busySince  atomic.Int64 // processing a frame since; 0 = idle
	lastFrame  atomic.Int64 // last frame processed

	smooth     *pipeline.Smoother // owned by the frame loop
	threshold  atomic.Uint64      // pending threshold change (float64 bits | thresholdPending); 0 = none
	thresholdV atomic.Uint64      // current threshold (float64 bits)

	ready    atomic.Bool
	frames   atomic.Uint64 // frames processed
	infers   atomic.Uint64
	inferNS  atomic.Int64 // total inference time
	dropped  atomic.Uint64
	trainers sync.WaitGroup

	mu        sync.Mutex
	camUp     bool
	camErr    string
	rec       *burst
	teach     string
	training  bool
	counts    map[string]int
	valAcc    float64
	fps       float64
	inferMS   float64
	trainCtx  context.Context
	saveQueue chan sample
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
	var err error
	d := &Daemon{cfg: o.Config, opts: o, log: o.Log, clf: head.NewClassifier(nil), counts: map[string]int{}, valAcc: nan, inferMS: nan,
		saveQueue: make(chan sample, 32)}
	d.thresholdV.Store(math.Float64bits(o.Config.Smoothing.Threshold))
	if d.smooth, err = pipeline.NewSmoother(o.Config.Smoothing); err != nil {
		return nil, fmt.Errorf("daemon: %w", err)
	}
	d.mb.init()
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
		if _, src, err := d.backbone(); err != nil {
			d.state.Close()
			return nil, err
		} else {
			d.log.Info("no model yet: recording and training only", "backbone", src)
		}
	}
	d.clf.Swap(m)
	d.fromFile = fromFile
	if m != nil && fromFile == "" {
		d.valAcc = d.versionValAcc(m.Version)
	}
	d.models.Keep = o.Config.Training.KeepVersions
	d.counts = d.st.Counts()
	if classes := d.st.Classes(); len(classes) > 0 {
		d.teach = classes[0]
	}
	if d.hooks, err = hooks.New(o.Config.Hooks, o.Log); err != nil {
		d.close()
		return nil, fmt.Errorf("daemon: %w", err)
	}
	d.m = newMetrics()
	if o.MQTT != nil {
		if d.mq, err = o.MQTT(mqtt.Options{Logger: o.Log, Handler: d, Diagnostics: d.diagnostics}); err != nil {
			d.close()
			return nil, fmt.Errorf("daemon: %w", err)
		}
	}
	d.refreshClassMetrics()
	return d, nil
}

// Metrics is the daemon's Prometheus registry (served at /metrics).
func (d *Daemon) Metrics() *metrics.Registry { return d.m.reg }

// close releases what New opened.
func (d *Daemon) close() {
	if m := d.clf.Swap(nil); m != nil {
		m.Close()
	}
	if d.state != nil {
		d.state.Close()
	}
}

// Run runs the daemon until ctx ends (a success: it returns nil) or a
// component fails. On the way out it tells systemd STOPPING=1, stops the
// frame loop and training, closes the camera (within 5 s), then stops the
// panel (LED off), MQTT (offline published) and the HTTP server, all
// within the stop deadline. Run may be called once.
func (d *Daemon) Run(ctx context.Context) error {
	d.started = time.Now()
	defer d.close()
	ln := d.opts.Listener
	if ln == nil && d.cfg.HTTP.Listen != "" {
		var err error
		if ln, err = net.Listen("tcp", d.cfg.HTTP.Listen); err != nil {
			return fmt.Errorf("daemon: http listen %s: %w", d.cfg.HTTP.Listen, err)
		}
	}

	// Outer tier: MQTT, panel, hooks, HTTP. It outlives ctx until the
	// core has stopped, so offline and LED-off come last.
	ioCtx, ioCancel := context.WithCancel(context.WithoutCancel(ctx))
	defer ioCancel()
	io, ioCtx := errgroup.WithContext(ioCtx)
	var srv *http.Server
	if ln != nil {
		srv = &http.Server{Handler: d.httpHandler(), ReadHeaderTimeout: 5 * time.Second}
		io.Go(func() error {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("daemon: http: %w", err)
			}
			return nil
		})
		d.log.Info("serving /metrics and /healthz", "addr", ln.Addr().String())
	}
	if d.mq != nil {
		io.Go(func() error { return d.mq.Run(ioCtx) })
	}
	io.Go(func() error { return d.hooks.Run(ioCtx) })
	if d.opts.Panel != nil {
		io.Go(func() error { return d.opts.Panel.Run(ioCtx) })
		d.opts.Panel.Show(panel.Idle)
	}
	d.publishClasses()

	// Inner tier: frame loop, saver, control, supervisor. It stops first.
	coreCtx, coreCancel := context.WithCancel(ctx)
	defer coreCancel()
	context.AfterFunc(ioCtx, coreCancel) // an outer failure stops everything
	core, coreCtx := errgroup.WithContext(coreCtx)
	d.mu.Lock()
	d.trainCtx = coreCtx
	d.mu.Unlock()
	camClosed := make(chan struct{})
	core.Go(func() error { return d.capture(coreCtx, camClosed) })
	core.Go(func() error { return d.process(coreCtx) })
	core.Go(func() error { return d.saver(coreCtx) })
	core.Go(func() error { return d.supervise(coreCtx) })
	if d.opts.Panel != nil {
		core.Go(func() error { return d.panelEvents(coreCtx, d.opts.Panel.Events()) })
	}

	<-coreCtx.Done()
	if d.opts.Notifier != nil {
		d.opts.Notifier.Stopping()
	}
	d.log.Info("stopping")
	deadline := time.NewTimer(stopTimeout)
	defer deadline.Stop()
	coreErr := waitGroup(core, deadline.C, "frame loop")
	waitDone(&d.trainers, deadline.C)
	select {
	case <-camClosed:
	case <-deadline.C:
		d.log.Error("camera did not close in time")
	}
	if d.opts.Panel != nil {
		d.opts.Panel.Show(panel.Off)
	}
	if srv != nil {
		sctx, cancel := context.WithTimeout(context.Background(), time.Second)
		srv.Shutdown(sctx)
		cancel()
	}
	ioCancel()
	ioErr := waitGroup(io, deadline.C, "mqtt/panel/hooks")
	d.logSummary()
	if err := errors.Join(coreErr, ioErr); err != nil {
		return err
	}
	return nil
}

// waitGroup waits for g until the deadline; cancellation errors are
// success.
func waitGroup(g *errgroup.Group, deadline <-chan time.Time, what string) error {
	done := make(chan error, 1)
	go func() { done <- g.Wait() }()
	select {
	case err := <-done:
		if errors.Is(err, context.Canceled) {
			return nil
		}
		return err
	case <-deadline:
		return fmt.Errorf("daemon: %s did not stop within %v", what, stopTimeout)
	}
}

func waitDone(wg *sync.WaitGroup, deadline <-chan time.Time) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-deadline:
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
	s := Summary{Elapsed: time.Since(d.started), Frames: d.frames.Load(), Inferences: d.infers.Load(), Dropped: d.dropped.Load()}
	if s.Elapsed > 0 {
		s.FPS = float64(s.Frames) / s.Elapsed.Seconds()
	}
	if s.Inferences > 0 {
		s.InferenceMS = float64(d.inferNS.Load()) / float64(s.Inferences) / 1e6
	}
	return s
}

func (d *Daemon) logSummary() {
	s := d.Summary()
	d.log.Info("stopped", "elapsed", s.Elapsed.Round(time.Millisecond), "frames", s.Frames, "inferences", s.Inferences,
		"fps", fmt.Sprintf("%.1f", s.FPS), "inference_ms", fmt.Sprintf("%.2f", s.InferenceMS), "dropped", s.Dropped)
}
