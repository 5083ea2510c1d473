package camerafile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/image/bmp"

	"github.com/alphad/alphad/device"
	"github.com/alphad/alphad/device/mjpeg/mjpegtest"
	"github.com/alphad/alphad/internal/stillimage"
	"github.com/alphad/alphad/internal/testshared"
)

func solid(w, h int, c color.RGBA) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, 255
	}
	return img
}

func encodeJPEG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func write(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// testDir holds b.png (red 4x2), a.jpg (green 6x4, no Huffman tables),
// c.BMP (blue 2x2) and a text file.
func testDir(t *testing.T) string {
	dir := t.TempDir()
	var b bytes.Buffer
	if err := png.Encode(&b, solid(4, 2, color.RGBA{R: 255})); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "b.png"), b.Bytes())
	write(t, filepath.Join(dir, "a.jpg"), mjpegtest.StripDHT(t, encodeJPEG(t, solid(6, 4, color.RGBA{G: 255}))))
	b.Reset()
	if err := bmp.Encode(&b, solid(2, 2, color.RGBA{B: 255})); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "c.BMP"), b.Bytes())
	write(t, filepath.Join(dir, "notes.txt"), []byte("not an image"))
	return dir
}

func next(t *testing.T, c device.Camera) device.Frame {
	t.Helper()
	f, err := c.Next(context.Background())
	if err != nil {
		t.Fatalf("Next: %v", err)
	}
	return f
}

func TestDir(t *testing.T) {
	dir := testDir(t)
	for _, loop := range []bool{false, true} {
		t.Run(map[bool]string{false: "once", true: "loop"}[loop], func(t *testing.T) {
			c, err := OpenDir(dir, Config{Loop: loop})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			want := []struct {
				w, h    int
				r, g, b byte
			}{{6, 4, 0, 255, 0}, {4, 2, 255, 0, 0}, {2, 2, 0, 0, 255}}
			for i := 0; i < 5; i++ {
				if !loop && i == 3 {
					if _, err := c.Next(context.Background()); !errors.Is(err, io.EOF) {
						t.Fatalf("after the last image: %v, want io.EOF", err)
					}
					return
				}
				f := next(t, c)
				w := want[i%3]
				if f.Seq != uint64(i+1) || f.Format != device.RGB24 || f.Width != w.w || f.Height != w.h || f.Stride != w.w*3 || len(f.Data) != w.w*w.h*3 {
					t.Fatalf("frame %d: %+v", i, f)
				}
				if f.Time.IsZero() {
					t.Fatal("no timestamp")
				}
				px := f.Data[len(f.Data)-3:]
				for k, v := range []byte{w.r, w.g, w.b} {
					if d := int(px[k]) - int(v); d > 2 || d < -2 {
						t.Fatalf("frame %d pixel %v, want %d,%d,%d", i, px, w.r, w.g, w.b)
					}
				}
			}
		})
	}
}

