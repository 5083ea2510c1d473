// Package camerafile provides device.Camera sources backed by files, for
// demos, tests and replaying captures: every image of a directory, one
// still image, or a file of concatenated JPEG frames (MJPEG). Still images
// (JPEG, PNG, BMP, decoded by internal/stillimage within Config.Limits)
// come out as RGB24 frames, MJPEG files as MJPEG frames.
package camerafile

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/alphad/alphad/device"
	"github.com/alphad/alphad/device/mjpeg"
	"github.com/alphad/alphad/internal/stillimage"
)

// Config configures a file camera.
type Config struct {
	// FPS paces the frames; 0 returns them as fast as Next is called.
	FPS float64
	// Loop starts over at the end instead of returning io.EOF.
	Loop bool
	// Limits bound the still images decoded (zero: the defaults of
	// package stillimage).
	Limits stillimage.Limits
	// Fit, when positive, is the shorter side frames need: a larger still
	// image comes out smaller, its shorter side between Fit and 2×Fit
	// (a big JPEG is decoded at reduced scale, see
	// stillimage.ReadFileFit), so a 24 Mpx photo costs a few MB per frame.
	Fit int
	// Log receives one warning per image a dir camera skips because it
	// does not decode (nil: discarded).
	Log *slog.Logger
}

// pacer spaces frames 1/fps apart without catching up in bursts after a
// slow consumer.
type pacer struct {
	period time.Duration
	next   time.Time
}

func newPacer(fps float64) pacer {
	if fps <= 0 {
		return pacer{}
	}
	return pacer{period: time.Duration(float64(time.Second) / fps)}
}

// wait blocks until the next frame is due or ctx ends.
func (p *pacer) wait(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if p.period == 0 {
		return nil
	}
	now := time.Now()
	if d := p.next.Sub(now); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		now = p.next
	}
	p.next = now.Add(p.period)
	return nil
}

// stills is the shared state of the image and dir cameras.
type stills struct {
	name   string // for errors
	files  []string
	cfg    Config
	pace   pacer
	i      int
	seq    uint64
	buf    []byte
	cache  map[int]image.Image // decoded images, kept for single-image cameras
	bad    map[int]bool        // files that did not decode, skipped
	closed bool
}

func (s *stills) log() *slog.Logger {
	if s.cfg.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.cfg.Log
}

// Camera is a file-backed device.Camera. It is not safe for concurrent use.
type Camera struct {
	stills *stills
	stream *stream
}

var _ device.Camera = (*Camera)(nil)

// OpenImage returns a camera that yields the still image at path (JPEG,
// PNG or BMP) once, or forever with Loop.
func OpenImage(path string, cfg Config) (*Camera, error) {
	img, err := stillimage.ReadFileFit(path, cfg.Limits, cfg.Fit)
	if err != nil {
		return nil, fmt.Errorf("camerafile: %w", err)
	}
	return &Camera{stills: &stills{name: "image " + path, files: []string{path}, cfg: cfg, pace: newPacer(cfg.FPS),
		cache: map[int]image.Image{0: img}}}, nil
}

// OpenDir returns a camera that yields every JPEG, PNG and BMP image in
// dir, in name order. An image that does not decode (corrupt, over the
// limits) is skipped with one warning to cfg.Log; Next fails only when no
// image of the directory decodes.
func OpenDir(dir string, cfg Config) (*Camera, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("camerafile: %w", err)
	}
	var files []string
	for _, e := range ents {
		switch strings.ToLower(filepath.Ext(e.Name())) {
		case ".jpg", ".jpeg", ".png", ".bmp":
			if e.Type().IsRegular() || e.Type()&os.ModeSymlink != 0 {
				files = append(files, filepath.Join(dir, e.Name()))
			}
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("camerafile: dir %s: no .jpg, .png or .bmp images", dir)
	}
	slices.Sort(files)
	return &Camera{stills: &stills{name: "dir " + dir, files: files, cfg: cfg, pace: newPacer(cfg.FPS)}}, nil
}

// Next returns the next frame. Its Data is valid until the next call.
func (c *Camera) Next(ctx context.Context) (device.Frame, error) {
	if c.stream != nil {
		return c.stream.next(ctx)
	}
	return c.stills.next(ctx)
}

