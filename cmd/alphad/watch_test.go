package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/alphad/alphad/device/v4l2"
	"github.com/alphad/alphad/device/v4l2/v4l2test"
	"github.com/alphad/alphad/internal/testshared"
)

func TestWatchDir(t *testing.T) {
	model := testshared.Path(t, "models", "mobilenet_v2_1.0_224_quant.tflite")
	lbl := testshared.Path(t, "models", "imagenet_labels.txt")
	dir := testshared.Path(t, "datasets", "flowers_tf", "daisy")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"watch", "--camera", "dir:" + dir, "--model", model, "--labels", lbl,
		"--engine", "native", "--frames", "2"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	line := regexp.MustCompile(`^\s*\d+  \S.* \d\.\d{3}\s+\d+\.\d fps\s+\d+\.\d ms$`)
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2:\n%s", len(lines), stdout.String())
	}
	for _, l := range lines {
		if !line.MatchString(l) {
			t.Fatalf("line %q does not look like a prediction", l)
		}
	}
	if !strings.Contains(lines[0], "daisy") {
		t.Errorf("first daisy photo classified as %q", lines[0])
	}
}

func TestWatchErrors(t *testing.T) {
	model := testshared.Path(t, "models", "mobilenet_v2_1.0_224_quant.tflite")
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no camera", []string{"watch", "--model", model}, 2, "--camera is required"},
		{"bad spec", []string{"watch", "--camera", "usb:0", "--model", model}, 2, `unknown source kind "usb"`},
		{"bad crop", []string{"watch", "--camera", "image:x.jpg", "--model", model, "--crop", "diag"}, 2, "--crop"},
		{"missing device", []string{"watch", "--camera", "v4l2:/dev/video99", "--model", model}, 1, "no such device; is the camera plugged in?"},
		{"missing program", []string{"watch", "--camera", "libcamera:?bin=/nonexistent/rpicam-vid", "--model", model}, 1, "capture program /nonexistent/rpicam-vid"},
		{"missing model", []string{"watch", "--camera", "image:x.jpg", "--model", filepath.Join(t.TempDir(), "none.tflite")}, 1, "none.tflite"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tt.args, &stdout, &stderr)
			if code != tt.code || !strings.Contains(stderr.String(), tt.want) {
				t.Fatalf("exit %d, stderr %q; want exit %d and %q", code, stderr.String(), tt.code, tt.want)
			}
		})
	}
}

func TestListDevices(t *testing.T) {
	root := t.TempDir()
	for _, n := range []string{"video0", "video1", "video2"} {
		if err := os.WriteFile(filepath.Join(root, n), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	p := func(n string) string { return filepath.Join(root, n) }
	cam := &v4l2test.Device{
		Info: v4l2.Info{Path: p("video0"), Driver: "uvcvideo", Card: "HD Webcam", Bus: "usb-1.2"},
		Formats: []v4l2.FormatDesc{
			{FourCC: "MJPG", Description: "Motion-JPEG", Compressed: true, Sizes: []v4l2.FrameSize{{Width: 1280, Height: 720, FPS: []float64{30}}, {Width: 640, Height: 480, FPS: []float64{30, 15}}}},
			{FourCC: "YUYV", Description: "YUYV 4:2:2", Sizes: []v4l2.FrameSize{{Width: 640, Height: 480, FPS: []float64{30, 15, 5}}}},
			{FourCC: "H264", Description: "H.264", Compressed: true},
		},
	}
	vivid := &v4l2test.Device{
		Info:    v4l2.Info{Path: p("video2"), Driver: "vivid", Card: "vivid", Bus: "platform:vivid-000"},
		Formats: []v4l2.FormatDesc{{FourCC: "RGB3", Description: "24-bit RGB", Sizes: []v4l2.FrameSize{{Width: 16, Height: 16, Stepwise: true, MaxWidth: 1920, MaxHeight: 1080, StepWidth: 2, StepHeight: 2, FPS: []float64{1, 60}, FPSRange: true}}}},
	}
	k := &v4l2test.Kernel{
		Devices:  map[string]*v4l2test.Device{p("video0"): cam, p("video2"): vivid},
		OpenErrs: []error{nil, fmt.Errorf("meta: %w", v4l2.ErrNotCapture)},
	}
	var out bytes.Buffer
	if err := listDevices(&out, k, root); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`video0  uvcvideo "HD Webcam"  usb-1.2`,
		"MJPG  Motion-JPEG (compressed)",
		"640x480 @ 30, 15, 5 fps",
		"H264  H.264 (compressed) (not usable by alphad)",
		"use: --camera 'v4l2:" + p("video0") + "?format=yuyv&height=480&width=640'",
		"16x16 to 1920x1080 step 2/2 @ 1 to 60 fps",
		"use: --camera 'v4l2:" + p("video2") + "?format=rgb24&height=480&width=640'",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "video1") {
		t.Errorf("listed a metadata node:\n%s", out.String())
	}

	out.Reset()
	if err := listDevices(&out, &v4l2test.Kernel{}, t.TempDir()); err != nil || !strings.Contains(out.String(), "no V4L2 capture devices") {
		t.Fatalf("empty root: %v %q", err, out.String())
	}
	out.Reset()
	listLibcamera(&out, func(string) (string, error) { return "", &fs.PathError{Err: errors.New("nope")} })
	if !strings.Contains(out.String(), "apt install rpicam-apps") {
		t.Fatalf("libcamera line %q", out.String())
	}
	out.Reset()
	listLibcamera(&out, func(b string) (string, error) { return "/usr/bin/" + b, nil })
	if !strings.Contains(out.String(), "/usr/bin/rpicam-vid") {
		t.Fatalf("libcamera line %q", out.String())
	}
}

// TestWatchCurrentModel: without --model, watch runs the state
// directory's current model version, as classify does.
func TestWatchCurrentModel(t *testing.T) {
	tm := testshared.Path(t, "teachable-machine", "rpi4-coral-uint8")
	frames := testshared.Path(t, "datasets", "tm_webcam_face_hand", "Class_1")
	state := t.TempDir()
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"watch", "--state-dir", state, "--camera", "dir:" + frames, "--frames", "1"}, &stdout, &stderr); code != 1 ||
		!strings.Contains(stderr.String(), "no --model and no current model") {
		t.Fatalf("before import: exit %d, stderr %q", code, stderr.String())
	}
	if _, errText, code := cli(t, "model", "import", "--state-dir", state, tm); code != 0 {
		t.Fatalf("import: exit %d: %s", code, errText)
	}
	stdout.Reset()
	stderr.Reset()
	code := run(context.Background(), []string{"watch", "--state-dir", state, "--camera", "dir:" + frames, "--engine", "native", "--frames", "2"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2:\n%s", len(lines), stdout.String())
	}
	for _, l := range lines {
		if !strings.Contains(l, "NoMask") && !strings.Contains(l, "WithMask") {
			t.Errorf("line %q names no class of the imported model", l)
		}
	}
	stderr.Reset()
	if code := run(context.Background(), []string{"watch", "--state-dir", state, "--camera", "dir:" + frames, "--labels", "x.txt"}, &stdout, &stderr); code != 2 ||
		!strings.Contains(stderr.String(), "--labels x.txt needs --model") {
		t.Errorf("--labels without --model: exit %d, stderr %q", code, stderr.String())
	}
}
