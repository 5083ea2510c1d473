// Package supervise keeps a camera streaming across failures. It is the
// one place alphad reopens cameras: the camera packages (v4l2, libcamera)
// report a failure as an error from Next and leave recovery to it.
//
// A supervised Camera opens the camera, reads frames from it, notices
// when it fails or stalls (no frame within FrameTimeout), closes it —
// abandoning a Close that does not return within CloseTimeout — waits a
// backoff that doubles from MinBackoff to MaxBackoff, and opens it again.
// It reports each up/down transition once, through OnStatus.
//
// It does its work inside Next, on the caller's goroutine; only opening
// and closing the underlying camera run on goroutines of their own, so
// that Next returns as soon as its context ends, also while an open or a
// close is in progress. Frames are passed through without copying.
package supervise

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/alphad/alphad/device"
)

// OpenFunc opens a camera. It must return when ctx ends (the supervisor
// cancels it on Close); a camera it returns after that is closed.
type OpenFunc func(ctx context.Context) (device.Camera, error)

// Options configure a supervised Camera; zero fields take defaults.
type Options struct {
	// FrameTimeout: the camera counts as stalled, and is closed and
	// reopened, once Next has waited this long for a frame (default
	// 10 s). Only time spent waiting in Next counts: a consumer that
	// holds on to a frame does not stall the camera.
	FrameTimeout time.Duration
	// MinBackoff and MaxBackoff bound the wait before a reopen (defaults
	// 1 s and the larger of 10 s and MinBackoff). The wait starts at
	// MinBackoff, doubles after every failure that delivered no frame and
	// starts again at MinBackoff once a frame came. Each wait is made up
	// to 20 % longer at random, so that cameras failing together do not
	// retry in step.
	MinBackoff, MaxBackoff time.Duration
	// CloseTimeout bounds the wait for the underlying camera's Close (and
	// for an open in progress when the supervisor is closed); a Close that
	// has not returned by then is abandoned and logged (default 5 s).
	CloseTimeout time.Duration
	// OnStatus, when set, is told of every transition: up once the first
	// frame after an open came, down (with the reason) on the first
	// failure after being up, or before ever being up. It is not told
	// again while the state stays the same, nor of Close. It runs on the
	// goroutine calling Next, before Next returns.
	OnStatus func(up bool, err error)
	// Log receives failed attempts (debug) and abandoned closes (error);
	// nil discards them.
	Log *slog.Logger
	// Clock times stalls, backoff and close bounds; nil means the wall
	// clock.
	Clock device.Clock
	// Rand returns the jitter, in [0, 1); nil means math/rand/v2.
	Rand func() float64
}

// Errors.
var (
	// ErrClosed is returned by Next after Close.
	ErrClosed = errors.New("camera: closed")
	// errStall cancels a read that waited FrameTimeout.
	errStall = errors.New("camera: stalled")
)

// Stats count what the supervisor did.
type Stats struct {
	Opens     uint64 // successful opens
	Failures  uint64 // failed opens, reads and stalls
	Up        bool   // a frame came since the last open and no failure since
	LastError string // the last failure, "" if none
}

// status is the state last reported through OnStatus.
type status int8

const (
	unknown status = iota
	up
	down
)

// openCall is an open in progress.
type openCall struct {
	done chan struct{} // closed when open returned
	// Guarded by Camera.mu:
	finished  bool          // open returned
	abandoned bool          // Close stopped waiting: what open returns is closed
	cam       device.Camera // open's result, until taken
	err       error
}

// closeCall is a Close of the underlying camera in progress.
type closeCall struct {
	done    chan struct{} // closed when Close returned
	err     error         // its result, once done is closed
	started time.Time
}

