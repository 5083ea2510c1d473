package daemon

import (
	"context"
	"errors"
	"fmt"
	"image"
	"sync"
	"time"

	"github.com/alphad/alphad/device"
	"github.com/alphad/alphad/device/supervise"
	"github.com/alphad/alphad/internal/control"
	"github.com/alphad/alphad/internal/stillimage"
	"github.com/alphad/alphad/pipeline/decide"
	"github.com/alphad/alphad/pipeline/head"
	"github.com/alphad/alphad/pipeline/preprocess"
	"github.com/alphad/alphad/pipeline/store"
	"github.com/alphad/alphad/pipeline/tflite"
)

// mailbox passes frames from the capture goroutine to the frame loop,
// one at a time: capture reads the next frame while the loop works on the
// previous one (two stages on two cores), then waits for the loop to take
// it. Live cameras (v4l2, libcamera) keep only their newest frame while
// nobody reads, so the frame the loop gets is the latest one; a frame
// still untaken when another is put is replaced (and counted). The
// mailbox owns three buffers: nothing is allocated once they have grown.
type mailbox struct {
	mu      sync.Mutex
	pending device.Frame
	spare   device.Frame
	has     bool
	down    bool // the camera went down since the last take
	ready   chan struct{}
	taken   chan struct{}
}

func (m *mailbox) init() {
	m.ready = make(chan struct{}, 1)
	m.taken = make(chan struct{}, 1)
}

// waitTaken waits until the pending frame (if any) was taken; false when
// ctx ends first.
func (m *mailbox) waitTaken(ctx context.Context) bool {
	for {
		m.mu.Lock()
		has := m.has
		m.mu.Unlock()
		if !has {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-m.taken:
		}
	}
}

// put copies f in; it reports whether an untaken frame was replaced.
func (m *mailbox) put(f device.Frame) (replaced bool) {
	m.mu.Lock()
	data := append(m.spare.Data[:0], f.Data...)
	m.spare = f
	m.spare.Data = data
	m.spare, m.pending = m.pending, m.spare
	replaced = m.has
	m.has = true
	m.mu.Unlock()
	select {
	case m.ready <- struct{}{}:
	default:
	}
	return replaced
}

// cameraDown tells the frame loop that frames stopped (a frame still
// pending is dropped: it is older than the outage).
func (m *mailbox) cameraDown() {
	m.mu.Lock()
	m.down, m.has = true, false
	m.mu.Unlock()
	select {
	case m.ready <- struct{}{}:
	default:
	}
}

// What take got.
const (
	tookStop = iota
	tookFrame
	tookCameraDown
)

// take waits for a frame and swaps it into *work (whose old buffer the
// mailbox reuses), or for a camera-down notice. It returns tookStop when
// ctx ends.
func (m *mailbox) take(ctx context.Context, work *device.Frame) int {
	for {
		m.mu.Lock()
		if m.down {
			m.down = false
			m.mu.Unlock()
			return tookCameraDown
		}
		if m.has {
			*work, m.pending = m.pending, *work
			m.has = false
			m.mu.Unlock()
			select {
			case m.taken <- struct{}{}:
			default:
			}
			return tookFrame
		}
		m.mu.Unlock()
		select {
		case <-ctx.Done():
			return tookStop
		case <-m.ready:
		}
	}
}

