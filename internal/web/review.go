package web

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/alphad/alphad/internal/control"
)

// The review queue and the camera settings (docs/api.md):
//
//	GET   /api/review               the queued unsure frames, newest first (command review)
//	GET   /api/review/{id}/image    an item's PNG (224×224, what the model saw)
//	POST  /api/review/{id}          {"class":"x"} files it as a sample (review_file), {"discard":true} deletes it
//	GET   /api/camera               crop, mirror, rotate (from status)
//	PATCH /api/camera               {"crop":{x,y,w,h}|"center"|"full", "mirror":bool, "rotate":0|90|180|270} (command set)
//	GET   /api/camera/stream.mjpeg  the whole frame, turned and mirrored, not cropped (for drawing the crop)

// reviewDevice is what these routes need of the daemon beyond Device.
type reviewDevice interface {
	ReviewImage(id string) ([]byte, error)
	WatchCamera() (frames <-chan []byte, stop func())
}

// reviewRoutes adds the review and camera routes, behind a session.
func (s *Server) reviewRoutes() {
	s.handle("GET /api/review", s.reviewList)
	s.handle("GET /api/review/{id}/image", s.reviewImage)
	s.handle("POST /api/review/{id}", s.reviewAction)
	s.handle("GET /api/camera", s.cameraGet)
	s.handle("PATCH /api/camera", s.cameraPatch)
	s.handle("GET /api/camera/stream.mjpeg", s.cameraStream)
}

// do runs a command and answers its details (or the error as JSON).
func (s *Server) do(w http.ResponseWriter, r *http.Request, cmd control.Command) (control.Result, bool) {
	res, err := s.dev.Do(r.Context(), cmd, "web")
	if err != nil {
		jsonError(w, http.StatusUnprocessableEntity, err.Error())
		return res, false
	}
	return res, true
}

func (s *Server) reviewList(w http.ResponseWriter, r *http.Request) {
	if res, ok := s.do(w, r, control.Command{Name: control.Review}); ok {
		writeJSON(w, http.StatusOK, res.Details)
	}
}

func (s *Server) reviewImage(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	rd, ok := s.dev.(reviewDevice)
	if !ok || !control.ValidReviewID(id) {
		jsonError(w, http.StatusNotFound, "web: no such review item: "+id)
		return
	}
	png, err := rd.ReviewImage(id)
	if err != nil {
		jsonError(w, http.StatusNotFound, "web: review item "+id+": "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "private, max-age=3600")
	w.Write(png)
}

// readJSON reads a bounded JSON body (at most maxBody) into v.
func readJSON(w http.ResponseWriter, r *http.Request, what string, v any) bool {
	body, ok := readBody(w, r, what, maxBody)
	if !ok {
		return false
	}
	if err := json.Unmarshal(body, v); err != nil {
		jsonError(w, http.StatusBadRequest, fmt.Sprintf("%s: body: %v", what, err))
		return false
	}
	return true
}

// reviewAction is POST /api/review/{id}: {"class":"x"} or {"discard":true}.
func (s *Server) reviewAction(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var body struct {
		Class   *string `json:"class"`
		Discard bool    `json:"discard"`
	}
	if !readJSON(w, r, "review "+id, &body) {
		return
	}
	args := map[string]any{"id": id}
	name := control.ReviewDiscard
	switch {
	case body.Class != nil && body.Discard:
		jsonError(w, http.StatusBadRequest, "review "+id+": give class or discard, not both")
		return
	case body.Class != nil:
		name, args["label"] = control.ReviewFile, *body.Class
	case !body.Discard:
		jsonError(w, http.StatusBadRequest, `review `+id+`: want {"class":"<name>"} or {"discard":true}`)
		return
	}
	raw, _ := json.Marshal(args)
	cmd, err := control.Parse(name, raw, false)
	if err != nil {
		jsonError(w, http.StatusBadRequest, err.Error())
		return
	}
	if res, ok := s.do(w, r, cmd); ok {
		writeJSON(w, http.StatusOK, map[string]any{"ok": true, "message": res.Message, "details": res.Details})
	}
}

func (s *Server) cameraGet(w http.ResponseWriter, r *http.Request) {
	if res, ok := s.do(w, r, control.Command{Name: control.Status}); ok {
		writeJSON(w, http.StatusOK, res.Details["camera"])
	}
}

// cameraPatch is PATCH /api/camera: the set command's crop, mirror and
// rotate fields.
func (s *Server) cameraPatch(w http.ResponseWriter, r *http.Request) {
	var body map[string]json.RawMessage
	if !readJSON(w, r, "camera", &body) {
		return
	}
	for k := range body {
		if k != "crop" && k != "mirror" && k != "rotate" {
			jsonError(w, http.StatusBadRequest, fmt.Sprintf("camera: field %s: unknown (want crop, mirror, rotate)", k))
			return
		}
	}
	if len(body) == 0 {
		jsonError(w, http.StatusBadRequest, "camera: nothing to set (give crop, mirror or rotate)")
		return
	}
	raw, _ := json.Marshal(body)
	cmd, err := control.Parse(control.Set, raw, false)
	if err != nil {
		jsonError(w, http.StatusBadRequest, err.Error())
		return
	}
	if res, ok := s.do(w, r, cmd); ok {
		writeJSON(w, http.StatusOK, map[string]any{"ok": true, "message": res.Message, "camera": res.Details["camera"]})
	}
}

// cameraStream is the whole frame as MJPEG, for drawing the crop on.
func (s *Server) cameraStream(w http.ResponseWriter, r *http.Request) {
	rd, ok := s.dev.(reviewDevice)
	fl, flush := w.(http.Flusher)
	if !ok || !flush {
		jsonError(w, http.StatusInternalServerError, "web: camera view unsupported")
		return
	}
	frames, stop := rd.WatchCamera()
	defer stop()
	s.serveMJPEG(w, r, fl, frames)
}

// reviewEvent is the SSE "review" event: the queue changed.
type reviewEvent struct {
	Items   int      `json:"items"`
	Added   string   `json:"added,omitempty"`
	Removed []string `json:"removed,omitempty"`
}

func (s *Server) notifyReview(e control.ReviewChanged) {
	s.hub.publish("review", reviewEvent{Items: e.Items, Added: e.Added, Removed: e.Removed})
}
