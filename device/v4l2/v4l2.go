// Package v4l2 is a device.Camera for Video4Linux2 capture devices (USB
// webcams, HDMI grabbers, vivid) built on go4vl's ioctl layer.
//
// The driver sits behind a small seam, Kernel and Device, so that the
// capture logic — format negotiation, latest-frame-wins buffering,
// noticing that the device vanished — is tested with a fake (v4l2test)
// and the real kernel path with vivid in a VM.
//
// The ioctls go through go4vl v0.0.5 in cgo builds (ioctl_go4vl.go) and
// through x/sys/unix in CGO_ENABLED=0 builds (ioctl_unix.go, so that a
// pure-Go cross build for a Pi still has V4L2); the device logic on top
// (kernel_linux.go) is shared. go4vl's own stream loop is not used: it
// panics when VIDIOC_DQBUF fails (as it does with ENODEV when a camera is
// unplugged), its select goroutine never exits, it allocates a buffer per
// frame, and its Device getters return the requested format rather than
// the one the driver set. Here the format is read back with VIDIOC_G_FMT
// after VIDIOC_S_FMT, frames are dequeued by a poll loop with a timeout,
// and a streaming error closes the device at once (so that a replugged
// camera can take its node again) and is returned by Next. Reopening is
// device/supervise's job, as is noticing a device that stops delivering
// frames without an error.
package v4l2

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/alphad/alphad/device"
)

// Kernel opens V4L2 devices. System returns the real one; v4l2test has a
// fake.
type Kernel interface {
	// Open opens a capture device node. Errors wrap fs.ErrNotExist when
	// the node is missing and ErrNotCapture when it cannot capture video.
	Open(path string) (Device, error)
}

// Device is an open V4L2 capture device. It is used by one goroutine at a
// time.
type Device interface {
	// Info describes the device (VIDIOC_QUERYCAP).
	Info() Info
	// Formats lists the pixel formats with their frame sizes and rates.
	Formats() ([]FormatDesc, error)
	// SetFormat asks the driver for a format and frame rate and returns
	// what the driver actually set, read back from it.
	SetFormat(want Format) (Format, error)
	// StreamOn allocates n buffers and starts streaming.
	StreamOn(n int) error
	// Read waits up to timeout for the next frame and copies it into dst
	// (grown when too small), returning the filled slice. It returns
	// ErrNoFrame when the timeout passes without a frame; any other error
	// means the device is unusable.
	Read(dst []byte, timeout time.Duration) ([]byte, error)
	// Close stops streaming and releases the device.
	Close() error
}

// Info is what VIDIOC_QUERYCAP reports.
type Info struct {
	Path   string
	Driver string // e.g. "uvcvideo", "vivid"
	Card   string // e.g. "HD Pro Webcam C920"
	Bus    string // e.g. "usb-0000:01:00.0-1.2"
}

func (i Info) String() string {
	if i.Card == "" {
		return i.Path
	}
	return fmt.Sprintf("%s (%s %q)", i.Path, i.Driver, i.Card)
}

// Format is a capture format as negotiated with the driver.
type Format struct {
	FourCC        string // "YUYV", "RGB3", "MJPG", …
	Width, Height int
	Stride        int     // bytes per line; 0 for compressed formats
	SizeImage     int     // bytes per frame (maximum for compressed formats)
	FPS           float64 // frames per second; 0 when the driver does not say
}

// Pixel is the device.PixelFormat of the format, or "" when alphad cannot
// decode it.
func (f Format) Pixel() device.PixelFormat { return pixelOf(f.FourCC) }

func (f Format) String() string {
	s := fmt.Sprintf("%s %dx%d", f.FourCC, f.Width, f.Height)
	if f.FPS > 0 {
		s += fmt.Sprintf(" @ %.4g fps", f.FPS)
	}
	return s
}