// capture feeds the mailbox with frames from the camera, which the
// supervisor keeps open: it reopens the camera after a failure or a stall
// (no frame for frameTimeout), waiting camera.retry at first and up to
// cameraMaxBackoff, and reports every up/down transition once. It
// returns when ctx ends, after closing the camera (waiting at most
// cameraCloseTimeout), and closes camClosed.
func (d *Daemon) capture(ctx context.Context, camClosed chan<- struct{}) error {
	cam := supervise.New(d.openBoundedCamera, supervise.Options{
		FrameTimeout: frameTimeout,
		MinBackoff:   d.cfg.Camera.Retry,
		MaxBackoff:   max(cameraMaxBackoff, d.cfg.Camera.Retry),
		CloseTimeout: cameraCloseTimeout,
		Log:          d.log,
		OnStatus: func(up bool, err error) {
			if up {
				d.cameraUp()
			} else {
				d.cameraDown(err)
			}
		},
	})
	defer func() {
		if err := cam.Close(); err != nil {
			d.log.Warn("camera close", "err", err)
		}
		close(camClosed)
	}()
	// Next waits at most beatEvery before the loop beats again: an outage
	// is a wait, not a hang (a camera Next that ignores its context is).
	// The context is renewed only when that wait ran out, so steady
	// capture allocates nothing.
	beatEvery := d.opts.StuckAfter / 4
	var wctx context.Context
	var wcancel context.CancelFunc
	var timer *time.Timer
	renew := func() {
		if wcancel != nil {
			wcancel()
		}
		wctx, wcancel = context.WithCancel(ctx)
		timer = time.AfterFunc(beatEvery, wcancel)
	}
	renew()
	defer func() {
		timer.Stop()
		wcancel()
	}()
	for {
		d.beat()
		f, err := cam.Next(wctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if wctx.Err() != nil {
				renew()
				continue
			}
			if errors.Is(err, device.ErrEnded) {
				// A finite source (a file or folder without loop) is
				// done: the daemon stops cleanly.
				d.log.Info("camera source ended: stopping", "reason", err)
				return errSourceEnded
			}
			return fmt.Errorf("camera: %w", err) // closed: not before ctx ends
		}
		running := timer.Stop() // false: it fired, and the next Next renews
		d.beat()
		d.m.cameraFrames.Inc()
		if d.mb.put(f) {
			d.stats.dropped.Add(1)
			d.m.dropped.Inc()
		}
		// The loop holds us here (a slow model, a low max_fps): that is its
		// liveness to judge, not ours.
		d.capWaiting.Store(true)
		ok := d.mb.waitTaken(ctx)
		d.capWaiting.Store(false)
		if !ok {
			return nil
		}
		if running {
			timer.Reset(beatEvery)
		}
	}
}

// openBoundedCamera opens the camera with its frames held to the images:
// limits (boundedCamera).
func (d *Daemon) openBoundedCamera(ctx context.Context) (device.Camera, error) {
	c, err := d.opts.OpenCamera(ctx)
	if err != nil {
		return nil, err
	}
	return boundedCamera{Camera: c, source: d.cfg.Camera.Source, lim: d.cfg.Images.Limits()}, nil
}

// boundedCamera refuses frames over the images: limits, the bound every
// image alphad decodes shares: a camera that delivers (or a driver that
// negotiated) a larger frame fails with an error naming the camera and
// the size, and the supervisor reports it and reopens. MJPEG frames
// whose size is not known until decoded are checked from their header by
// the preprocessor's decoder, under the same limits.
type boundedCamera struct {
	device.Camera
	source string
	lim    stillimage.Limits
}

func (c boundedCamera) Next(ctx context.Context) (device.Frame, error) {
	f, err := c.Camera.Next(ctx)
	if err != nil || f.Width <= 0 || f.Height <= 0 {
		return f, err
	}
	if err := c.lim.Check(f.Width, f.Height); err != nil {
		return device.Frame{}, fmt.Errorf("camera %s: frame %d: %w (images: max_pixels, max_side)", c.source, f.Seq, err)
	}
	return f, nil
}

// errSourceEnded stops the daemon without an error: the camera source
// was finite and has ended.
var errSourceEnded = errors.New("daemon: camera source ended")

// cameraState is the camera's status, owned by the capture goroutine
// (read by status and diagnostics).
type cameraState struct {
	mu  sync.Mutex
	up  bool
	err string
}

func (c *cameraState) get() (up bool, err string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.up, c.err
}

// cameraMaxBackoff is the longest wait between reopens of a failed camera
// (camera.retry is the first).
const cameraMaxBackoff = 10 * time.Second

func (d *Daemon) beat() { d.capBeat.Store(time.Now().UnixNano()) }

func (d *Daemon) cameraUp() {
	d.cam.mu.Lock()
	was := d.cam.up
	d.cam.up, d.cam.err = true, ""
	d.cam.mu.Unlock()
	if !was {
		d.m.cameraUp.Set(1)
		d.log.Info("camera streaming")
		d.out.emit(control.Camera{Up: true})
	}
}

