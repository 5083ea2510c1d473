package v4l2_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/alphad/alphad/device"
	"github.com/alphad/alphad/device/devicetest"
	"github.com/alphad/alphad/device/supervise"
	"github.com/alphad/alphad/device/v4l2"
	"github.com/alphad/alphad/device/v4l2/v4l2test"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func descs(fourccs ...string) []v4l2.FormatDesc {
	var d []v4l2.FormatDesc
	for _, f := range fourccs {
		d = append(d, v4l2.FormatDesc{FourCC: f, Sizes: []v4l2.FrameSize{{Width: 640, Height: 480, FPS: []float64{30, 15}}}})
	}
	return d
}

func webcam(fourccs ...string) *v4l2test.Device {
	return &v4l2test.Device{Info: v4l2.Info{Path: "/dev/video0", Driver: "uvcvideo", Card: "Test Cam", Bus: "usb-1"}, Formats: descs(fourccs...)}
}

func TestNegotiate(t *testing.T) {
	tests := []struct {
		name    string
		dev     *v4l2test.Device
		req     v4l2.Request
		want    string // FourCC
		wantErr string
	}{
		{"auto prefers YUYV", webcam("MJPG", "YUYV"), v4l2.Request{}, "YUYV", ""},
		{"auto takes RGB24", webcam("H264", "RGB3"), v4l2.Request{}, "RGB3", ""},
		{"auto takes MJPEG last", webcam("H264", "MJPG"), v4l2.Request{}, "MJPG", ""},
		{"JPEG counts as MJPEG", webcam("JPEG"), v4l2.Request{Format: device.MJPEG}, "JPEG", ""},
		{"asked MJPEG", webcam("YUYV", "MJPG"), v4l2.Request{Format: device.MJPEG}, "MJPG", ""},
		{"asked format not offered", webcam("YUYV"), v4l2.Request{Format: device.MJPEG}, "", "does not offer MJPEG (it offers YUYV)"},
		{"no usable format", webcam("H264", "NV12"), v4l2.Request{}, "", "no usable pixel format: it offers H264, NV12, alphad needs YUYV, RGB24 or MJPEG"},
		{"driver substitutes, auto falls back", func() *v4l2test.Device {
			d := webcam("YUYV", "MJPG")
			d.Substitute = map[string]string{"YUYV": "MJPG"}
			return d
		}(), v4l2.Request{}, "MJPG", ""},
		{"driver substitutes asked format", func() *v4l2test.Device {
			d := webcam("YUYV", "MJPG")
			d.Substitute = map[string]string{"MJPG": "YUYV"}
			return d
		}(), v4l2.Request{Format: device.MJPEG}, "", "MJPG: driver set YUYV instead"},
		{"set format fails", func() *v4l2test.Device {
			d := webcam("YUYV")
			d.SetFormatErr = errors.New("EBUSY")
			return d
		}(), v4l2.Request{}, "", "YUYV: EBUSY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := &v4l2test.Kernel{Devices: map[string]*v4l2test.Device{"/dev/video0": tt.dev}}
			dev, err := k.Open("/dev/video0")
			if err != nil {
				t.Fatal(err)
			}
			defer dev.Close()
			f, err := v4l2.Negotiate(dev, tt.req)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if !strings.Contains(err.Error(), "/dev/video0") {
					t.Fatalf("error does not name the device: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if f.FourCC != tt.want || f.Width != 640 || f.Height != 480 {
				t.Fatalf("got %+v, want %s 640x480", f, tt.want)
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"missing", nil, "v4l2: open /dev/video7: no such device; is the camera plugged in? `alphad devices` lists cameras"},
		{"permission", &fs.PathError{Op: "open", Path: "/dev/video7", Err: fs.ErrPermission}, `add the user to the "video" group`},
		{"busy", syscall.EBUSY, "another program"},
		{"metadata node", fmt.Errorf("/dev/video7: %w", v4l2.ErrNotCapture), "is not a video capture device"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := &v4l2test.Kernel{OpenErrs: []error{tt.err}}
			_, err := v4l2.Open(context.Background(), v4l2.Config{Path: "/dev/video7", Kernel: k})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
	// A device without a usable format is closed again.
	k := &v4l2test.Kernel{Devices: map[string]*v4l2test.Device{"/dev/video0": webcam("H264")}}
	if _, err := v4l2.Open(context.Background(), v4l2.Config{Kernel: k}); err == nil {
		t.Fatal("no error for a device without a usable format")
	}
	if o, c := k.Counts(); o != c {
		t.Fatalf("opened %d, closed %d", o, c)
	}
	// A context that has ended opens nothing.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	k = &v4l2test.Kernel{Devices: map[string]*v4l2test.Device{"/dev/video0": webcam("YUYV")}}
	if _, err := v4l2.Open(ctx, v4l2.Config{Kernel: k}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Open with an ended context: %v", err)
	}
	if o, _ := k.Counts(); o != 0 {
		t.Fatalf("opened %d devices with an ended context", o)
	}
}

func open(t *testing.T, k *v4l2test.Kernel, cfg v4l2.Config) *v4l2.Camera {
	t.Helper()
	cfg.Kernel = k
	c, err := v4l2.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		if o, cl := k.Counts(); o != cl {
			t.Errorf("opened %d devices, closed %d", o, cl)
		}
	})
	return c
}

func next(t *testing.T, c *v4l2.Camera) device.Frame {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	f, err := c.Next(ctx)
	if err != nil {
		t.Fatalf("Next: %v", err)
	}
	return f
}

func TestFrames(t *testing.T) {
	for _, tt := range []struct {
		fourcc string
		format device.PixelFormat
		stride int
	}{{"YUYV", device.YUYV, 128}, {"RGB3", device.RGB24, 192}, {"MJPG", device.MJPEG, 0}} {
		t.Run(tt.fourcc, func(t *testing.T) {
			d := webcam(tt.fourcc)
			d.FPS = 200
			k := &v4l2test.Kernel{Devices: map[string]*v4l2test.Device{"/dev/video0": d}}
			c := open(t, k, v4l2.Config{Request: v4l2.Request{Width: 64, Height: 48, FPS: 200}})
			if f := c.Format(); f.FourCC != tt.fourcc || f.Width != 64 || f.FPS != 200 {
				t.Fatalf("format %+v", f)
			}
			var last uint64
			for range 5 {
				f := next(t, c)
				if f.Seq <= last || f.Format != tt.format || f.Width != 64 || f.Height != 48 || f.Stride != tt.stride || len(f.Data) == 0 || f.Time.IsZero() {
					t.Fatalf("frame %+v (last seq %d)", f, last)
				}
				last = f.Seq
			}
		})
	}
}

// TestDeviceGone: the device vanishes (ENODEV) while streaming: the node
// is closed at once and Next returns the error, also after Close.
func TestDeviceGone(t *testing.T) {
	d := webcam("YUYV")
	d.FPS = 1000
	d.ReadHook = func(open, frame int) error {
		if frame == 3 {
			return fmt.Errorf("VIDIOC_DQBUF: %w", syscall.ENODEV)
		}
		return nil
	}
	k := &v4l2test.Kernel{Devices: map[string]*v4l2test.Device{"/dev/video0": d}}
	c := open(t, k, v4l2.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var err error
	for err == nil {
		_, err = c.Next(ctx)
	}
	if !errors.Is(err, syscall.ENODEV) || !strings.Contains(err.Error(), "v4l2: /dev/video0: read frame") {
		t.Fatalf("Next = %v, want the read error", err)
	}
	if o, cl := k.Counts(); o != 1 || cl != 1 {
		t.Fatalf("opened %d, closed %d after the failure; want 1, 1", o, cl)
	}
	c.Close()
	if _, err := c.Next(ctx); !errors.Is(err, syscall.ENODEV) {
		t.Fatalf("Next after Close = %v", err)
	}
}

// supervised wraps a camera on k in the supervisor, reporting its status
// changes on the returned channel.
func supervised(t *testing.T, k *v4l2test.Kernel, o supervise.Options) (*supervise.Camera, <-chan string) {
	t.Helper()
	events := make(chan string, 100)
	o.MinBackoff, o.MaxBackoff = time.Millisecond, 5*time.Millisecond
	o.OnStatus = func(up bool, err error) {
		if up {
			events <- "up"
		} else {
			events <- "down: " + err.Error()
		}
	}
	c := supervise.New(func(ctx context.Context) (device.Camera, error) {
		return v4l2.Open(ctx, v4l2.Config{Kernel: k})
	}, o)
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Error(err)
		}
		if o, cl := k.Counts(); o != cl {
			t.Errorf("opened %d devices, closed %d", o, cl)
		}
	})
	return c, events
}

