// Package libcamera is a device.Camera for Raspberry Pi CSI cameras, which
// on Bookworm and later do not work through plain V4L2. It runs
// `rpicam-vid` (or the older `libcamera-vid`) writing MJPEG to stdout
// and splits the stream into JPEG frames. Frames are MJPEG; only the
// latest is kept when the consumer is slower than the camera. When the
// program exits, Next returns why (with the end of its stderr); restarting
// it, and noticing that it stalls, is device/supervise's job.
package libcamera

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/alphad/alphad/device"
	"github.com/alphad/alphad/device/mjpeg"
)

// Programs tried, in order, when Config.Bin is empty.
var defaultBins = []string{"rpicam-vid", "libcamera-vid"}

// Config configures a Camera.
type Config struct {
	// Bin is the capture program: a path, or a name looked up in PATH.
	// Empty: rpicam-vid, else libcamera-vid.
	Bin           string
	Width, Height int     // default 640×480
	FPS           float64 // default 15
	Log           *slog.Logger
	// LookPath finds programs; nil means exec.LookPath.
	LookPath func(string) (string, error)
	// StartTimeout bounds the wait for the first frame in Open (default
	// 20 s: the camera stack takes a few seconds to start).
	StartTimeout time.Duration
}

// Args are the capture program's arguments for cfg: no time limit, MJPEG
// to stdout, no preview window.
func Args(cfg Config) []string {
	return []string{"-t", "0", "--codec", "mjpeg", "-o", "-",
		"--width", strconv.Itoa(cfg.Width), "--height", strconv.Itoa(cfg.Height),
		"--framerate", strconv.FormatFloat(cfg.FPS, 'g', -1, 64), "-n"}
}

// ErrClosed is returned by Next after Close.
var ErrClosed = errors.New("libcamera: camera closed")

// Stats count what the capture goroutine did.
type Stats struct {
	Frames  uint64
	Dropped uint64 // frames replaced by a newer one before Next took them
}

// Camera captures MJPEG frames from rpicam-vid. Next and Close may be
// called from different goroutines; Next not concurrently with itself.
type Camera struct {
	cfg       Config
	bin       string
	log       *slog.Logger
	cancel    context.CancelFunc
	done      chan struct{}  // closed when the capture goroutine exits
	frames    *device.Latest // the hand-off to Next
	closeOnce sync.Once
}

var _ device.Camera = (*Camera)(nil)

// resolve finds the capture program.
func resolve(cfg Config) (string, error) {
	look := cfg.LookPath
	if look == nil {
		look = exec.LookPath
	}
	const install = "install rpicam-apps (sudo apt install rpicam-apps) or name the program with libcamera:?bin=PATH"
	if cfg.Bin == "" {
		for _, b := range defaultBins {
			if p, err := look(b); err == nil {
				return p, nil
			}
		}
		return "", fmt.Errorf("libcamera: neither %s found in PATH; %s", strings.Join(defaultBins, " nor "), install)
	}
	if strings.ContainsRune(cfg.Bin, os.PathSeparator) {
		st, err := os.Stat(cfg.Bin)
		if err != nil {
			return "", fmt.Errorf("libcamera: capture program %s: %w; %s", cfg.Bin, err, install)
		}
		if st.IsDir() || st.Mode().Perm()&0o111 == 0 {
			return "", fmt.Errorf("libcamera: capture program %s is not executable; %s", cfg.Bin, install)
		}
		return cfg.Bin, nil
	}
	p, err := look(cfg.Bin)
	if err != nil {
		return "", fmt.Errorf("libcamera: capture program %s not found in PATH; %s", cfg.Bin, install)
	}
	return p, nil
}

