package daemon

import (
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/alphad/alphad/internal/control"
	"github.com/alphad/alphad/pipeline/decide"
	"github.com/alphad/alphad/pipeline/preprocess"
	"github.com/alphad/alphad/pipeline/store"
)

// settings owns the runtime settings: the decision threshold, the
// smoothing window, the class that capture and the buttons record, and
// the camera's crop, mirror and rotation.
// They start from the configuration, are overridden by what was saved in
// the state directory, and every change through the command layer is
// saved there. The frame loop picks changes up by generation.
type settings struct {
	db  settingsDB
	log *slog.Logger
	// camGen counts camera changes (crop, mirror, rotate): the frame loop
	// and the live view rebuild their preprocessors when it moves.
	camGen atomic.Uint64

	mu    sync.Mutex
	gen   uint64
	cur   control.Settings
	saved store.Settings
}

// settingsDB is where the settings are saved: the owned state directory
// (*store.State).
type settingsDB interface {
	Settings() (store.Settings, error)
	SetSettings(store.Settings) error
}

func openSettings(db settingsDB, smooth decide.SmoothConfig, cam CameraConfig, classes []string, log *slog.Logger) (*settings, error) {
	saved, err := db.Settings()
	if err != nil {
		return nil, err
	}
	s := &settings{db: db, log: log, gen: 1, saved: saved,
		cur: control.Settings{Threshold: smooth.Threshold, Window: smooth.Window, Camera: cameraDefaults(cam)}}
	s.camGen.Store(1)
	if c := saved.Camera; c != nil {
		if c.Crop != nil {
			s.cur.Camera.Crop = *c.Crop
		}
		if c.Mirror != nil {
			s.cur.Camera.Mirror = *c.Mirror
		}
		if c.Rotate != nil {
			s.cur.Camera.Rotate = *c.Rotate
		}
	}
	if saved.Threshold != nil {
		s.cur.Threshold = *saved.Threshold
	}
	if saved.Window > 0 {
		s.cur.Window = saved.Window
	}
	s.cur.TeachClass = saved.Teach
	if s.cur.TeachClass == "" && len(classes) > 0 {
		s.cur.TeachClass = classes[0]
	}
	return s, nil
}

// snapshot returns the generation and the settings.
func (s *settings) snapshot() (uint64, control.Settings) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gen, s.cur
}

func (s *settings) event() control.Settings {
	_, c := s.snapshot()
	return c
}

func (s *settings) teach() string {
	_, c := s.snapshot()
	return c.TeachClass
}

// update applies a change (nil threshold, zero window, "" teach: keep)
// and saves it.
func (s *settings) update(threshold *float64, window int, teach string) (control.Settings, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	next, saved := s.cur, s.saved
	if threshold != nil {
		t := *threshold
		next.Threshold, saved.Threshold = t, &t
	}
	if window > 0 {
		next.Window, saved.Window = window, window
	}
	if teach != "" {
		next.TeachClass, saved.Teach = teach, teach
	}
	if err := s.db.SetSettings(saved); err != nil {
		return s.cur, fmt.Errorf("settings: %w", err)
	}
	s.cur, s.saved = next, saved
	s.gen++
	return next, nil
}

// updateCamera applies a camera change (nil: keep) and saves it.
func (s *settings) updateCamera(crop *control.Crop, mirror *bool, rotate *int) (control.Settings, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	next, saved := s.cur, s.saved
	cam := store.CameraSettings{}
	if saved.Camera != nil {
		cam = *saved.Camera
	}
	if crop != nil {
		c := *crop
		next.Camera.Crop, cam.Crop = c, &c
	}
	if mirror != nil {
		m := *mirror
		next.Camera.Mirror, cam.Mirror = m, &m
	}
	if rotate != nil {
		r := *rotate
		next.Camera.Rotate, cam.Rotate = r, &r
	}
	saved.Camera = &cam
	if err := s.db.SetSettings(saved); err != nil {
		return s.cur, fmt.Errorf("settings: %w", err)
	}
	s.cur, s.saved = next, saved
	s.gen++
	s.camGen.Add(1)
	return next, nil
}

// camera returns the camera settings' generation and the preprocessing
// they make.
func (s *settings) camera() (uint64, preprocess.Options) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.camGen.Load(), preprocessOptions(s.cur.Camera)
}

// cameraDefaults are the camera settings of the configuration.
func cameraDefaults(c CameraConfig) control.CameraSettings {
	cs := control.CameraSettings{Crop: control.Crop{Mode: c.Crop}, Mirror: c.Mirror, Rotate: c.Rotate}
	if c.Crop == "roi" && len(c.Roi) == 4 {
		cs.Crop.X, cs.Crop.Y, cs.Crop.W, cs.Crop.H = c.Roi[0], c.Roi[1], c.Roi[2], c.Roi[3]
	}
	return cs
}

// preprocessOptions is how frames become the model's input under the
// camera settings c (the crop is a region of the turned, mirrored frame).
func preprocessOptions(c control.CameraSettings) preprocess.Options {
	o := preprocess.Options{Mirror: c.Mirror, Rotate: c.Rotate}
	switch c.Crop.Mode {
	case "full":
		o.Crop = preprocess.CropFull
	case "roi":
		o.Crop = preprocess.CropROI
		o.ROI = preprocess.Region{X: c.Crop.X, Y: c.Crop.Y, W: c.Crop.W, H: c.Crop.H}
	}
	return o
}

// classesChanged keeps the teach class valid: renamed with its class,
// moved to the first class when its class was deleted.
func (s *settings) classesChanged(classes []string, renamedFrom, renamedTo string) {
	s.mu.Lock()
	teach := s.cur.TeachClass
	s.mu.Unlock()
	switch {
	case teach != "" && teach == renamedFrom:
		teach = renamedTo
	case teach != "" && slices.Contains(classes, teach):
		return
	case len(classes) > 0:
		teach = classes[0]
	default:
		return
	}
	if _, err := s.update(nil, 0, teach); err != nil {
		s.log.Warn("settings", "err", err)
	}
}

// classDeleted moves the teach class to the first class when it was the
// class deleted; a teach class without samples yet (a new class, created
// by its first sample) stays.
func (s *settings) classDeleted(classes []string, deleted string) {
	if s.teach() != deleted {
		return
	}
	teach := ""
	if len(classes) > 0 {
		teach = classes[0]
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	saved := s.saved
	saved.Teach = teach
	if err := s.db.SetSettings(saved); err != nil {
		s.log.Warn("settings", "err", err)
		return
	}
	s.cur.TeachClass, s.saved = teach, saved
	s.gen++
}

// reload applies configuration changes (SIGHUP): a threshold or window
// that differs from the previous configuration replaces the runtime value.
func (s *settings) reload(old, cfg decide.SmoothConfig) (bool, error) {
	var th *float64
	w := 0
	if cfg.Threshold != old.Threshold {
		t := cfg.Threshold
		th = &t
	}
	if cfg.Window != old.Window {
		w = cfg.Window
	}
	if th == nil && w == 0 {
		return false, nil
	}
	_, err := s.update(th, w, "")
	return err == nil, err
}