// TestSupervisedReconnect: under the supervisor, the device vanishes, is
// missing for two open attempts, comes back, and frames resume, numbered
// on.
func TestSupervisedReconnect(t *testing.T) {
	d := webcam("YUYV")
	d.FPS = 1000
	d.ReadHook = func(open, frame int) error {
		if open == 0 && frame == 3 {
			return fmt.Errorf("VIDIOC_DQBUF: %w", syscall.ENODEV)
		}
		return nil
	}
	k := &v4l2test.Kernel{
		Devices:  map[string]*v4l2test.Device{"/dev/video0": d},
		OpenErrs: []error{nil, fs.ErrNotExist, fs.ErrNotExist},
	}
	c, events := supervised(t, k, supervise.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var seqs []uint64
	for c.Stats().Opens < 2 || len(seqs) < 8 {
		f, err := c.Next(ctx)
		if err != nil {
			t.Fatalf("Next: %v (stats %+v)", err, c.Stats())
		}
		seqs = append(seqs, f.Seq)
	}
	for i := 1; i < len(seqs); i++ {
		if seqs[i] != seqs[i-1]+1 {
			t.Fatalf("sequence not consecutive: %v", seqs)
		}
	}
	st := c.Stats()
	if st.Opens != 2 || st.Failures != 3 || !strings.Contains(st.LastError, "no such device") {
		t.Fatalf("stats %+v", st)
	}
	var got []string
	for len(events) > 0 {
		got = append(got, <-events)
	}
	if len(got) != 3 || got[0] != "up" || !strings.Contains(got[1], "read frame") || got[2] != "up" {
		t.Fatalf("status events %q", got)
	}
}

// TestSupervisedStall: a device that delivers nothing is closed and
// reopened by the supervisor.
func TestSupervisedStall(t *testing.T) {
	d := webcam("YUYV")
	d.Block = true
	k := &v4l2test.Kernel{Devices: map[string]*v4l2test.Device{"/dev/video0": d}}
	c, events := supervised(t, k, supervise.Options{FrameTimeout: 20 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := c.Next(ctx)
		done <- err
	}()
	if e := <-events; e != "down: camera: no frame for 20ms" {
		t.Fatalf("status %q", e)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Next = %v", err)
	}
}

// TestCloseWhileBlocked: Next waiting on a device that delivers nothing
// returns soon after Close, and nothing leaks (goleak in TestMain).
func TestCloseWhileBlocked(t *testing.T) {
	d := webcam("YUYV")
	d.Block = true
	k := &v4l2test.Kernel{Devices: map[string]*v4l2test.Device{"/dev/video0": d}}
	c := open(t, k, v4l2.Config{})
	errc := make(chan error, 1)
	ctx, waiting := devicetest.WatchDone(context.Background())
	go func() {
		_, err := c.Next(ctx)
		errc <- err
	}()
	<-waiting
	start := time.Now()
	c.Close()
	select {
	case err := <-errc:
		if !errors.Is(err, v4l2.ErrClosed) {
			t.Fatalf("Next: %v, want ErrClosed", err)
		}
	case <-time.After(time.Second):
		t.Fatal("Next still blocked 1 s after Close")
	}
	if el := time.Since(start); el > time.Second {
		t.Fatalf("Close took %v", el)
	}
	if _, err := c.Next(context.Background()); !errors.Is(err, v4l2.ErrClosed) {
		t.Fatalf("Next after Close: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestNextContext(t *testing.T) {
	d := webcam("YUYV")
	d.Block = true
	k := &v4l2test.Kernel{Devices: map[string]*v4l2test.Device{"/dev/video0": d}}
	c := open(t, k, v4l2.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := c.Next(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
}

// TestLatestFrameWins: a slow consumer gets the newest frame and the
// frames it missed are counted as dropped.
func TestLatestFrameWins(t *testing.T) {
	d := webcam("YUYV")
	d.FPS = 1000
	k := &v4l2test.Kernel{Devices: map[string]*v4l2test.Device{"/dev/video0": d}}
	c := open(t, k, v4l2.Config{Request: v4l2.Request{Width: 32, Height: 8}})
	first := next(t, c)
	for deadline := time.Now().Add(5 * time.Second); c.Stats().Frames < first.Seq+3; {
		if time.Now().After(deadline) {
			t.Fatalf("no frames captured after the first: %+v", c.Stats())
		}
		runtime.Gosched()
	}
	second := next(t, c)
	if second.Seq <= first.Seq+1 {
		t.Fatalf("seq %d after %d: nothing was dropped", second.Seq, first.Seq)
	}
	st := c.Stats()
	if st.Dropped == 0 || st.Frames < second.Seq {
		t.Fatalf("stats %+v", st)
	}
}

func TestList(t *testing.T) {
	root := t.TempDir()
	for _, n := range []string{"video0", "video1", "video10", "video2", "vbi0", "videox"} {
		if err := os.WriteFile(filepath.Join(root, n), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	p := func(n string) string { return filepath.Join(root, n) }
	cam := func(path string) *v4l2test.Device {
		d := webcam("YUYV", "MJPG")
		d.Info.Path = path
		return d
	}
	k := &v4l2test.Kernel{
		Devices:  map[string]*v4l2test.Device{p("video0"): cam(p("video0")), p("video2"): cam(p("video2")), p("video10"): cam(p("video10"))},
		OpenErrs: []error{nil, fmt.Errorf("meta: %w", v4l2.ErrNotCapture), nil, &fs.PathError{Op: "open", Path: p("video10"), Err: fs.ErrPermission}},
	}
	list, err := v4l2.List(k, root)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range list {
		s := filepath.Base(d.Path)
		if d.Err != nil {
			s += "!"
		}
		got = append(got, s)
	}
	if strings.Join(got, " ") != "video0 video2 video10!" {
		t.Fatalf("listed %v", got)
	}
	if len(list[0].Formats) != 2 || list[0].Card != "Test Cam" {
		t.Fatalf("device 0: %+v", list[0])
	}
	if o, c := k.Counts(); o != c {
		t.Fatalf("opened %d, closed %d", o, c)
	}
	if _, err := v4l2.List(k, filepath.Join(root, "nope")); err == nil {
		t.Fatal("missing root: no error")
	}
}