// cameraDown records a camera failure. On a transition (or a new error)
// it tells the outputs and the frame loop, whose decide stage turns the
// outage into a "no decision" verdict (see docs/daemon.md).
func (d *Daemon) cameraDown(err error) {
	if err == nil {
		err = errors.New("camera: stream ended")
	}
	d.cam.mu.Lock()
	was, prev := d.cam.up, d.cam.err
	d.cam.up, d.cam.err = false, err.Error()
	d.cam.mu.Unlock()
	d.m.cameraUp.Set(0)
	d.m.cameraErrors.Inc()
	if errors.Is(err, device.ErrEnded) {
		d.out.emit(control.Camera{Up: false, Err: err.Error()})
		d.mb.cameraDown()
		return
	}
	if was || prev != err.Error() {
		d.log.Warn("camera down, retrying", "err", err, "retry", d.cfg.Camera.Retry)
		d.out.emit(control.Camera{Up: false, Err: err.Error()})
		d.mb.cameraDown()
	}
}

// frameLoop is the state of the frame loop goroutine, which owns the
// decide stage.
type frameLoop struct {
	work        device.Frame
	decide      *decide.Decider
	settingsGen uint64 // settings generation applied to decide
	camGen      uint64 // camera settings generation pre and sample were made for
	review      reviewGate
	pre         *preprocess.Preprocessor
	preT        tflite.Tensor // the tensor pre was built for
	fill        head.Fill
	sample      *preprocess.Preprocessor
	n           uint64
	period      time.Duration
	timer       *time.Timer
	version     string
	classes     []string
}

// process is the frame loop: take the latest frame, record samples when a
// burst is on, run the model on every Nth frame, decide, and emit the
// decision to the outputs.
func (d *Daemon) process(ctx context.Context) error {
	dec, err := decide.NewDecider(d.cfg.Smoothing)
	if err != nil {
		return fmt.Errorf("daemon: %w", err)
	}
	fl := &frameLoop{decide: dec}
	if d.cfg.Camera.MaxFPS > 0 {
		fl.period = time.Duration(float64(time.Second) / d.cfg.Camera.MaxFPS)
		fl.timer = time.NewTimer(time.Hour)
		fl.timer.Stop()
	}
	fl.fill = d.newFill(fl)
	for {
		switch d.mb.take(ctx, &fl.work) {
		case tookStop:
			return nil
		case tookCameraDown:
			d.decideCameraDown(fl)
			continue
		}
		start := time.Now()
		d.busySince.Store(start.UnixNano())
		d.processFrame(fl, start)
		d.busySince.Store(0)
		d.lastFrame.Store(time.Now().UnixNano())
		if fl.period > 0 {
			if wait := fl.period - time.Since(start); wait > 0 {
				fl.timer.Reset(wait)
				select {
				case <-ctx.Done():
					return nil
				case <-fl.timer.C:
				}
			}
		}
	}
}

// applySettings brings the decide stage up to date with the runtime
// settings (threshold, window) when they changed.
func (d *Daemon) applySettings(fl *frameLoop) {
	gen, s := d.settings.snapshot()
	if gen == fl.settingsGen {
		return
	}
	fl.settingsGen = gen
	fl.decide.SetThreshold(s.Threshold)
	if s.Window != fl.decide.Window() {
		fl.decide.SetWindow(s.Window)
	}
}

// decideCameraDown emits the verdict of a camera outage: no decision.
func (d *Daemon) decideCameraDown(fl *frameLoop) {
	v := fl.decide.CameraDown()
	if v.Changed {
		d.m.labelChanges.Inc()
	}
	d.out.emit(control.Decision{Label: "", Changed: v.Changed, Previous: v.Previous, CameraDown: true,
		Classes: fl.classes, ModelVersion: fl.version, Time: time.Now()})
}

// newFill returns the model input filler of the frame loop: fl.work
// through a preprocessor made (once per input tensor shape and type) for
// the model in use.
func (d *Daemon) newFill(fl *frameLoop) head.Fill {
	return func(dst []byte, t *tflite.Tensor) error {
		if fl.pre == nil || !sameInput(&fl.preT, t) {
			p, err := preprocess.New(t, d.preprocessOptions())
			if err != nil {
				return err
			}
			fl.pre, fl.preT = p, *t
		}
		return fl.pre.Frame(dst, fl.work)
	}
}

func sameInput(a, b *tflite.Tensor) bool {
	if a.Type != b.Type || len(a.Shape) != len(b.Shape) {
		return false
	}
	for i := range a.Shape {
		if a.Shape[i] != b.Shape[i] {
			return false
		}
	}
	return (a.Quant == nil) == (b.Quant == nil)
}