// FormatDesc is one pixel format a device offers (VIDIOC_ENUM_FMT) with
// its frame sizes (VIDIOC_ENUM_FRAMESIZES).
type FormatDesc struct {
	FourCC      string
	Description string
	Compressed  bool
	Emulated    bool // converted in software by libv4l, not the camera
	Sizes       []FrameSize
}

// FrameSize is a discrete frame size with its frame rates, or a range of
// sizes (Stepwise) with the rates at its largest size.
type FrameSize struct {
	Width, Height int
	// Stepwise sizes run from Width×Height to MaxWidth×MaxHeight.
	Stepwise              bool
	MaxWidth, MaxHeight   int
	StepWidth, StepHeight int
	FPS                   []float64 // discrete rates, or min and max of a range
	FPSRange              bool
}

// FourCC codes of the formats alphad decodes.
const (
	FourCCYUYV  = "YUYV"
	FourCCRGB24 = "RGB3"
	FourCCMJPEG = "MJPG"
	FourCCJPEG  = "JPEG" // some cameras label MJPEG this way
)

func pixelOf(fourcc string) device.PixelFormat {
	switch fourcc {
	case FourCCYUYV:
		return device.YUYV
	case FourCCRGB24:
		return device.RGB24
	case FourCCMJPEG, FourCCJPEG:
		return device.MJPEG
	}
	return ""
}

// fourCCsOf lists the FourCC codes that carry a device.PixelFormat.
func fourCCsOf(p device.PixelFormat) []string {
	switch p {
	case device.YUYV:
		return []string{FourCCYUYV}
	case device.RGB24:
		return []string{FourCCRGB24}
	case device.MJPEG:
		return []string{FourCCMJPEG, FourCCJPEG}
	}
	return nil
}

// autoOrder is the preference when no format is asked for: the raw
// formats first, since they need no JPEG decoding per frame.
var autoOrder = []string{FourCCYUYV, FourCCRGB24, FourCCMJPEG, FourCCJPEG}

// Errors.
var (
	// ErrNoFrame is returned by Device.Read when no frame came in time.
	ErrNoFrame = errors.New("v4l2: no frame yet")
	// ErrNotCapture marks a device node that cannot capture video (UVC
	// cameras also create metadata nodes).
	ErrNotCapture = errors.New("not a video capture device")
	// ErrClosed is returned by Next after Close.
	ErrClosed = errors.New("v4l2: camera closed")
)

// hint is appended to errors about a device that is missing or unusable.
const hint = "`alphad devices` lists cameras"

// openError turns an Open error into one clear message.
func openError(path string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENODEV), errors.Is(err, syscall.ENXIO):
		return fmt.Errorf("v4l2: open %s: no such device; is the camera plugged in? %s: %w", path, hint, err)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("v4l2: open %s: permission denied; add the user to the \"video\" group: %w", path, err)
	case errors.Is(err, syscall.EBUSY):
		return fmt.Errorf("v4l2: open %s: device busy; is another program using the camera?: %w", path, err)
	case errors.Is(err, ErrNotCapture):
		return fmt.Errorf("v4l2: %s is not a video capture device; %s: %w", path, hint, err)
	}
	return fmt.Errorf("v4l2: open %s: %w", path, err)
}

// Request is the format a Camera asks for; zero fields take defaults.
type Request struct {
	Width, Height int                // default 640×480
	FPS           float64            // 0: the driver's default
	Format        device.PixelFormat // "": YUYV, else RGB24, else MJPEG
}

