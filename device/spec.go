package device

import (
	"fmt"
	"math"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// SourceKind names a camera source type, the scheme of a Spec.
type SourceKind string

// Camera source kinds.
const (
	SourceV4L2      SourceKind = "v4l2"      // a V4L2 device node, e.g. /dev/video0
	SourceLibcamera SourceKind = "libcamera" // rpicam-vid / libcamera-vid piping MJPEG
	SourceDir       SourceKind = "dir"       // every image in a directory, sorted by name
	SourceMJPEG     SourceKind = "mjpeg"     // a file of concatenated JPEG frames
	SourceImage     SourceKind = "image"     // one still image (JPEG, PNG, BMP)
)

// Spec is a parsed camera spec string such as
//
//	v4l2:/dev/video0?width=640&height=480&fps=15&format=yuyv
//	libcamera:?width=640&height=480&fps=15
//	dir:testdata/frames?fps=5&loop=true
//	mjpeg:capture.mjpeg?fps=10
//	image:cat.jpg
//
// A bare path starting with /dev/video is read as v4l2. Zero fields mean
// "the source's default". ParseSpec does no I/O.
type Spec struct {
	Kind SourceKind
	// Path is the device node (v4l2), directory (dir) or file (mjpeg,
	// image). Empty for libcamera.
	Path string
	// Width and Height are the requested capture size (v4l2, libcamera).
	Width, Height int
	// FPS is the requested capture rate (v4l2, libcamera) or the pacing
	// of a file source (0: as fast as the consumer reads).
	FPS float64
	// Format is the requested V4L2 pixel format; "" lets the source pick
	// (YUYV, then RGB24, then MJPEG: the raw formats need no JPEG decoding).
	Format PixelFormat
	// Loop makes file sources start over at the end instead of io.EOF.
	Loop bool
	// Buffers is the number of V4L2 capture buffers (0: default).
	Buffers int
	// Bin is the libcamera capture program (default: rpicam-vid, then
	// libcamera-vid, looked up in PATH).
	Bin string
}

// Bounds of the numeric spec parameters.
const (
	maxSpecSize    = 16384
	maxSpecFPS     = 1000
	maxSpecBuffers = 32
)

// specKeys lists the query keys each kind accepts.
var specKeys = map[SourceKind][]string{
	SourceV4L2:      {"buffers", "format", "fps", "height", "width"},
	SourceLibcamera: {"bin", "fps", "height", "width"},
	SourceDir:       {"fps", "loop"},
	SourceMJPEG:     {"fps", "loop"},
	SourceImage:     {"fps", "loop"},
}

// SpecError reports a camera spec string that cannot be used.
type SpecError struct {
	Spec   string
	Reason string
}

func (e *SpecError) Error() string {
	return fmt.Sprintf("camera spec %q: %s (want e.g. v4l2:/dev/video0?width=640&height=480, libcamera:, dir:PATH?fps=5&loop=true, mjpeg:FILE, image:FILE)", e.Spec, e.Reason)
}

// ParseSpec parses a camera spec string. It is pure: it does not look at
// the file system.
func ParseSpec(s string) (Spec, error) {
	bad := func(format string, a ...any) (Spec, error) {
		return Spec{}, &SpecError{Spec: s, Reason: fmt.Sprintf(format, a...)}
	}
	if s == "" {
		return bad("empty")
	}
	var sp Spec
	rest := s
	if strings.HasPrefix(s, "/dev/video") {
		sp.Kind = SourceV4L2
	} else {
		scheme, r, ok := strings.Cut(s, ":")
		if !ok {
			return bad("missing source kind before ':'")
		}
		sp.Kind = SourceKind(strings.ToLower(scheme))
		rest = r
	}
	keys, ok := specKeys[sp.Kind]
	if !ok {
		return bad("unknown source kind %q", string(sp.Kind))
	}
	path, query, _ := strings.Cut(rest, "?")
	sp.Path = path
	switch sp.Kind {
	case SourceV4L2:
		if sp.Path == "" {
			sp.Path = "/dev/video0"
		}
	case SourceLibcamera:
		if sp.Path != "" {
			return bad("libcamera takes no path (use libcamera:?width=…)")
		}
	default:
		if sp.Path == "" {
			return bad("%s needs a path", sp.Kind)
		}
	}
	if strings.ContainsRune(sp.Path, 0) {
		return bad("path contains a NUL byte")
	}
	vals, err := url.ParseQuery(query)
	if err != nil {
		return bad("query: %v", err)
	}
	names := make([]string, 0, len(vals))
	for k := range vals {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		v := vals[k]
		if !contains(keys, k) {
			return bad("unknown parameter %q for %s (known: %s)", k, sp.Kind, strings.Join(keys, ", "))
		}
		if len(v) != 1 {
			return bad("parameter %q given %d times", k, len(v))
		}
		val := v[0]
		switch k {
		case "width", "height":
			n, err := strconv.Atoi(val)
			if err != nil || n <= 0 || n > maxSpecSize {
				return bad("%s=%q: want an integer in 1..%d", k, val, maxSpecSize)
			}
			if k == "width" {
				sp.Width = n
			} else {
				sp.Height = n
			}
		case "fps":
			f, err := strconv.ParseFloat(val, 64)
			if err != nil || math.IsNaN(f) || f < 0 || f > maxSpecFPS {
				return bad("fps=%q: want a number in 0..%d", val, maxSpecFPS)
			}
			sp.FPS = f
		case "format":
			switch strings.ToLower(val) {
			case "yuyv", "yuv", "yuy2":
				sp.Format = YUYV
			case "mjpeg", "mjpg", "jpeg":
				sp.Format = MJPEG
			case "rgb24", "rgb", "rgb3":
				sp.Format = RGB24
			case "", "auto":
				sp.Format = ""
			default:
				return bad("format=%q: want yuyv, mjpeg, rgb24 or auto", val)
			}
		case "loop":
			b, err := strconv.ParseBool(val)
			if err != nil {
				return bad("loop=%q: want true or false", val)
			}
			sp.Loop = b
		case "buffers":
			n, err := strconv.Atoi(val)
			if err != nil || n < 1 || n > maxSpecBuffers {
				return bad("buffers=%q: want an integer in 1..%d", val, maxSpecBuffers)
			}
			sp.Buffers = n
		case "bin":
			if val == "" || strings.ContainsRune(val, 0) {
				return bad("bin=%q: want a program path", val)
			}
			sp.Bin = val
		}
	}
	if (sp.Width == 0) != (sp.Height == 0) {
		return bad("give both width and height, or neither")
	}
	return sp, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// String formats the spec in the form ParseSpec reads; ParseSpec(s.String())
// gives back s for any spec ParseSpec returned.
func (s Spec) String() string {
	q := url.Values{}
	if s.Width != 0 || s.Height != 0 {
		q.Set("width", strconv.Itoa(s.Width))
		q.Set("height", strconv.Itoa(s.Height))
	}
	if s.FPS != 0 {
		q.Set("fps", strconv.FormatFloat(s.FPS, 'g', -1, 64))
	}
	if s.Format != "" {
		q.Set("format", strings.ToLower(string(s.Format)))
	}
	if s.Loop {
		q.Set("loop", "true")
	}
	if s.Buffers != 0 {
		q.Set("buffers", strconv.Itoa(s.Buffers))
	}
	if s.Bin != "" {
		q.Set("bin", s.Bin)
	}
	out := string(s.Kind) + ":" + s.Path
	if len(q) > 0 {
		// '/' and ':' need no escaping in a query; keep paths readable.
		out += "?" + strings.NewReplacer("%2F", "/", "%3A", ":").Replace(q.Encode())
	}
	return out
}