// Camera is a supervised device.Camera. Next must not be called
// concurrently with itself; Close and Stats may be called from anywhere.
type Camera struct {
	open   OpenFunc
	o      Options
	log    *slog.Logger
	clock  device.Clock
	life   context.Context // cancelled by Close: the context of opens
	cancel context.CancelFunc
	done   chan struct{} // closed by Close

	mu      sync.Mutex
	closed  bool
	ended   error         // device.ErrEnded from a finite source: never reopened
	cam     device.Camera // the open camera; nil while there is none
	opening *openCall     // an open in progress
	closing *closeCall    // a close in progress that a reopen waits for
	retryAt time.Time     // no open before this
	backoff time.Duration // the base of the next wait
	status  status
	seq     uint64
	stats   Stats

	// The read in progress: rctx (derived from the caller's rparent) is
	// cancelled with errStall when the camera stalls and with ErrClosed
	// by Close. It is kept while the caller passes the same context, so
	// that steady streaming allocates nothing.
	rctx      context.Context
	rparent   context.Context
	rcancel   context.CancelCauseFunc
	waiting   bool          // inside the underlying Next
	waitStart time.Time     // when that wait began
	waited    time.Duration // time waited in earlier calls since the last frame
	stallStop func() bool   // the stall timer; nil when not armed
}

var _ device.Camera = (*Camera)(nil)

// New returns a supervised camera that opens cameras with open. Nothing is
// opened before the first call to Next.
func New(open OpenFunc, o Options) *Camera {
	if o.FrameTimeout <= 0 {
		o.FrameTimeout = 10 * time.Second
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = time.Second
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = max(10*time.Second, o.MinBackoff)
	}
	if o.CloseTimeout <= 0 {
		o.CloseTimeout = 5 * time.Second
	}
	if o.Rand == nil {
		o.Rand = rand.Float64
	}
	c := &Camera{open: open, o: o, log: o.Log, clock: o.Clock, done: make(chan struct{}), backoff: o.MinBackoff}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.clock == nil {
		c.clock = device.WallClock()
	}
	c.life, c.cancel = context.WithCancel(context.Background())
	return c
}

// Next returns the next frame, opening the camera first and reopening it
// after failures, until one comes, ctx ends (ctx.Err()) or c is closed
// (ErrClosed). Frames are numbered by c, from 1, across reopens; a
// frame's Data is valid until the next call to Next or Close.
func (c *Camera) Next(ctx context.Context) (device.Frame, error) {
	for {
		c.mu.Lock()
		closed, ended, cam, op, cl, retryAt := c.closed, c.ended, c.cam, c.opening, c.closing, c.retryAt
		c.mu.Unlock()
		switch {
		case closed:
			return device.Frame{}, ErrClosed
		case ended != nil:
			return device.Frame{}, ended
		case ctx.Err() != nil:
			return device.Frame{}, ctx.Err()
		case cam != nil:
			f, err := c.read(ctx, cam)
			if err == nil {
				return f, nil
			}
			if ctx.Err() == nil {
				c.fail(cam, err) // does nothing once closed
			}
			if errors.Is(err, device.ErrEnded) {
				// A file or folder without loop: done, reported once.
				c.mu.Lock()
				c.ended = err
				c.mu.Unlock()
				return device.Frame{}, err
			}
		case op != nil:
			select {
			case <-op.done:
				c.opened(op)
			case <-ctx.Done():
			case <-c.done:
			}
		default:
			now := c.clock.Now()
			if wait := retryAt.Sub(now); wait > 0 {
				c.wait(ctx, wait, nil)
				continue
			}
			if cl != nil {
				if !c.waitClosed(ctx, cl, now) {
					continue
				}
			}
			c.startOpen()
		}
	}
}

// wait waits d, or until ch (if not nil) is closed, ctx ends or c is
// closed.
func (c *Camera) wait(ctx context.Context, d time.Duration, ch <-chan struct{}) {
	fired := make(chan struct{})
	stop := c.clock.AfterFunc(d, func() { close(fired) })
	defer stop()
	select {
	case <-fired:
	case <-ch:
	case <-ctx.Done():
	case <-c.done:
	}
}

