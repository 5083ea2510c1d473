package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/alphad/alphad/internal/atomicfile"
)

// Settings are the runtime settings changed through the daemon's command
// layer (threshold, smoothing window, teach class), kept in
// <state>/settings.json so that they survive restarts. Zero fields are
// unset: the configuration's value applies.
type Settings struct {
	Threshold *float64 `json:"threshold,omitempty"`
	Window    int      `json:"window,omitempty"`
	Teach     string   `json:"teach,omitempty"`
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
