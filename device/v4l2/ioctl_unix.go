//go:build linux && !cgo

package v4l2

import (
	"bytes"
	"unsafe"

	"golang.org/x/sys/unix"
)

// This backend issues the ioctls with x/sys/unix, so that CGO_ENABLED=0
// builds (the default cross build for a Pi) still capture from V4L2. The
// structs mirror include/uapi/linux/videodev2.h; their sizes, hence the
// ioctl numbers, follow the architecture (pointers in unions).

type v4l2Capability struct {
	Driver       [16]byte
	Card         [32]byte
	BusInfo      [32]byte
	Version      uint32
	Capabilities uint32
	DeviceCaps   uint32
	Reserved     [3]uint32
}

type v4l2Fmtdesc struct {
	Index       uint32
	Type        uint32
	Flags       uint32
	Description [32]byte
	PixelFormat uint32
	MbusCode    uint32
	Reserved    [3]uint32
}

type v4l2Frmsizeenum struct {
	Index       uint32
	PixelFormat uint32
	Type        uint32
	U           [6]uint32 // discrete {w, h} or stepwise {min_w, max_w, step_w, min_h, max_h, step_h}
	Reserved    [2]uint32
}

type v4l2Frmivalenum struct {
	Index       uint32
	PixelFormat uint32
	Width       uint32
	Height      uint32
	Type        uint32
	U           [6]uint32 // discrete fract, or stepwise {min, max, step} fracts
	Reserved    [2]uint32
}

type v4l2PixFormat struct {
	Width, Height, PixelFormat, Field, BytesPerLine, SizeImage uint32
	Colorspace, Priv, Flags, YcbcrEnc, Quantization, XferFunc  uint32
}

// v4l2Format: the union holds struct v4l2_window, which has pointers, so
// it is pointer-aligned.
type v4l2Format struct {
	Type uint32
	Fmt  struct {
		_   [0]uintptr
		Raw [200]byte
	}
}

type v4l2Streamparm struct {
	Type    uint32
	Capture struct {
		Capability, CaptureMode uint32
		Numerator, Denominator  uint32 // timeperframe
		ExtendedMode, ReadBufs  uint32
		Reserved                [4]uint32
	}
	_ [200 - 40]byte
}

type v4l2Requestbuffers struct {
	Count, Type, Memory, Capabilities uint32
	Flags                             [4]uint8
}

type v4l2Buffer struct {
	Index, Type, BytesUsed, Flags, Field uint32
	Timestamp                            unix.Timeval
	Timecode                             [16]byte
	Sequence, Memory                     uint32
	M                                    uintptr // union: offset (mmap), userptr, planes, fd
	Length                               uint32
	Reserved2                            uint32
	RequestFD                            uint32
}

const (
	bufTypeVideoCapture = 1
	memoryMMAP          = 1
	fieldNone           = 1
	frmTypeContinuous   = 2
)

// ioc computes an ioctl number as the kernel's _IOC (asm-generic layout,
// used by x86 and arm).
func ioc(dir, nr, size uintptr) uintptr { return dir<<30 | size<<16 | 'V'<<8 | nr }

const (
	iocWrite = 1
	iocRead  = 2
)

var (
	vidiocQuerycap           = ioc(iocRead, 0, unsafe.Sizeof(v4l2Capability{}))
	vidiocEnumFmt            = ioc(iocRead|iocWrite, 2, unsafe.Sizeof(v4l2Fmtdesc{}))
	vidiocGFmt               = ioc(iocRead|iocWrite, 4, unsafe.Sizeof(v4l2Format{}))
	vidiocSFmt               = ioc(iocRead|iocWrite, 5, unsafe.Sizeof(v4l2Format{}))
	vidiocReqbufs            = ioc(iocRead|iocWrite, 8, unsafe.Sizeof(v4l2Requestbuffers{}))
	vidiocQuerybuf           = ioc(iocRead|iocWrite, 9, unsafe.Sizeof(v4l2Buffer{}))
	vidiocQbuf               = ioc(iocRead|iocWrite, 15, unsafe.Sizeof(v4l2Buffer{}))
	vidiocDqbuf              = ioc(iocRead|iocWrite, 17, unsafe.Sizeof(v4l2Buffer{}))
	vidiocStreamon           = ioc(iocWrite, 18, 4)
	vidiocStreamoff          = ioc(iocWrite, 19, 4)
	vidiocGParm              = ioc(iocRead|iocWrite, 21, unsafe.Sizeof(v4l2Streamparm{}))
	vidiocSParm              = ioc(iocRead|iocWrite, 22, unsafe.Sizeof(v4l2Streamparm{}))
	vidiocEnumFramesizes     = ioc(iocRead|iocWrite, 74, unsafe.Sizeof(v4l2Frmsizeenum{}))
	vidiocEnumFrameintervals = ioc(iocRead|iocWrite, 75, unsafe.Sizeof(v4l2Frmivalenum{}))
)

func ioctl(fd, req uintptr, arg unsafe.Pointer) error {
	for {
		_, _, e := unix.Syscall(unix.SYS_IOCTL, fd, req, uintptr(arg))
		switch e {
		case 0:
			return nil
		case unix.EINTR:
			continue
		}
		return e
	}
}

