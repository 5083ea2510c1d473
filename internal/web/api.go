package web

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/alphad/alphad/internal/control"
	"github.com/alphad/alphad/internal/stillimage"
)

// The JSON API (docs/api.md): every action is one command of the table
// through s.run; reads that the command layer answers go through it too.

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	res, ok := s.run(w, r, 0, control.Status, nil, true)
	if !ok {
		return
	}
	ls := s.dev.LiveStats()
	det := res.Details
	if det == nil {
		det = map[string]any{}
	}
	det["message"] = res.Message
	det["fps"] = num(ls.FPS)
	det["inference_ms"] = num(ls.InferenceMS)
	det["mqtt"] = ls.MQTT
	det["events_dropped"] = s.hub.dropped.Load()
	det["live_streams"] = ls.Watchers
	det["camera"] = map[string]any{"up": det["camera_up"], "error": det["camera_error"]}
	if p := s.hub.lastPrediction(); p != nil {
		det["label"], det["confidence"], det["scores"], det["score_classes"] = p.Label, p.Confidence, p.Scores, p.Classes
	} else {
		det["label"], det["confidence"], det["scores"] = "", nil, nil
	}
	writeJSON(w, http.StatusOK, det)
}

// events is GET /api/events: server-sent events (prediction, classes,
// samples, settings, training, result, model, camera).
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		jsonError(w, http.StatusInternalServerError, "web: streaming unsupported")
		return
	}
	ch, snap, ok := s.hub.subscribe()
	if !ok {
		jsonError(w, http.StatusServiceUnavailable, "web: too many open pages")
		return
	}
	defer s.hub.unsubscribe(ch)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, "retry: 2000\n\n")
	for _, m := range snap {
		w.Write(m)
	}
	fl.Flush()
	tick := time.NewTicker(sessionRecheck)
	defer tick.Stop()
	for ticks := 0; ; {
		select {
		case <-r.Context().Done():
			return
		case m := <-ch:
			if _, err := w.Write(m); err != nil {
				return
			}
			// Drain what queued meanwhile before one flush.
			for n := len(ch); n > 0; n-- {
				w.Write(<-ch)
			}
			fl.Flush()
		case <-tick.C:
			if !s.sessionLive(r) {
				return // logged out, or the password changed
			}
			if ticks++; ticks%keepAliveTicks == 0 {
				io.WriteString(w, ": keep-alive\n\n")
				fl.Flush()
			}
		}
	}
}

// Streams (events, MJPEG) recheck their session every sessionRecheck, so
// a logout or a password change ends them too; the event stream sends a
// keep-alive comment every keepAliveTicks of them.
const (
	sessionRecheck = time.Second
	keepAliveTicks = 15
)

// stream is GET /api/stream.mjpeg: the frames the model sees, as MJPEG
// (multipart/x-mixed-replace), at ui.stream_fps.
func (s *Server) stream(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		jsonError(w, http.StatusInternalServerError, "web: streaming unsupported")
		return
	}
	frames, stop := s.dev.WatchFrames()
	defer stop()
	s.serveMJPEG(w, r, fl, frames)
}

// serveMJPEG writes frames as MJPEG (multipart/x-mixed-replace) until the
// client goes or its session ends.
func (s *Server) serveMJPEG(w http.ResponseWriter, r *http.Request, fl http.Flusher, frames <-chan []byte) {
	const boundary = "alphadframe"
	w.Header().Set("Content-Type", "multipart/x-mixed-replace; boundary="+boundary)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	fl.Flush()
	tick := time.NewTicker(sessionRecheck)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
			if !s.sessionLive(r) {
				return
			}
		case jpg := <-frames:
			if _, err := fmt.Fprintf(w, "--%s\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n", boundary, len(jpg)); err != nil {
				return
			}
			w.Write(jpg)
			io.WriteString(w, "\r\n")
			fl.Flush()
		}
	}
}

// settings is PATCH /api/settings {threshold, window, teach}.
func (s *Server) settings(w http.ResponseWriter, r *http.Request) {
	if f, ok := readFields(w, r, "settings"); ok {
		s.run(w, r, http.StatusOK, control.Set, f, false)
	}
}

