//go:build linux && cgo

package v4l2

import (
	"context"
	"strings"

	"github.com/vladimirvivien/go4vl/v4l2"
)

// This backend issues the ioctls through go4vl's v4l2 package (each call
// after headroom(): see there). Note that
// go4vl maps ENODEV, EIO, ENXIO and EBADF to one "system error"; any error
// while streaming makes the Camera reopen the device, so that is enough.

func queryCap(fd uintptr) (capability, error) {
	headroom()
	c, err := v4l2.GetCapability(fd)
	if err != nil {
		return capability{}, err
	}
	// go4vl's IsVideoCaptureSupported looks at the whole device's
	// capabilities; the node's own are in DeviceCapabilities.
	return capability{driver: c.Driver, card: c.Card, bus: c.BusInfo, caps: c.GetCapabilities()}, nil
}

func enumFormat(fd uintptr, i int) (fmtDesc, error) {
	headroom()
	d, err := v4l2.GetFormatDescription(fd, uint32(i))
	if err != nil {
		return fmtDesc{}, err
	}
	return fmtDesc{fourcc: d.PixelFormat, description: strings.TrimRight(d.Description, "\x00"), flags: d.Flags}, nil
}

func enumSizes(fd uintptr, fourcc uint32) ([]FrameSize, error) {
	headroom()
	sizes, err := v4l2.GetFormatFrameSizes(fd, fourcc)
	var out []FrameSize
	for i, s := range sizes {
		if i == maxEnum {
			break
		}
		fs := FrameSize{Width: int(s.Size.MinWidth), Height: int(s.Size.MinHeight)}
		if s.Type != v4l2.FrameSizeTypeDiscrete {
			fs.Stepwise = true
			fs.MaxWidth, fs.MaxHeight = int(s.Size.MaxWidth), int(s.Size.MaxHeight)
			fs.StepWidth, fs.StepHeight = int(s.Size.StepWidth), int(s.Size.StepHeight)
		}
		out = append(out, fs)
	}
	return out, err
}

func fps(f v4l2.Fract) float64 {
	if f.Numerator == 0 {
		return 0
	}
	return float64(f.Denominator) / float64(f.Numerator)
}

func enumInterval(fd uintptr, i int, fourcc uint32, w, h int) (interval, error) {
	headroom()
	iv, err := v4l2.GetFormatFrameInterval(fd, uint32(i), fourcc, uint32(w), uint32(h))
	if err != nil {
		return interval{}, err
	}
	if iv.Type == v4l2.FrameIntervalTypeDiscrete {
		f := fps(iv.Interval.Min)
		return interval{discrete: true, min: f, max: f}, nil
	}
	return interval{min: fps(iv.Interval.Max), max: fps(iv.Interval.Min)}, nil
}

func setFormat(fd uintptr, fourcc uint32, w, h int) error {
	headroom()
	return v4l2.SetPixFormat(fd, v4l2.PixFormat{Width: uint32(w), Height: uint32(h), PixelFormat: fourcc, Field: v4l2.FieldNone})
}

// getFormat is a raw VIDIOC_G_FMT (unlike go4vl's Device.GetPixFormat,
// which returns the format last asked for).
func getFormat(fd uintptr) (pixFormat, error) {
	headroom()
	f, err := v4l2.GetPixFormat(fd)
	if err != nil {
		return pixFormat{}, err
	}
	return pixFormat{fourcc: f.PixelFormat, width: f.Width, height: f.Height, bytesPerLine: f.BytesPerLine, sizeImage: f.SizeImage}, nil
}

func setFPS(fd uintptr, rate float64) error {
	headroom()
	p := v4l2.StreamParam{Type: v4l2.BufTypeVideoCapture,
		Capture: v4l2.CaptureParam{TimePerFrame: v4l2.Fract{Numerator: 1000, Denominator: uint32(rate*1000 + 0.5)}}}
	return v4l2.SetStreamParam(fd, v4l2.BufTypeVideoCapture, p)
}

func getFPS(fd uintptr) (float64, error) {
	headroom()
	sp, err := v4l2.GetStreamParam(fd, v4l2.BufTypeVideoCapture)
	if err != nil {
		return 0, err
	}
	return fps(sp.Capture.TimePerFrame), nil
}

func reqBufs(fd uintptr, n int) (int, error) {
	headroom()
	if n == 0 {
		r, err := v4l2.ResetBuffers(streamDev{fd: fd})
		return int(r.Count), err
	}
	r, err := v4l2.InitBuffers(streamDev{fd: fd, n: uint32(n)})
	return int(r.Count), err
}

func queryBuf(fd uintptr, i int) (offset uint32, length int, err error) {
	headroom()
	b, err := v4l2.GetBuffer(streamDev{fd: fd}, uint32(i))
	return b.Info.Offset, int(b.Length), err
}

func qBuf(fd uintptr, i int) error {
	headroom()
	_, err := v4l2.QueueBuffer(fd, v4l2.IOTypeMMAP, v4l2.BufTypeVideoCapture, uint32(i))
	return err
}

func dqBuf(fd uintptr) (index, bytesUsed int, flags uint32, err error) {
	headroom()
	b, err := v4l2.DequeueBuffer(fd, v4l2.IOTypeMMAP, v4l2.BufTypeVideoCapture)
	return int(b.Index), int(b.BytesUsed), b.Flags, err
}

func streamOn(fd uintptr) error {
	headroom()
	return v4l2.StreamOn(streamDev{fd: fd})
}

func streamOff(fd uintptr) error {
	headroom()
	return v4l2.StreamOff(streamDev{fd: fd})
}

// headroom grows the goroutine's stack, if need be, so that the go4vl call
// that follows has room without growing it. go4vl turns the address of an
// ioctl struct on its stack into a uintptr several calls before the
// syscall; should the stack grow in between, it is copied elsewhere and
// the kernel writes into the old copy. On a fresh goroutine (the camera
// supervisor opens cameras on one) the first VIDIOC_ENUM_FMT then read
// back as pixel format 0, and the device "did not offer" YUYV. The
// x/sys/unix backend (ioctl_unix.go) passes pointers and has no such
// problem.
//
//go:noinline
func headroom() {
	var pad [16 << 10]byte
	keep(&pad)
}

//go:noinline
func keep(*[16 << 10]byte) {}

// streamDev adapts an fd to go4vl's v4l2.StreamingDevice, which its
// buffer ioctls take; only Fd, BufferType, MemIOType and BufferCount
// matter to them.
type streamDev struct {
	fd uintptr
	n  uint32
}

func (s streamDev) Name() string                { return "" }
func (s streamDev) Fd() uintptr                 { return s.fd }
func (s streamDev) Capability() v4l2.Capability { return v4l2.Capability{} }
func (s streamDev) MemIOType() v4l2.IOType      { return v4l2.IOTypeMMAP }
func (s streamDev) GetOutput() <-chan []byte    { return nil }
func (s streamDev) SetInput(<-chan []byte)      {}
func (s streamDev) Close() error                { return nil }
func (s streamDev) Buffers() [][]byte           { return nil }
func (s streamDev) BufferType() v4l2.BufType    { return v4l2.BufTypeVideoCapture }
func (s streamDev) BufferCount() uint32         { return s.n }
func (s streamDev) Start(context.Context) error { return nil }
func (s streamDev) Stop() error                 { return nil }

var _ v4l2.StreamingDevice = streamDev{}
