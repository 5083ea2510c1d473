// Package v4l2test provides a fake V4L2 kernel for testing code that
// captures through package v4l2 without a camera.
package v4l2test

import (
	"fmt"
	"io/fs"
	"sync"
	"time"

	"github.com/alphad/alphad/device/v4l2"
)

// Kernel is a fake v4l2.Kernel holding Devices by path. It is safe for
// concurrent use; read its counters with Counts.
type Kernel struct {
	mu      sync.Mutex
	Devices map[string]*Device
	// OpenErrs are returned, in order, by the next Open calls (a nil
	// entry lets that call succeed).
	OpenErrs []error
	opens    int
	closes   int
}

// Device is a fake capture device: a template each Open starts from.
type Device struct {
	Info    v4l2.Info
	Formats []v4l2.FormatDesc
	// Substitute maps a requested FourCC to the one the fake driver sets
	// instead, as drivers do with formats they lack.
	Substitute map[string]string
	// SetFormatErr fails SetFormat.
	SetFormatErr error
	// FPS is the rate it reports and delivers frames at (0: a frame on
	// every Read).
	FPS float64
	// Block makes Read never deliver a frame (it waits out its timeout).
	Block bool
	// ReadHook, when set, runs before each frame of each open (open and
	// frame count from 0); a non-nil result is returned by Read.
	ReadHook func(open, frame int) error
}

// Counts reports how many devices were opened and closed.
func (k *Kernel) Counts() (opens, closes int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.opens, k.closes
}

// Open implements v4l2.Kernel.
func (k *Kernel) Open(path string) (v4l2.Device, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.OpenErrs) > 0 {
		err := k.OpenErrs[0]
		k.OpenErrs = k.OpenErrs[1:]
		if err != nil {
			return nil, err
		}
	}
	d, ok := k.Devices[path]
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: path, Err: fs.ErrNotExist}
	}
	h := &handle{k: k, d: d, open: k.opens}
	k.opens++
	return h, nil
}

// handle is one open of a fake Device.
type handle struct {
	k      *Kernel
	d      *Device
	open   int
	format v4l2.Format
	stream bool
	closed bool
	frames int
	next   time.Time
}

func (h *handle) Info() v4l2.Info { return h.d.Info }

func (h *handle) Formats() ([]v4l2.FormatDesc, error) { return h.d.Formats, nil }

func (h *handle) SetFormat(want v4l2.Format) (v4l2.Format, error) {
	if h.d.SetFormatErr != nil {
		return v4l2.Format{}, h.d.SetFormatErr
	}
	fc := want.FourCC
	if s, ok := h.d.Substitute[fc]; ok {
		fc = s
	}
	f := v4l2.Format{FourCC: fc, Width: want.Width, Height: want.Height, FPS: h.d.FPS}
	switch fc {
	case v4l2.FourCCYUYV:
		f.Stride = (f.Width + 1) / 2 * 4
	case v4l2.FourCCRGB24:
		f.Stride = f.Width * 3
	}
	f.SizeImage = f.Stride * f.Height
	if f.SizeImage == 0 {
		f.SizeImage = f.Width * f.Height / 4
	}
	h.format = f
	return f, nil
}

func (h *handle) StreamOn(n int) error {
	if h.closed {
		return fmt.Errorf("fake: stream on a closed device")
	}
	if n < 1 {
		return fmt.Errorf("fake: %d buffers", n)
	}
	h.stream = true
	h.next = time.Now()
	return nil
}

func (h *handle) Read(dst []byte, timeout time.Duration) ([]byte, error) {
	if !h.stream || h.closed {
		return nil, fmt.Errorf("fake: read while not streaming")
	}
	if h.d.Block {
		time.Sleep(timeout)
		return nil, v4l2.ErrNoFrame
	}
	if h.d.FPS > 0 {
		wait := time.Until(h.next)
		if wait > timeout {
			time.Sleep(timeout)
			return nil, v4l2.ErrNoFrame
		}
		time.Sleep(wait)
		h.next = h.next.Add(time.Duration(float64(time.Second) / h.d.FPS))
	}
	if hook := h.d.ReadHook; hook != nil {
		if err := hook(h.open, h.frames); err != nil {
			return nil, err
		}
	}
	n := max(h.format.SizeImage, 1)
	if cap(dst) < n {
		dst = make([]byte, n)
	}
	dst = dst[:n]
	for i := range dst {
		dst[i] = byte(i + h.frames)
	}
	h.frames++
	return dst, nil
}

func (h *handle) Close() error {
	if h.closed {
		return nil
	}
	h.closed = true
	h.stream = false
	h.k.mu.Lock()
	h.k.closes++
	h.k.mu.Unlock()
	return nil
}

var _ v4l2.Kernel = (*Kernel)(nil)
