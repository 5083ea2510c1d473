package v4l2_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/alphad/alphad/device"
	"github.com/alphad/alphad/device/supervise"
	"github.com/alphad/alphad/device/v4l2"
)

// TestVivid runs the real kernel path against the vivid driver (in the
// test VM; see ../shared/notes/vm-hardware-tests.md). It skips unless
// $VIDEO_DEV (default /dev/video0) is a vivid node. It checks that the
// format read back from the driver is the one asked for and that frames
// have the size the driver announced.
func TestVivid(t *testing.T) {
	path := os.Getenv("VIDEO_DEV")
	if path == "" {
		path = "/dev/video0"
	}
	if _, err := os.Stat(path); err != nil {
		t.Skipf("no %s (run inside the test VM): %v", path, err)
	}
	dev, err := v4l2.System().Open(path)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	info := dev.Info()
	dev.Close()
	if info.Driver != "vivid" {
		t.Skipf("%s is %s, not vivid", path, info)
	}
	list, err := v4l2.List(v4l2.System(), "/dev")
	if err != nil || len(list) == 0 {
		t.Fatalf("List: %v %v", list, err)
	}
	for _, d := range list {
		t.Logf("%s: %d formats", d.Info, len(d.Formats))
	}
	offered := map[string]bool{}
	for _, fd := range list[0].Formats {
		for _, sz := range fd.Sizes {
			offered[fmt.Sprintf("%s %dx%d", fd.FourCC, sz.Width, sz.Height)] = true
		}
	}
	tests := []struct {
		format       device.PixelFormat
		fourcc       string
		w, h         int
		bpp          int
		wantW, wantH int // 0: any size the driver lists
	}{
		{device.YUYV, "YUYV", 640, 480, 2, 640, 480},
		{device.YUYV, "YUYV", 1280, 720, 2, 1280, 720},
		{device.RGB24, "RGB3", 640, 480, 3, 640, 480},
		{device.RGB24, "RGB3", 1280, 720, 3, 1280, 720},
		// vivid has no 320x240: the driver picks a size, read back here.
		{device.YUYV, "YUYV", 320, 240, 2, 0, 0},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s_%dx%d", tt.fourcc, tt.w, tt.h), func(t *testing.T) {
			c, err := v4l2.Open(context.Background(), v4l2.Config{Path: path, Request: v4l2.Request{Width: tt.w, Height: tt.h, FPS: 30, Format: tt.format}})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			f := c.Format()
			t.Logf("asked %s %dx%d, driver set %s, stride %d, %d bytes per frame", tt.fourcc, tt.w, tt.h, f, f.Stride, f.SizeImage)
			if f.FourCC != tt.fourcc || f.Stride < f.Width*tt.bpp || f.SizeImage < f.Stride*f.Height {
				t.Fatalf("negotiated %+v", f)
			}
			if tt.wantW != 0 && (f.Width != tt.wantW || f.Height != tt.wantH) {
				t.Fatalf("negotiated %dx%d, want %dx%d", f.Width, f.Height, tt.wantW, tt.wantH)
			}
			if !offered[fmt.Sprintf("%s %dx%d", f.FourCC, f.Width, f.Height)] {
				t.Errorf("negotiated size %dx%d is not among the sizes the driver lists", f.Width, f.Height)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			for range 5 {
				fr, err := c.Next(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if fr.Format != tt.format || fr.Width != f.Width || fr.Height != f.Height || fr.Stride != f.Stride || len(fr.Data) < f.Stride*f.Height {
					t.Fatalf("frame %d: %s %dx%d stride %d, %d bytes", fr.Seq, fr.Format, fr.Width, fr.Height, fr.Stride, len(fr.Data))
				}
				distinct := map[byte]bool{}
				for i := 0; i < len(fr.Data); i += 97 {
					distinct[fr.Data[i]] = true
				}
				if len(distinct) < 2 {
					t.Fatalf("frame %d looks blank", fr.Seq)
				}
			}
			t.Logf("stats %+v", c.Stats())
		})
	}
}

// TestVividUnplug unbinds the vivid platform device while streaming (the
// node vanishes, as when a USB camera is pulled out), binds it again, and
// checks that the supervised camera reopens it and frames resume.
func TestVividUnplug(t *testing.T) {
	const drv = "/sys/bus/platform/drivers/vivid"
	if os.Getenv("VMTEST") == "" {
		t.Skip("only inside the test VM (VMTEST=1): it unbinds the vivid driver")
	}
	if _, err := os.Stat(drv + "/vivid.0"); err != nil {
		t.Skipf("no vivid.0 platform device: %v", err)
	}
	c, events := supervisedVM(v4l2.Config{Path: "/dev/video0", Request: v4l2.Request{Width: 640, Height: 480, Format: device.YUYV}},
		50*time.Millisecond, 200*time.Millisecond)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	first, err := c.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(drv+"/unbind", []byte("vivid.0"), 0o200); err != nil {
		t.Fatalf("unbind: %v", err)
	}
	if !drive(ctx, c, events, false) {
		t.Fatal("no error after the device vanished")
	}
	t.Logf("after unbind: %+v", c.Stats())
	if err := os.WriteFile(drv+"/bind", []byte("vivid.0"), 0o200); err != nil {
		t.Fatalf("bind: %v", err)
	}
	if !drive(ctx, c, events, true) {
		t.Fatalf("no frame after the device came back (stats %+v)", c.Stats())
	}
	f, err := c.Next(ctx)
	if err != nil || f.Seq <= first.Seq {
		t.Fatalf("after the device came back: seq %d after %d, %v", f.Seq, first.Seq, err)
	}
	t.Logf("after bind: %+v", c.Stats())
}

// supervisedVM is a supervised V4L2 camera with fast retries; its status
// changes come on the channel as true (up) and false (down).
func supervisedVM(cfg v4l2.Config, minBackoff, maxBackoff time.Duration) (*supervise.Camera, <-chan bool) {
	events := make(chan bool, 100)
	c := supervise.New(func(ctx context.Context) (device.Camera, error) { return v4l2.Open(ctx, cfg) },
		supervise.Options{MinBackoff: minBackoff, MaxBackoff: maxBackoff, OnStatus: func(up bool, err error) { events <- up }})
	return c, events
}

// drive calls Next (the supervisor works inside it) until the camera's
// status becomes up (or down), and reports whether it did before ctx
// ended.
func drive(ctx context.Context, c *supervise.Camera, events <-chan bool, up bool) bool {
	for ctx.Err() == nil {
		select {
		case e := <-events:
			if e == up {
				return true
			}
			continue
		default:
		}
		nctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		c.Next(nctx)
		cancel()
	}
	return false
}
