package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alphad/alphad/device/v4l2"
	"github.com/alphad/alphad/device/v4l2/v4l2test"
)

// decodeStrict parses out into v, failing on unknown fields or trailing
// data: the --json output is exactly the documented shape.
func decodeStrict(t *testing.T, what, out string, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: not the documented JSON: %v\n%s", what, err, out)
	}
	if dec.More() {
		t.Fatalf("%s: more than one JSON value:\n%s", what, out)
	}
}

// TestJSONOutputs: every listing command's --json output parses back
// into its documented shape with the values the text output shows.
func TestJSONOutputs(t *testing.T) {
	tmp := t.TempDir()
	sd := "--state-dir=" + filepath.Join(tmp, "state")
	bb := writeTinyBackbone(t, tmp)
	writeClassImages(t, filepath.Join(tmp, "in", "red"), 0, 8, 16)
	writeClassImages(t, filepath.Join(tmp, "in", "green"), 1, 8, 16)
	run := func(args ...string) string {
		t.Helper()
		out, stderr, code := cli(t, args...)
		if code != 0 {
			t.Fatalf("alphad %s: exit %d\n%s", strings.Join(args, " "), code, stderr)
		}
		return out
	}
	var ver map[string]any
	decodeStrict(t, "version", run("version", "--json"), &ver)
	if ver["version"] != version || ver["commit"] != commit {
		t.Errorf("version --json: %v", ver)
	}
	if e, ok := ver["engines"].([]any); !ok || len(e) == 0 {
		t.Errorf("version --json engines: %v", ver["engines"])
	}

	var classes []classJSON
	decodeStrict(t, "empty dataset ls", run("dataset", "ls", sd, "--json"), &classes)
	if classes == nil || len(classes) != 0 {
		t.Errorf("empty dataset: %#v, want []", classes)
	}
	run("dataset", "import", sd, filepath.Join(tmp, "in"))
	decodeStrict(t, "dataset ls", run("dataset", "ls", sd, "--json"), &classes)
	if len(classes) != 2 || classes[0].Samples+classes[1].Samples != 16 {
		t.Errorf("dataset ls --json: %+v", classes)
	}
	var samples []sampleJSON
	decodeStrict(t, "dataset ls --samples", run("dataset", "ls", sd, "--samples", "--json"), &samples)
	if len(samples) != 16 || samples[0].ID == "" || samples[0].Time.IsZero() {
		t.Errorf("dataset ls --samples --json: %+v", samples)
	}

	var res trainResultJSON
	decodeStrict(t, "train", run("train", sd, "--backbone", bb, "--epochs", "5", "--hidden", "4", "--json"), &res)
	if res.Version != "v000001" || len(res.Classes) != 2 || res.Samples != 16 || res.Accuracy == nil ||
		len(res.PerClass) != 2 || len(res.PerClass[0].Confusion) != 2 {
		t.Errorf("train --json: %+v", res)
	}

	var versions []versionJSON
	decodeStrict(t, "model ls", run("model", "ls", sd, "--json"), &versions)
	if len(versions) != 1 || versions[0].Version != "v000001" || !versions[0].Current || versions[0].Accuracy == nil ||
		*versions[0].Accuracy != *res.Accuracy {
		t.Errorf("model ls --json: %+v", versions)
	}

	// devices: a fake kernel with one camera.
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "video0"), nil, 0o600)
	k := &v4l2test.Kernel{Devices: map[string]*v4l2test.Device{filepath.Join(root, "video0"): {
		Info:    v4l2.Info{Path: filepath.Join(root, "video0"), Driver: "uvcvideo", Card: "Cam", Bus: "usb-1"},
		Formats: []v4l2.FormatDesc{{FourCC: "YUYV", Description: "YUYV 4:2:2", Sizes: []v4l2.FrameSize{{Width: 640, Height: 480, FPS: []float64{30}}}}},
	}}}
	dj, err := devicesJSON(k, root, func(string) (string, error) { return "/usr/bin/rpicam-vid", nil })
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(dj)
	var devs devicesOut
	decodeStrict(t, "devices", string(b), &devs)
	if len(devs.V4L2) != 1 || devs.V4L2[0].Use == nil || !strings.Contains(*devs.V4L2[0].Use, "format=yuyv") ||
		devs.Libcamera == nil || len(devs.V4L2[0].Formats[0].Sizes) != 1 {
		t.Errorf("devices --json: %s", b)
	}
	var empty devicesOut
	decodeStrict(t, "devices (none)", run("devices", "--json", "--root", t.TempDir()), &empty)
	if empty.V4L2 == nil {
		t.Errorf("devices --json without cameras: v4l2 is null, want []")
	}
}
