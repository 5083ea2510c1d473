//go:build linux && cgo

package v4l2

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"time"

	"github.com/vladimirvivien/go4vl/v4l2"
	"golang.org/x/sys/unix"
)

// System returns the Kernel of this machine: go4vl's ioctls on /dev/video*.
func System() Kernel { return sysKernel{} }

type sysKernel struct{}

func (sysKernel) Open(path string) (Device, error) {
	fd, err := v4l2.OpenDevice(path, unix.O_RDWR|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	c, err := v4l2.GetCapability(fd)
	if err != nil {
		v4l2.CloseDevice(fd)
		return nil, fmt.Errorf("query capabilities: %w", err)
	}
	// go4vl's IsVideoCaptureSupported looks at the whole device's
	// capabilities; the node's own are in DeviceCapabilities.
	caps := c.GetCapabilities()
	if caps&v4l2.CapVideoCapture == 0 || caps&v4l2.CapStreaming == 0 {
		v4l2.CloseDevice(fd)
		what := "no single-planar capture"
		if caps&v4l2.CapVideoCaptureMPlane != 0 {
			what = "multi-planar capture only (use libcamera: for CSI cameras)"
		} else if caps&v4l2.CapVideoCapture != 0 {
			what = "no streaming I/O"
		}
		return nil, fmt.Errorf("%s (%s %q): %s: %w", path, c.Driver, c.Card, what, ErrNotCapture)
	}
	return &sysDevice{fd: fd, info: Info{Path: path, Driver: c.Driver, Card: c.Card, Bus: c.BusInfo}, cap: c}, nil
}

// sysDevice is an open /dev/video node.
type sysDevice struct {
	fd     uintptr
	info   Info
	cap    v4l2.Capability
	nbuf   uint32
	bufs   [][]byte
	stream bool
	closed bool
}

func (d *sysDevice) Info() Info { return d.info }

func fourccString(f uint32) string {
	b := []byte{byte(f), byte(f >> 8), byte(f >> 16), byte(f >> 24)}
	return strings.TrimRight(string(b), " \x00")
}

func fourccCode(s string) uint32 {
	var b [4]byte
	copy(b[:], s+"    ")
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

func fps(f v4l2.Fract) float64 {
	if f.Numerator == 0 {
		return 0
	}
	return float64(f.Denominator) / float64(f.Numerator)
}

// maxEnum bounds every enumeration loop against odd drivers.
const maxEnum = 64

func (d *sysDevice) Formats() ([]FormatDesc, error) {
	descs, err := v4l2.GetAllFormatDescriptions(d.fd)
	if err != nil && len(descs) == 0 {
		return nil, fmt.Errorf("enumerate formats: %w", err)
	}
	out := make([]FormatDesc, 0, len(descs))
	for _, fd := range descs {
		desc := FormatDesc{
			FourCC:      fourccString(fd.PixelFormat),
			Description: strings.TrimRight(fd.Description, "\x00"),
			Compressed:  fd.Flags&v4l2.FmtDescFlagCompressed != 0,
			Emulated:    fd.Flags&v4l2.FmtDescFlagEmulated != 0,
		}
		sizes, _ := v4l2.GetFormatFrameSizes(d.fd, fd.PixelFormat)
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
			w, h := s.Size.MinWidth, s.Size.MinHeight
			if fs.Stepwise {
				w, h = s.Size.MaxWidth, s.Size.MaxHeight
			}
			for j := uint32(0); j < maxEnum; j++ {
				iv, err := v4l2.GetFormatFrameInterval(d.fd, j, fd.PixelFormat, w, h)
				if err != nil {
					break
				}
				if iv.Type != v4l2.FrameIntervalTypeDiscrete {
					// Min interval is the highest rate.
					fs.FPS = []float64{fps(iv.Interval.Max), fps(iv.Interval.Min)}
					fs.FPSRange = true
					break
				}
				fs.FPS = append(fs.FPS, fps(iv.Interval.Min))
			}
			desc.Sizes = append(desc.Sizes, fs)
		}
		out = append(out, desc)
	}
	return out, nil
}

// SetFormat sets the format with VIDIOC_S_FMT and the rate with
// VIDIOC_S_PARM, then reads both back (VIDIOC_G_FMT, VIDIOC_G_PARM): the
// driver may adjust the size or substitute another format.
func (d *sysDevice) SetFormat(want Format) (Format, error) {
	pf := v4l2.PixFormat{Width: uint32(want.Width), Height: uint32(want.Height), PixelFormat: fourccCode(want.FourCC), Field: v4l2.FieldNone}
	if err := v4l2.SetPixFormat(d.fd, pf); err != nil {
		return Format{}, fmt.Errorf("VIDIOC_S_FMT %s %dx%d: %w", want.FourCC, want.Width, want.Height, err)
	}
	got, err := v4l2.GetPixFormat(d.fd) // a raw VIDIOC_G_FMT
	if err != nil {
		return Format{}, fmt.Errorf("VIDIOC_G_FMT: %w", err)
	}
	f := Format{FourCC: fourccString(got.PixelFormat), Width: int(got.Width), Height: int(got.Height),
		Stride: int(got.BytesPerLine), SizeImage: int(got.SizeImage)}
	if want.FPS > 0 {
		den := uint32(want.FPS*1000 + 0.5)
		p := v4l2.StreamParam{Type: v4l2.BufTypeVideoCapture, Capture: v4l2.CaptureParam{TimePerFrame: v4l2.Fract{Numerator: 1000, Denominator: den}}}
		// Not every driver can set the rate; what it runs at is read below.
		_ = v4l2.SetStreamParam(d.fd, v4l2.BufTypeVideoCapture, p)
	}
	if sp, err := v4l2.GetStreamParam(d.fd, v4l2.BufTypeVideoCapture); err == nil {
		f.FPS = fps(sp.Capture.TimePerFrame)
	}
	return f, nil
}

func (d *sysDevice) StreamOn(n int) error {
	if d.stream {
		return errors.New("already streaming")
	}
	d.nbuf = uint32(n)
	sd := streamDev{d}
	req, err := v4l2.InitBuffers(sd)
	if err != nil {
		return fmt.Errorf("VIDIOC_REQBUFS %d: %w", n, err)
	}
	if req.Count == 0 {
		return fmt.Errorf("VIDIOC_REQBUFS %d: driver gave no buffers", n)
	}
	d.nbuf = req.Count
	for i := uint32(0); i < req.Count; i++ {
		b, err := v4l2.GetBuffer(sd, i)
		if err != nil {
			d.unmap()
			return fmt.Errorf("VIDIOC_QUERYBUF %d: %w", i, err)
		}
		m, err := unix.Mmap(int(d.fd), int64(b.Info.Offset), int(b.Length), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
		if err != nil {
			d.unmap()
			return fmt.Errorf("mmap buffer %d: %w", i, err)
		}
		d.bufs = append(d.bufs, m)
	}
	for i := range d.bufs {
		if _, err := v4l2.QueueBuffer(d.fd, v4l2.IOTypeMMAP, v4l2.BufTypeVideoCapture, uint32(i)); err != nil {
			d.unmap()
			return fmt.Errorf("VIDIOC_QBUF %d: %w", i, err)
		}
	}
	if err := v4l2.StreamOn(sd); err != nil {
		d.unmap()
		return fmt.Errorf("VIDIOC_STREAMON: %w", err)
	}
	d.stream = true
	return nil
}

func (d *sysDevice) unmap() {
	for _, b := range d.bufs {
		unix.Munmap(b)
	}
	d.bufs = nil
}

func (d *sysDevice) Read(dst []byte, timeout time.Duration) ([]byte, error) {
	if !d.stream {
		return nil, errors.New("not streaming")
	}
	pfd := []unix.PollFd{{Fd: int32(d.fd), Events: unix.POLLIN}}
	n, err := unix.Poll(pfd, int(timeout/time.Millisecond))
	if errors.Is(err, syscall.EINTR) || (err == nil && n == 0) {
		return nil, ErrNoFrame
	}
	if err != nil {
		return nil, fmt.Errorf("poll: %w", err)
	}
	b, err := v4l2.DequeueBuffer(d.fd, v4l2.IOTypeMMAP, v4l2.BufTypeVideoCapture)
	if errors.Is(err, syscall.EAGAIN) {
		if pfd[0].Revents&(unix.POLLERR|unix.POLLHUP|unix.POLLNVAL) != 0 {
			return nil, fmt.Errorf("poll: device reports an error (revents %#x)", pfd[0].Revents)
		}
		return nil, ErrNoFrame
	}
	if err != nil {
		// go4vl maps ENODEV, EIO and the like to "system error".
		return nil, fmt.Errorf("VIDIOC_DQBUF: %w", err)
	}
	if int(b.Index) >= len(d.bufs) {
		return nil, fmt.Errorf("VIDIOC_DQBUF: buffer index %d of %d", b.Index, len(d.bufs))
	}
	var out []byte
	if b.Flags&v4l2.BufFlagError == 0 && b.BytesUsed > 0 {
		used := min(int(b.BytesUsed), len(d.bufs[b.Index]))
		if cap(dst) < used {
			dst = make([]byte, used)
		}
		out = dst[:used]
		copy(out, d.bufs[b.Index][:used])
	}
	if _, err := v4l2.QueueBuffer(d.fd, v4l2.IOTypeMMAP, v4l2.BufTypeVideoCapture, b.Index); err != nil {
		return nil, fmt.Errorf("VIDIOC_QBUF %d: %w", b.Index, err)
	}
	if out == nil {
		return nil, ErrNoFrame // a corrupt or empty frame: skip it
	}
	return out, nil
}

func (d *sysDevice) Close() error {
	if d.closed {
		return nil
	}
	d.closed = true
	if d.stream {
		_ = v4l2.StreamOff(streamDev{d})
		d.stream = false
	}
	d.unmap()
	if d.nbuf > 0 {
		_, _ = v4l2.ResetBuffers(streamDev{d})
	}
	if err := v4l2.CloseDevice(d.fd); err != nil {
		return fmt.Errorf("v4l2: close %s: %w", d.info.Path, err)
	}
	return nil
}

// streamDev adapts sysDevice to go4vl's v4l2.StreamingDevice, which its
// buffer ioctls take; only the accessors they call are meaningful.
type streamDev struct{ d *sysDevice }

func (s streamDev) Name() string                { return s.d.info.Path }
func (s streamDev) Fd() uintptr                 { return s.d.fd }
func (s streamDev) Capability() v4l2.Capability { return s.d.cap }
func (s streamDev) MemIOType() v4l2.IOType      { return v4l2.IOTypeMMAP }
func (s streamDev) GetOutput() <-chan []byte    { return nil }
func (s streamDev) SetInput(<-chan []byte)      {}
func (s streamDev) Close() error                { return nil }
func (s streamDev) Buffers() [][]byte           { return s.d.bufs }
func (s streamDev) BufferType() v4l2.BufType    { return v4l2.BufTypeVideoCapture }
func (s streamDev) BufferCount() uint32         { return s.d.nbuf }
func (s streamDev) Start(context.Context) error { return nil }
func (s streamDev) Stop() error                 { return nil }

var _ v4l2.StreamingDevice = streamDev{}