// Open starts the capture program and waits for its first frame, so that
// a missing program or camera fails here with one error (including the
// end of the program's stderr). The wait ends with ctx (the program is
// then stopped). A later failure ends the capture: Next returns it.
func Open(ctx context.Context, cfg Config) (*Camera, error) {
	if cfg.Width <= 0 || cfg.Height <= 0 {
		cfg.Width, cfg.Height = 640, 480
	}
	if cfg.FPS <= 0 {
		cfg.FPS = 15
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = 20 * time.Second
	}
	bin, err := resolve(cfg)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("libcamera: start %s: %w", bin, err)
	}
	run, cancel := context.WithCancel(context.Background())
	c := &Camera{cfg: cfg, bin: bin, log: cfg.Log, cancel: cancel, done: make(chan struct{}), frames: device.NewLatest(ErrClosed)}
	first := make(chan error, 1)
	go c.run(run, first)
	t := time.NewTimer(cfg.StartTimeout)
	defer t.Stop()
	select {
	case err := <-first:
		if err != nil {
			c.Close()
			return nil, err
		}
	case <-t.C:
		c.Close()
		return nil, fmt.Errorf("libcamera: %s: no frame within %v; is a camera connected (rpicam-hello --list-cameras)?", bin, cfg.StartTimeout)
	case <-ctx.Done():
		c.Close()
		return nil, fmt.Errorf("libcamera: %s: waiting for the first frame: %w", bin, ctx.Err())
	}
	c.log.Info("camera streaming", "program", bin, "width", cfg.Width, "height", cfg.Height, "fps", cfg.FPS)
	return c, nil
}

// run runs the program until it exits or ctx ends. Until the first frame
// the outcome (nil on that frame, or the error that ended the program)
// goes to first; after it, an error goes to Next.
func (c *Camera) run(ctx context.Context, first chan<- error) {
	defer close(c.done)
	gotFrame, err := c.session(ctx, first)
	if ctx.Err() != nil {
		return
	}
	if !gotFrame {
		first <- err
		return
	}
	c.log.Warn("capture program stopped", "program", c.bin, "err", err)
	c.frames.Fail(err)
}

// session runs the program and publishes its frames until it exits or
// ctx ends. It reports whether any frame came.
func (c *Camera) session(ctx context.Context, first chan<- error) (bool, error) {
	pr, pw, err := os.Pipe()
	if err != nil {
		return false, fmt.Errorf("libcamera: pipe: %w", err)
	}
	defer pr.Close()
	stderr := &tail{max: 4096}
	cmd := exec.Command(c.bin, Args(c.cfg)...)
	cmd.Stdout = pw
	cmd.Stderr = stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = time.Second
	err = cmd.Start()
	pw.Close()
	if err != nil {
		return false, fmt.Errorf("libcamera: start %s: %w", c.bin, err)
	}
	kill := func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	stop := context.AfterFunc(ctx, func() { kill(); pr.Close() })
	defer stop()

	r := mjpeg.NewReader(pr, 0)
	got := false
	var buf []byte
	var readErr error
	for {
		data, err := r.Next()
		if err != nil {
			readErr = err
			break
		}
		w, h, ok := mjpeg.Size(data)
		if !ok {
			continue // no readable JPEG header: skip the frame
		}
		if buf == nil {
			buf = c.frames.Buffer()
		}
		buf = c.frames.Put(device.Frame{Time: time.Now(), Format: device.MJPEG, Width: w, Height: h, Data: append(buf[:0], data...)})
		if !got {
			got = true
			first <- nil
		}
	}
	kill()
	waitErr := cmd.Wait()
	if ctx.Err() != nil {
		return got, ctx.Err()
	}
	why := "exited"
	switch {
	case waitErr != nil:
		why = "exited: " + waitErr.Error()
	case readErr != nil && !errors.Is(readErr, fs.ErrClosed) && !errors.Is(readErr, io.EOF):
		why = "output failed: " + readErr.Error()
	}
	msg := fmt.Sprintf("libcamera: %s %s", c.bin, why)
	if s := stderr.String(); s != "" {
		msg += "; stderr: " + s
	}
	if !got {
		msg += "; no frames (is a camera connected? try rpicam-hello --list-cameras)"
	}
	return got, errors.New(msg)
}

// Next returns the latest frame, waiting for one newer than the last it
// returned. Once the program exited, Next returns why; after Close,
// ErrClosed.
func (c *Camera) Next(ctx context.Context) (device.Frame, error) {
	return c.frames.Next(ctx)
}

// Stats returns the capture counters.
func (c *Camera) Stats() Stats {
	var s Stats
	s.Frames, s.Dropped = c.frames.Counts()
	return s
}

// Close stops the program and waits for the capture goroutine. Closing
// again does nothing.
func (c *Camera) Close() error {
	c.closeOnce.Do(func() {
		c.frames.Close()
		c.cancel()
		<-c.done
	})
	return nil
}

// tail keeps the last max bytes written to it.
type tail struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

// String is the kept text, its last few lines joined with " | ".
func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	lines := strings.Split(strings.TrimSpace(string(t.b)), "\n")
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	for i := range lines {
		lines[i] = strings.TrimSpace(lines[i])
	}
	return strings.Join(lines, " | ")
}
