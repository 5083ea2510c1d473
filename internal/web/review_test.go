package web

import (
	"net/http"
	"strings"
	"testing"

	"github.com/alphad/alphad/internal/control"
)

// TestReviewRoutes: the review and camera routes need a session, refuse
// foreign origins, turn bodies into the review_file / review_discard /
// set commands (validated), and never serve an id shaped like a path.
func TestReviewRoutes(t *testing.T) {
	s, dev, ts, _ := newTestServer(t)
	anon := client()
	for _, p := range []string{"/api/review", "/api/review/0190a3b4c5d6-1a2b3c4d/image", "/api/camera", "/api/camera/stream.mjpeg"} {
		resp, err := anon.Get(ts.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET %s without a session: %s", p, resp.Status)
		}
	}
	const id = "0190a3b4c5d6-1a2b3c4d"
	if resp := post(t, anon, ts.URL+"/api/review/"+id, ts.URL, `{"discard":true}`); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("POST without a session: %s", resp.Status)
	}
	c := login(t, s, ts)
	if resp := post(t, c, ts.URL+"/api/review/"+id, "http://evil.example", `{"discard":true}`); resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-origin POST: %s", resp.Status)
	}
	patch := func(body string) int {
		req, _ := http.NewRequest(http.MethodPatch, ts.URL+"/api/camera", strings.NewReader(body))
		req.Header.Set("Origin", ts.URL)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	tests := []struct {
		path, body string
		code       int
		want       *control.Command
	}{
		{"/api/review/" + id, `{"class":"rock"}`, 200, &control.Command{Name: control.ReviewFile, ID: id, Label: "rock"}},
		{"/api/review/" + id, `{"discard":true}`, 200, &control.Command{Name: control.ReviewDiscard, ID: id}},
		{"/api/review/" + id, `{"class":"rock","discard":true}`, 400, nil},
		{"/api/review/" + id, `{}`, 400, nil},
		{"/api/review/" + id, `{"class":" x"}`, 400, nil},
		{"/api/review/..%2f..%2fsettings.json", `{"discard":true}`, 400, nil},
		{"/api/review/" + id, `not json`, 400, nil},
	}
	for _, tt := range tests {
		dev.mu.Lock()
		n := len(dev.cmds)
		dev.mu.Unlock()
		resp := post(t, c, ts.URL+tt.path, ts.URL, tt.body)
		if resp.StatusCode != tt.code {
			t.Errorf("POST %s %s: %s, want %d", tt.path, tt.body, resp.Status, tt.code)
			continue
		}
		dev.mu.Lock()
		got := dev.cmds[n:]
		dev.mu.Unlock()
		if tt.want == nil && len(got) != 0 || tt.want != nil && (len(got) != 1 || got[0].Name != tt.want.Name || got[0].ID != tt.want.ID || got[0].Label != tt.want.Label) {
			t.Errorf("POST %s %s ran %+v, want %+v", tt.path, tt.body, got, tt.want)
		}
	}
	for _, tt := range []struct {
		body string
		code int
	}{
		{`{"crop":{"x":0.1,"y":0.1,"w":0.5,"h":0.5},"mirror":true,"rotate":180}`, 200},
		{`{"crop":"center"}`, 200},
		{`{"rotate":45}`, 400},
		{`{"crop":{"x":0.9,"y":0,"w":0.5,"h":0.5}}`, 400},
		{`{"threshold":0.5}`, 400}, // not a camera field
		{`{}`, 400},
	} {
		if code := patch(tt.body); code != tt.code {
			t.Errorf("PATCH /api/camera %s: %d, want %d", tt.body, code, tt.code)
		}
	}
	dev.mu.Lock()
	last := dev.cmds[len(dev.cmds)-1]
	first := dev.cmds[len(dev.cmds)-2]
	dev.mu.Unlock()
	if last.Name != control.Set || last.Crop == nil || last.Crop.Mode != "center" ||
		first.Crop == nil || first.Crop.W != 0.5 || first.Mirror == nil || !*first.Mirror || first.Rotate == nil || *first.Rotate != 180 {
		t.Errorf("PATCH ran %+v then %+v", first, last)
	}
	// The fake device has no review queue: every image is 404, and a
	// path-shaped id never reaches the device.
	for _, p := range []string{"/api/review/" + id + "/image", "/api/review/..%2f..%2fsettings.json/image", "/api/review/%2e%2e/image"} {
		resp, err := c.Get(ts.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %s, want 404", p, resp.Status)
		}
	}
}
