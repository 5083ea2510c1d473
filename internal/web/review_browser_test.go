package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"math"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/alphad/alphad/device"
	"github.com/alphad/alphad/internal/control"
	"github.com/alphad/alphad/internal/daemon"
)

// halvesFrame is a 96×64 RGB24 frame, red on the left, blue on the right.
func halvesFrame() device.Frame {
	data := make([]byte, 96*64*3)
	for i := 0; i < len(data); i += 3 {
		if (i/3)%96 < 48 {
			data[i] = 230
		} else {
			data[i+2] = 230
		}
	}
	return device.Frame{Format: device.RGB24, Width: 96, Height: 64, Stride: 96 * 3, Data: data}
}

// colourRig is a rig with a model trained on solid red and solid blue
// images (two classes, a few seconds of training) and a threshold no
// frame reaches (1: a softmax of two classes is below it on any frame that
// is not all one colour), so every frame is unsure and the review queue
// fills. The camera shows red|blue halves.
func colourRig(t *testing.T) *rig {
	r := newRig(t, func(c *daemon.Config) {
		c.Smoothing.Threshold = 1
		c.Review.Interval = time.Second
	})
	for _, class := range []struct {
		name string
		rgb  [3]byte
	}{{"red", [3]byte{230, 0, 0}}, {"blue", [3]byte{0, 0, 230}}} {
		var files []control.File
		for i := range 6 {
			img := image.NewRGBA(image.Rect(0, 0, 64, 48))
			for p := 0; p < len(img.Pix); p += 4 {
				img.Pix[p], img.Pix[p+1], img.Pix[p+2], img.Pix[p+3] = class.rgb[0], class.rgb[1]+byte(8*i+4), class.rgb[2], 255 // never the scene's colours
			}
			var buf bytes.Buffer
			if err := png.Encode(&buf, img); err != nil {
				t.Fatal(err)
			}
			files = append(files, control.File{Name: fmt.Sprintf("%s%d.png", class.name, i), Data: buf.Bytes()})
		}
		r.cli(t, control.AddSamples, map[string]any{"label": class.name, "files": files})
	}
	r.cli(t, control.Train, map[string]any{"epochs": 10, "wait": true})
	r.cam.mu.Lock()
	r.cam.scenes["halves"] = []device.Frame{halvesFrame()}
	r.cam.mu.Unlock()
	r.cam.show("halves")
	return r
}

// sampleColour records one sample over the control socket and says what
// the centre of its image is (red, blue or mixed), then deletes it.
// crop is the daemon's camera crop (status): the daemon takes a crop only
// once the state directory saved it.
func (r *rig) crop(t *testing.T) control.Crop {
	t.Helper()
	cam, _ := r.cli(t, "status", nil).Details["camera"].(map[string]any)
	c := control.Crop{}
	c.Mode, _ = cam["crop"].(string)
	if reg, ok := cam["region"].(map[string]any); ok {
		c.X, _ = reg["x"].(float64)
		c.Y, _ = reg["y"].(float64)
		c.W, _ = reg["w"].(float64)
		c.H, _ = reg["h"].(float64)
	}
	return c
}

