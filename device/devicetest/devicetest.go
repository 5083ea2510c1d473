// Package devicetest provides fakes for testing code that uses package
// device: a manual clock, a camera whose frames, errors and hangs a test
// scripts through channels, and an opener that hands out cameras when the
// test says so. Nothing here sleeps: every step is a channel send the test
// makes, so a test knows where the code under test is.
package devicetest

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/alphad/alphad/device"
)

// Epoch is the time a new Clock starts at.
func Epoch() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }

// Clock is a fake device.Clock: time moves only by Advance, and due
// callbacks run in the goroutine that calls Advance, in deadline order.
type Clock struct {
	mu     sync.Mutex
	cond   *sync.Cond
	now    time.Time
	seq    int
	timers []*timer
}

type timer struct {
	at  time.Time
	seq int
	f   func()
}

var _ device.Clock = (*Clock)(nil)

// NewClock returns a clock at Epoch().
func NewClock() *Clock {
	c := &Clock{now: Epoch()}
	c.cond = sync.NewCond(&c.mu)
	return c
}

// Now implements device.Clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// AfterFunc implements device.Clock.
func (c *Clock) AfterFunc(d time.Duration, f func()) func() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	t := &timer{at: c.now.Add(d), seq: c.seq, f: f}
	c.timers = append(c.timers, t)
	c.cond.Broadcast()
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		i := slices.Index(c.timers, t)
		if i < 0 {
			return false
		}
		c.timers = slices.Delete(c.timers, i, i+1)
		c.cond.Broadcast()
		return true
	}
}

// Advance moves time forward by d, running every callback that falls due
// on the way with the clock set to its deadline.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	end := c.now.Add(d)
	c.mu.Unlock()
	for {
		c.mu.Lock()
		slices.SortFunc(c.timers, func(a, b *timer) int {
			if c := a.at.Compare(b.at); c != 0 {
				return c
			}
			return a.seq - b.seq
		})
		if len(c.timers) == 0 || c.timers[0].at.After(end) {
			if end.After(c.now) {
				c.now = end
			}
			c.mu.Unlock()
			return
		}
		next := c.timers[0]
		c.timers = c.timers[1:]
		if next.at.After(c.now) {
			c.now = next.at
		}
		c.cond.Broadcast()
		c.mu.Unlock()
		next.f()
	}
}

// Pending returns how long from now each waiting callback is due, soonest
// first.
func (c *Clock) Pending() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pending()
}

func (c *Clock) pending() []time.Duration {
	var p []time.Duration
	for _, t := range c.timers {
		p = append(p, t.at.Sub(c.now))
	}
	slices.Sort(p)
	return p
}

// WaitPending blocks until ok, called with Pending() whenever a callback
// is added or removed, returns true, and returns what ok accepted. It
// blocks for ever if that never happens (the test's -timeout ends it).
func (c *Clock) WaitPending(ok func(pending []time.Duration) bool) []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		if p := c.pending(); ok(p) {
			return p
		}
		c.cond.Wait()
	}
}

// WaitFor blocks until a callback is due exactly d from now, and returns
// the pending durations.
func (c *Clock) WaitFor(d time.Duration) []time.Duration {
	return c.WaitPending(func(p []time.Duration) bool { return slices.Contains(p, d) })
}

// ErrClosed is returned by a Camera's Next after Close.
var ErrClosed = errors.New("devicetest: camera closed")

// Camera is a fake device.Camera. Next returns each frame a test sends on
// Frames and each error it sends on Errs, and otherwise blocks until its
// context ends or Close. Close returns CloseErr; when Hang is not nil, it
// first blocks until Hang is closed. Create it with NewCamera.
type Camera struct {
	Frames   chan device.Frame
	Errs     chan error
	Hang     chan struct{}
	CloseErr error

	closed  chan struct{}
	once    sync.Once
	mu      sync.Mutex
	cond    *sync.Cond
	closes  int
	reading int // Next calls waiting
}

var _ device.Camera = (*Camera)(nil)

// NewCamera returns a camera with unbuffered Frames and Errs: a send
// returns once Next has taken it.
func NewCamera() *Camera {
	c := &Camera{Frames: make(chan device.Frame), Errs: make(chan error), closed: make(chan struct{})}
	c.cond = sync.NewCond(&c.mu)
	return c
}

// Next implements device.Camera.
func (c *Camera) Next(ctx context.Context) (device.Frame, error) {
	select {
	case <-c.closed:
		return device.Frame{}, ErrClosed
	default:
	}
	c.mu.Lock()
	c.reading++
	c.cond.Broadcast()
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.reading--
		c.mu.Unlock()
	}()
	select {
	case f := <-c.Frames:
		return f, nil
	case err := <-c.Errs:
		return device.Frame{}, err
	case <-ctx.Done():
		return device.Frame{}, ctx.Err()
	case <-c.closed:
		return device.Frame{}, ErrClosed
	}
}

// Close implements device.Camera: Next returns ErrClosed from now on.
func (c *Camera) Close() error {
	c.mu.Lock()
	c.closes++
	c.mu.Unlock()
	c.once.Do(func() { close(c.closed) })
	if c.Hang != nil {
		<-c.Hang
	}
	return c.CloseErr
}

// WaitReading blocks until a call to Next waits for a frame.
func (c *Camera) WaitReading() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.reading == 0 {
		c.cond.Wait()
	}
}

// Closed is closed once Close was called.
func (c *Camera) Closed() <-chan struct{} { return c.closed }

// Closes is how many times Close was called.
func (c *Camera) Closes() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closes
}

// Opened is what an Opener's Open returns.
type Opened struct {
	Camera device.Camera
	Err    error
}

// Opener opens cameras when a test says so. Create it with NewOpener.
type Opener struct {
	// Calls receives one value per call to Open, as it starts (a send the
	// test must receive, unless the context ends first).
	Calls chan struct{}
	// Results are the outcomes of Open calls, one per send.
	Results chan Opened
	// IgnoreContext makes Open wait for a result even after its context
	// ended, like a driver stuck in a system call.
	IgnoreContext bool
}

// NewOpener returns an Opener with unbuffered channels.
func NewOpener() *Opener {
	return &Opener{Calls: make(chan struct{}), Results: make(chan Opened)}
}

// Open is an open function for the camera a test sends: it waits for a
// result on Results or, unless IgnoreContext is set, for ctx to end.
func (o *Opener) Open(ctx context.Context) (device.Camera, error) {
	done := ctx.Done()
	if o.IgnoreContext {
		done = nil
	}
	select {
	case o.Calls <- struct{}{}:
	case <-done:
		return nil, ctx.Err()
	}
	select {
	case r := <-o.Results:
		return r.Camera, r.Err
	case <-done:
		return nil, ctx.Err()
	}
}

// WatchDone returns ctx with a channel that is closed when Done is first
// called on it: code that calls Done only to block on it (as
// device.Latest's Next does) shows this way that it waits.
func WatchDone(ctx context.Context) (context.Context, <-chan struct{}) {
	w := &watchedContext{Context: ctx, waiting: make(chan struct{})}
	return w, w.waiting
}

type watchedContext struct {
	context.Context
	once    sync.Once
	waiting chan struct{}
}

func (c *watchedContext) Done() <-chan struct{} {
	c.once.Do(func() { close(c.waiting) })
	return c.Context.Done()
}
