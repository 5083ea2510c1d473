package web_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"log/slog"
	"math"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/alphad/alphad/device"
	"github.com/alphad/alphad/internal/control"
	"github.com/alphad/alphad/internal/daemon"
	"github.com/alphad/alphad/internal/testshared"
	"github.com/alphad/alphad/internal/web"
	"github.com/alphad/alphad/pipeline/engine"
	"github.com/alphad/alphad/pipeline/engine/native"
	"github.com/alphad/alphad/pipeline/store"
	"github.com/alphad/alphad/pipeline/tflite"
)

// sceneCam shows one of several scenes (decoded images) at a fixed rate,
// switchable while it runs: "the camera scene changes".
type sceneCam struct {
	period time.Duration
	scenes map[string][]device.Frame

	mu    sync.Mutex
	scene string
	i     int
	seq   uint64
	next  time.Time
}

func (c *sceneCam) add(t testing.TB, name, dir string, from, to int) {
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
	for _, p := range files[from:min(to, len(files))] {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		b := img.Bounds()
		data := make([]byte, 0, 3*b.Dx()*b.Dy())
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				r, g, bl, _ := img.At(x, y).RGBA()
				data = append(data, byte(r>>8), byte(g>>8), byte(bl>>8))
			}
		}
		c.scenes[name] = append(c.scenes[name], device.Frame{Format: device.RGB24, Width: b.Dx(), Height: b.Dy(), Stride: 3 * b.Dx(), Data: data})
	}
}

func (c *sceneCam) show(scene string) {
	c.mu.Lock()
	c.scene, c.i = scene, 0
	c.mu.Unlock()
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
	frames := c.scenes[c.scene]
	f := frames[c.i%len(frames)]
	c.i++
	c.seq++
	f.Seq, f.Time = c.seq, time.Now()
	return f, nil
}

func (c *sceneCam) Close() error { return nil }

// rig is a real daemon (native engine, the shared MobileNetV2 backbone, a
// scene camera) serving the web app on loopback.
type rig struct {
	d        *daemon.Daemon
	cam      *sceneCam
	stateDir string
	base     string
}

func newRig(t testing.TB, tweak ...func(*daemon.Config)) *rig {
	t.Helper()
	dataset := testshared.Path(t, "datasets", "rps_picam")
	stateDir := t.TempDir()
	cfg := daemon.DefaultConfig()
	cfg.Camera.Source = "dir:/injected"
	cfg.Recording.Rate = 10
	cfg.HTTP.Listen = "127.0.0.1:0"
	for _, f := range tweak {
		f(&cfg)
	}
	models, err := store.OpenModels(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := models.Pull(context.Background(), store.PullOptions{Name: cfg.Model.Backbone,
		Source: testshared.Path(t, "models", "mobilenet_v2_1.0_224_quant_features.tflite"),
		SHA256: "196264ff539ccb8e5275837d6636dc0f039afebfd44c0051be8883a3d20bea3a"}); err != nil {
		t.Fatal(err)
	}
	cam := &sceneCam{period: time.Second / 15, scenes: map[string][]device.Frame{}}
	// Recording sees images 0–39 of a class; the live check 80–99
	// (held out).
	for _, c := range []string{"rock", "paper"} {
		cam.add(t, c, filepath.Join(dataset, c), 0, 40)
		cam.add(t, c+"-heldout", filepath.Join(dataset, c), 80, 100)
	}
	cam.show("rock")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	app := web.New(web.Options{Log: log, PasswordFile: filepath.Join(stateDir, web.PasswordFile)})
	if _, err := app.EnsurePassword(); err != nil {
		t.Fatal(err)
	}
	d, err := daemon.New(daemon.Options{Config: cfg, StateDir: stateDir, Log: log, Listener: ln, Web: app, Outputs: []daemon.Output{app},
		OpenCamera: func(context.Context) (device.Camera, error) { return cam, nil },
		Engine: func(m *tflite.Model, o engine.Options) (engine.Engine, error) {
			e, err := native.New(m, o)
			if err != nil {
				return nil, err
			}
			return e, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	app.Bind(d)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("Run did not return within 15 s")
		}
	})
	scheme := "http://"
	if cfg.HTTP.TLS() {
		scheme = "https://"
	}
	r := &rig{d: d, cam: cam, stateDir: stateDir, base: scheme + ln.Addr().String()}
	// The control socket appears when Run has started.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := control.Dial(stateDir); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("control socket did not appear")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return r
}

// cli runs a command over the control socket, as `alphad …` does.
func (r *rig) cli(t testing.TB, command string, args any) control.Result {
	t.Helper()
	c, err := control.Dial(r.stateDir)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), slow*3*time.Minute)
	defer cancel()
	res, err := c.Call(ctx, command, args, nil)
	if err != nil {
		t.Fatalf("%s: %v", command, err)
	}
	return res
}