// classes is GET /api/classes: every stored class with its sample count,
// and the model's classes.
func (s *Server) classes(w http.ResponseWriter, r *http.Request) {
	res, ok := s.run(w, r, 0, control.Status, nil, true)
	if !ok {
		return
	}
	names, _ := res.Details["classes"].([]string)
	counts, _ := res.Details["samples_per_class"].(map[string]int)
	list := make([]map[string]any, 0, len(names))
	for _, n := range names {
		list = append(list, map[string]any{"name": n, "samples": counts[n]})
	}
	writeJSON(w, http.StatusOK, map[string]any{"classes": list, "model_classes": res.Details["model_classes"]})
}

// nameBody reads {"name": …} (a class name, checked by control.Parse).
func nameBody(w http.ResponseWriter, r *http.Request, what string) (json.RawMessage, bool) {
	f, ok := readFields(w, r, what)
	if !ok {
		return nil, false
	}
	for k := range f {
		if k != "name" {
			jsonError(w, http.StatusBadRequest, fmt.Sprintf("%s: field %s: unknown field (want name)", what, k))
			return nil, false
		}
	}
	if f["name"] == nil {
		jsonError(w, http.StatusBadRequest, what+": field name: required")
		return nil, false
	}
	return f["name"], true
}

// createClass is POST /api/classes {"name"}: 201.
func (s *Server) createClass(w http.ResponseWriter, r *http.Request) {
	if name, ok := nameBody(w, r, "create class"); ok {
		s.run(w, r, http.StatusCreated, control.CreateClass, map[string]any{"label": name}, false)
	}
}

// renameClass is PATCH /api/classes/{name} {"name": new name}.
func (s *Server) renameClass(w http.ResponseWriter, r *http.Request) {
	if to, ok := nameBody(w, r, "rename class"); ok {
		s.run(w, r, http.StatusOK, control.RenameClass, map[string]any{"label": r.PathValue("name"), "to": to}, false)
	}
}

func (s *Server) deleteClass(w http.ResponseWriter, r *http.Request) {
	s.run(w, r, http.StatusOK, control.DeleteClass, map[string]any{"label": r.PathValue("name")}, false)
}

// Paging of sample lists.
const (
	defaultPage = 24
	maxPage     = 500
)

// classSamples is GET /api/classes/{name}/samples?offset=&limit=: the
// class's samples, newest first, one page.
func (s *Server) classSamples(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	q := r.URL.Query()
	offset, err1 := queryInt(q.Get("offset"), 0, 0, 1<<30)
	limit, err2 := queryInt(q.Get("limit"), defaultPage, 1, maxPage)
	if err := errors.Join(err1, err2); err != nil {
		jsonError(w, http.StatusBadRequest, "samples: "+err.Error())
		return
	}
	res, ok := s.run(w, r, 0, control.Samples, map[string]any{"label": name}, true)
	if !ok {
		return
	}
	if classes, _ := res.Details["classes"].([]string); !slices.Contains(classes, name) {
		jsonError(w, http.StatusNotFound, fmt.Sprintf("samples: class %q: unknown class", name))
		return
	}
	all, _ := res.Details["samples"].([]map[string]any)
	slices.Reverse(all) // newest first
	page := append([]map[string]any{}, all[min(offset, len(all)):min(offset+limit, len(all))]...)
	writeJSON(w, http.StatusOK, map[string]any{"class": name, "total": len(all), "offset": offset, "limit": limit, "samples": page})
}

// queryInt parses an optional integer query value within [lo, hi].
func queryInt(v string, def, lo, hi int) (int, error) {
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%q is not a number in %d..%d", v, lo, hi)
	}
	return n, nil
}

// uploadSamples is POST /api/classes/{name}/samples: multipart/form-data
// image files (any field name), added as one burst; each file within the
// image limits of package stillimage (the daemon decodes it under them).
func (s *Server) uploadSamples(w http.ResponseWriter, r *http.Request) {
	files, ok := s.multipartFiles(w, r, "upload", stillimage.DefaultMaxBytes)
	if !ok {
		return
	}
	s.run(w, r, http.StatusCreated, control.AddSamples, map[string]any{"label": r.PathValue("name"), "files": files}, false)
}