func cstr(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

func queryCap(fd uintptr) (capability, error) {
	var c v4l2Capability
	if err := ioctl(fd, vidiocQuerycap, unsafe.Pointer(&c)); err != nil {
		return capability{}, err
	}
	caps := c.Capabilities
	if caps&capDeviceCaps != 0 {
		caps = c.DeviceCaps
	}
	return capability{driver: cstr(c.Driver[:]), card: cstr(c.Card[:]), bus: cstr(c.BusInfo[:]), caps: caps}, nil
}

func enumFormat(fd uintptr, i int) (fmtDesc, error) {
	d := v4l2Fmtdesc{Index: uint32(i), Type: bufTypeVideoCapture}
	if err := ioctl(fd, vidiocEnumFmt, unsafe.Pointer(&d)); err != nil {
		return fmtDesc{}, err
	}
	return fmtDesc{fourcc: d.PixelFormat, description: cstr(d.Description[:]), flags: d.Flags}, nil
}

func enumSizes(fd uintptr, fourcc uint32) ([]FrameSize, error) {
	var out []FrameSize
	for i := range maxEnum {
		s := v4l2Frmsizeenum{Index: uint32(i), PixelFormat: fourcc}
		if err := ioctl(fd, vidiocEnumFramesizes, unsafe.Pointer(&s)); err != nil {
			if i > 0 {
				break
			}
			return nil, err
		}
		if s.Type == frmTypeDiscrete {
			out = append(out, FrameSize{Width: int(s.U[0]), Height: int(s.U[1])})
			continue
		}
		out = append(out, FrameSize{Stepwise: true, Width: int(s.U[0]), MaxWidth: int(s.U[1]), StepWidth: int(s.U[2]),
			Height: int(s.U[3]), MaxHeight: int(s.U[4]), StepHeight: int(s.U[5])})
		break
	}
	return out, nil
}

func rate(num, den uint32) float64 {
	if num == 0 {
		return 0
	}
	return float64(den) / float64(num)
}

func enumInterval(fd uintptr, i int, fourcc uint32, w, h int) (interval, error) {
	iv := v4l2Frmivalenum{Index: uint32(i), PixelFormat: fourcc, Width: uint32(w), Height: uint32(h)}
	if err := ioctl(fd, vidiocEnumFrameintervals, unsafe.Pointer(&iv)); err != nil {
		return interval{}, err
	}
	if iv.Type == frmTypeDiscrete {
		f := rate(iv.U[0], iv.U[1])
		return interval{discrete: true, min: f, max: f}, nil
	}
	// Stepwise: min interval (fastest) then max interval (slowest).
	return interval{min: rate(iv.U[2], iv.U[3]), max: rate(iv.U[0], iv.U[1])}, nil
}

func setFormat(fd uintptr, fourcc uint32, w, h int) error {
	f := v4l2Format{Type: bufTypeVideoCapture}
	p := (*v4l2PixFormat)(unsafe.Pointer(&f.Fmt.Raw[0]))
	p.Width, p.Height, p.PixelFormat, p.Field = uint32(w), uint32(h), fourcc, fieldNone
	return ioctl(fd, vidiocSFmt, unsafe.Pointer(&f))
}

func getFormat(fd uintptr) (pixFormat, error) {
	f := v4l2Format{Type: bufTypeVideoCapture}
	if err := ioctl(fd, vidiocGFmt, unsafe.Pointer(&f)); err != nil {
		return pixFormat{}, err
	}
	p := (*v4l2PixFormat)(unsafe.Pointer(&f.Fmt.Raw[0]))
	return pixFormat{fourcc: p.PixelFormat, width: p.Width, height: p.Height, bytesPerLine: p.BytesPerLine, sizeImage: p.SizeImage}, nil
}

func setFPS(fd uintptr, fps float64) error {
	p := v4l2Streamparm{Type: bufTypeVideoCapture}
	p.Capture.Numerator, p.Capture.Denominator = 1000, uint32(fps*1000+0.5)
	return ioctl(fd, vidiocSParm, unsafe.Pointer(&p))
}

func getFPS(fd uintptr) (float64, error) {
	p := v4l2Streamparm{Type: bufTypeVideoCapture}
	if err := ioctl(fd, vidiocGParm, unsafe.Pointer(&p)); err != nil {
		return 0, err
	}
	return rate(p.Capture.Numerator, p.Capture.Denominator), nil
}

func reqBufs(fd uintptr, n int) (int, error) {
	r := v4l2Requestbuffers{Count: uint32(n), Type: bufTypeVideoCapture, Memory: memoryMMAP}
	err := ioctl(fd, vidiocReqbufs, unsafe.Pointer(&r))
	return int(r.Count), err
}

func queryBuf(fd uintptr, i int) (offset uint32, length int, err error) {
	b := v4l2Buffer{Index: uint32(i), Type: bufTypeVideoCapture, Memory: memoryMMAP}
	if err := ioctl(fd, vidiocQuerybuf, unsafe.Pointer(&b)); err != nil {
		return 0, 0, err
	}
	return uint32(b.M), int(b.Length), nil // the offset is the union's first 32 bits (little-endian)
}

func qBuf(fd uintptr, i int) error {
	b := v4l2Buffer{Index: uint32(i), Type: bufTypeVideoCapture, Memory: memoryMMAP}
	return ioctl(fd, vidiocQbuf, unsafe.Pointer(&b))
}

func dqBuf(fd uintptr) (index, bytesUsed int, flags uint32, err error) {
	b := v4l2Buffer{Type: bufTypeVideoCapture, Memory: memoryMMAP}
	if err := ioctl(fd, vidiocDqbuf, unsafe.Pointer(&b)); err != nil {
		return 0, 0, 0, err
	}
	return int(b.Index), int(b.BytesUsed), b.Flags, nil
}

func streamOn(fd uintptr) error {
	t := uint32(bufTypeVideoCapture)
	return ioctl(fd, vidiocStreamon, unsafe.Pointer(&t))
}

func streamOff(fd uintptr) error {
	t := uint32(bufTypeVideoCapture)
	return ioctl(fd, vidiocStreamoff, unsafe.Pointer(&t))
}
