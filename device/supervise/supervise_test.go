package supervise_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/alphad/alphad/device"
	"github.com/alphad/alphad/device/devicetest"
	"github.com/alphad/alphad/device/supervise"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	frameTimeout = 10 * time.Second
	minBackoff   = time.Second
	maxBackoff   = 4 * time.Second
	closeTimeout = 5 * time.Second
)

// event is one OnStatus call.
type event struct {
	up  bool
	err string
}

func (e event) String() string {
	if e.up {
		return "up"
	}
	return "down: " + e.err
}

// rig is a supervised camera on a fake clock and opener.
type rig struct {
	t      *testing.T
	clock  *devicetest.Clock
	open   *devicetest.Opener
	cam    *supervise.Camera
	events chan event
}

func newRig(t *testing.T, rnd float64) *rig {
	t.Helper()
	r := &rig{t: t, clock: devicetest.NewClock(), open: devicetest.NewOpener(), events: make(chan event, 100)}
	r.cam = supervise.New(r.open.Open, supervise.Options{
		FrameTimeout: frameTimeout, MinBackoff: minBackoff, MaxBackoff: maxBackoff, CloseTimeout: closeTimeout,
		Clock: r.clock, Rand: func() float64 { return rnd },
		OnStatus: func(up bool, err error) {
			e := event{up: up}
			if err != nil {
				e.err = err.Error()
			}
			r.events <- e
		},
	})
	return r
}

// result is what one Next call returned.
type result struct {
	f   device.Frame
	err error
}

// next calls Next on a goroutine of its own.
func (r *rig) next(ctx context.Context) <-chan result {
	ch := make(chan result, 1)
	go func() {
		f, err := r.cam.Next(ctx)
		ch <- result{f, err}
	}()
	return ch
}

// get waits for a result; the timer only guards against a hang.
func get(t *testing.T, ch <-chan result) result {
	t.Helper()
	select {
	case res := <-ch:
		return res
	case <-time.After(10 * time.Second):
		t.Fatal("Next did not return")
		return result{}
	}
}

// opened waits for an open call and answers it.
func (r *rig) opened(cam device.Camera, err error) {
	r.t.Helper()
	<-r.open.Calls
	r.open.Results <- devicetest.Opened{Camera: cam, Err: err}
}

// wantEvents checks the status events seen since the last call.
func (r *rig) wantEvents(want ...string) {
	r.t.Helper()
	var got []string
	for len(got) < len(want) {
		select {
		case e := <-r.events:
			got = append(got, e.String())
		case <-time.After(10 * time.Second):
			r.t.Fatalf("status events %q, want %q", got, want)
		}
	}
	select {
	case e := <-r.events:
		got = append(got, e.String())
	default:
	}
	if !slices.Equal(got, want) {
		r.t.Fatalf("status events %q, want %q", got, want)
	}
}

// waitBackoff waits until Next waits exactly d before the next open, and
// lets that time pass.
func (r *rig) waitBackoff(d time.Duration) {
	r.t.Helper()
	r.clock.WaitFor(d)
	r.clock.Advance(d)
}

func frame(n int) device.Frame {
	return device.Frame{Seq: 100, Format: device.RGB24, Width: 1, Height: 1, Stride: 3, Data: []byte{byte(n), 0, 0}}
}

func wantFrame(t *testing.T, res result, seq uint64, data byte) {
	t.Helper()
	if res.err != nil {
		t.Fatalf("Next: %v", res.err)
	}
	if res.f.Seq != seq || res.f.Data[0] != data {
		t.Fatalf("frame seq %d data %d, want seq %d data %d", res.f.Seq, res.f.Data[0], seq, data)
	}
}