// waitClosed waits for the close of a failed camera before it is opened
// again, at most until CloseTimeout after the close began. It reports
// whether the close is over (returned or abandoned).
func (c *Camera) waitClosed(ctx context.Context, cl *closeCall, now time.Time) bool {
	select {
	case <-cl.done:
		if cl.err != nil {
			c.log.Debug("camera close", "err", cl.err)
		}
	default:
		left := cl.started.Add(c.o.CloseTimeout).Sub(now)
		if left > 0 {
			c.wait(ctx, left, cl.done)
			return false // look again
		}
		c.log.Error("camera close did not return; abandoned", "timeout", c.o.CloseTimeout)
	}
	c.mu.Lock()
	if c.closing == cl {
		c.closing = nil
	}
	c.mu.Unlock()
	return true
}

// startOpen opens a camera on a goroutine of its own.
func (c *Camera) startOpen() {
	op := &openCall{done: make(chan struct{})}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.opening = op
	c.mu.Unlock()
	go func() {
		cam, err := c.open(c.life)
		if err == nil && cam == nil {
			err = errors.New("open returned no camera")
		}
		if err != nil {
			cam = nil
		}
		c.mu.Lock()
		op.finished = true
		if op.abandoned {
			c.mu.Unlock()
			if cam != nil {
				c.startClose(cam)
			}
			close(op.done)
			return
		}
		op.cam, op.err = cam, err
		c.mu.Unlock()
		close(op.done)
	}()
}

// opened takes the result of an open. Once c is closed, Close takes it.
func (c *Camera) opened(op *openCall) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.opening = nil
	cam, err := op.cam, op.err
	op.cam = nil
	if err != nil {
		c.mu.Unlock()
		c.fail(nil, fmt.Errorf("camera: open: %w", err))
		return
	}
	c.cam = cam
	c.waited = 0
	c.stats.Opens++
	c.mu.Unlock()
	c.log.Debug("camera opened")
}

// read reads one frame from cam, cancelled by the caller's ctx, a stall
// or Close.
func (c *Camera) read(ctx context.Context, cam device.Camera) (device.Frame, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return device.Frame{}, ErrClosed
	}
	if c.rctx == nil || c.rctx.Err() != nil || !sameContext(c.rparent, ctx) {
		if c.rcancel != nil {
			c.rcancel(nil)
		}
		c.rctx, c.rcancel = context.WithCancelCause(ctx)
		c.rparent = ctx
	}
	if c.waited >= c.o.FrameTimeout {
		c.mu.Unlock()
		return device.Frame{}, fmt.Errorf("camera: no frame for %v", c.o.FrameTimeout)
	}
	rctx := c.rctx
	c.waiting, c.waitStart = true, c.clock.Now()
	if c.stallStop == nil {
		c.stallStop = c.clock.AfterFunc(c.o.FrameTimeout-c.waited, c.checkStall)
	}
	c.mu.Unlock()

	f, err := cam.Next(rctx)

	c.mu.Lock()
	defer c.mu.Unlock()
	c.waiting = false
	if c.closed {
		return device.Frame{}, ErrClosed
	}
	if err != nil {
		c.waited += c.clock.Now().Sub(c.waitStart)
		if context.Cause(rctx) == errStall {
			return device.Frame{}, fmt.Errorf("camera: no frame for %v", c.o.FrameTimeout)
		}
		return device.Frame{}, fmt.Errorf("camera: %w", err)
	}
	c.waited = 0
	c.seq++
	f.Seq = c.seq
	if c.status != up {
		c.status = up
		c.stats.Up = true
		c.backoff = c.o.MinBackoff
		if c.o.OnStatus != nil {
			c.mu.Unlock()
			c.o.OnStatus(true, nil)
			c.mu.Lock()
		}
	}
	return f, nil
}

// checkStall runs when the stall timer fires: it cancels the read in
// progress when it (with the earlier reads since the last frame) waited
// FrameTimeout, and otherwise arms the timer for the time left. With no
// read in progress the next read arms it.
func (c *Camera) checkStall() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stallStop = nil
	if c.closed || !c.waiting {
		return
	}
	waited := c.waited + c.clock.Now().Sub(c.waitStart)
	if waited >= c.o.FrameTimeout {
		c.rcancel(errStall)
		return
	}
	c.stallStop = c.clock.AfterFunc(c.o.FrameTimeout-waited, c.checkStall)
}

