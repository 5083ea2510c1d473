//go:build linux

package v4l2

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The V4L2 constants this file needs (include/uapi/linux/videodev2.h).
const (
	capVideoCapture       = 0x00000001
	capVideoCaptureMPlane = 0x00001000
	capStreaming          = 0x04000000
	capDeviceCaps         = 0x80000000

	fmtFlagCompressed = 0x0001
	fmtFlagEmulated   = 0x0002

	frmTypeDiscrete = 1

	bufFlagError = 0x00000040
)

// The ioctls, one backend per build: ioctl_go4vl.go (cgo, through go4vl)
// or ioctl_unix.go (pure Go, for CGO_ENABLED=0 cross builds). Both return
// errors that wrap the errno where they can.
//
//	queryCap(fd) (capability, error)
//	enumFormat(fd, index) (fmtDesc, error)
//	enumSizes(fd, fourcc) ([]FrameSize, error)          (without rates)
//	enumInterval(fd, index, fourcc, w, h) (interval, error)
//	setFormat(fd, fourcc, w, h) error                     VIDIOC_S_FMT
//	getFormat(fd) (pixFormat, error)                      VIDIOC_G_FMT
//	setFPS(fd, fps) error; getFPS(fd) (float64, error)    VIDIOC_S_PARM, G_PARM
//	reqBufs(fd, n) (int, error); queryBuf(fd, i) (offset, length, error)
//	qBuf(fd, i) error; dqBuf(fd) (index, bytesUsed, flags, error)
//	streamOn(fd) error; streamOff(fd) error

type capability struct {
	driver, card, bus string
	caps              uint32 // the node's own capabilities
}

type fmtDesc struct {
	fourcc      uint32
	description string
	flags       uint32
}

type interval struct {
	discrete bool
	min, max float64 // frames per second: min is the slowest rate
}

type pixFormat struct {
	fourcc, width, height, bytesPerLine, sizeImage uint32
}

// System returns the Kernel of this machine: V4L2 ioctls on /dev/video*.
func System() Kernel { return sysKernel{} }

type sysKernel struct{}

func (sysKernel) Open(path string) (Device, error) {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	for errors.Is(err, unix.EINTR) {
		fd, err = unix.Open(path, unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		return nil, &pathError{op: "open", path: path, err: err}
	}
	c, err := queryCap(uintptr(fd))
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("VIDIOC_QUERYCAP: %w", err)
	}
	if c.caps&capVideoCapture == 0 || c.caps&capStreaming == 0 {
		unix.Close(fd)
		what := "no single-planar capture"
		if c.caps&capVideoCaptureMPlane != 0 {
			what = "multi-planar capture only (use libcamera: for CSI cameras)"
		} else if c.caps&capVideoCapture != 0 {
			what = "no streaming I/O"
		}
		return nil, fmt.Errorf("%s (%s %q): %s: %w", path, c.driver, c.card, what, ErrNotCapture)
	}
	return &sysDevice{fd: uintptr(fd), info: Info{Path: path, Driver: c.driver, Card: c.card, Bus: c.bus}}, nil
}

// pathError is an *os.PathError look-alike that keeps errors.Is working
// for fs.ErrNotExist and fs.ErrPermission (syscall.Errno implements Is).
type pathError struct {
	op, path string
	err      error
}

func (e *pathError) Error() string { return e.op + " " + e.path + ": " + e.err.Error() }
func (e *pathError) Unwrap() error { return e.err }