// browser starts a fresh headless Chromium (skipped locally, failed in
// CI, when there is none).
func browser(t *testing.T) context.Context {
	t.Helper()
	exe, err := exec.LookPath("chromium")
	if err != nil {
		testshared.Lacking(t, testshared.GroupBrowser, "chromium not installed (apt-get install chromium)")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe), chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("headless", true), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.WindowSize(390, 844),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelC(); cancelA() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// artifacts is where screenshots go: $ALPHAD_ARTIFACTS or .cache/web-artifacts.
func artifacts(t *testing.T) string {
	dir := os.Getenv("ALPHAD_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(testshared.RepoRoot(), ".cache", "web-artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	buf, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	p := filepath.Join(artifacts(t), name+".png")
	if err := os.WriteFile(p, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", p)
}

// run runs browser actions with a timeout, failing the test with what.
func run(t *testing.T, ctx context.Context, what string, timeout time.Duration, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := chromedp.Do(c, actions...); err != nil {
		text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText + "\n" + location.href + " tab=" + document.body.dataset.tab`))
		shot(t, ctx, "failure")
		t.Fatalf("%s: %v\npage text:\n%s", what, err, text)
	}
}

// waitJS waits until the expression is truthy.
func waitJS(t *testing.T, ctx context.Context, what string, timeout time.Duration, expr string) {
	t.Helper()
	run(t, ctx, "wait for "+what, timeout+time.Second, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(timeout))(ctx, tg)
		return err
	}))
}

// hold presses on sel (a finger when touch, else the left mouse button),
// waits until cond holds, releases.
func hold(t *testing.T, ctx context.Context, sel, cond string, touch bool) {
	t.Helper()
	run(t, ctx, "find "+sel, 5*time.Second, chromedp.ScrollIntoView(chromedp.CSS(sel)))
	box, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](fmt.Sprintf(`(() => { const r = document.querySelector(%q).getBoundingClientRect(); return [r.x + r.width/2, r.y + r.height/2]; })()`, sel)))
	if err != nil {
		t.Fatalf("locate %s: %v", sel, err)
	}
	x, y := box[0], box[1]
	if touch {
		touchEvent := func(typ input.DispatchTouchEventType, pts []*input.TouchPoint) chromedp.Action[chromedp.Void] {
			return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
				_, err := cdp.Call(ctx, tg, input.DispatchTouchEvent, input.DispatchTouchEventParams{Type: typ, TouchPoints: pts})
				return err
			})
		}
		run(t, ctx, "touch "+sel, 5*time.Second, touchEvent(input.DispatchTouchEventTypeTouchStart, []*input.TouchPoint{{X: x, Y: y}}))
		waitJS(t, ctx, "while touching "+sel+": "+cond, 30*time.Second, cond)
		run(t, ctx, "lift "+sel, 5*time.Second, touchEvent(input.DispatchTouchEventTypeTouchEnd, []*input.TouchPoint{}))
		return
	}
	run(t, ctx, "press "+sel, 5*time.Second, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, x, y),
		chromedp.MouseEvent(input.DispatchMouseEventTypeMousePressed, x, y, chromedp.ButtonLeft, chromedp.ClickCount(1)))
	waitJS(t, ctx, "while holding "+sel+": "+cond, 30*time.Second, cond)
	run(t, ctx, "release "+sel, 5*time.Second, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseReleased, x, y, chromedp.ButtonLeft, chromedp.ClickCount(1)))
}

func countOf(label string) string {
	return fmt.Sprintf(`parseInt(document.querySelector('article[data-class=%q] .count')?.textContent || '0')`, label)
}

// TestBrowser is the web app as a person uses it, in a real Chromium: log
// in through a one-time link, create classes, hold to record, train, see
// the live label follow the camera, see CLI actions appear live, roll back.
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test: skipped with -short")
	}
	start := time.Now()
	ctx := browser(t)
	r := newRig(t)
	run(t, ctx, "phone size", 5*time.Second, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateTouch))

	// Without a session: the login page, not the app.
	run(t, ctx, "open without session", 10*time.Second, chromedp.Navigate(r.base+"/"))
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, "alphad ui url") || !strings.Contains(text, "Password") {
		t.Fatalf("without a session the page says %q, want the password form and the login hint", text)
	}
	shot(t, ctx, "phone-login")

	// Log in through a one-time link from the control socket (alphad ui url).
	link := r.cli(t, control.LoginLink, nil).Message
	if !strings.HasPrefix(link, r.base+"/login?t=") {
		t.Fatalf("login link %q is not on %s", link, r.base)
	}
	run(t, ctx, "log in", 10*time.Second, chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS("#stream")))
	waitJS(t, ctx, "the event stream to connect", 10*time.Second, `document.querySelector('#dot').className === 'dot'`)
	if resp, err := http.Get(link); err != nil {
		t.Fatal(err)
	} else if resp.Body.Close(); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a used login link answered %d, want 403", resp.StatusCode)
	}
	waitJS(t, ctx, "live view frames", 10*time.Second, `document.querySelector('#stream').naturalWidth === 224`)

	// Classes: create two, record each by holding the button.
	run(t, ctx, "open Classes", 5*time.Second, chromedp.Click(chromedp.CSS(`button[data-tab=classes]`)))
	for _, c := range []string{"rock", "paper"} {
		run(t, ctx, "add class "+c, 5*time.Second,
			chromedp.SendKeys(chromedp.CSS("#new-class"), c), chromedp.Click(chromedp.CSS("#add-class button[type=submit]")),
			chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`article[data-class=%q]`, c))))
	}
	for _, c := range []string{"rock", "paper"} {
		r.cam.show(c)
		// rock with the mouse (a desktop), paper with a finger (a phone).
		hold(t, ctx, fmt.Sprintf(`article[data-class=%q] .hold`, c), countOf(c)+" >= 15", c == "paper")
		waitJS(t, ctx, c+" thumbnails", 10*time.Second,
			fmt.Sprintf(`[...document.querySelectorAll('article[data-class=%q] .thumbs img')].some(i => i.complete && i.naturalWidth === 224)`, c))
	}
	// The page's stop request is on its way when the finger lifts: the
	// recording ends within a few seconds (left alone it would go on
	// for recording.max_time, a minute).
	var res control.Result
	waitFor(t, "the recording to stop after release", func() bool {
		res = r.cli(t, control.Status, nil)
		rec, _ := res.Details["recording"].(string)
		return rec == ""
	})
	counts, _ := res.Details["samples_per_class"].(map[string]any)
	for _, c := range []string{"rock", "paper"} {
		if n, _ := counts[c].(float64); n < 15 || n > 60 {
			t.Errorf("class %s has %v samples after holding, want 15..60", c, counts[c])
		}
	}
	shot(t, ctx, "phone-classes")

	// Train with TM's knobs, one bar to 100 %, a result card with the
	// confusion matrix.
	r.cam.show("rock-heldout")
	run(t, ctx, "train", 10*time.Second, chromedp.Click(chromedp.CSS(`button[data-tab=train]`)),
		chromedp.SetValue(chromedp.CSS(`#train-form input[name=epochs]`), "20"),
		chromedp.Click(chromedp.CSS("#train-btn")))
	waitJS(t, ctx, "training to finish", slow*3*time.Minute, `document.querySelector('#train-phase').textContent.startsWith('done')`)
	waitJS(t, ctx, "the result card", 10*time.Second, `document.querySelectorAll('#train-result .matrix tr').length === 3`)
	shot(t, ctx, "phone-train")
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(document.querySelector('#train-result .matrix').scrollIntoView({block: 'start'}), true)`)); err != nil {
		t.Fatal(err)
	}
	shot(t, ctx, "phone-train-result")

	// Live: the label follows the scene, on held-out frames.
	run(t, ctx, "open Live", 5*time.Second, chromedp.Click(chromedp.CSS(`button[data-tab=live]`)))
	for _, c := range []string{"rock", "paper"} {
		r.cam.show(c + "-heldout")
		waitJS(t, ctx, "live label "+c, 20*time.Second, fmt.Sprintf(`document.querySelector('#label').dataset.label === %q`, c))
		waitJS(t, ctx, "the bars", 5*time.Second, fmt.Sprintf(`parseInt(document.querySelector('.bar[data-class=%q] .pct').textContent) > 50`, c))
	}
	// One live view stream however often the tabs changed (a hidden
	// view's request is ended, not left to pile up).
	waitFor(t, "one live stream", func() bool { return r.d.LiveStats().Watchers == 1 })
	shot(t, ctx, "phone-live")

	// An action from the CLI (control socket) shows up live.
	r.cli(t, control.CreateClass, map[string]any{"label": "scissors"})
	run(t, ctx, "open Classes", 5*time.Second, chromedp.Click(chromedp.CSS(`button[data-tab=classes]`)))
	waitJS(t, ctx, "the CLI's class on the page", 5*time.Second, `!!document.querySelector('article[data-class=scissors]')`)
	data, err := os.ReadFile(filepath.Join(testshared.Path(t, "datasets", "rps_picam", "scissors"), firstFile(t, testshared.Path(t, "datasets", "rps_picam", "scissors"))))
	if err != nil {
		t.Fatal(err)
	}
	r.cli(t, control.AddSamples, map[string]any{"label": "scissors", "files": []control.File{{Name: "s.png", Data: data}}})
	waitJS(t, ctx, "the CLI's sample counted", 5*time.Second, countOf("scissors")+" === 1")

	// Upload two images through the card (add_samples).
	sdir := testshared.Path(t, "datasets", "rps_picam", "scissors")
	ents, _ := os.ReadDir(sdir)
	run(t, ctx, "upload", 10*time.Second, chromedp.SetUploadFiles(chromedp.CSS(`article[data-class=scissors] input[type=file]`),
		[]string{filepath.Join(sdir, ents[1].Name()), filepath.Join(sdir, ents[2].Name())}))
	waitJS(t, ctx, "the uploaded samples counted", 10*time.Second, countOf("scissors")+" === 3")

	// Select many: two scissors samples moved to rock (big thumbnails,
	// a bar with Move / Delete), then deleted there.
	waitJS(t, ctx, "scissors thumbnails", 10*time.Second, `document.querySelectorAll('article[data-class=scissors] .thumb').length === 3`)
	ids, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('article[data-class=scissors] .thumb')].slice(0, 2).map(b => b.dataset.id)`))
	if err != nil || len(ids) != 2 {
		t.Fatalf("scissors thumbnail ids %v: %v", ids, err)
	}
	rockBefore, err := chromedp.Run(ctx, chromedp.Evaluate[int](countOf("rock")))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		run(t, ctx, "select "+id, 5*time.Second, chromedp.Click(chromedp.CSS(fmt.Sprintf(`article[data-class=scissors] .thumb[data-id=%q]`, id))))
	}
	waitJS(t, ctx, "the selection bar", 5*time.Second, `!document.querySelector('#selbar').hidden && document.querySelector('#sel-count').textContent === '2 selected'`)
	shot(t, ctx, "phone-select")
	run(t, ctx, "move to rock", 5*time.Second, chromedp.SetValue(chromedp.CSS("#sel-to"), "rock"), chromedp.Click(chromedp.CSS("#sel-move")))
	waitJS(t, ctx, "the samples moved", 10*time.Second, fmt.Sprintf(`%s === 1 && %s === %d && document.querySelector('#selbar').hidden`, countOf("scissors"), countOf("rock"), rockBefore+2))
	for _, id := range ids {
		sel := fmt.Sprintf(`article[data-class=rock] .thumb[data-id=%q]`, id)
		waitJS(t, ctx, "the moved sample in rock", 10*time.Second, fmt.Sprintf(`!!document.querySelector(%q)`, sel))
		run(t, ctx, "select moved "+id, 5*time.Second, chromedp.Click(chromedp.CSS(sel)))
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(window.confirm = () => true, true)`)); err != nil {
		t.Fatal(err)
	}
	run(t, ctx, "delete the selection", 5*time.Second, chromedp.Click(chromedp.CSS("#sel-delete")))
	waitJS(t, ctx, "the samples deleted", 10*time.Second, fmt.Sprintf(`%s === %d && document.querySelector('#selbar').hidden`, countOf("rock"), rockBefore))
	for _, id := range ids {
		if _, ok := r.d.SampleImagePath(id); ok {
			t.Errorf("sample %s still stored after Delete", id)
		}
	}

	// Models: a second version (trained over the socket), then roll back
	// to the first in the page.
	r.cli(t, control.DeleteClass, map[string]any{"label": "scissors"})
	r.cli(t, control.Train, map[string]any{"epochs": 10, "wait": true})
	run(t, ctx, "open Models", 5*time.Second, chromedp.Click(chromedp.CSS(`button[data-tab=models]`)))
	waitJS(t, ctx, "two versions", 10*time.Second, `document.querySelectorAll('#models .model').length === 2`)
	run(t, ctx, "activate the older version", 5*time.Second, chromedp.Click(chromedp.CSS(`#models .model:last-child .btn.primary`)))
	waitJS(t, ctx, "the older version current", 10*time.Second, `!!document.querySelector('#models .model:last-child .badge')`)
	shot(t, ctx, "phone-models")

	// The export the page links downloads as a zip that the real TFLite
	// runtime loads and that tells held-out rock from paper.
	zipB64, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(async () => {
		const r = await fetch(document.querySelector('#models .model:last-child a.export').href);
		if (!r.ok) throw new Error('export: HTTP ' + r.status);
		const b = new Uint8Array(await r.arrayBuffer());
		let s = '';
		for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
		return btoa(s);
	})()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("download the export: %v", err)
	}
	zipData, err := base64.StdEncoding.DecodeString(zipB64)
	if err != nil {
		t.Fatal(err)
	}
	checkExport(t, zipData, map[string]string{"rock": heldOut(t, "rock"), "paper": heldOut(t, "paper")})

	// Import it back as a Teachable Machine export zip, in the page.
	zipPath := filepath.Join(t.TempDir(), "converted_tflite.zip")
	if err := os.WriteFile(zipPath, zipData, 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, ctx, "import the zip", 10*time.Second, chromedp.SetUploadFiles(chromedp.CSS("#import-file"), []string{zipPath}))
	waitJS(t, ctx, "the imported version", slow*30*time.Second, `document.querySelectorAll('#models .model').length === 3 && !!document.querySelector('#models .model:first-child .badge')`)

	// Desktop: live beside classes.
	run(t, ctx, "desktop size", 10*time.Second, chromedp.EmulateViewport(1280, 800),
		chromedp.Click(chromedp.CSS(`button[data-tab=live]`)))
	waitJS(t, ctx, "desktop layout", 5*time.Second, `!document.querySelector('#tab-classes').hidden && !document.querySelector('#live').hidden`)
	waitJS(t, ctx, "thumbnails", 10*time.Second, `[...document.querySelectorAll('.thumbs img')].every(i => i.complete)`)
	waitJS(t, ctx, "a live frame", 10*time.Second, `document.querySelector('#stream').naturalWidth === 224`)
	waitFor(t, "one live stream", func() bool { return r.d.LiveStats().Watchers == 1 })
	shot(t, ctx, "desktop-live")
	t.Logf("browser test ran %.1f s", time.Since(start).Seconds())
}