// TestStallReopens: a camera that delivers no frame for FrameTimeout (of
// waiting in Next) is closed and another one opened; frames are numbered
// on across the reopen. Time spent outside Next does not count.
func TestStallReopens(t *testing.T) {
	r := newRig(t, 0)
	defer r.cam.Close()
	ctx := context.Background()
	cam1, cam2 := devicetest.NewCamera(), devicetest.NewCamera()

	res := r.next(ctx)
	r.opened(cam1, nil)
	cam1.Frames <- frame(1)
	wantFrame(t, get(t, res), 1, 1)
	r.wantEvents("up")

	// The consumer holds the frame for 3 × FrameTimeout: no stall.
	r.clock.Advance(3 * frameTimeout)
	res = r.next(ctx)
	cam1.Frames <- frame(2)
	wantFrame(t, get(t, res), 2, 2)

	// Now Next waits in vain: after FrameTimeout the camera is replaced.
	res = r.next(ctx)
	cam1.WaitReading()
	r.clock.WaitFor(frameTimeout)
	r.clock.Advance(frameTimeout - time.Millisecond)
	select {
	case <-cam1.Closed():
		t.Fatal("closed before the frame timeout")
	default:
	}
	r.clock.Advance(time.Millisecond)
	r.wantEvents("down: camera: no frame for 10s")
	<-cam1.Closed()
	r.waitBackoff(minBackoff)
	r.opened(cam2, nil)
	cam2.Frames <- frame(3)
	wantFrame(t, get(t, res), 3, 3)
	r.wantEvents("up")
	if st := r.cam.Stats(); st.Opens != 2 || st.Failures != 1 || !st.Up || !strings.Contains(st.LastError, "no frame for") {
		t.Fatalf("stats %+v", st)
	}
}

// TestStallAcrossCalls: waits in Next calls that end with their context
// add up to the frame timeout.
func TestStallAcrossCalls(t *testing.T) {
	r := newRig(t, 0)
	defer r.cam.Close()
	cam1 := devicetest.NewCamera()
	res := r.next(context.Background())
	r.opened(cam1, nil)
	cam1.Frames <- frame(1)
	wantFrame(t, get(t, res), 1, 1)
	r.wantEvents("up")
	// The timer was armed at the first read, for 10 s.
	for _, left := range []time.Duration{10 * time.Second, 6 * time.Second} {
		ctx, cancel := context.WithCancel(context.Background())
		res := r.next(ctx)
		cam1.WaitReading()
		r.clock.WaitFor(left)
		r.clock.Advance(4 * time.Second)
		cancel()
		if res := get(t, res); !errors.Is(res.err, context.Canceled) {
			t.Fatalf("Next = %v, want %v", res.err, context.Canceled)
		}
	}
	// 8 s waited so far: 2 s to go.
	res = r.next(context.Background())
	cam1.WaitReading()
	r.clock.WaitFor(2 * time.Second)
	r.clock.Advance(2 * time.Second)
	r.wantEvents("down: camera: no frame for 10s")
	<-cam1.Closed()
	r.waitBackoff(minBackoff)
	cam2 := devicetest.NewCamera()
	r.opened(cam2, nil)
	cam2.Frames <- frame(2)
	wantFrame(t, get(t, res), 2, 2)
}

// TestBackoff: failed opens wait MinBackoff, then twice as long each time
// up to MaxBackoff, and are reported once; after a frame the wait starts
// again at MinBackoff. A failing read is reported with its error.
func TestBackoff(t *testing.T) {
	r := newRig(t, 0)
	defer r.cam.Close()
	res := r.next(context.Background())
	errGone := errors.New("no such device")
	r.opened(nil, errGone)
	r.wantEvents("down: camera: open: no such device")
	for _, d := range []time.Duration{1 * time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second} {
		r.waitBackoff(d)
		r.opened(nil, errGone)
	}
	r.waitBackoff(4 * time.Second)
	cam1 := devicetest.NewCamera()
	r.opened(cam1, nil)
	cam1.Frames <- frame(1)
	wantFrame(t, get(t, res), 1, 1)
	r.wantEvents("up")

	res = r.next(context.Background())
	cam1.Errs <- errors.New("read: device vanished")
	r.wantEvents("down: camera: read: device vanished")
	<-cam1.Closed()
	r.waitBackoff(minBackoff) // reset by the frame
	r.opened(nil, errGone)
	r.waitBackoff(2 * time.Second)
	cam2 := devicetest.NewCamera()
	r.opened(cam2, nil)
	cam2.Frames <- frame(2)
	wantFrame(t, get(t, res), 2, 2)
	r.wantEvents("up")
	if st := r.cam.Stats(); st.Opens != 2 || st.Failures != 7 {
		t.Fatalf("stats %+v", st)
	}
}