// preprocessOptions is how frames become tensors now (the camera
// settings: crop, mirror, rotation; MJPEG frames decoded within the
// images: limits).
func (d *Daemon) preprocessOptions() preprocess.Options {
	_, o := d.cameraOptions()
	return o
}

// cameraOptions are preprocessOptions with the camera settings'
// generation: every view of the camera (model input, samples, review
// frames, live view) is made under them.
func (d *Daemon) cameraOptions() (uint64, preprocess.Options) {
	gen, o := d.settings.camera()
	o.Images = d.cfg.Images.Limits()
	return gen, o
}

func (d *Daemon) processFrame(fl *frameLoop, start time.Time) {
	f := &fl.work
	if g := d.settings.camGen.Load(); g != fl.camGen {
		// The camera settings changed: model input and samples follow.
		fl.camGen, fl.pre, fl.sample = g, nil, nil
	}
	fl.n++
	d.stats.frames.Add(1)
	d.m.frames.Inc()
	if d.rec.due(start) {
		d.recordFrame(fl, f)
	}
	d.tap.offer(f, start)
	if !d.ready.Load() {
		d.sendReady()
	}
	if fl.n%uint64(d.cfg.Camera.InferEvery) != 0 {
		return
	}
	m := d.model.clf.Model()
	if m == nil {
		return
	}
	d.applySettings(fl)
	t0 := time.Now()
	pred, err := d.model.clf.Classify(fl.fill)
	dt := time.Since(t0)
	if err != nil {
		d.m.inferErrors.Inc()
		if d.m.inferErrors.Value()%100 == 1 {
			d.log.Warn("classify", "frame", f.Seq, "err", err)
		}
		return
	}
	d.stats.infers.Add(1)
	d.stats.inferNS.Add(int64(dt))
	d.m.latency.Observe(dt.Seconds())
	if pred.Version != fl.version {
		if pred.Version != m.Version {
			return // classified by a model swapped out meanwhile
		}
		fl.version, fl.classes = pred.Version, m.Labels
	}
	v := fl.decide.Frame(pred.Probs, pred.Known, fl.classes, f.Time)
	if v.Changed {
		d.m.labelChanges.Inc()
	}
	d.reviewFrame(fl, v, pred.Probs, pred.Version)
	d.out.emit(control.Decision{Label: v.Label, Confidence: v.Confidence, Scores: pred.Probs, Classes: fl.classes,
		Changed: v.Changed, Previous: v.Previous, ModelVersion: pred.Version, Seq: f.Seq, Time: f.Time})
}

// recordFrame queues the frame as a sample of the burst in progress.
func (d *Daemon) recordFrame(fl *frameLoop, f *device.Frame) {
	b, done := d.rec.take(time.Now())
	if b == nil {
		return
	}
	img, err := d.sampleImage(fl, f)
	if err != nil {
		d.log.Warn("record sample", "frame", f.Seq, "err", err)
		d.rec.drop(b)
	} else {
		d.rec.queue(b, store.NewSample{Label: b.label, Image: img, Source: b.source, Time: f.Time})
	}
	if done {
		d.showLED()
	}
}

// sampleImage turns a frame into a sample image exactly as the model sees
// it: the configured crop and mirror, resized to sampleSize².
func (d *Daemon) sampleImage(fl *frameLoop, f *device.Frame) (*image.RGBA, error) {
	if fl.sample == nil {
		t := &tflite.Tensor{Type: tflite.Uint8, Shape: []int{1, sampleSize, sampleSize, 3}}
		p, err := preprocess.New(t, d.preprocessOptions())
		if err != nil {
			return nil, err
		}
		fl.sample = p
	}
	rgb := make([]byte, fl.sample.Size())
	if err := fl.sample.Frame(rgb, *f); err != nil {
		return nil, err
	}
	img := image.NewRGBA(image.Rect(0, 0, sampleSize, sampleSize))
	for i, j := 0, 0; i < len(rgb); i, j = i+3, j+4 {
		img.Pix[j], img.Pix[j+1], img.Pix[j+2], img.Pix[j+3] = rgb[i], rgb[i+1], rgb[i+2], 255
	}
	return img, nil
}