func (r *rig) sampleColour(t *testing.T) string {
	t.Helper()
	r.cli(t, control.Capture, map[string]any{"label": "probe", "count": 1})
	res := r.cli(t, control.Samples, map[string]any{"label": "probe"})
	list, _ := res.Details["samples"].([]any)
	if len(list) != 1 {
		t.Fatalf("probe samples: %v", res.Details["samples"])
	}
	id := list[0].(map[string]any)["id"].(string)
	path, ok := r.d.SampleImagePath(id)
	if !ok {
		t.Fatalf("sample %s: no image", id)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	r.cli(t, control.DeleteClass, map[string]any{"label": "probe"})
	cr, _, cb, _ := img.At(112, 112).RGBA()
	switch {
	case cr>>8 > 150 && cb>>8 < 80:
		return "red"
	case cb>>8 > 150 && cr>>8 < 80:
		return "blue"
	}
	return "mixed"
}

// TestBrowserReviewAndCamera: on a phone, the Review page shows unsure
// frames with their scores and one tap files one into a class (the class
// count grows, the sample's source is review); on the Camera page a
// rectangle dragged with a finger on the whole frame becomes the saved
// crop (settings.json) and samples recorded afterwards show only that
// region; Mirror applies at once; a dragged rectangle with the mouse
// works on a desktop.
func TestBrowserReviewAndCamera(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test: skipped with -short")
	}
	started := time.Now()
	ctx := browser(t)
	r := colourRig(t)
	run(t, ctx, "phone size", 20*time.Second, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateTouch))
	run(t, ctx, "log in", 30*time.Second, chromedp.Navigate(r.cli(t, control.LoginLink, nil).Message), chromedp.WaitVisible(chromedp.CSS("#stream")))
	waitJS(t, ctx, "the event stream to connect", 10*time.Second, `document.querySelector('#dot').className === 'dot'`)

	// Review: the badge counts, the page lists, one tap files.
	waitJS(t, ctx, "the review badge", 20*time.Second, `parseInt(document.querySelector('#review-badge').textContent) >= 1`)
	run(t, ctx, "open Review", 20*time.Second, chromedp.Click(chromedp.CSS(`button[data-tab=review]`)))
	waitJS(t, ctx, "a review card with its image and scores", 10*time.Second,
		`[...document.querySelectorAll('#review-grid .review-item')].some(c => c.querySelector('img').complete && c.querySelector('img').naturalWidth === 224 && /%/.test(c.querySelector('.scores').textContent))`)
	shot(t, ctx, "phone-review")
	run(t, ctx, "file the first frame as red", 20*time.Second, chromedp.Click(chromedp.CSS(`#review-grid .review-item:first-child button[data-class=red]`)))
	waitFor(t, "the filed sample", func() bool { return countSource(t, r, "red", "review") == 1 })
	run(t, ctx, "open Classes", 20*time.Second, chromedp.Click(chromedp.CSS(`button[data-tab=classes]`)))
	waitJS(t, ctx, "the red class counted", 20*time.Second, countOf("red")+" === 7")
	// The scene is one still frame: a probe sample below would be the
	// same image as the filed one (the store keeps one sample per image).
	r.cli(t, control.DeleteSamples, map[string]any{"ids": []string{sampleIDs(t, r, "red")[6]}})
	run(t, ctx, "open Review", 20*time.Second, chromedp.Click(chromedp.CSS(`button[data-tab=review]`)))
	waitJS(t, ctx, "a review card", 10*time.Second, `!!document.querySelector('#review-grid .review-item .discard')`)
	id, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#review-grid .review-item:first-child').dataset.id`))
	if err != nil {
		t.Fatal(err)
	}
	// A click in the page (new cards may come in and move it meanwhile).
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(document.querySelector('#review-grid .review-item[data-id="`+id+`"] .discard').click(), true)`)); err != nil {
		t.Fatalf("discard a frame: %v", err)
	}
	waitFor(t, "the discarded item gone", func() bool { return !r.reviewHas(t, id) })
	waitJS(t, ctx, "its card gone", 20*time.Second, `!document.querySelector('#review-grid .review-item[data-id="`+id+`"]')`)

	// Camera: centre square first (red and blue), then a finger drags a
	// rectangle over the left half: red only.
	if got := r.sampleColour(t); got != "mixed" {
		t.Fatalf("the centre square of red|blue is %s", got)
	}
	run(t, ctx, "open Live", 20*time.Second, chromedp.Click(chromedp.CSS(`button[data-tab=live]`)))
	run(t, ctx, "open Camera", 20*time.Second, chromedp.Click(chromedp.CSS(`#camera-btn`)))
	waitJS(t, ctx, "the whole frame", 10*time.Second, `document.querySelector('#cam-view').naturalWidth === 480`)
	drag(t, ctx, "#crop-area", [2]float64{0.05, 0.1}, [2]float64{0.45, 0.9}, true)
	waitJS(t, ctx, "a drawn region", 20*time.Second, `!document.querySelector('#crop-save').disabled`)
	shot(t, ctx, "phone-camera-drawn")
	run(t, ctx, "save the region", 20*time.Second, chromedp.Click(chromedp.CSS(`#crop-save`)))
	waitFor(t, "the crop saved", func() bool { return r.crop(t).Mode == "roi" })
	c := r.crop(t)
	if math.Abs(c.X-0.05) > 0.03 || math.Abs(c.Y-0.1) > 0.03 || math.Abs(c.W-0.4) > 0.03 || math.Abs(c.H-0.8) > 0.03 {
		t.Errorf("saved crop %+v, want about x 0.05 y 0.1 w 0.4 h 0.8 (the drag)", c)
	}
	if got := r.sampleColour(t); got != "red" {
		t.Errorf("a sample after cropping the left half is %s, want red", got)
	}
	waitJS(t, ctx, "the region outlined", 20*time.Second, `/^Region \d+,\d+ % · \d+×\d+ %/.test(document.querySelector('#cam-state').textContent)`)
	waitJS(t, ctx, "the model's view", 10*time.Second, `document.querySelector('#cam-model').naturalWidth === 224`)
	waitJS(t, ctx, "the model's view red", 10*time.Second, centreColour("#cam-model")+` === 'red'`)
	shot(t, ctx, "phone-camera")

	// Mirror: the same region of the mirrored frame is blue.
	run(t, ctx, "mirror", 20*time.Second, chromedp.Click(chromedp.CSS(`#cam-mirror`)))
	waitJS(t, ctx, "mirror on", 20*time.Second, `document.querySelector('#cam-mirror').getAttribute('aria-pressed') === 'true'`)
	if got := r.sampleColour(t); got != "blue" {
		t.Errorf("a sample after mirroring is %s, want blue", got)
	}
	run(t, ctx, "mirror off", 20*time.Second, chromedp.Click(chromedp.CSS(`#cam-mirror`)))
	waitJS(t, ctx, "mirror off", 20*time.Second, `document.querySelector('#cam-mirror').getAttribute('aria-pressed') === 'false'`)

	// A bad region through the API is refused naming the field.
	client := r.login(t)
	req, _ := http.NewRequest(http.MethodPatch, r.base+"/api/camera", strings.NewReader(`{"crop":{"x":0.8,"y":0,"w":0.5,"h":0.5}}`))
	req.Header.Set("Origin", r.base)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var e struct{ Error string }
	json.NewDecoder(resp.Body).Decode(&e)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(e.Error, "field crop") {
		t.Errorf("a crop outside the frame: %d %q", resp.StatusCode, e.Error)
	}

	// Desktop: drag the right half with the mouse.
	run(t, ctx, "desktop size", 10*time.Second, chromedp.EmulateViewport(1280, 800))
	waitJS(t, ctx, "the whole frame", 10*time.Second, `document.querySelector('#cam-view').naturalWidth === 480`)
	drag(t, ctx, "#crop-area", [2]float64{0.6, 0.2}, [2]float64{0.95, 0.8}, false)
	run(t, ctx, "save the region", 20*time.Second, chromedp.Click(chromedp.CSS(`#crop-save`)))
	waitFor(t, "the new crop saved", func() bool { return r.crop(t).X > 0.5 })
	if got := r.sampleColour(t); got != "blue" {
		t.Errorf("a sample after cropping the right half is %s, want blue", got)
	}
	waitJS(t, ctx, "the saved region shown", 20*time.Second,
		`!document.querySelector('#crop-box').classList.contains('draft') && /^Region 6\d,/.test(document.querySelector('#cam-state').textContent)`)
	shot(t, ctx, "desktop-camera")
	t.Logf("review/camera browser test ran %.1f s", time.Since(started).Seconds())
}

