package daemon

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/jpeg"
	"math"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alphad/alphad/device"
	"github.com/alphad/alphad/internal/control"
	"github.com/alphad/alphad/pipeline/preprocess"
	"github.com/alphad/alphad/pipeline/store"
	"github.com/alphad/alphad/pipeline/tflite"
)

// What the daemon exposes to the web app (internal/web): the live view's
// frames, sample images, model versions and one-time login links.

// WebApp is the web app as the daemon mounts it: an HTTP handler served
// on http.listen beside /metrics and /healthz, and the issuer of one-time
// login links (the login_link command of the control socket).
type WebApp interface {
	http.Handler
	// LoginLink returns a new one-time login path ("/login?t=…").
	LoginLink() (string, error)
}

// liveSize is the side of the live view's frames: the model's input, as
// the model sees it (crop and mirror applied).
const liveSize = sampleSize

// frameTap hands the live view frames from the frame loop: while someone
// watches, a copy of every 1/ui.stream_fps-th frame goes to an encoder
// goroutine (the latest wins), which preprocesses it as the model sees it
// and encodes a JPEG for every watcher (each holding only the latest).
// With no watcher the frame loop pays one atomic load.
type frameTap struct {
	watchers atomic.Int32

	mu      sync.Mutex
	last    time.Time            // the last frame offered to the encoder
	period  time.Duration        // 1/ui.stream_fps
	subs    map[chan []byte]bool // true: the whole frame (WatchCamera)
	in      chan device.Frame    // capacity 1; nil while no encoder runs
	encoded atomic.Uint64
}

// offer is called by the frame loop with every frame it takes.
func (t *frameTap) offer(f *device.Frame, now time.Time) {
	if t.watchers.Load() == 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.in == nil || now.Sub(t.last) < t.period {
		return
	}
	t.last = now
	c := *f
	c.Data = bytes.Clone(f.Data)
	select {
	case t.in <- c:
	default: // the encoder is busy: drop (the live view lags, the loop never waits)
	}
}

// WatchFrames subscribes to the live view: JPEG frames of what the model
// sees, at ui.stream_fps, each channel holding only the latest frame.
// stop ends the subscription; the encoder stops with the last watcher.
func (d *Daemon) WatchFrames() (frames <-chan []byte, stop func()) { return d.watch(false) }

// WatchCamera is the camera view for setting the crop: the whole frame,
// turned and mirrored as the camera settings say but not cropped, at
// most cameraViewSide pixels on its longer side, at ui.stream_fps.
func (d *Daemon) WatchCamera() (frames <-chan []byte, stop func()) { return d.watch(true) }

// cameraViewSide is the longer side of WatchCamera's frames.
const cameraViewSide = 480

func (d *Daemon) watch(whole bool) (frames <-chan []byte, stop func()) {
	t := &d.tap
	ch := make(chan []byte, 1)
	t.mu.Lock()
	if t.subs == nil {
		t.subs = map[chan []byte]bool{}
	}
	t.subs[ch] = whole
	if t.in == nil {
		t.in = make(chan device.Frame, 1)
		t.period = time.Duration(float64(time.Second) / d.cfg.UI.StreamFPS)
		go d.encodeFrames(t.in)
	}
	t.mu.Unlock()
	t.watchers.Add(1)
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			t.watchers.Add(-1)
			t.mu.Lock()
			delete(t.subs, ch)
			if len(t.subs) == 0 && t.in != nil {
				close(t.in)
				t.in = nil
			}
			t.mu.Unlock()
		})
	}
}

// viewEncoder makes one kind of view's JPEGs, rebuilding its
// preprocessor when the camera settings (or, for the whole-frame view,
// the frame size) change.
type viewEncoder struct {
	whole  bool
	gen    uint64
	fw, fh int
	p      *preprocess.Preprocessor
	rgb    []byte
	img    *image.RGBA
	buf    bytes.Buffer
	errs   uint64 // frames it could not encode (logged: the first and every 100th)
}

func (v *viewEncoder) encode(d *Daemon, f device.Frame) ([]byte, error) {
	gen, opts := d.cameraOptions()
	if v.p == nil || gen != v.gen || v.whole && (f.Width != v.fw || f.Height != v.fh) {
		w, h := liveSize, liveSize
		if v.whole {
			opts.Crop = preprocess.CropFull
			fw, fh := f.Width, f.Height
			if fw < 1 || fh < 1 {
				fw, fh = 4, 3 // unknown until decoded: 4:3
			}
			if opts.Rotate == 90 || opts.Rotate == 270 {
				fw, fh = fh, fw
			}
			s := float64(cameraViewSide) / float64(max(fw, fh))
			w, h = max(1, int(float64(fw)*s+0.5)), max(1, int(float64(fh)*s+0.5))
		}
		p, err := preprocess.New(&tflite.Tensor{Type: tflite.Uint8, Shape: []int{1, h, w, 3}}, opts)
		if err != nil {
			return nil, err
		}
		v.p, v.gen, v.fw, v.fh = p, gen, f.Width, f.Height
		v.rgb = make([]byte, p.Size())
		v.img = image.NewRGBA(image.Rect(0, 0, w, h))
	}
	if err := v.p.Frame(v.rgb, f); err != nil {
		return nil, err
	}
	for i, j := 0, 0; i < len(v.rgb); i, j = i+3, j+4 {
		v.img.Pix[j], v.img.Pix[j+1], v.img.Pix[j+2], v.img.Pix[j+3] = v.rgb[i], v.rgb[i+1], v.rgb[i+2], 255
	}
	v.buf.Reset()
	if err := jpeg.Encode(&v.buf, v.img, &jpeg.Options{Quality: 75}); err != nil {
		return nil, err
	}
	return v.buf.Bytes(), nil
}