// Negotiate sets the format on dev: the requested one, or the first of
// YUYV, RGB24, MJPEG the device offers. It reads back what the driver
// set and fails, naming the device and the formats it offers, when that
// is not a format alphad can decode.
func Negotiate(dev Device, req Request) (Format, error) {
	info := dev.Info()
	if req.Width <= 0 || req.Height <= 0 {
		req.Width, req.Height = 640, 480
	}
	descs, enumErr := dev.Formats()
	var offered []string
	for _, d := range descs {
		offered = append(offered, d.FourCC)
	}
	offers := func(fc string) bool { return enumErr != nil || slices.Contains(offered, fc) }
	var cands []string
	if req.Format != "" {
		want := fourCCsOf(req.Format)
		if want == nil {
			return Format{}, fmt.Errorf("v4l2: %s: format %q is not one alphad decodes (YUYV, RGB24, MJPEG)", info, req.Format)
		}
		for _, fc := range want {
			if offers(fc) {
				cands = append(cands, fc)
			}
		}
		if len(cands) == 0 {
			return Format{}, fmt.Errorf("v4l2: %s does not offer %s (it offers %s); pick one of those with format= or leave format out",
				info, req.Format, listOr(offered))
		}
	} else {
		for _, fc := range autoOrder {
			if offers(fc) {
				cands = append(cands, fc)
			}
		}
		if len(cands) == 0 {
			return Format{}, fmt.Errorf("v4l2: %s has no usable pixel format: it offers %s, alphad needs YUYV, RGB24 or MJPEG; %s",
				info, listOr(offered), hint)
		}
	}
	var tried []string
	for _, fc := range cands {
		got, err := dev.SetFormat(Format{FourCC: fc, Width: req.Width, Height: req.Height, FPS: req.FPS})
		if err != nil {
			tried = append(tried, fmt.Sprintf("%s: %v", fc, err))
			continue
		}
		if got.FourCC != fc {
			// Drivers silently substitute formats they lack.
			tried = append(tried, fmt.Sprintf("%s: driver set %s instead", fc, got.FourCC))
			continue
		}
		if err := checkFormat(got); err != nil {
			tried = append(tried, fmt.Sprintf("%s: %v", fc, err))
			continue
		}
		return got, nil
	}
	return Format{}, fmt.Errorf("v4l2: %s: set format %dx%d: %s", info, req.Width, req.Height, strings.Join(tried, "; "))
}

// checkFormat rejects read-back formats the frame path cannot use.
func checkFormat(f Format) error {
	if f.Width <= 0 || f.Height <= 0 || f.Width > 16384 || f.Height > 16384 {
		return fmt.Errorf("driver reports size %dx%d", f.Width, f.Height)
	}
	min := 0
	switch f.Pixel() {
	case device.YUYV:
		min = (f.Width + 1) / 2 * 4
	case device.RGB24:
		min = f.Width * 3
	}
	if min > 0 && f.Stride < min {
		return fmt.Errorf("driver reports %d bytes per line for %d pixels", f.Stride, f.Width)
	}
	return nil
}

func listOr(s []string) string {
	if len(s) == 0 {
		return "no formats"
	}
	return strings.Join(s, ", ")
}

// Config configures a Camera.
type Config struct {
	Path    string // device node, e.g. /dev/video0
	Request Request
	// Buffers is the number of driver buffers (default 4). Frames are
	// copied out of them at once; downstream, only the latest frame is
	// kept.
	Buffers int
	// Kernel opens the device; nil means System().
	Kernel Kernel
	Log    *slog.Logger
}

// pollTimeout bounds each wait for a frame, hence how long Close waits
// for the capture goroutine.
const pollTimeout = 200 * time.Millisecond

// Stats count what the capture goroutine did.
type Stats struct {
	Frames  uint64 // frames captured
	Dropped uint64 // frames replaced by a newer one before Next took them
}

// Camera captures from a V4L2 device. Next and Close may be called from
// different goroutines; Next must not be called concurrently with itself.
type Camera struct {
	cfg       Config
	log       *slog.Logger
	format    Format
	cancel    context.CancelFunc
	done      chan struct{}  // closed when the capture goroutine exits
	frames    *device.Latest // the hand-off to Next
	closeOnce sync.Once
}

var _ device.Camera = (*Camera)(nil)

