package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/alphad/alphad/device"
	"github.com/alphad/alphad/device/camerafile"
	"github.com/alphad/alphad/device/libcamera"
	"github.com/alphad/alphad/device/v4l2"
	"github.com/alphad/alphad/internal/stillimage"
)

// stillFrameSide is the shorter side dir: and image: cameras need: larger
// stills become frames between 480 and 959 pixels on their shorter side,
// a webcam's size, enough for the model's 224×224 input after a crop
// (a 24 Mpx photo decodes at 1/8 scale, 750×500).
const stillFrameSide = 480

// openCamera builds the camera a spec names (see device.ParseSpec). It is
// the one place that opens /dev/video* or starts rpicam-vid. A missing
// device, a device without a usable format or a missing capture program
// fail here with one error that says what to do. It returns when ctx
// ends (libcamera waits for the program's first frame until then); a
// failure later on comes from the camera's Next — device/supervise
// reopens.
func openCamera(ctx context.Context, spec device.Spec, images stillimage.Limits, log *slog.Logger) (device.Camera, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("camera: open %s: %w", spec, err)
	}
	switch spec.Kind {
	case device.SourceV4L2:
		return v4l2.Open(ctx, v4l2.Config{
			Path:    spec.Path,
			Request: v4l2.Request{Width: spec.Width, Height: spec.Height, FPS: spec.FPS, Format: spec.Format},
			Buffers: spec.Buffers,
			Log:     log,
		})
	case device.SourceLibcamera:
		return libcamera.Open(ctx, libcamera.Config{Bin: spec.Bin, Width: spec.Width, Height: spec.Height, FPS: spec.FPS, Log: log})
	case device.SourceDir:
		return camerafile.OpenDir(spec.Path, camerafile.Config{FPS: spec.FPS, Loop: spec.Loop, Limits: images, Fit: stillFrameSide, Log: log})
	case device.SourceMJPEG:
		return camerafile.OpenMJPEG(spec.Path, camerafile.Config{FPS: spec.FPS, Loop: spec.Loop})
	case device.SourceImage:
		return camerafile.OpenImage(spec.Path, camerafile.Config{FPS: spec.FPS, Loop: spec.Loop, Limits: images, Fit: stillFrameSide})
	}
	return nil, fmt.Errorf("camera: source kind %q not supported", spec.Kind)
}