// fail handles a failed open (cam nil) or a failed or stalled camera:
// it closes the camera, schedules the reopen and reports the outage.
func (c *Camera) fail(cam device.Camera, err error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	now := c.clock.Now()
	if cam != nil {
		if c.cam == cam {
			c.cam = nil
		}
		c.closing = c.startClose(cam)
	}
	if c.stallStop != nil {
		c.stallStop()
		c.stallStop = nil
	}
	if c.rcancel != nil {
		c.rcancel(nil)
		c.rctx, c.rparent, c.rcancel = nil, nil, nil
	}
	c.waited = 0
	wait := c.backoff + time.Duration(c.o.Rand()*float64(c.backoff)/5)
	c.retryAt = now.Add(wait)
	c.backoff = min(2*c.backoff, c.o.MaxBackoff)
	c.stats.Failures++
	c.stats.LastError = err.Error()
	c.stats.Up = false
	report := c.status != down
	c.status = down
	c.mu.Unlock()
	c.log.Debug("camera failed", "err", err, "retry_in", wait)
	if report && c.o.OnStatus != nil {
		c.o.OnStatus(false, err)
	}
}

// startClose closes cam on a goroutine of its own.
func (c *Camera) startClose(cam device.Camera) *closeCall {
	cl := &closeCall{done: make(chan struct{}), started: c.clock.Now()}
	go func() {
		cl.err = cam.Close()
		close(cl.done)
	}()
	return cl
}

// Stats returns the counters.
func (c *Camera) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

// Close closes the camera and makes Next return ErrClosed, waking a
// waiting one. It waits at most CloseTimeout for the underlying camera's
// Close (and for an open in progress, which it cancels), and returns an
// error when that Close failed or did not return in time. Closing again
// does nothing.
func (c *Camera) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	close(c.done)
	c.cancel()
	if c.rcancel != nil {
		c.rcancel(ErrClosed)
	}
	if c.stallStop != nil {
		c.stallStop()
		c.stallStop = nil
	}
	cam, op, pending := c.cam, c.opening, c.closing
	c.cam, c.closing = nil, nil
	c.mu.Unlock()

	expired := make(chan struct{})
	stop := c.clock.AfterFunc(c.o.CloseTimeout, func() { close(expired) })
	defer stop()
	var errs []error
	if op != nil {
		// An open in progress was cancelled with c.life; what it returns
		// is closed here (cam is nil: a camera is open or being opened,
		// never both).
		select {
		case <-op.done:
		case <-expired:
		}
		c.mu.Lock()
		finished := op.finished
		if finished {
			cam, op.cam = op.cam, nil
		} else {
			op.abandoned = true
		}
		c.mu.Unlock()
		if !finished {
			c.log.Error("camera open did not return; abandoned", "timeout", c.o.CloseTimeout)
			errs = append(errs, fmt.Errorf("camera: open did not return within %v of close", c.o.CloseTimeout))
		}
	}
	var cl *closeCall
	if cam != nil {
		cl = c.startClose(cam)
	}
	for _, w := range []*closeCall{pending, cl} {
		if w == nil {
			continue
		}
		select {
		case <-w.done:
			if w == cl && w.err != nil {
				errs = append(errs, fmt.Errorf("camera: close: %w", w.err))
			}
		case <-expired:
			c.log.Error("camera close did not return; abandoned", "timeout", c.o.CloseTimeout)
			return errors.Join(append(errs, fmt.Errorf("camera: close did not return within %v", c.o.CloseTimeout))...)
		}
	}
	return errors.Join(errs...)
}

// sameContext reports whether a and b are the same context; contexts of a
// type that cannot be compared are never the same.
func sameContext(a, b context.Context) (same bool) {
	defer func() {
		if recover() != nil {
			same = false
		}
	}()
	return a == b
}