// sysDevice is an open /dev/video node.
type sysDevice struct {
	fd     uintptr
	info   Info
	bufs   [][]byte
	nbuf   int
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

// maxEnum and maxFormats bound the enumeration loops against odd drivers
// (vivid alone offers 83 formats).
const (
	maxEnum    = 64
	maxFormats = 256
)

func (d *sysDevice) Formats() ([]FormatDesc, error) {
	var out []FormatDesc
	for i := range maxFormats {
		fd, err := enumFormat(d.fd, i)
		if errors.Is(err, syscall.EINVAL) {
			break // end of the list
		}
		if err != nil {
			if len(out) > 0 {
				break
			}
			return nil, fmt.Errorf("VIDIOC_ENUM_FMT: %w", err)
		}
		desc := FormatDesc{
			FourCC:      fourccString(fd.fourcc),
			Description: fd.description,
			Compressed:  fd.flags&fmtFlagCompressed != 0,
			Emulated:    fd.flags&fmtFlagEmulated != 0,
		}
		sizes, _ := enumSizes(d.fd, fd.fourcc)
		for _, fs := range sizes {
			w, h := fs.Width, fs.Height
			if fs.Stepwise {
				w, h = fs.MaxWidth, fs.MaxHeight
			}
			for j := range maxEnum {
				iv, err := enumInterval(d.fd, j, fd.fourcc, w, h)
				if err != nil {
					break
				}
				if !iv.discrete {
					fs.FPS, fs.FPSRange = []float64{iv.min, iv.max}, true
					break
				}
				fs.FPS = append(fs.FPS, iv.max)
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
	if d.stream {
		return Format{}, errors.New("set format while streaming")
	}
	if err := setFormat(d.fd, fourccCode(want.FourCC), want.Width, want.Height); err != nil {
		return Format{}, fmt.Errorf("VIDIOC_S_FMT %s %dx%d: %w", want.FourCC, want.Width, want.Height, err)
	}
	got, err := getFormat(d.fd)
	if err != nil {
		return Format{}, fmt.Errorf("VIDIOC_G_FMT: %w", err)
	}
	f := Format{FourCC: fourccString(got.fourcc), Width: int(got.width), Height: int(got.height),
		Stride: int(got.bytesPerLine), SizeImage: int(got.sizeImage)}
	if want.FPS > 0 {
		// Not every driver can set the rate; what it runs at is read below.
		_ = setFPS(d.fd, want.FPS)
	}
	if fps, err := getFPS(d.fd); err == nil {
		f.FPS = fps
	}
	return f, nil
}

func (d *sysDevice) StreamOn(n int) error {
	if d.stream {
		return errors.New("already streaming")
	}
	got, err := reqBufs(d.fd, n)
	if err != nil {
		return fmt.Errorf("VIDIOC_REQBUFS %d: %w", n, err)
	}
	d.nbuf = got
	if got == 0 {
		return fmt.Errorf("VIDIOC_REQBUFS %d: driver gave no buffers", n)
	}
	for i := range got {
		off, length, err := queryBuf(d.fd, i)
		if err != nil {
			d.release()
			return fmt.Errorf("VIDIOC_QUERYBUF %d: %w", i, err)
		}
		m, err := unix.Mmap(int(d.fd), int64(off), length, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
		if err != nil {
			d.release()
			return fmt.Errorf("mmap buffer %d: %w", i, err)
		}
		d.bufs = append(d.bufs, m)
	}
	for i := range d.bufs {
		if err := qBuf(d.fd, i); err != nil {
			d.release()
			return fmt.Errorf("VIDIOC_QBUF %d: %w", i, err)
		}
	}
	if err := streamOn(d.fd); err != nil {
		d.release()
		return fmt.Errorf("VIDIOC_STREAMON: %w", err)
	}
	d.stream = true
	return nil
}

// release unmaps the buffers and frees them in the driver.
func (d *sysDevice) release() {
	for _, b := range d.bufs {
		unix.Munmap(b)
	}
	d.bufs = nil
	if d.nbuf > 0 {
		_, _ = reqBufs(d.fd, 0)
		d.nbuf = 0
	}
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
	idx, used, flags, err := dqBuf(d.fd)
	if errors.Is(err, syscall.EAGAIN) {
		if pfd[0].Revents&(unix.POLLERR|unix.POLLHUP|unix.POLLNVAL) != 0 {
			return nil, fmt.Errorf("poll: device reports an error (revents %#x)", pfd[0].Revents)
		}
		return nil, ErrNoFrame
	}
	if err != nil {
		return nil, fmt.Errorf("VIDIOC_DQBUF: %w", err)
	}
	if idx < 0 || idx >= len(d.bufs) {
		return nil, fmt.Errorf("VIDIOC_DQBUF: buffer index %d of %d", idx, len(d.bufs))
	}
	var out []byte
	if flags&bufFlagError == 0 && used > 0 {
		used = min(used, len(d.bufs[idx]))
		if cap(dst) < used {
			dst = make([]byte, used)
		}
		out = dst[:used]
		copy(out, d.bufs[idx][:used])
	}
	if err := qBuf(d.fd, idx); err != nil {
		return nil, fmt.Errorf("VIDIOC_QBUF %d: %w", idx, err)
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
		_ = streamOff(d.fd)
		d.stream = false
	}
	d.release()
	if err := unix.Close(int(d.fd)); err != nil {
		return fmt.Errorf("v4l2: close %s: %w", d.info.Path, err)
	}
	return nil
}
