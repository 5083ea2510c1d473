// Package camerafile provides device.Camera sources backed by files, for
// demos, tests and replaying captures: every image of a directory, one
// still image, or a file of concatenated JPEG frames (MJPEG). Still images
// (JPEG, PNG, BMP) come out as RGB24 frames, MJPEG files as MJPEG frames.
package camerafile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/image/bmp"

	"github.com/alphad/alphad/device"
	"github.com/alphad/alphad/device/mjpeg"
)

// Config configures a file camera.
type Config struct {
	// FPS paces the frames; 0 returns them as fast as Next is called.
	FPS float64
	// Loop starts over at the end instead of returning io.EOF.
	Loop bool
}

// maxImagePixels bounds decoded still images (width × height).
const maxImagePixels = 8192 * 8192

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
	closed bool
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
	img, err := ReadImage(path)
	if err != nil {
		return nil, err
	}
	return &Camera{stills: &stills{name: "image " + path, files: []string{path}, cfg: cfg, pace: newPacer(cfg.FPS),
		cache: map[int]image.Image{0: img}}}, nil
}

// OpenDir returns a camera that yields every JPEG, PNG and BMP image in
// dir, in name order.
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
	if s.i >= len(s.files) {
		if !s.cfg.Loop {
			return device.Frame{}, io.EOF
		}
		s.i = 0
	}
	if err := s.pace.wait(ctx); err != nil {
		return device.Frame{}, err
	}
	i := s.i
	s.i++
	img, ok := s.cache[i]
	if !ok {
		var err error
		if img, err = ReadImage(s.files[i]); err != nil {
			return device.Frame{}, err
		}
	}
	s.buf = RGB24(s.buf, img)
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
				return device.Frame{}, io.EOF
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

// ReadImage decodes the JPEG (with or without Huffman tables), PNG or BMP
// file at path.
func ReadImage(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("camerafile: %w", err)
	}
	defer f.Close()
	img, err := decode(f)
	if err != nil {
		return nil, fmt.Errorf("camerafile: %s: %w", path, err)
	}
	return img, nil
}

// Decode decodes a JPEG (with or without Huffman tables), PNG or BMP
// image, chosen by its first bytes.
func Decode(r io.Reader) (image.Image, error) {
	img, err := decode(r)
	if err != nil {
		return nil, fmt.Errorf("camerafile: %w", err)
	}
	return img, nil
}

func decode(r io.Reader) (image.Image, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read image: %w", err)
	}
	head := data[:min(len(data), 8)]
	switch {
	case bytes.HasPrefix(head, []byte{0xff, 0xd8}):
		var d mjpeg.Decoder
		return d.Decode(data)
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		return decodeChecked(data, "png", png.DecodeConfig, png.Decode)
	case bytes.HasPrefix(head, []byte("BM")):
		return decodeChecked(data, "bmp", bmp.DecodeConfig, bmp.Decode)
	}
	return nil, fmt.Errorf("unknown image format (first bytes % x): want JPEG, PNG or BMP", head)
}

// decodeChecked checks the declared size of an image, then decodes it.
func decodeChecked(data []byte, kind string, config func(io.Reader) (image.Config, error), decode func(io.Reader) (image.Image, error)) (image.Image, error) {
	cfg, err := config(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", kind, err)
	}
	if cfg.Width*cfg.Height > maxImagePixels {
		return nil, fmt.Errorf("decode %s: %dx%d image is too large", kind, cfg.Width, cfg.Height)
	}
	img, err := decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", kind, err)
	}
	return img, nil
}

// RGB24 converts img to packed RGB24 (alpha ignored) in buf, reallocating
// only when buf is too small, and returns it.
func RGB24(buf []byte, img image.Image) []byte {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	n := w * h * 3
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	switch m := img.(type) {
	case *image.RGBA:
		packRGBX(buf, m.Pix[m.PixOffset(b.Min.X, b.Min.Y):], m.Stride, w, h)
	case *image.NRGBA:
		packRGBX(buf, m.Pix[m.PixOffset(b.Min.X, b.Min.Y):], m.Stride, w, h)
	case *image.Gray:
		for y := range h {
			src := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			out := buf[y*w*3 : (y+1)*w*3]
			for x := range w {
				v := src[x]
				out[x*3], out[x*3+1], out[x*3+2] = v, v, v
			}
		}
	case *image.YCbCr:
		i := 0
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				yi, ci := m.YOffset(x, y), m.COffset(x, y)
				buf[i], buf[i+1], buf[i+2] = color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
				i += 3
			}
		}
	default:
		i := 0
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				r, g, bb, _ := img.At(x, y).RGBA()
				buf[i], buf[i+1], buf[i+2] = byte(r>>8), byte(g>>8), byte(bb>>8)
				i += 3
			}
		}
	}
	return buf
}

// packRGBX copies w×h four-byte pixels (R, G, B, alpha/padding), rows
// stride bytes apart, into packed RGB24, dropping the fourth byte.
func packRGBX(dst, pix []byte, stride, w, h int) {
	for y := range h {
		src := pix[y*stride:]
		out := dst[y*w*3 : (y+1)*w*3]
		for x := range w {
			out[x*3], out[x*3+1], out[x*3+2] = src[x*4], src[x*4+1], src[x*4+2]
		}
	}
}