// TestJitter: waits are made longer by up to a fifth, by Rand.
func TestJitter(t *testing.T) {
	r := newRig(t, 0.5)
	defer r.cam.Close()
	ctx, cancel := context.WithCancel(context.Background())
	res := r.next(ctx)
	r.opened(nil, errors.New("busy"))
	r.waitBackoff(1100 * time.Millisecond)
	r.opened(nil, errors.New("busy"))
	r.clock.WaitFor(2200 * time.Millisecond)
	cancel()
	get(t, res)
}

// TestCancelDuringOpen: Next returns when its context ends while an open
// that ignores its context hangs; Close waits for that open no longer
// than CloseTimeout, and the camera it returns late is closed.
func TestCancelDuringOpen(t *testing.T) {
	r := newRig(t, 0)
	r.open.IgnoreContext = true
	ctx, cancel := context.WithCancel(context.Background())
	res := r.next(ctx)
	<-r.open.Calls
	cancel()
	if res := get(t, res); !errors.Is(res.err, context.Canceled) {
		t.Fatalf("Next = %v, want %v", res.err, context.Canceled)
	}
	closed := make(chan error, 1)
	go func() { closed <- r.cam.Close() }()
	r.clock.WaitFor(closeTimeout)
	r.clock.Advance(closeTimeout)
	if err := <-closed; err == nil || !strings.Contains(err.Error(), "open did not return") {
		t.Fatalf("Close = %v", err)
	}
	late := devicetest.NewCamera()
	r.open.Results <- devicetest.Opened{Camera: late}
	<-late.Closed()
	if res := get(t, r.next(context.Background())); !errors.Is(res.err, supervise.ErrClosed) {
		t.Fatalf("Next after Close = %v", res.err)
	}
	r.wantEvents() // neither up nor down
}

