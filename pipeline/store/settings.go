package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/alphad/alphad/internal/atomicfile"
	"github.com/alphad/alphad/internal/control"
)

// Settings are the runtime settings changed through the daemon's command
// layer (threshold, smoothing window, teach class, camera crop, mirror and
// rotation), kept in
// <state>/settings.json so that they survive restarts. Zero fields are
// unset: the configuration's value applies.
type Settings struct {
	Threshold *float64        `json:"threshold,omitempty"`
	Window    int             `json:"window,omitempty"`
	Teach     string          `json:"teach,omitempty"`
	Camera    *CameraSettings `json:"camera,omitempty"`
}

// CameraSettings are the camera's runtime crop, mirror and rotation
// (nil fields: the configuration's value applies).
type CameraSettings struct {
	Crop   *control.Crop `json:"crop,omitempty"`
	Mirror *bool         `json:"mirror,omitempty"`
	Rotate *int          `json:"rotate,omitempty"`
}

const settingsFile = "settings.json"

// ReadSettings reads the runtime settings of a state directory (zero
// Settings when none were saved).
func ReadSettings(stateDir string) (Settings, error) {
	var s Settings
	p := filepath.Join(stateDir, settingsFile)
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return s, fmt.Errorf("store: settings: %w", err)
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return Settings{}, fmt.Errorf("store: %s: %w", p, err)
	}
	if s.Threshold != nil && !(*s.Threshold >= 0 && *s.Threshold <= 1) {
		return Settings{}, fmt.Errorf("store: %s: threshold %v is not in [0, 1]", p, *s.Threshold)
	}
	if s.Window < 0 || s.Window > 1000 {
		return Settings{}, fmt.Errorf("store: %s: window %d is not in 1..1000", p, s.Window)
	}
	if c := s.Camera; c != nil {
		if c.Rotate != nil && *c.Rotate != 0 && *c.Rotate != 90 && *c.Rotate != 180 && *c.Rotate != 270 {
			return Settings{}, fmt.Errorf("store: %s: camera.rotate %d is not 0, 90, 180 or 270", p, *c.Rotate)
		}
		if r := c.Crop; r != nil {
			switch {
			case r.Mode == "center" || r.Mode == "full":
			case r.Mode != "roi":
				return Settings{}, fmt.Errorf("store: %s: camera.crop.mode %q is not center, full or roi", p, r.Mode)
			case !(r.X >= 0 && r.Y >= 0 && r.W >= control.MinCrop/2 && r.H >= control.MinCrop/2 && r.X+r.W <= 1+1e-6 && r.Y+r.H <= 1+1e-6):
				return Settings{}, fmt.Errorf("store: %s: camera.crop %+v is not a region inside the frame", p, *r)
			}
		}
	}
	return s, nil
}

// WriteSettings saves the runtime settings atomically.
func WriteSettings(stateDir string, s Settings) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("store: settings: %w", err)
	}
	if err := atomicfile.WriteFile(filepath.Join(stateDir, settingsFile), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("store: settings: %w", err)
	}
	return nil
}
