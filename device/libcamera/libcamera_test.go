package libcamera

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/alphad/alphad/device"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func jpegFrame(t *testing.T, w, h int, c uint8) []byte {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = c
	}
	img.Set(0, 0, color.Gray{255 - c})
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// fakeProgram writes a shell script standing in for rpicam-vid: it records
// its arguments, then runs body.
func fakeProgram(t *testing.T, body string) (bin, dir string) {
	t.Helper()
	dir = t.TempDir()
	bin = filepath.Join(dir, "fake-vid")
	script := fmt.Sprintf("#!/bin/sh\necho \"$@\" > %s/args\necho started >> %s/runs\n%s\n", dir, dir, body)
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin, dir
}

func testConfig(bin string) Config {
	return Config{Bin: bin, Width: 32, Height: 16, FPS: 10, MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond, StartTimeout: 10 * time.Second}
}

func next(t *testing.T, c *Camera) device.Frame {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	f, err := c.Next(ctx)
	if err != nil {
		t.Fatalf("Next: %v", err)
	}
	return f
}

func TestStreamsFrames(t *testing.T) {
	dir := t.TempDir()
	stream := filepath.Join(dir, "s.mjpeg")
	frames := bytes.Join([][]byte{[]byte("startup noise\xff"), jpegFrame(t, 32, 16, 10), jpegFrame(t, 32, 16, 20), []byte("junk")}, nil)
	if err := os.WriteFile(stream, frames, 0o644); err != nil {
		t.Fatal(err)
	}
	// Repeat the stream forever, slowly.
	bin, pdir := fakeProgram(t, fmt.Sprintf("while true; do cat %s; sleep 0.02; done", stream))
	c, err := Open(testConfig(bin))
	if err != nil {
		t.Fatal(err)
	}
	var last uint64
	for range 4 {
		f := next(t, c)
		if f.Format != device.MJPEG || f.Width != 32 || f.Height != 16 || f.Seq <= last || !bytes.HasPrefix(f.Data, []byte{0xff, 0xd8}) {
			t.Fatalf("frame %+v", f)
		}
		last = f.Seq
	}
	start := time.Now()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("Close took %v", el)
	}
	if _, err := c.Next(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Next after Close: %v", err)
	}
	args, _ := os.ReadFile(filepath.Join(pdir, "args"))
	if want := "-t 0 --codec mjpeg -o - --width 32 --height 16 --framerate 10 -n"; strings.TrimSpace(string(args)) != want {
		t.Fatalf("args %q, want %q", args, want)
	}
}

// TestRestart: the program writes two frames and exits with an error; the
// camera restarts it and frames keep coming.
func TestRestart(t *testing.T) {
	dir := t.TempDir()
	stream := filepath.Join(dir, "s.mjpeg")
	f1, f2 := jpegFrame(t, 32, 16, 1), jpegFrame(t, 32, 16, 2)
	if err := os.WriteFile(stream, append(f1, f2...), 0o644); err != nil {
		t.Fatal(err)
	}
	bin, pdir := fakeProgram(t, fmt.Sprintf("cat %s\necho 'ERROR: camera went away' >&2\nexit 3", stream))
	c, err := Open(testConfig(bin))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for c.Stats().Restarts < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("not restarted: %+v", c.Stats())
		}
		next(t, c)
	}
	st := c.Stats()
	if !strings.Contains(st.LastError, "exit status 3") || !strings.Contains(st.LastError, "ERROR: camera went away") {
		t.Fatalf("last error %q", st.LastError)
	}
	runs, _ := os.ReadFile(filepath.Join(pdir, "runs"))
	if n := strings.Count(string(runs), "started"); n < 2 {
		t.Fatalf("program ran %d times", n)
	}
}

func TestStallRestarts(t *testing.T) {
	dir := t.TempDir()
	stream := filepath.Join(dir, "s.mjpeg")
	if err := os.WriteFile(stream, jpegFrame(t, 32, 16, 1), 0o644); err != nil {
		t.Fatal(err)
	}
	// One frame, then silence (sleep keeps stdout open).
	bin, _ := fakeProgram(t, fmt.Sprintf("cat %s\nexec sleep 60", stream))
	cfg := testConfig(bin)
	cfg.Stall = 100 * time.Millisecond
	c, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for c.Stats().Restarts < 1 {
		if time.Now().After(deadline) {
			t.Fatal("a stalled program was not restarted")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(c.Stats().LastError, "stalled") {
		t.Fatalf("last error %q", c.Stats().LastError)
	}
}

func TestOpenErrors(t *testing.T) {
	noFrames, _ := fakeProgram(t, "echo '[0:01:02] ERROR: *** no cameras available ***' >&2\nexit 255")
	silent, _ := fakeProgram(t, "exec sleep 60")
	notExec := filepath.Join(t.TempDir(), "rpicam-vid")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	notFound := func(string) (string, error) { return "", errors.New("not found") }
	tests := []struct {
		name string
		cfg  Config
		want []string
	}{
		{"no program in PATH", Config{LookPath: notFound}, []string{"neither rpicam-vid nor libcamera-vid found in PATH", "apt install rpicam-apps"}},
		{"named program missing", Config{Bin: "my-vid", LookPath: notFound}, []string{"capture program my-vid not found in PATH"}},
		{"path missing", Config{Bin: "/nonexistent/rpicam-vid"}, []string{"/nonexistent/rpicam-vid", "no such file"}},
		{"not executable", Config{Bin: notExec}, []string{"is not executable"}},
		{"no camera", testConfig(noFrames), []string{"exited: exit status 255", "no cameras available", "rpicam-hello --list-cameras"}},
		{"no first frame", func() Config { c := testConfig(silent); c.StartTimeout = 100 * time.Millisecond; return c }(), []string{"no frame within 100ms"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Open(tt.cfg)
			if err == nil {
				c.Close()
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("err = %v, want it to contain %q", err, w)
				}
			}
		})
	}
}

func TestResolveFallback(t *testing.T) {
	look := func(name string) (string, error) {
		if name == "libcamera-vid" {
			return "/usr/bin/libcamera-vid", nil
		}
		return "", errors.New("not found")
	}
	p, err := resolve(Config{LookPath: look})
	if err != nil || p != "/usr/bin/libcamera-vid" {
		t.Fatalf("resolve = %q, %v", p, err)
	}
}

func TestTail(t *testing.T) {
	tl := &tail{max: 16}
	fmt.Fprint(tl, "line one\nline two\nline three\n")
	if got := tl.String(); got != "two | line three" {
		t.Fatalf("tail = %q", got)
	}
}