// encodeFrames turns tapped frames into JPEGs for the watchers until in
// is closed: the model's view and, while someone sets the crop, the
// whole frame.
func (d *Daemon) encodeFrames(in chan device.Frame) {
	views := [2]viewEncoder{{whole: false}, {whole: true}}
	for f := range in {
		d.tap.mu.Lock()
		var want [2]bool
		for _, whole := range d.tap.subs {
			want[b2i(whole)] = true
		}
		d.tap.mu.Unlock()
		var out [2][]byte
		for i := range views {
			if !want[i] {
				continue
			}
			jpg, err := views[i].encode(d, f)
			if err != nil {
				// The error names its frame: log the first and every
				// 100th, like classify, not every frame.
				if views[i].errs++; views[i].errs%100 == 1 {
					d.log.Warn("live view", "err", err, "failed_frames", views[i].errs)
				}
				continue
			}
			out[i] = jpg
		}
		d.tap.encoded.Add(1)
		d.tap.mu.Lock()
		for ch, whole := range d.tap.subs {
			src := out[b2i(whole)]
			if src == nil {
				continue
			}
			jpg := bytes.Clone(src)
			select {
			case <-ch: // drop the frame not yet taken: the latest wins
			default:
			}
			select {
			case ch <- jpg:
			default:
			}
		}
		d.tap.mu.Unlock()
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// SampleImagePath is the PNG file of a stored sample; ok is false for an
// id the store does not hold (so no id reaches outside the state
// directory).
func (d *Daemon) SampleImagePath(id string) (path string, ok bool) {
	if _, ok := d.st.Sample(id); !ok {
		return "", false
	}
	return d.st.ImagePath(id), true
}

// ModelVersions lists the stored model versions (oldest first) and the
// one in use.
func (d *Daemon) ModelVersions() ([]store.Version, string, error) {
	vs, cur, err := d.models.List()
	if errors.Is(err, store.ErrNoModel) {
		return nil, "", nil
	}
	return vs, cur, err
}

// LiveStats are the frame loop's rates for the live view.
type LiveStats struct {
	FPS         float64 // frames processed per second (last status interval)
	InferenceMS float64 // mean inference time (last status interval); NaN when none
	MQTT        string  // "connected", "disconnected" or "" (off)
	Watchers    int     // live view streams open
}

// LiveStats returns the frame loop's rates and the MQTT link state.
func (d *Daemon) LiveStats() LiveStats {
	s := LiveStats{FPS: math.Float64frombits(d.stats.fps.Load()), InferenceMS: math.Float64frombits(d.stats.inferMS.Load()),
		Watchers: int(d.tap.watchers.Load())}
	if len(d.links) > 0 { // the connected gauge follows the link (mqtt.Options.OnConnection)
		s.MQTT = "disconnected"
		if d.m.mqttUp.Value() == 1 {
			s.MQTT = "connected"
		}
	}
	return s
}

// cmdLoginLink asks the web app for a one-time login link and makes it a
// URL on the HTTP listener's address.
func (d *Daemon) cmdLoginLink(context.Context, control.Command, string) (control.Result, error) {
	if d.opts.Web == nil || d.cfg.HTTP.Listen == "" && d.opts.Listener == nil {
		return control.Result{}, errors.New("the web app is off (set http.listen)")
	}
	path, err := d.opts.Web.LoginLink()
	if err != nil {
		return control.Result{}, err
	}
	addr := d.cfg.HTTP.Listen
	if d.opts.Listener != nil {
		addr = d.opts.Listener.Addr().String()
	}
	scheme := "http://"
	if d.cfg.HTTP.TLS() {
		scheme = "https://"
	}
	url := scheme + publicHost(addr) + path
	return control.Result{Message: url, Details: map[string]any{"url": url, "valid_s": 600}}, nil
}

// publicHost is addr with an unspecified host replaced by the machine's
// name (a phone on the LAN cannot use 0.0.0.0).
func publicHost(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		if h, err := os.Hostname(); err == nil {
			host = h
		}
	}
	return net.JoinHostPort(host, port)
}