// multipartFiles reads the files of a multipart/form-data body (at most
// maxUpload in all, perFile each, control.MaxFiles of them).
func (s *Server) multipartFiles(w http.ResponseWriter, r *http.Request, what string, perFile int64) ([]control.File, bool) {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		jsonError(w, http.StatusUnsupportedMediaType, what+": want a multipart/form-data body with files")
		return nil, false
	}
	mr := multipart.NewReader(http.MaxBytesReader(w, r.Body, maxUpload), params["boundary"])
	var files []control.File
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				jsonError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("%s: body larger than %d bytes (send fewer files at a time)", what, maxUpload))
			} else {
				jsonError(w, http.StatusBadRequest, fmt.Sprintf("%s: multipart body: %v", what, err))
			}
			return nil, false
		}
		if part.FileName() == "" {
			continue
		}
		if len(files) == control.MaxFiles {
			jsonError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("%s: more than %d files", what, control.MaxFiles))
			return nil, false
		}
		data, err := io.ReadAll(io.LimitReader(part, perFile+1))
		if err != nil {
			jsonError(w, http.StatusBadRequest, fmt.Sprintf("%s: file %s: %v", what, part.FileName(), err))
			return nil, false
		}
		if int64(len(data)) > perFile {
			jsonError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("%s: file %s: larger than %d bytes", what, part.FileName(), perFile))
			return nil, false
		}
		// Only the base name: the daemon keeps it as the sample's source.
		files = append(files, control.File{Name: path.Base(strings.ReplaceAll(part.FileName(), `\`, "/")), Data: data})
	}
	if len(files) == 0 {
		jsonError(w, http.StatusBadRequest, what+": no files in the body")
		return nil, false
	}
	return files, true
}

// record is POST /api/classes/{name}/record {"action": "start"|"stop"|"one"}.
func (s *Server) record(w http.ResponseWriter, r *http.Request) {
	f, ok := readFields(w, r, "record")
	if !ok {
		return
	}
	var action string
	if err := json.Unmarshal(f["action"], &action); err != nil || len(f) != 1 {
		jsonError(w, http.StatusBadRequest, `record: want {"action": "start", "stop" or "one"}`)
		return
	}
	label := r.PathValue("name")
	switch action {
	case "start":
		s.run(w, r, http.StatusOK, control.RecordStart, map[string]any{"label": label}, false)
	case "stop":
		s.run(w, r, http.StatusOK, control.RecordStop, nil, false)
	case "one":
		s.run(w, r, http.StatusOK, control.Capture, map[string]any{"label": label, "count": 1}, false)
	default:
		jsonError(w, http.StatusBadRequest, fmt.Sprintf("record: action %q: want start, stop or one", action))
	}
}

// samples is GET /api/samples[?label=…]: the samples command.
func (s *Server) samples(w http.ResponseWriter, r *http.Request) {
	var fields map[string]any
	if l := r.URL.Query().Get("label"); l != "" {
		fields = map[string]any{"label": l}
	}
	if res, ok := s.run(w, r, 0, control.Samples, fields, true); ok {
		writeJSON(w, http.StatusOK, res.Details)
	}
}

// sampleImage serves a stored sample's PNG; only ids the store holds.
func (s *Server) sampleImage(w http.ResponseWriter, r *http.Request) {
	p, ok := s.dev.SampleImagePath(r.PathValue("id"))
	if !ok {
		jsonError(w, http.StatusNotFound, "web: no such sample: "+r.PathValue("id"))
		return
	}
	f, err := os.Open(p)
	if err != nil {
		jsonError(w, http.StatusNotFound, "web: sample image: "+err.Error())
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "private, max-age=3600")
	io.Copy(w, f)
}

func (s *Server) deleteSample(w http.ResponseWriter, r *http.Request) {
	s.run(w, r, http.StatusOK, control.DeleteSamples, map[string]any{"ids": []string{r.PathValue("id")}}, false)
}

// moveSamples is POST /api/samples/move {"ids": […], "to": class}.
func (s *Server) moveSamples(w http.ResponseWriter, r *http.Request) {
	if f, ok := readFields(w, r, "move samples"); ok {
		s.run(w, r, http.StatusOK, control.MoveSamples, f, false)
	}
}

// deleteSamples is POST /api/samples/delete {"ids": […]}.
func (s *Server) deleteSamples(w http.ResponseWriter, r *http.Request) {
	if f, ok := readFields(w, r, "delete samples"); ok {
		s.run(w, r, http.StatusOK, control.DeleteSamples, f, false)
	}
}

// startTraining is POST /api/train {epochs, batch_size, learning_rate}:
// 202, progress follows on GET /api/train and the events.
func (s *Server) startTraining(w http.ResponseWriter, r *http.Request) {
	f, ok := readFields(w, r, "train")
	if !ok {
		return
	}
	if _, ok := f["wait"]; ok {
		jsonError(w, http.StatusBadRequest, "train: field wait: unknown field (the answer comes at once; follow GET /api/train)")
		return
	}
	s.train.begin()
	if _, ok := s.run(w, r, http.StatusAccepted, control.Train, f, false); !ok {
		s.train.abort()
	}
}

func (s *Server) cancelTraining(w http.ResponseWriter, r *http.Request) {
	s.run(w, r, http.StatusOK, control.CancelTrain, nil, false)
}

// trainState is what GET /api/train reports: the latest progress and the
// latest result, from the daemon's events.
type trainState struct {
	mu       sync.Mutex
	progress *trainingEvent
	result   *resultEvent
	max      float64 // progress only grows within a run
}

func (t *trainState) begin() {
	t.mu.Lock()
	t.progress, t.max = &trainingEvent{Phase: "starting"}, 0
	t.mu.Unlock()
}

func (t *trainState) abort() {
	t.mu.Lock()
	t.progress = nil
	t.mu.Unlock()
}

func (t *trainState) onProgress(e trainingEvent) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.progress == nil { // a run started elsewhere (MQTT, CLI)
		t.max = 0
	}
	t.max = max(t.max, e.Percent)
	e.Percent = t.max
	t.progress = &e
}

func (t *trainState) onResult(e resultEvent) {
	t.mu.Lock()
	t.progress, t.result = nil, &e
	t.mu.Unlock()
}

// training is GET /api/train: {training, progress 0..1, phase, epoch,
// epochs, result: {…the result event, per_class, confusion, curves}}.
func (s *Server) training(w http.ResponseWriter, r *http.Request) {
	res, ok := s.run(w, r, 0, control.Status, nil, true)
	if !ok {
		return
	}
	busy, _ := res.Details["training"].(bool)
	s.train.mu.Lock()
	p, last := s.train.progress, s.train.result
	s.train.mu.Unlock()
	out := map[string]any{"training": busy, "progress": nil, "phase": "idle"}
	if busy {
		out["progress"], out["phase"] = 0.0, "starting"
		if p != nil {
			out["progress"], out["phase"], out["epoch"], out["epochs"] = p.Percent/100, p.Phase, p.Epoch, p.Epochs
			out["loss"], out["accuracy"], out["validation_accuracy"] = p.Loss, p.Accuracy, p.ValidationAccuracy
		}
	}
	if last != nil {
		result := map[string]any{"ok": last.OK, "error": last.Error, "cancelled": last.Cancelled, "model_version": last.ModelVersion,
			"duration_s": last.DurationS, "epochs": last.Epochs, "accuracy": last.Accuracy,
			"validation_accuracy": last.ValidationAccuracy, "samples_per_class": last.SamplesPerClass}
		if last.OK {
			if m, ok := s.model(last.ModelVersion); ok {
				result["model"] = m
			}
		}
		out["result"] = result
	}
	writeJSON(w, http.StatusOK, out)
}

// activate is POST /api/models/{version}/activate.
func (s *Server) activate(w http.ResponseWriter, r *http.Request) {
	s.run(w, r, http.StatusOK, control.Activate, map[string]any{"version": r.PathValue("version")}, false)
}

// export is GET /api/models/{version}/export: a zip of model.tflite and
// labels.txt (Teachable Machine's layout).
func (s *Server) export(w http.ResponseWriter, r *http.Request) {
	res, ok := s.run(w, r, 0, control.Export, map[string]any{"version": r.PathValue("version")}, true)
	if !ok {
		return
	}
	labels, _ := res.Details["labels"].([]string)
	version, _ := res.Details["model_version"].(string)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range []struct {
		name string
		data []byte
	}{{"model.tflite", res.Data}, {"labels.txt", tmLabels(labels)}} {
		fw, err := zw.Create(f.name)
		if err == nil {
			_, err = fw.Write(f.data)
		}
		if err != nil {
			jsonError(w, http.StatusInternalServerError, "web: export zip: "+err.Error())
			return
		}
	}
	if err := zw.Close(); err != nil {
		jsonError(w, http.StatusInternalServerError, "web: export zip: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", "alphad-"+version+".zip"))
	w.Write(buf.Bytes())
}

// tmLabels is labels.txt as Teachable Machine writes it: "<i> <label>".
func tmLabels(labels []string) []byte {
	var b bytes.Buffer
	for i, l := range labels {
		fmt.Fprintf(&b, "%d %s\n", i, l)
	}
	return b.Bytes()
}

// Limits of an imported zip's members.
const (
	maxModelFile  = 64 << 20
	maxLabelsFile = 1 << 20
)

// importModel is POST /api/models/import: a Teachable Machine export zip
// (a .tflite model and labels.txt), as the body (application/zip) or a
// multipart file; the new version is put in use (201).
func (s *Server) importModel(w http.ResponseWriter, r *http.Request) {
	var data []byte
	source := "upload.zip"
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "multipart/form-data" {
		files, ok := s.multipartFiles(w, r, "import", maxUpload)
		if !ok {
			return
		}
		if len(files) != 1 {
			jsonError(w, http.StatusBadRequest, fmt.Sprintf("import: want one zip file, got %d files", len(files)))
			return
		}
		data, source = files[0].Data, files[0].Name
	} else {
		var ok bool
		if data, ok = readBody(w, r, "import", maxUpload); !ok {
			return
		}
	}
	files, err := tmZip(data)
	if err != nil {
		jsonError(w, http.StatusBadRequest, fmt.Sprintf("import %s: %v", source, err))
		return
	}
	s.run(w, r, http.StatusCreated, control.Import, map[string]any{"files": files, "source": source}, false)
}

// tmZip picks the model and labels.txt out of a Teachable Machine export
// zip (converted_tflite.zip holds model_unquant.tflite, the quantized one
// model.tflite; an Edge TPU model is not what the daemon runs), each
// member bounded.
func tmZip(data []byte) ([]control.File, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("not a zip: %w", err)
	}
	var model, labels *zip.File
	for _, f := range zr.File {
		base := path.Base(f.Name)
		switch {
		case base == "labels.txt":
			labels = f
		case strings.HasSuffix(base, ".tflite") && !strings.Contains(base, "edgetpu"):
			if model == nil || base == "model_unquant.tflite" || base == "model.tflite" && path.Base(model.Name) != "model_unquant.tflite" {
				model = f
			}
		}
	}
	if model == nil || labels == nil {
		return nil, errors.New("want a .tflite model and labels.txt in the zip (a Teachable Machine TensorFlow Lite export)")
	}
	var out []control.File
	for _, m := range []struct {
		f     *zip.File
		limit int64
	}{{model, maxModelFile}, {labels, maxLabelsFile}} {
		if m.f.UncompressedSize64 > uint64(m.limit) {
			return nil, fmt.Errorf("%s: larger than %d bytes", m.f.Name, m.limit)
		}
		rc, err := m.f.Open()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m.f.Name, err)
		}
		b, err := io.ReadAll(io.LimitReader(rc, m.limit+1))
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m.f.Name, err)
		}
		if int64(len(b)) > m.limit {
			return nil, fmt.Errorf("%s: larger than %d bytes", m.f.Name, m.limit)
		}
		out = append(out, control.File{Name: path.Base(m.f.Name), Data: b})
	}
	return out, nil
}
