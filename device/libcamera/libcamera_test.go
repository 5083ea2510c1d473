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
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/alphad/alphad/device"
	"github.com/alphad/alphad/device/supervise"
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
	return Config{Bin: bin, Width: 32, Height: 16, FPS: 10, StartTimeout: 10 * time.Second}
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
	c, err := Open(context.Background(), testConfig(bin))
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

// TestProgramExits: the program writes two frames and exits with an
// error: Next returns why, with the end of its stderr.
func TestProgramExits(t *testing.T) {
	dir := t.TempDir()
	stream := filepath.Join(dir, "s.mjpeg")
	f1, f2 := jpegFrame(t, 32, 16, 1), jpegFrame(t, 32, 16, 2)
	if err := os.WriteFile(stream, append(f1, f2...), 0o644); err != nil {
		t.Fatal(err)
	}
	bin, _ := fakeProgram(t, fmt.Sprintf("cat %s\necho 'ERROR: camera went away' >&2\nexit 3", stream))
	c, err := Open(context.Background(), testConfig(bin))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for err == nil {
		_, err = c.Next(ctx)
	}
	if !strings.Contains(err.Error(), "exit status 3") || !strings.Contains(err.Error(), "ERROR: camera went away") {
		t.Fatalf("Next = %v", err)
	}
}

// supervised runs the program under the supervisor; status changes come
// on the channel.
func supervised(t *testing.T, cfg Config, o supervise.Options) (*supervise.Camera, <-chan string) {
	events := make(chan string, 100)
	o.MinBackoff, o.MaxBackoff = time.Millisecond, 10*time.Millisecond
	o.OnStatus = func(up bool, err error) {
		if up {
			events <- "up"
		} else {
			events <- "down: " + err.Error()
		}
	}
	c := supervise.New(func(ctx context.Context) (device.Camera, error) { return Open(ctx, cfg) }, o)
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Error(err)
		}
	})
	return c, events
}

// TestSupervisedRestart: under the supervisor, a program that exits after
// two frames is started again, and frames keep coming.
func TestSupervisedRestart(t *testing.T) {
	dir := t.TempDir()
	stream := filepath.Join(dir, "s.mjpeg")
	if err := os.WriteFile(stream, append(jpegFrame(t, 32, 16, 1), jpegFrame(t, 32, 16, 2)...), 0o644); err != nil {
		t.Fatal(err)
	}
	bin, pdir := fakeProgram(t, fmt.Sprintf("cat %s\necho 'ERROR: camera went away' >&2\nexit 3", stream))
	c, events := supervised(t, testConfig(bin), supervise.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for c.Stats().Opens < 3 {
		if _, err := c.Next(ctx); err != nil {
			t.Fatalf("Next: %v (stats %+v)", err, c.Stats())
		}
	}
	if e := <-events; e != "up" {
		t.Fatalf("first status %q", e)
	}
	if e := <-events; !strings.Contains(e, "exit status 3") || !strings.Contains(e, "ERROR: camera went away") {
		t.Fatalf("second status %q", e)
	}
	runs, _ := os.ReadFile(filepath.Join(pdir, "runs"))
	if n := strings.Count(string(runs), "started"); n < 3 {
		t.Fatalf("program ran %d times", n)
	}
}

// TestSupervisedStall: a program that goes silent is stopped and started
// again by the supervisor.
func TestSupervisedStall(t *testing.T) {
	dir := t.TempDir()
	stream := filepath.Join(dir, "s.mjpeg")
	if err := os.WriteFile(stream, jpegFrame(t, 32, 16, 1), 0o644); err != nil {
		t.Fatal(err)
	}
	// One frame, then silence (sleep keeps stdout open).
	bin, _ := fakeProgram(t, fmt.Sprintf("cat %s\nexec sleep 60", stream))
	c, events := supervised(t, testConfig(bin), supervise.Options{FrameTimeout: 100 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// Each run gives one frame: the second comes from a second run.
	for range 2 {
		if _, err := c.Next(ctx); err != nil {
			t.Fatalf("Next: %v (stats %+v)", err, c.Stats())
		}
	}
	var got []string
	for len(events) > 0 {
		got = append(got, <-events)
	}
	if want := []string{"up", "down: camera: no frame for 100ms", "up"}; !slices.Equal(got, want) {
		t.Fatalf("status events %q, want %q", got, want)
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
			c, err := Open(context.Background(), tt.cfg)
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

// TestOpenCancel: the wait for the first frame ends with the context,
// long before StartTimeout, and stops the program.
func TestOpenCancel(t *testing.T) {
	silent, dir := fakeProgram(t, "exec sleep 60")
	cfg := testConfig(silent)
	cfg.StartTimeout = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		c, err := Open(ctx, cfg)
		if err == nil {
			c.Close()
		}
		errc <- err
	}()
	// Cancel once the program runs.
	for {
		if b, _ := os.ReadFile(filepath.Join(dir, "runs")); len(b) > 0 {
			break
		}
		select {
		case err := <-errc:
			t.Fatalf("Open returned before the program started: %v", err)
		case <-time.After(5 * time.Millisecond):
		}
	}
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "waiting for the first frame") {
			t.Fatalf("Open = %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Open did not return after its context ended")
	}
	if _, err := Open(ctx, cfg); !errors.Is(err, context.Canceled) {
		t.Fatalf("Open with an ended context = %v", err)
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