// drag draws from one point to another (fractions of the element's box)
// with a finger (touch) or the mouse, in steps. Input coordinates are of
// the visual viewport, which a phone may have scrolled apart from the
// layout viewport the element's box is measured in.
func drag(t *testing.T, ctx context.Context, sel string, from, to [2]float64, touch bool) {
	t.Helper()
	run(t, ctx, "find "+sel, 20*time.Second, chromedp.ScrollIntoView(chromedp.CSS(sel)))
	box, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](fmt.Sprintf(`(() => { const r = document.querySelector(%q).getBoundingClientRect(), v = window.visualViewport; return [r.x - v.offsetLeft, r.y - v.offsetTop, r.width, r.height]; })()`, sel)))
	if err != nil {
		t.Fatalf("locate %s: %v", sel, err)
	}
	pt := func(f float64) (float64, float64) {
		return box[0] + box[2]*(from[0]+(to[0]-from[0])*f), box[1] + box[3]*(from[1]+(to[1]-from[1])*f)
	}
	var acts []chromedp.Action[chromedp.Void]
	const steps = 8
	for i := 0; i <= steps; i++ {
		x, y := pt(float64(i) / steps)
		if touch {
			typ := input.DispatchTouchEventTypeTouchMove
			if i == 0 {
				typ = input.DispatchTouchEventTypeTouchStart
			}
			acts = append(acts, touchAt(typ, []*input.TouchPoint{{X: x, Y: y}}))
			continue
		}
		switch i {
		case 0:
			acts = append(acts, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, x, y),
				chromedp.MouseEvent(input.DispatchMouseEventTypeMousePressed, x, y, chromedp.ButtonLeft, chromedp.ClickCount(1)))
		default:
			acts = append(acts, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, x, y, chromedp.ButtonLeft,
				func(p *input.DispatchMouseEventParams) { p.Buttons = 1 }))
		}
	}
	x, y := pt(1)
	if touch {
		acts = append(acts, touchAt(input.DispatchTouchEventTypeTouchEnd, []*input.TouchPoint{}))
	} else {
		acts = append(acts, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseReleased, x, y, chromedp.ButtonLeft, chromedp.ClickCount(1)))
	}
	run(t, ctx, "drag on "+sel, 30*time.Second, acts...)
}