func TestImage(t *testing.T) {
	path := filepath.Join(testDir(t), "b.png")
	c, err := OpenImage(path, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if f := next(t, c); f.Width != 4 || f.Height != 2 {
		t.Fatalf("%+v", f)
	}
	if _, err := c.Next(context.Background()); !errors.Is(err, io.EOF) {
		t.Fatalf("second Next: %v", err)
	}
	c.Close()
	if _, err := c.Next(context.Background()); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}

	c, err = OpenImage(path, Config{Loop: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := 1; i <= 3; i++ {
		if f := next(t, c); f.Seq != uint64(i) {
			t.Fatalf("seq %d, want %d", f.Seq, i)
		}
	}
}

func TestMJPEG(t *testing.T) {
	dir := t.TempDir()
	f1 := mjpegtest.StripDHT(t, encodeJPEG(t, solid(16, 8, color.RGBA{R: 200})))
	f2 := encodeJPEG(t, solid(8, 8, color.RGBA{B: 200}))
	path := filepath.Join(dir, "cap.mjpeg")
	write(t, path, bytes.Join([][]byte{[]byte("junk"), f1, []byte{0, 0xff}, f2, f1[:len(f1)/2]}, nil))

	c, err := OpenMJPEG(path, Config{Loop: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i, want := range [][]byte{f1, f2, f1, f2} {
		f := next(t, c)
		if f.Format != device.MJPEG || f.Seq != uint64(i+1) || !bytes.Equal(f.Data, want) {
			t.Fatalf("frame %d: seq %d format %s %d bytes", i, f.Seq, f.Format, len(f.Data))
		}
		if w := []int{16, 8}[i%2]; f.Width != w || f.Height != 8 {
			t.Fatalf("frame %d: %dx%d", i, f.Width, f.Height)
		}
	}

	once, err := OpenMJPEG(path, Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer once.Close()
	next(t, once)
	next(t, once)
	if _, err := once.Next(context.Background()); !errors.Is(err, io.EOF) {
		t.Fatalf("end: %v, want io.EOF", err)
	}

	empty := filepath.Join(dir, "empty.mjpeg")
	write(t, empty, []byte("nothing"))
	e, err := OpenMJPEG(empty, Config{Loop: true})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if _, err := e.Next(context.Background()); err == nil || !strings.Contains(err.Error(), "no JPEG frames") {
		t.Fatalf("empty file: %v", err)
	}
}

func TestPacing(t *testing.T) {
	c, err := OpenImage(filepath.Join(testDir(t), "b.png"), Config{FPS: 100, Loop: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	for range 6 {
		next(t, c)
	}
	// Six frames at 100 fps span at least five periods (lower bound only:
	// a loaded machine may be slower).
	if el := time.Since(start); el < 50*time.Millisecond {
		t.Fatalf("6 frames at 100 fps in %v", el)
	}

	slow, err := OpenImage(filepath.Join(testDir(t), "b.png"), Config{FPS: 0.01, Loop: true})
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	next(t, slow) // the first frame is immediate
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := slow.Next(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("cancelled wait: %v", err)
	}
}

func TestOpenErrors(t *testing.T) {
	empty := t.TempDir()
	write(t, filepath.Join(empty, "x.txt"), nil)
	bad := filepath.Join(t.TempDir(), "bad.png")
	write(t, bad, []byte("\x89PNG\r\n\x1a\nbroken"))
	tests := []struct {
		name string
		open func() (*Camera, error)
		want string
	}{
		{"missing dir", func() (*Camera, error) { return OpenDir(filepath.Join(empty, "nope"), Config{}) }, "no such file"},
		{"dir without images", func() (*Camera, error) { return OpenDir(empty, Config{}) }, "no .jpg, .png or .bmp images"},
		{"missing image", func() (*Camera, error) { return OpenImage(filepath.Join(empty, "a.jpg"), Config{}) }, "no such file"},
		{"not an image", func() (*Camera, error) { return OpenImage(filepath.Join(empty, "x.txt"), Config{}) }, "want JPEG, PNG or BMP"},
		{"corrupt png", func() (*Camera, error) { return OpenImage(bad, Config{}) }, "decode png"},
		{"missing mjpeg", func() (*Camera, error) { return OpenMJPEG(filepath.Join(empty, "a.mjpeg"), Config{}) }, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.open()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestSharedDataset(t *testing.T) {
	c, err := OpenDir(testshared.Path(t, "datasets", "rps_picam", "rock"), Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	n := 0
	for {
		f, err := c.Next(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if f.Width != 300 || f.Height != 200 {
			t.Fatalf("frame %d: %dx%d", f.Seq, f.Width, f.Height)
		}
		n++
	}
	if n != 100 {
		t.Fatalf("%d frames, want 100", n)
	}
}

// TestDirSkipsBadImages: a directory camera shows every image that
// decodes, warns once per image that does not (corrupt, GIF, over the
// limits) and fails only when none decodes.
func TestDirSkipsBadImages(t *testing.T) {
	dir := testDir(t) // a.jpg, b.png, c.BMP
	write(t, filepath.Join(dir, "a2.png"), []byte("\x89PNG\r\n\x1a\ncorrupt"))
	var big bytes.Buffer
	if err := png.Encode(&big, image.NewGray(image.Rect(0, 0, 30, 30))); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "b2.png"), big.Bytes()) // over Limits.MaxPixels below
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	c, err := OpenDir(dir, Config{Loop: true, Limits: stillimage.Limits{MaxPixels: 500}, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var sizes []string
	for range 6 { // two passes over the three good images
		f := next(t, c)
		sizes = append(sizes, fmt.Sprintf("%dx%d", f.Width, f.Height))
	}
	if got := strings.Join(sizes, " "); got != "6x4 4x2 2x2 6x4 4x2 2x2" {
		t.Fatalf("frames %s", got)
	}
	out := logs.String()
	if n := strings.Count(out, "skipping"); n != 2 || !strings.Contains(out, "a2.png") || !strings.Contains(out, "30x30 pixels exceeds the 0.0005 Mpx limit") {
		t.Fatalf("want one warning per bad file, got:\n%s", out)
	}

	only := t.TempDir()
	write(t, filepath.Join(only, "x.png"), []byte("\x89PNG\r\n\x1a\ncorrupt"))
	write(t, filepath.Join(only, "y.jpg"), []byte{0xff, 0xd8, 0xff})
	c2, err := OpenDir(only, Config{Loop: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if _, err := c2.Next(context.Background()); err == nil || !strings.Contains(err.Error(), "no image decodes") {
		t.Fatalf("all bad: %v", err)
	}
}