// Open opens the device, negotiates the format and starts capturing. A
// missing device or one without a usable format fails here, with one
// error saying what to do. A later failure ends the capture: Next
// returns it. Opening does not block; it fails with ctx.Err() when ctx
// has ended.
func Open(ctx context.Context, cfg Config) (*Camera, error) {
	if cfg.Path == "" {
		cfg.Path = "/dev/video0"
	}
	if cfg.Buffers <= 0 {
		cfg.Buffers = 4
	}
	if cfg.Kernel == nil {
		cfg.Kernel = System()
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("v4l2: open %s: %w", cfg.Path, err)
	}
	dev, f, err := start(cfg)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		dev.Close()
		return nil, fmt.Errorf("v4l2: open %s: %w", cfg.Path, err)
	}
	run, cancel := context.WithCancel(context.Background())
	c := &Camera{cfg: cfg, log: cfg.Log, cancel: cancel, done: make(chan struct{}), frames: device.NewLatest(ErrClosed), format: f}
	c.log.Info("camera streaming", "device", dev.Info().String(), "format", f.String())
	go c.run(run, dev)
	return c, nil
}

// start opens, negotiates and starts streaming.
func start(cfg Config) (Device, Format, error) {
	dev, err := cfg.Kernel.Open(cfg.Path)
	if err != nil {
		return nil, Format{}, openError(cfg.Path, err)
	}
	f, err := Negotiate(dev, cfg.Request)
	if err != nil {
		dev.Close()
		return nil, Format{}, err
	}
	if err := dev.StreamOn(cfg.Buffers); err != nil {
		dev.Close()
		return nil, Format{}, fmt.Errorf("v4l2: %s: start streaming %s: %w", dev.Info(), f, err)
	}
	return dev, f, nil
}

// Format is the format negotiated with the driver.
func (c *Camera) Format() Format { return c.format }

// Stats returns the capture counters.
func (c *Camera) Stats() Stats {
	var s Stats
	s.Frames, s.Dropped = c.frames.Counts()
	return s
}

// run captures until ctx ends or the device fails; then it closes the
// device and, after a failure, hands the error to Next.
func (c *Camera) run(ctx context.Context, dev Device) {
	defer close(c.done)
	err := c.capture(ctx, dev)
	dev.Close()
	if ctx.Err() == nil {
		c.log.Warn("camera failed", "device", c.cfg.Path, "err", err)
		c.frames.Fail(err)
	}
}

// capture reads frames from dev until it fails or ctx ends.
func (c *Camera) capture(ctx context.Context, dev Device) error {
	var buf []byte
	for ctx.Err() == nil {
		if buf == nil {
			buf = c.frames.Buffer()
		}
		data, err := dev.Read(buf, pollTimeout)
		if errors.Is(err, ErrNoFrame) {
			continue
		}
		if err != nil {
			return fmt.Errorf("v4l2: %s: read frame: %w", c.cfg.Path, err)
		}
		buf = c.publish(data, time.Now())
	}
	return ctx.Err()
}

// publish makes data the latest frame and returns a buffer for the next.
func (c *Camera) publish(data []byte, t time.Time) []byte {
	f := c.format
	fr := device.Frame{Time: t, Format: f.Pixel(), Width: f.Width, Height: f.Height, Stride: f.Stride, Data: data}
	if f.Pixel() == device.MJPEG {
		fr.Stride = 0
	}
	return c.frames.Put(fr)
}

// Next returns the latest frame, waiting for one newer than the last it
// returned. Frames that arrived in between are dropped (see Stats). Once
// the device failed, Next returns that error; after Close, ErrClosed.
func (c *Camera) Next(ctx context.Context) (device.Frame, error) {
	return c.frames.Next(ctx)
}

// Close stops capturing and closes the device. It waits for the capture
// goroutine, which notices within pollTimeout. Closing again does
// nothing.
func (c *Camera) Close() error {
	c.closeOnce.Do(func() {
		c.frames.Close()
		c.cancel()
		<-c.done
	})
	return nil
}