func touchAt(typ input.DispatchTouchEventType, pts []*input.TouchPoint) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, input.DispatchTouchEvent, input.DispatchTouchEventParams{Type: typ, TouchPoints: pts})
		return err
	})
}

// reviewHas reports whether the review queue holds an item.
func (r *rig) reviewHas(t *testing.T, id string) bool {
	items, _ := r.cli(t, control.Review, nil).Details["items"].([]any)
	for _, it := range items {
		if it.(map[string]any)["id"] == id {
			return true
		}
	}
	return false
}

// centreColour is a JS expression: the colour ('red', 'blue', 'mixed') at
// the centre of the image sel shows now.
func centreColour(sel string) string {
	return fmt.Sprintf(`(() => { const i = document.querySelector(%q), c = document.createElement('canvas');
		c.width = i.naturalWidth; c.height = i.naturalHeight; const g = c.getContext('2d'); g.drawImage(i, 0, 0);
		const [r, , b] = g.getImageData(c.width >> 1, c.height >> 1, 1, 1).data;
		return r > 150 && b < 80 ? 'red' : b > 150 && r < 80 ? 'blue' : 'mixed'; })()`, sel)
}

// sampleIDs lists the ids of label's samples.
func sampleIDs(t *testing.T, r *rig, label string) []string {
	list, _ := r.cli(t, control.Samples, map[string]any{"label": label}).Details["samples"].([]any)
	var ids []string
	for _, s := range list {
		ids = append(ids, s.(map[string]any)["id"].(string))
	}
	return ids
}

// countSource counts the samples of label recorded from source.
func countSource(t *testing.T, r *rig, label, source string) int {
	list, _ := r.cli(t, control.Samples, map[string]any{"label": label}).Details["samples"].([]any)
	n := 0
	for _, s := range list {
		if s.(map[string]any)["source"] == source {
			n++
		}
	}
	return n
}
