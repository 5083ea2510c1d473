package v4l2_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/alphad/alphad/device"
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
	tests := []struct {
		format device.PixelFormat
		fourcc string
		w, h   int
		bpp    int
	}{
		{device.YUYV, "YUYV", 640, 480, 2},
		{device.YUYV, "YUYV", 320, 240, 2},
		{device.RGB24, "RGB3", 640, 480, 3},
		{device.RGB24, "RGB3", 320, 240, 3},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s_%dx%d", tt.fourcc, tt.w, tt.h), func(t *testing.T) {
			c, err := v4l2.Open(v4l2.Config{Path: path, Request: v4l2.Request{Width: tt.w, Height: tt.h, FPS: 30, Format: tt.format}})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			f := c.Format()
			t.Logf("negotiated %s, stride %d, %d bytes per frame", f, f.Stride, f.SizeImage)
			if f.FourCC != tt.fourcc || f.Width != tt.w || f.Height != tt.h || f.Stride < tt.w*tt.bpp {
				t.Fatalf("negotiated %+v, want %s %dx%d", f, tt.fourcc, tt.w, tt.h)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			for range 5 {
				fr, err := c.Next(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if fr.Format != tt.format || fr.Width != tt.w || fr.Stride != f.Stride || len(fr.Data) < f.Stride*tt.h {
					t.Fatalf("frame %d: %s %dx%d stride %d, %d bytes", fr.Seq, fr.Format, fr.Width, fr.Height, fr.Stride, len(fr.Data))
				}
			}
			t.Logf("stats %+v", c.Stats())
		})
	}
}
