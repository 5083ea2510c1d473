package store

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/alphad/alphad/internal/control"
)

// Settings are the runtime settings changed through the daemon's command
// layer (threshold, smoothing window, teach class, camera crop, mirror and
// rotation), kept in the state database's settings table so that they
// survive restarts. Zero fields are unset: the configuration's value applies.
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

func (s Settings) check() error {
	if s.Threshold != nil && !(*s.Threshold >= 0 && *s.Threshold <= 1) {
		return fmt.Errorf("threshold %v is not in [0, 1]", *s.Threshold)
	}
	if s.Window < 0 || s.Window > 1000 {
		return fmt.Errorf("window %d is not in 1..1000", s.Window)
	}
	if c := s.Camera; c != nil {
		if c.Rotate != nil && *c.Rotate != 0 && *c.Rotate != 90 && *c.Rotate != 180 && *c.Rotate != 270 {
			return fmt.Errorf("camera.rotate %d is not 0, 90, 180 or 270", *c.Rotate)
		}
		if r := c.Crop; r != nil {
			if err := r.Check(); err != nil {
				return fmt.Errorf("camera.crop: %w", err)
			}
		}
	}
	return nil
}

// Settings reads the saved runtime settings (zero Settings when none
// were saved), through the owner's database connection.
func (s *State) Settings() (Settings, error) {
	set, err := readSettings(s.db)
	if err != nil {
		return Settings{}, fmt.Errorf("store: settings: %w", err)
	}
	return set, nil
}

// SetSettings saves the runtime settings in one transaction: a kill at
// any moment leaves the previous or the new settings, never a mix.
func (s *State) SetSettings(set Settings) error {
	if err := set.check(); err != nil {
		return fmt.Errorf("store: settings: %w", err)
	}
	if err := inTx(s.db, func(tx *sql.Tx) error { return writeSettings(tx, set) }); err != nil {
		return fmt.Errorf("store: settings: %w", err)
	}
	return nil
}

// readSettings reads the settings rows and checks them.
func readSettings(db *sql.DB) (Settings, error) {
	rows, err := db.Query(`SELECT key, value FROM settings`)
	if err != nil {
		return Settings{}, err
	}
	var s Settings
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			rows.Close()
			return Settings{}, err
		}
		var dst any
		switch k {
		case "threshold":
			dst = &s.Threshold
		case "window":
			dst = &s.Window
		case "teach":
			dst = &s.Teach
		case "camera":
			dst = &s.Camera
		default:
			continue // a newer alphad's setting
		}
		if err := json.Unmarshal([]byte(v), dst); err != nil {
			rows.Close()
			return Settings{}, fmt.Errorf("%s = %q: %w", k, v, err)
		}
	}
	if err := closeRows(rows); err != nil {
		return Settings{}, err
	}
	if err := s.check(); err != nil {
		return Settings{}, err
	}
	return s, nil
}

// writeSettings replaces the settings rows with s.
func writeSettings(tx *sql.Tx, s Settings) error {
	set := map[string]any{}
	if s.Threshold != nil {
		set["threshold"] = *s.Threshold
	}
	if s.Window != 0 {
		set["window"] = s.Window
	}
	if s.Teach != "" {
		set["teach"] = s.Teach
	}
	if s.Camera != nil {
		set["camera"] = s.Camera
	}
	for _, k := range []string{"threshold", "window", "teach", "camera"} {
		v, ok := set[k]
		if !ok {
			if _, err := tx.Exec(`DELETE FROM settings WHERE key = ?`, k); err != nil {
				return err
			}
			continue
		}
		b, err := json.Marshal(v)
		if err != nil {
			return errors.Join(fmt.Errorf("setting %s", k), err)
		}
		if _, err := tx.Exec(`INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, k, string(b)); err != nil {
			return err
		}
	}
	return nil
}