// Close releases the camera's files. Next fails afterwards.
func (c *Camera) Close() error {
	if c.stream != nil {
		return c.stream.close()
	}
	c.stills.closed = true
	c.stills.cache = nil
	return nil
}

func (s *stills) next(ctx context.Context) (device.Frame, error) {
	if s.closed {
		return device.Frame{}, fmt.Errorf("camerafile: %s: %w", s.name, os.ErrClosed)
	}
	if s.i >= len(s.files) && !s.cfg.Loop {
		return device.Frame{}, device.ErrEnded
	}
	if err := s.pace.wait(ctx); err != nil {
		return device.Frame{}, err
	}
	var img image.Image
	for img == nil {
		if s.i >= len(s.files) {
			if !s.cfg.Loop {
				return device.Frame{}, device.ErrEnded
			}
			s.i = 0
		}
		i := s.i
		s.i++
		if s.bad[i] {
			continue
		}
		if img = s.cache[i]; img != nil {
			break
		}
		var err error
		if img, err = stillimage.ReadFileFit(s.files[i], s.cfg.Limits, s.cfg.Fit); err != nil {
			// A directory goes on with its other images: one warning per
			// file, which is skipped from then on.
			if s.bad == nil {
				s.bad = map[int]bool{}
			}
			s.bad[i] = true
			if len(s.bad) == len(s.files) {
				return device.Frame{}, fmt.Errorf("camerafile: %s: no image decodes; the last: %w", s.name, err)
			}
			s.log().Warn("camerafile: skipping an image that does not decode", "camera", s.name, "err", err)
		}
	}
	s.buf = stillimage.RGB24(s.buf, img)
	s.seq++
	b := img.Bounds()
	return device.Frame{Seq: s.seq, Time: time.Now(), Format: device.RGB24,
		Width: b.Dx(), Height: b.Dy(), Stride: b.Dx() * 3, Data: s.buf}, nil
}

// stream is the state of an MJPEG file camera.
type stream struct {
	path   string
	cfg    Config
	pace   pacer
	f      *os.File
	r      *mjpeg.Reader
	seq    uint64
	frames int // frames read in the current pass
}

// OpenMJPEG returns a camera that yields the frames of a file of
// concatenated JPEG images (garbage between frames is skipped).
func OpenMJPEG(path string, cfg Config) (*Camera, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("camerafile: %w", err)
	}
	return &Camera{stream: &stream{path: path, cfg: cfg, pace: newPacer(cfg.FPS), f: f, r: mjpeg.NewReader(f, 0)}}, nil
}

func (s *stream) next(ctx context.Context) (device.Frame, error) {
	if s.f == nil {
		return device.Frame{}, fmt.Errorf("camerafile: mjpeg %s: %w", s.path, os.ErrClosed)
	}
	if err := s.pace.wait(ctx); err != nil {
		return device.Frame{}, err
	}
	for {
		data, err := s.r.Next()
		if errors.Is(err, io.EOF) {
			if s.frames == 0 {
				return device.Frame{}, fmt.Errorf("camerafile: mjpeg %s: no JPEG frames in the file", s.path)
			}
			if !s.cfg.Loop {
				return device.Frame{}, device.ErrEnded
			}
			if _, err := s.f.Seek(0, io.SeekStart); err != nil {
				return device.Frame{}, fmt.Errorf("camerafile: mjpeg %s: rewind: %w", s.path, err)
			}
			s.r = mjpeg.NewReader(s.f, 0)
			s.frames = 0
			continue
		}
		if err != nil {
			return device.Frame{}, fmt.Errorf("camerafile: mjpeg %s: %w", s.path, err)
		}
		s.frames++
		w, h, ok := mjpeg.Size(data)
		if !ok {
			continue // no readable JPEG header: skip the frame
		}
		s.seq++
		return device.Frame{Seq: s.seq, Time: time.Now(), Format: device.MJPEG,
			Width: w, Height: h, Data: data}, nil
	}
}

func (s *stream) close() error {
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	if err != nil {
		return fmt.Errorf("camerafile: close %s: %w", s.path, err)
	}
	return nil
}