// TestCloseCancelsOpen: Close cancels an open in progress and returns
// once it did, waking the waiting Next.
func TestCloseCancelsOpen(t *testing.T) {
	r := newRig(t, 0)
	res := r.next(context.Background())
	<-r.open.Calls
	if err := r.cam.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if res := get(t, res); !errors.Is(res.err, supervise.ErrClosed) {
		t.Fatalf("Next = %v, want ErrClosed", res.err)
	}
	if err := r.cam.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// TestHangingClose: a camera whose Close hangs is abandoned after
// CloseTimeout; the next one is opened, and Close of the supervisor
// returns after CloseTimeout with an error.
func TestHangingClose(t *testing.T) {
	r := newRig(t, 0)
	hang := make(chan struct{})
	defer close(hang)
	cam1, cam2 := devicetest.NewCamera(), devicetest.NewCamera()
	cam1.Hang, cam2.Hang = hang, hang
	res := r.next(context.Background())
	r.opened(cam1, nil)
	cam1.Frames <- frame(1)
	wantFrame(t, get(t, res), 1, 1)

	res = r.next(context.Background())
	cam1.Errs <- errors.New("EIO")
	<-cam1.Closed()
	r.waitBackoff(minBackoff)
	// The reopen waits for the close until CloseTimeout after it began.
	r.waitBackoff(closeTimeout - minBackoff)
	r.opened(cam2, nil)
	cam2.Frames <- frame(2)
	wantFrame(t, get(t, res), 2, 2)
	r.wantEvents("up", "down: camera: EIO", "up")

	res = r.next(context.Background())
	closed := make(chan error, 1)
	go func() { closed <- r.cam.Close() }()
	if res := get(t, res); !errors.Is(res.err, supervise.ErrClosed) {
		t.Fatalf("Next = %v, want ErrClosed", res.err)
	}
	r.clock.WaitPending(func(p []time.Duration) bool { return slices.Equal(p, []time.Duration{closeTimeout}) })
	r.clock.Advance(closeTimeout)
	if err := <-closed; err == nil || !strings.Contains(err.Error(), "close did not return within 5s") {
		t.Fatalf("Close = %v", err)
	}
	<-cam2.Closed()
	if n := cam2.Closes(); n != 1 {
		t.Fatalf("cam2 closed %d times", n)
	}
}

// TestCloseErrors: the underlying camera's Close error comes back from
// Close, once.
func TestCloseErrors(t *testing.T) {
	r := newRig(t, 0)
	cam := devicetest.NewCamera()
	cam.CloseErr = errors.New("EBADF")
	res := r.next(context.Background())
	r.opened(cam, nil)
	cam.Frames <- frame(1)
	get(t, res)
	if err := r.cam.Close(); err == nil || err.Error() != "camera: close: EBADF" {
		t.Fatalf("Close = %v", err)
	}
	if err := r.cam.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
}

// TestCancelDuringRead: a context ending while Next waits for a frame is
// not a failure: the same camera serves the next call.
func TestCancelDuringRead(t *testing.T) {
	r := newRig(t, 0)
	defer r.cam.Close()
	cam := devicetest.NewCamera()
	ctx, cancel := context.WithCancel(context.Background())
	res := r.next(ctx)
	r.opened(cam, nil)
	cam.Frames <- frame(1)
	get(t, res)
	res = r.next(ctx)
	cancel()
	if res := get(t, res); !errors.Is(res.err, context.Canceled) {
		t.Fatalf("Next = %v", res.err)
	}
	res = r.next(context.Background())
	cam.Frames <- frame(2)
	wantFrame(t, get(t, res), 2, 2)
	if st := r.cam.Stats(); st.Opens != 1 || st.Failures != 0 {
		t.Fatalf("stats %+v", st)
	}
	r.wantEvents("up")
}

// TestWallClock runs the supervisor on real time: a failing camera is
// replaced by a working one.
func TestWallClock(t *testing.T) {
	cams := []device.Camera{failing{}, &counting{}}
	n := 0
	open := func(context.Context) (device.Camera, error) {
		c := cams[n]
		n++
		return c, nil
	}
	c := supervise.New(open, supervise.Options{MinBackoff: time.Millisecond})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := range 3 {
		f, err := c.Next(ctx)
		if err != nil || f.Seq != uint64(i+1) {
			t.Fatalf("Next = seq %d, %v", f.Seq, err)
		}
	}
	if st := c.Stats(); st.Opens != 2 || st.Failures != 1 || st.LastError != "camera: EIO" {
		t.Fatalf("stats %+v", st)
	}
}

type failing struct{}

func (failing) Next(context.Context) (device.Frame, error) { return device.Frame{}, errors.New("EIO") }
func (failing) Close() error                               { return nil }

// counting delivers a frame on every call.
type counting struct {
	n    int
	data [64]byte
}

func (c *counting) Next(context.Context) (device.Frame, error) {
	c.n++
	return device.Frame{Seq: uint64(c.n), Format: device.RGB24, Width: 4, Height: 4, Stride: 12, Data: c.data[:48]}, nil
}
func (c *counting) Close() error { return nil }

// BenchmarkNext is the per-frame cost of supervision over a camera that
// always has a frame (allocs/op must stay 0: steady streaming allocates
// nothing).
func BenchmarkNext(b *testing.B) {
	c := supervise.New(func(context.Context) (device.Camera, error) { return &counting{}, nil }, supervise.Options{})
	defer c.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := c.Next(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Next(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

func TestNextAllocs(t *testing.T) {
	c := supervise.New(func(context.Context) (device.Camera, error) { return &counting{}, nil }, supervise.Options{})
	defer c.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := c.Next(ctx); err != nil {
		t.Fatal(err)
	}
	if a := testing.AllocsPerRun(100, func() {
		if _, err := c.Next(ctx); err != nil {
			t.Fatal(err)
		}
	}); a != 0 {
		t.Fatalf("%v allocations per frame, want 0", a)
	}
}
