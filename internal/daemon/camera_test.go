package daemon

import (
	"bytes"
	"context"
	"image"
	"image/jpeg"
	"strings"
	"testing"
	"time"

	"github.com/alphad/alphad/device"
	"github.com/alphad/alphad/internal/control"
)

// halves is a 64×48 RGB24 frame, red on the left, blue on the right.
func halves() device.Frame {
	data := make([]byte, 64*48*3)
	for y := range 48 {
		for x := range 64 {
			i := (y*64 + x) * 3
			if x < 32 {
				data[i] = 230
			} else {
				data[i+2] = 230
			}
		}
	}
	return device.Frame{Format: device.RGB24, Width: 64, Height: 48, Stride: 64 * 3, Data: data}
}

// TestCameraSettings: crop, mirror and rotation set through the command
// layer apply to samples recorded afterwards, are saved in settings.json
// and survive a restart; bad values are refused naming the field.
func TestCameraSettings(t *testing.T) {
	cfg, eng, cam := imagenetConfig(t)
	cam.scenes["halves"] = []device.Frame{halves()}
	cam.show("halves")
	state := t.TempDir()
	d, err := New(Options{Config: cfg, StateDir: state, Log: testLog(t), OpenCamera: cam.open, Engine: eng.new})
	if err != nil {
		t.Fatal(err)
	}
	r := start(t, d, nil)
	ctx := context.Background()
	// colour records one sample and says what its centre is.
	colour := func(what string) string {
		t.Helper()
		res, err := d.Do(ctx, control.Command{Name: control.Capture, Label: "x", Count: 1}, "test")
		if err != nil {
			t.Fatal(err)
		}
		s := d.st.Samples()
		img, err := d.st.Image(s[len(s)-1].ID)
		if err != nil {
			t.Fatal(err)
		}
		cr, _, cb, _ := img.At(112, 112).RGBA()
		_ = res
		// Gone again: an identical image later would be stored as this one.
		if err := d.st.Remove(s[len(s)-1].ID); err != nil {
			t.Fatal(err)
		}
		switch {
		case cr>>8 > 150 && cb>>8 < 80:
			return "red"
		case cb>>8 > 150 && cr>>8 < 80:
			return "blue"
		}
		return "mixed"
	}
	set := func(args string) control.Result {
		t.Helper()
		cmd, err := control.Parse(control.Set, []byte(args), false)
		if err != nil {
			t.Fatal(err)
		}
		res, err := d.Do(ctx, cmd, "test")
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	if got := colour("centre crop"); got != "mixed" {
		t.Errorf("centre crop of red|blue: %s, want mixed", got)
	}
	steps := []struct{ args, want string }{
		{`{"crop":{"x":0,"y":0,"w":0.5,"h":1}}`, "red"},
		{`{"mirror":true}`, "blue"},                                 // left half of the mirrored frame
		{`{"mirror":false,"rotate":180}`, "blue"},                   // left half of the turned frame
		{`{"rotate":90,"crop":{"x":0,"y":0,"w":1,"h":0.5}}`, "red"}, // top half of the frame turned clockwise: its left
		{`{"rotate":270}`, "blue"},
	}
	for _, s := range steps {
		res := set(s.args)
		if got := colour(s.args); got != s.want {
			t.Errorf("after set %s (%s): sample is %s, want %s", s.args, res.Message, got, s.want)
		}
	}
	saved, err := d.state.Settings()
	if err != nil || saved.Camera == nil || *saved.Camera.Rotate != 270 || saved.Camera.Crop.H != 0.5 || *saved.Camera.Mirror {
		t.Fatalf("settings.json: %+v %v", saved.Camera, err)
	}
	for _, bad := range []struct{ args, field string }{
		{`{"rotate":45}`, "field rotate"}, {`{"crop":{"x":0.9,"y":0,"w":0.5,"h":0.5}}`, "field crop"}, {`{"crop":"square"}`, "field crop"},
	} {
		if _, err := control.Parse(control.Set, []byte(bad.args), false); err == nil || !strings.Contains(err.Error(), bad.field) {
			t.Errorf("set %s: %v, want an error naming %s", bad.args, err, bad.field)
		}
	}
	r.stop(t)

	// A restart keeps them.
	d, err = New(Options{Config: cfg, StateDir: state, Log: testLog(t), OpenCamera: cam.open, Engine: eng.new})
	if err != nil {
		t.Fatal(err)
	}
	start(t, d, nil)
	res, err := d.Do(ctx, control.Command{Name: control.Status}, "test")
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := res.Details["camera"].(map[string]any); c["rotate"] != 270 || c["crop"] != "roi" {
		t.Errorf("camera after a restart: %v", res.Details["camera"])
	}
	if got := colour("after restart"); got != "blue" {
		t.Errorf("after a restart: sample is %s, want blue", got)
	}
}

// TestLiveViewFollowsCamera: the live view (what the model sees) and the
// camera view (the whole frame, turned and mirrored, not cropped) follow
// camera settings changed while they are watched.
func TestLiveViewFollowsCamera(t *testing.T) {
	cfg, eng, cam := imagenetConfig(t)
	cam.scenes["halves"] = []device.Frame{halves()}
	cam.show("halves")
	d := startOn(t, cfg, eng, cam)
	live, stopLive := d.WatchFrames()
	defer stopLive()
	whole, stopWhole := d.WatchCamera()
	defer stopWhole()
	// centre is the colours a quarter and three quarters down the middle
	// of the next frame of ch ("red/blue"), and its size.
	centre := func(ch <-chan []byte) (string, int, int) {
		t.Helper()
		select {
		case jpg := <-ch:
			img, err := jpeg.Decode(bytes.NewReader(jpg))
			if err != nil {
				t.Fatal(err)
			}
			b := img.Bounds()
			var cs []string
			for _, y := range []int{b.Dy() / 4, b.Dy() * 3 / 4} {
				r, _, bl, _ := img.At(b.Dx()/2, y).RGBA()
				c := "mixed"
				if r>>8 > 150 && bl>>8 < 80 {
					c = "red"
				} else if bl>>8 > 150 && r>>8 < 80 {
					c = "blue"
				}
				cs = append(cs, c)
			}
			return strings.Join(cs, "/"), b.Dx(), b.Dy()
		case <-time.After(10 * time.Second):
			t.Fatal("no live frame in 10 s")
		}
		return "", 0, 0
	}
	waitView := func(what string, ch <-chan []byte, want string, w, h int) {
		t.Helper()
		for i := 0; ; i++ {
			c, gw, gh := centre(ch)
			if c == want && gw == w && gh == h {
				return
			}
			if i > 50 {
				t.Fatalf("%s: %s %dx%d, want %s %dx%d", what, c, gw, gh, want, w, h)
			}
		}
	}
	cmd, err := control.Parse(control.Set, []byte(`{"crop":{"x":0,"y":0,"w":0.25,"h":1}}`), false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Do(context.Background(), cmd, "test"); err != nil {
		t.Fatal(err)
	}
	waitView("live view after cropping the left quarter", live, "red/red", 224, 224)
	waitView("camera view: the whole frame", whole, "mixed/mixed", 480, 360)
	// The whole frame, 64×48 scaled to 480 on its longer side.
	cmd, _ = control.Parse(control.Set, []byte(`{"rotate":90}`), false)
	if _, err := d.Do(context.Background(), cmd, "test"); err != nil {
		t.Fatal(err)
	}
	// Turned clockwise, the left half is on top.
	waitView("camera view turned", whole, "red/blue", 360, 480)
	waitView("live view turned: the left quarter of the turned frame", live, "red/blue", 224, 224)
}

// TestCameraFrameLimits: camera frames are held to the images: limits
// like every other image. A frame over them is refused with an error
// naming the camera and the size (the camera is reported down), and the
// live view decodes MJPEG frames under the configured limits, not the
// defaults.
func TestCameraFrameLimits(t *testing.T) {
	t.Run("raw frame", func(t *testing.T) {
		cfg, eng, cam := imagenetConfig(t)
		cfg.Images.MaxSide = 60 // the 64×48 frame is wider
		cam.scenes["halves"] = []device.Frame{halves()}
		cam.show("halves")
		d := startOn(t, cfg, eng, cam)
		var msg string
		waitFor(t, 20*time.Second, "the camera refused", func() bool {
			_, msg = d.cam.get()
			return msg != ""
		})
		for _, want := range []string{cfg.Camera.Source, "64x48", "60-pixel limit", "images:"} {
			if !strings.Contains(msg, want) {
				t.Errorf("camera error %q does not say %q", msg, want)
			}
		}
		if n := d.stats.frames.Load(); n != 0 {
			t.Errorf("%d frames over the limits reached the frame loop", n)
		}
	})
	t.Run("mjpeg live view", func(t *testing.T) {
		cfg, eng, cam := imagenetConfig(t)
		cfg.Images.MaxSide = 60
		var jpg bytes.Buffer
		if err := jpeg.Encode(&jpg, halvesImage(), nil); err != nil {
			t.Fatal(err)
		}
		// An MJPEG frame whose size is known only from its header.
		cam.scenes["mjpeg"] = []device.Frame{{Format: device.MJPEG, Data: jpg.Bytes()}}
		cam.show("mjpeg")
		d := startOn(t, cfg, eng, cam)
		live, stop := d.WatchFrames()
		defer stop()
		waitFor(t, 20*time.Second, "the live view tried 5 frames", func() bool { return d.tap.encoded.Load() >= 5 })
		select {
		case <-live:
			t.Error("the live view showed an MJPEG frame over the images: limits")
		default:
		}
	})
}

// halvesImage is halves as an image.
func halvesImage() *image.RGBA {
	f := halves()
	img := image.NewRGBA(image.Rect(0, 0, f.Width, f.Height))
	for i, j := 0, 0; i < len(f.Data); i, j = i+3, j+4 {
		img.Pix[j], img.Pix[j+1], img.Pix[j+2], img.Pix[j+3] = f.Data[i], f.Data[i+1], f.Data[i+2], 255
	}
	return img
}

// startOn runs a daemon with a fresh state directory on cam.
func startOn(t *testing.T, cfg Config, eng testEngine, cam *sceneCam) *Daemon {
	t.Helper()
	d, err := New(Options{Config: cfg, StateDir: t.TempDir(), Log: testLog(t), OpenCamera: cam.open, Engine: eng.new})
	if err != nil {
		t.Fatal(err)
	}
	start(t, d, nil)
	return d
}