// waitFor polls cond until it holds (10 s at most).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func firstFile(t *testing.T, dir string) string {
	ents, err := os.ReadDir(dir)
	if err != nil || len(ents) == 0 {
		t.Fatalf("%s: %v", dir, err)
	}
	return ents[0].Name()
}

// TestStreamFollowsScene reads the MJPEG live view as a browser does: JPEG
// parts of the model's input size, and after the scene changes, frames of
// the new scene (not a stale one).
func TestStreamFollowsScene(t *testing.T) {
	r := newRig(t)
	solid := func(name string, c [3]byte) {
		data := make([]byte, 64*48*3)
		for i := 0; i < len(data); i += 3 {
			data[i], data[i+1], data[i+2] = c[0], c[1], c[2]
		}
		r.cam.mu.Lock()
		r.cam.scenes[name] = []device.Frame{{Format: device.RGB24, Width: 64, Height: 48, Stride: 64 * 3, Data: data}}
		r.cam.mu.Unlock()
	}
	solid("red", [3]byte{220, 20, 20})
	solid("blue", [3]byte{20, 20, 220})
	r.cam.show("red")
	client := r.login(t)
	resp, err := client.Get(r.base + "/api/stream.mjpeg")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil || params["boundary"] == "" {
		t.Fatalf("stream content type %q: %v", resp.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(resp.Body, params["boundary"])
	next := func() (r, b uint32) {
		t.Helper()
		part, err := mr.NextPart()
		if err != nil {
			t.Fatal(err)
		}
		img, err := jpeg.Decode(part)
		if err != nil {
			t.Fatalf("stream part: %v", err)
		}
		if b := img.Bounds(); b.Dx() != 224 || b.Dy() != 224 {
			t.Fatalf("stream frame is %v, want the model's 224x224", b)
		}
		cr, _, cb, _ := img.At(112, 112).RGBA()
		return cr >> 8, cb >> 8
	}
	for {
		if red, blue := next(); red > 150 && blue < 80 {
			break
		}
	}
	r.cam.show("blue")
	for i := 0; ; i++ {
		if i > 50 {
			t.Fatal("no blue frame in 50 frames after the scene changed")
		}
		if red, blue := next(); blue > 150 && red < 80 {
			break
		}
	}
}

// login returns an HTTP client with a session (a one-time link used).
func (r *rig) login(t testing.TB) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.Get(r.cli(t, control.LoginLink, nil).Message)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login: %s", resp.Status)
	}
	return c
}

