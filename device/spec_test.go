package device

import (
	"errors"
	"strings"
	"testing"
)

func TestParseSpec(t *testing.T) {
	tests := []struct {
		in   string
		want Spec
	}{
		{"v4l2:/dev/video0?width=640&height=480&fps=15&format=yuyv",
			Spec{Kind: SourceV4L2, Path: "/dev/video0", Width: 640, Height: 480, FPS: 15, Format: YUYV}},
		{"v4l2:", Spec{Kind: SourceV4L2, Path: "/dev/video0"}},
		{"/dev/video2", Spec{Kind: SourceV4L2, Path: "/dev/video2"}},
		{"v4l2:/dev/video1?format=MJPG&buffers=3", Spec{Kind: SourceV4L2, Path: "/dev/video1", Format: MJPEG, Buffers: 3}},
		{"V4L2:/dev/video1?format=rgb24", Spec{Kind: SourceV4L2, Path: "/dev/video1", Format: RGB24}},
		{"libcamera:?width=640&height=480", Spec{Kind: SourceLibcamera, Width: 640, Height: 480}},
		{"libcamera:", Spec{Kind: SourceLibcamera}},
		{"libcamera:?bin=/opt/fake-vid&fps=7.5", Spec{Kind: SourceLibcamera, Bin: "/opt/fake-vid", FPS: 7.5}},
		{"dir:testdata/frames?fps=5&loop=true", Spec{Kind: SourceDir, Path: "testdata/frames", FPS: 5, Loop: true}},
		{"mjpeg:/tmp/a.mjpeg", Spec{Kind: SourceMJPEG, Path: "/tmp/a.mjpeg"}},
		{"image:C:x.jpg?loop=1", Spec{Kind: SourceImage, Path: "C:x.jpg", Loop: true}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseSpec(tt.in)
			if err != nil {
				t.Fatalf("ParseSpec: %v", err)
			}
			if got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
			again, err := ParseSpec(got.String())
			if err != nil || again != got {
				t.Fatalf("round trip %q: %+v, %v", got.String(), again, err)
			}
		})
	}
}

func TestParseSpecErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "empty"},
		{"video0", "missing source kind"},
		{"usb:/dev/video0", `unknown source kind "usb"`},
		{"dir:", "dir needs a path"},
		{"libcamera:/dev/video0", "takes no path"},
		{"v4l2:/dev/video0?width=640", "both width and height"},
		{"v4l2:/dev/video0?width=-1&height=2", "width="},
		{"v4l2:/dev/video0?fps=fast", "fps="},
		{"v4l2:/dev/video0?format=h264", "format="},
		{"v4l2:/dev/video0?loop=true", `unknown parameter "loop"`},
		{"dir:x?loop=maybe", "loop="},
		{"dir:x?fps=1&fps=2", "2 times"},
		{"mjpeg:x?%zz", "query"},
		{"v4l2:/dev/video0?buffers=100", "buffers="},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := ParseSpec(tt.in)
			var se *SpecError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want *SpecError", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func FuzzParseSpec(f *testing.F) {
	for _, s := range []string{
		"v4l2:/dev/video0?width=640&height=480&fps=15&format=yuyv",
		"libcamera:?width=640&height=480", "dir:x?fps=5&loop=true", "mjpeg:a", "image:b?loop=0",
		"/dev/video9", "v4l2:?buffers=4&fps=0.5",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sp, err := ParseSpec(s)
		if err != nil {
			return
		}
		again, err := ParseSpec(sp.String())
		if err != nil {
			t.Fatalf("ParseSpec(%q) of String of %q: %v", sp.String(), s, err)
		}
		if again != sp {
			t.Fatalf("round trip %q → %+v → %q → %+v", s, sp, sp.String(), again)
		}
	})
}
