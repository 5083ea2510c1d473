package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/alphad/alphad/device"
	"github.com/alphad/alphad/internal/stillimage"
	"github.com/alphad/alphad/internal/testshared"
	"github.com/alphad/alphad/pipeline/engine"
	"github.com/alphad/alphad/pipeline/engine/native"
	"github.com/alphad/alphad/pipeline/store"
	"github.com/alphad/alphad/pipeline/tflite"
)

// sceneCam is a fake camera showing one of several scenes (lists of
// decoded images) at a fixed rate, switchable while it runs. It remembers
// which scene every frame showed, and fails on demand. The same value is
// handed out by every (re)open.
type sceneCam struct {
	period time.Duration
	scenes map[string][]device.Frame

	mu     sync.Mutex
	scene  string
	i      int
	seq    uint64
	next   time.Time
	shown  map[uint64]string
	fail   error // Next and open fail with it while set
	opens  int
	closes int
}

func newSceneCam(fps float64) *sceneCam {
	return &sceneCam{period: time.Duration(float64(time.Second) / fps), scenes: map[string][]device.Frame{}, shown: map[uint64]string{}}
}

// addScene loads images files[from:to] of a directory as a scene.
func (c *sceneCam) addScene(t *testing.T, name, dir string, from, to int) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, e := range ents {
		files = append(files, filepath.Join(dir, e.Name()))
	}
	sort.Strings(files)
	for _, f := range files[from:min(to, len(files))] {
		c.addFile(t, name, f)
	}
}

// addFile appends one image file to a scene.
func (c *sceneCam) addFile(t *testing.T, name, path string) {
	t.Helper()
	img, err := stillimage.ReadFile(path, stillimage.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	c.scenes[name] = append(c.scenes[name], device.Frame{Format: device.RGB24, Width: b.Dx(), Height: b.Dy(),
		Stride: 3 * b.Dx(), Data: stillimage.RGB24(nil, img)})
}

func (c *sceneCam) show(scene string) {
	c.mu.Lock()
	c.scene, c.i = scene, 0
	c.mu.Unlock()
}

func (c *sceneCam) setFail(err error) {
	c.mu.Lock()
	c.fail = err
	c.mu.Unlock()
}

func (c *sceneCam) open(context.Context) (device.Camera, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail != nil {
		return nil, c.fail
	}
	c.opens++
	return c, nil
}

func (c *sceneCam) Next(ctx context.Context) (device.Frame, error) {
	c.mu.Lock()
	wait := time.Until(c.next)
	c.mu.Unlock()
	if wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return device.Frame{}, ctx.Err()
		case <-t.C:
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.next = time.Now().Add(c.period)
	if c.fail != nil {
		return device.Frame{}, c.fail
	}
	frames := c.scenes[c.scene]
	if len(frames) == 0 {
		return device.Frame{}, fmt.Errorf("scene %q is empty", c.scene)
	}
	f := frames[c.i%len(frames)]
	c.i++
	c.seq++
	f.Seq, f.Time = c.seq, time.Now()
	c.shown[f.Seq] = c.scene
	return f, nil
}

func (c *sceneCam) Close() error {
	c.mu.Lock()
	c.closes++
	c.mu.Unlock()
	return nil
}

// sceneOf is the scene frame seq showed.
func (c *sceneCam) sceneOf(seq uint64) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.shown[seq]
}

var _ device.Camera = (*sceneCam)(nil)

// testEngine is an engine by name: native, or xnnpack when compiled in.
type testEngine struct {
	name string
	new  engine.New
}

func testEngines() []testEngine {
	return append([]testEngine{{"native", func(m *tflite.Model, o engine.Options) (engine.Engine, error) {
		e, err := native.New(m, o)
		if err != nil {
			return nil, err
		}
		return e, nil
	}}}, xnnpackTestEngines()...)
}

// testConfig is a configuration for daemon tests: fast retries, loopback
// HTTP on a free port.
func testConfig() Config {
	cfg := DefaultConfig()
	cfg.Camera.Source = "dir:/injected"
	cfg.Camera.Retry = 200 * time.Millisecond
	cfg.HTTP.Listen = ""
	return cfg
}

func testLog(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// installBackbone pulls the shared quantized features model into a state
// directory as backbone name (through Pull, from a local path).
func installBackbone(t testing.TB, stateDir, name string) {
	t.Helper()
	src := testshared.Path(t, "models", "mobilenet_v2_1.0_224_quant_features.tflite")
	models, err := store.OpenModels(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := models.Pull(context.Background(), store.PullOptions{Name: name, Source: src,
		SHA256: "196264ff539ccb8e5275837d6636dc0f039afebfd44c0051be8883a3d20bea3a"}); err != nil {
		t.Fatal(err)
	}
}

// running is a daemon started by start.
type running struct {
	d      *Daemon
	cancel context.CancelFunc
	done   chan error
	addr   string // HTTP address, when served
}

// start runs d until stop or the test ends.
func start(t *testing.T, d *Daemon, ln net.Listener) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{d: d, cancel: cancel, done: make(chan error, 1)}
	if ln != nil {
		r.addr = ln.Addr().String()
	}
	go func() { r.done <- d.Run(ctx) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// stop cancels Run and checks it returns nil in time.
func (r *running) stop(t *testing.T) {
	t.Helper()
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.cancel = nil
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return within 10s of cancellation")
	}
}

// waitFor polls cond every 20 ms until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var errUnplugged = errors.New("fake camera: unplugged")

// waitFrames waits until the frame loop processed n more frames.
func waitFrames(t *testing.T, d *Daemon, n uint64) {
	t.Helper()
	from := d.stats.frames.Load()
	waitFor(t, 10*time.Second, fmt.Sprintf("%d more frames", n), func() bool { return d.stats.frames.Load() >= from+n })
}
