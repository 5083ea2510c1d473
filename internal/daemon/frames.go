package daemon

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math"
	"sync"
	"time"

	"github.com/alphad/alphad/device"
	"github.com/alphad/alphad/device/supervise"
	"github.com/alphad/alphad/mqtt"
	"github.com/alphad/alphad/pipeline"
	"github.com/alphad/alphad/pipeline/head"
	"github.com/alphad/alphad/pipeline/hooks"
	"github.com/alphad/alphad/pipeline/preprocess"
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

// take waits for a frame and swaps it into *work (whose old buffer the
// mailbox reuses). It returns false when ctx ends.
func (m *mailbox) take(ctx context.Context, work *device.Frame) bool {
	for {
		m.mu.Lock()
		if m.has {
			*work, m.pending = m.pending, *work
			m.has = false
			m.mu.Unlock()
			select {
			case m.taken <- struct{}{}:
			default:
			}
			return true
		}
		m.mu.Unlock()
		select {
		case <-ctx.Done():
			return false
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
	cam := supervise.New(d.opts.OpenCamera, supervise.Options{
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
			return fmt.Errorf("camera: %w", err) // closed: not before ctx ends
		}
		running := timer.Stop() // false: it fired, and the next Next renews
		d.beat()
		d.m.cameraFrames.Inc()
		if d.mb.put(f) {
			d.dropped.Add(1)
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

// cameraMaxBackoff is the longest wait between reopens of a failed camera
// (camera.retry is the first).
const cameraMaxBackoff = 10 * time.Second

func (d *Daemon) beat() { d.capBeat.Store(time.Now().UnixNano()) }

func (d *Daemon) cameraUp() {
	d.mu.Lock()
	was := d.camUp
	d.camUp, d.camErr = true, ""
	d.mu.Unlock()
	if !was {
		d.m.cameraUp.Set(1)
		d.log.Info("camera streaming")
		d.publishDiagnostics()
	}
}

func (d *Daemon) cameraDown(err error) {
	if err == nil {
		err = errors.New("camera: stream ended")
	}
	d.mu.Lock()
	was, prev := d.camUp, d.camErr
	d.camUp, d.camErr = false, err.Error()
	d.mu.Unlock()
	d.m.cameraUp.Set(0)
	d.m.cameraErrors.Inc()
	if was || prev != err.Error() {
		d.log.Warn("camera down, retrying", "err", err, "retry", d.cfg.Camera.Retry)
		d.publishDiagnostics()
		// No frames: no decision. Home Assistant shows the state as unknown
		// rather than the last label seen.
		if m := d.clf.Model(); m != nil && d.mq != nil {
			d.mq.PublishState(mqtt.State{Label: "", Classes: m.Labels, ModelVersion: m.Version})
		}
	}
}

// frameLoop is the state of the frame loop goroutine.
type frameLoop struct {
	work     device.Frame
	smooth   *pipeline.Smoother
	version  string
	label    string
	pre      *preprocess.Preprocessor
	preT     tflite.Tensor // the tensor pre was built for
	fill     head.Fill
	sample   *preprocess.Preprocessor
	n        uint64
	lastTick time.Time
	period   time.Duration
	timer    *time.Timer
	classes  []string
}

// process is the frame loop: take the latest frame, record samples when a
// burst is on, run the model on every Nth frame, smooth, publish and fire
// hooks on label changes.
func (d *Daemon) process(ctx context.Context) error {
	fl := &frameLoop{smooth: d.smooth}
	if d.cfg.Camera.MaxFPS > 0 {
		fl.period = time.Duration(float64(time.Second) / d.cfg.Camera.MaxFPS)
		fl.timer = time.NewTimer(time.Hour)
		fl.timer.Stop()
	}
	fl.fill = d.newFill(fl)
	for {
		if !d.mb.take(ctx, &fl.work) {
			return nil
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

func (d *Daemon) preprocessOptions() preprocess.Options {
	c := d.cfg.Camera
	o := preprocess.Options{Mirror: c.Mirror}
	switch c.Crop {
	case "full":
		o.Crop = preprocess.CropFull
	case "roi":
		o.Crop = preprocess.CropROI
		o.ROI = preprocess.Region{X: c.Roi[0], Y: c.Roi[1], W: c.Roi[2], H: c.Roi[3]}
	}
	return o
}

func (d *Daemon) processFrame(fl *frameLoop, start time.Time) {
	f := &fl.work
	fl.n++
	d.frames.Add(1)
	d.m.frames.Inc()
	if d.recordDue(start) {
		d.recordFrame(fl, f)
	}
	if !d.ready.Load() {
		d.sendReady()
	}
	if fl.n%uint64(d.cfg.Camera.InferEvery) != 0 {
		return
	}
	m := d.clf.Model()
	if m == nil {
		return
	}
	if bits := d.threshold.Swap(0); bits != 0 {
		fl.smooth.SetThreshold(math.Float64frombits(bits &^ thresholdPending))
	}
	t0 := time.Now()
	pred, err := d.clf.Classify(fl.fill)
	dt := time.Since(t0)
	if err != nil {
		d.m.inferErrors.Inc()
		if d.m.inferErrors.Value()%100 == 1 {
			d.log.Warn("classify", "frame", f.Seq, "err", err)
		}
		return
	}
	d.infers.Add(1)
	d.inferNS.Add(int64(dt))
	d.m.latency.Observe(dt.Seconds())
	if pred.Version != fl.version {
		if pred.Version != m.Version {
			return // classified by a model swapped out meanwhile
		}
		fl.smooth.Reset()
		fl.version, fl.classes = pred.Version, m.Labels
	}
	dec := fl.smooth.Add(pred.Probs, f.Time)
	label := ""
	if dec.Label != pipeline.Unknown && dec.Label < len(fl.classes) {
		label = fl.classes[dec.Label]
	}
	if d.mq != nil {
		d.mq.PublishState(mqtt.State{Label: label, Confidence: dec.Confidence, Classes: fl.classes,
			Scores: pred.Probs, ModelVersion: pred.Version, Seq: f.Seq, Time: f.Time})
	}
	if label != fl.label {
		prev := fl.label
		fl.label = label
		d.m.labelChanges.Inc()
		d.hooks.Fire(hooks.Event{Device: d.opts.DeviceID, Label: label, Previous: prev, Confidence: dec.Confidence,
			ModelVersion: pred.Version, Seq: f.Seq, Time: f.Time})
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

// sampleSize is the side of stored samples: MobileNet's input size.
const sampleSize = 224
