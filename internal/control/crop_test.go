package control_test

import (
	"strings"
	"testing"

	"github.com/alphad/alphad/internal/control"
)

// TestCropCheck: the one crop rule, at its edges. parseCrop applies it,
// so a crop the set command accepts passes Check (and the state store's
// settings check, which calls it too: TestSettingsCropRule in
// pipeline/store).
func TestCropCheck(t *testing.T) {
	tests := []struct {
		name string
		crop control.Crop
		err  string // "" accepted
	}{
		{"center", control.Crop{Mode: "center"}, ""},
		{"full", control.Crop{Mode: "full"}, ""},
		{"roi", control.Crop{Mode: "roi", X: 0.1, Y: 0.2, W: 0.5, H: 0.5}, ""},
		{"roi whole frame", control.Crop{Mode: "roi", W: 1, H: 1}, ""},
		{"roi smallest", control.Crop{Mode: "roi", X: 0.98, Y: 0.98, W: control.MinCrop, H: control.MinCrop}, ""},
		{"no mode", control.Crop{}, "mode"},
		{"unknown mode", control.Crop{Mode: "zoom"}, "mode"},
		{"negative x", control.Crop{Mode: "roi", X: -0.1, W: 0.5, H: 0.5}, "want 0..1"},
		{"y above 1", control.Crop{Mode: "roi", Y: 1.5, W: 0.5, H: 0.5}, "want 0..1"},
		{"below MinCrop", control.Crop{Mode: "roi", W: 0.015, H: 0.5}, "at least"},
		{"zero height", control.Crop{Mode: "roi", W: 0.5}, "at least"},
		{"outside", control.Crop{Mode: "roi", X: 0.6, W: 0.5, H: 0.5}, "inside the frame"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.crop.Check()
			if tt.err == "" && err != nil || tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
				t.Fatalf("Check(%+v) = %v, want error containing %q", tt.crop, err, tt.err)
			}
		})
	}
}

// TestParseCropChecked: every crop the set command parses passes Check,
// including the clipped sides of a region that ends within rounding of the
// frame's edge.
func TestParseCropChecked(t *testing.T) {
	for _, p := range []string{
		`{"crop":"center"}`,
		`{"crop":"full"}`,
		`{"crop":{"x":0.1,"y":0.2,"w":0.5,"h":0.5}}`,
		`{"crop":{"x":0.7,"y":0.98,"w":0.3,"h":0.0200000000001}}`,
		`{"crop":{"x":0.3333333333333333,"y":0,"w":0.6666666666666667,"h":1}}`,
	} {
		cmd, err := control.Parse("set", []byte(p), false)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if err := cmd.Crop.Check(); err != nil {
			t.Errorf("%s: parsed %+v fails Check: %v", p, *cmd.Crop, err)
		}
	}
}
