//go:build linux && !cgo

package v4l2

import (
	"runtime"
	"testing"
)

// TestIoctlNumbers checks the pure-Go ioctl numbers against the values
// the C headers give (from videodev2.h compiled for each architecture).
func TestIoctlNumbers(t *testing.T) {
	want64 := map[string]uintptr{
		"QUERYCAP": 0x80685600, "ENUM_FMT": 0xc0405602, "G_FMT": 0xc0d05604, "S_FMT": 0xc0d05605,
		"REQBUFS": 0xc0145608, "QUERYBUF": 0xc0585609, "QBUF": 0xc058560f, "DQBUF": 0xc0585611,
		"STREAMON": 0x40045612, "STREAMOFF": 0x40045613, "G_PARM": 0xc0cc5615, "S_PARM": 0xc0cc5616,
		"ENUM_FRAMESIZES": 0xc02c564a, "ENUM_FRAMEINTERVALS": 0xc034564b,
	}
	want32 := map[string]uintptr{
		"QUERYCAP": 0x80685600, "ENUM_FMT": 0xc0405602, "G_FMT": 0xc0cc5604, "S_FMT": 0xc0cc5605,
		"REQBUFS": 0xc0145608, "QUERYBUF": 0xc0445609, "QBUF": 0xc044560f, "DQBUF": 0xc0445611,
		"STREAMON": 0x40045612, "STREAMOFF": 0x40045613, "G_PARM": 0xc0cc5615, "S_PARM": 0xc0cc5616,
		"ENUM_FRAMESIZES": 0xc02c564a, "ENUM_FRAMEINTERVALS": 0xc034564b,
	}
	got := map[string]uintptr{
		"QUERYCAP": vidiocQuerycap, "ENUM_FMT": vidiocEnumFmt, "G_FMT": vidiocGFmt, "S_FMT": vidiocSFmt,
		"REQBUFS": vidiocReqbufs, "QUERYBUF": vidiocQuerybuf, "QBUF": vidiocQbuf, "DQBUF": vidiocDqbuf,
		"STREAMON": vidiocStreamon, "STREAMOFF": vidiocStreamoff, "G_PARM": vidiocGParm, "S_PARM": vidiocSParm,
		"ENUM_FRAMESIZES": vidiocEnumFramesizes, "ENUM_FRAMEINTERVALS": vidiocEnumFrameintervals,
	}
	want := want64
	switch runtime.GOARCH {
	case "amd64", "arm64":
	case "arm", "386":
		want = want32
	default:
		t.Skipf("no reference values for %s", runtime.GOARCH)
	}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("VIDIOC_%s = %#x, want %#x", name, got[name], w)
		}
	}
}