// TestPathsStayInside: class names and sample names from the web cannot
// place files outside the state directory, and only stored sample ids
// are served.
func TestPathsStayInside(t *testing.T) {
	r := newRig(t)
	c := r.login(t)
	img, err := os.ReadFile(filepath.Join(testshared.Path(t, "datasets", "rps_picam", "rock"), firstFile(t, testshared.Path(t, "datasets", "rps_picam", "rock"))))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{"label": "../../evil", "files": []control.File{{Name: "../../../evil.png", Data: img}}})
	req, _ := http.NewRequest(http.MethodPost, r.base+"/api/cmd/add_samples", bytes.NewReader(body))
	req.Header.Set("Origin", r.base)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		OK      bool
		Error   string
		Details struct{ Samples []struct{ ID string } }
	}
	json.NewDecoder(resp.Body).Decode(&res)
	resp.Body.Close()
	if !res.OK || len(res.Details.Samples) != 1 {
		t.Fatalf("add_samples: %s %+v", resp.Status, res)
	}
	parent := filepath.Dir(r.stateDir)
	filepath.WalkDir(parent, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.Contains(d.Name(), "evil") && !strings.HasPrefix(p, r.stateDir+string(filepath.Separator)) {
			t.Errorf("a file outside the state directory: %s", p)
		}
		return nil
	})
	get := func(path string) int {
		resp, err := c.Get(r.base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get("/api/samples/" + res.Details.Samples[0].ID + "/image"); code != http.StatusOK {
		t.Errorf("stored sample image: %d", code)
	}
	for _, id := range []string{"..%2f..%2fsettings.json", "..%2Fcontrol.sock", "%2e%2e%2f%2e%2e%2fetc%2fpasswd"} {
		if code := get("/api/samples/" + id + "/image"); code != http.StatusNotFound {
			t.Errorf("sample id %s: %d, want 404", id, code)
		}
	}
}

// heldOut is an image of class c that neither recording nor the live
// check uses.
func heldOut(t *testing.T, c string) string {
	dir := testshared.Path(t, "datasets", "rps_picam", c)
	ents, err := os.ReadDir(dir)
	if err != nil || len(ents) < 80 {
		t.Fatalf("%s: %d files, %v", dir, len(ents), err)
	}
	names := make([]string, len(ents))
	for i, e := range ents {
		names[i] = e.Name()
	}
	sort.Strings(names)
	return filepath.Join(dir, names[60])
}

// checkExport unpacks an export zip (model.tflite, labels.txt) and runs
// the model in the real TFLite runtime on one image per class: the top
// score must be that class.
func checkExport(t *testing.T, data []byte, images map[string]string) {
	t.Helper()
	oracle := testshared.Oracle(t)
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("export is not a zip: %v", err)
	}
	files := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		files[f.Name], _ = io.ReadAll(rc)
		rc.Close()
	}
	if len(files) != 2 || files["model.tflite"] == nil || files["labels.txt"] == nil {
		t.Fatalf("export zip holds %d files, want model.tflite and labels.txt", len(files))
	}
	var labels []string
	for i, line := range strings.Split(strings.TrimSpace(string(files["labels.txt"])), "\n") {
		idx, name, ok := strings.Cut(line, " ")
		if !ok || idx != fmt.Sprint(i) {
			t.Fatalf("labels.txt line %d %q: want \"%d <label>\"", i+1, line, i)
		}
		labels = append(labels, name)
	}
	m, err := tflite.Parse(files["model.tflite"])
	if err != nil {
		t.Fatalf("exported model: %v", err)
	}
	dir := t.TempDir()
	modelPath := filepath.Join(dir, "model.tflite")
	os.WriteFile(modelPath, files["model.tflite"], 0o644)
	for class, img := range images {
		f, err := os.Open(img)
		if err != nil {
			t.Fatal(err)
		}
		im, _, err := image.Decode(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", img, err)
		}
		in := m.Input(0)
		input := make([]byte, in.ByteSize())
		if err := store.ImageFill(im)(input, in); err != nil {
			t.Fatal(err)
		}
		inPath, outPath := filepath.Join(dir, class+".raw"), filepath.Join(dir, class+".out")
		os.WriteFile(inPath, input, 0o644)
		if out, err := exec.Command("node", oracle, modelPath, inPath, "--out="+outPath).CombinedOutput(); err != nil {
			t.Fatalf("TFLite runtime on the export: %v\n%s", err, out)
		}
		raw, err := os.ReadFile(outPath)
		if err != nil {
			t.Fatal(err)
		}
		var scores []float64
		switch m.Output(0).Type {
		case tflite.Float32:
			for i := 0; i+4 <= len(raw); i += 4 {
				scores = append(scores, float64(math.Float32frombits(binary.LittleEndian.Uint32(raw[i:]))))
			}
		default:
			for _, b := range raw {
				scores = append(scores, float64(b))
			}
		}
		if len(scores) != len(labels) {
			t.Fatalf("the export scores %d classes, labels.txt names %d", len(scores), len(labels))
		}
		best := 0
		for i := range scores {
			if scores[i] > scores[best] {
				best = i
			}
		}
		t.Logf("TFLite runtime on the export, held-out %s: %v over %v", class, scores, labels)
		if labels[best] != class {
			t.Errorf("TFLite runs the export on a held-out %s: top %q (scores %v over %v)", class, labels[best], scores, labels)
		}
	}
}
