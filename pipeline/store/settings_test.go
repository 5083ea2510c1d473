package store

import (
	"strings"
	"testing"

	"github.com/alphad/alphad/internal/control"
)

// TestSettingsCropRule: the store saves exactly the crops the set command
// accepts (control.Crop.Check is the one rule). Before it, the store had
// its own looser copy and saved a side of half MinCrop that the command
// refuses.
func TestSettingsCropRule(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		crop control.Crop
		ok   bool
	}{
		{control.Crop{Mode: "center"}, true},
		{control.Crop{Mode: "roi", X: 0.25, Y: 0.5, W: 0.5, H: 0.5}, true},
		{control.Crop{Mode: "roi", X: 0.5, Y: 0.5, W: 0.015, H: 0.5}, false}, // the old store rule took it
		{control.Crop{Mode: "roi", X: 0.5, Y: 0.5, W: 0.6, H: 0.5}, false},
		{control.Crop{Mode: "zoom"}, false},
	} {
		crop := tt.crop
		err := WriteSettings(dir, Settings{Camera: &CameraSettings{Crop: &crop}})
		if (err == nil) != tt.ok || (err == nil) != (crop.Check() == nil) {
			t.Errorf("WriteSettings crop %+v: %v (want ok %v)", crop, err, tt.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "camera.crop") {
			t.Errorf("error %q does not name camera.crop", err)
		}
		if !tt.ok {
			continue
		}
		got, err := ReadSettings(dir)
		if err != nil || got.Camera == nil || *got.Camera.Crop != crop {
			t.Errorf("ReadSettings: %+v, %v; want crop %+v", got.Camera, err, crop)
		}
	}
}
