package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/alphad/alphad/device"
	"github.com/alphad/alphad/device/supervise"
	"github.com/alphad/alphad/pipeline/engine"
	"github.com/alphad/alphad/pipeline/head"
	"github.com/alphad/alphad/pipeline/preprocess"
	"github.com/alphad/alphad/pipeline/tflite"
)

// watchOptions are the flags of `alphad watch`.
type watchOptions struct {
	camera, model, labels, engine, crop string
	mirror                              bool
	threads, frames                     int
}

// newWatchCmd classifies camera frames live, one line per frame:
//
//	12  daisy                     0.873   14.2 fps   61.0 ms
//
// (sequence number, top label, its score, frame rate, inference time).
func newWatchCmd(d *deps) *cobra.Command {
	var o watchOptions
	cmd := &cobra.Command{
		Use:   "watch --camera SPEC [--model M [--labels L]] [--engine E]",
		Short: "Classify camera frames live and print the top label of each frame",
		Long: "Classify camera frames live and print one line per frame: sequence number, top label,\n" +
			"score, frames per second and inference time. SPEC is a camera spec such as\n" +
			"v4l2:/dev/video0?width=640&height=480, libcamera:, dir:PATH?fps=5&loop=true, mjpeg:FILE\n" +
			"or image:FILE (`alphad devices` lists cameras). Without --model it runs the state\n" +
			"directory's current model version.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runWatch(cmd.Context(), d, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.camera, "camera", "", "camera spec (required)")
	f.StringVar(&o.model, "model", "", "a .tflite image classifier (default: the state directory's current model)")
	f.StringVar(&o.labels, "labels", "", "labels file, plain or Teachable Machine format (default: labels.txt beside the model)")
	f.StringVar(&o.engine, "engine", "auto", "inference engine")
	f.StringVar(&o.crop, "crop", "center", "center (square, as Teachable Machine) or full (whole frame, stretched)")
	f.BoolVar(&o.mirror, "mirror", false, "flip frames left-right")
	f.IntVar(&o.threads, "threads", 0, "engine threads (0: engine default)")
	f.IntVar(&o.frames, "frames", 0, "stop after this many frames (0: run until interrupted or the source ends)")
	return cmd
}

func usageErr(format string, a ...any) error {
	return &exitError{code: 2, err: fmt.Errorf("watch: "+format, a...)}
}

func runWatch(ctx context.Context, d *deps, o watchOptions) error {
	if o.camera == "" {
		return usageErr("--camera is required")
	}
	spec, err := device.ParseSpec(o.camera)
	if err != nil {
		return usageErr("%w", err)
	}
	var popts preprocess.Options
	switch o.crop {
	case "center":
	case "full":
		popts.Crop = preprocess.CropFull
	default:
		return usageErr("--crop %q: want center or full", o.crop)
	}
	popts.Mirror = o.mirror
	newEngine, err := engineFactory(o.engine, d.log)
	if err != nil {
		return err
	}
	m, err := d.loadModel("watch", o.model, o.labels, newEngine, engine.Options{Threads: o.threads})
	if err != nil {
		return err
	}
	defer m.Close()
	pre, err := preprocess.New(m.Backbone.Input(), popts)
	if err != nil {
		return fmt.Errorf("watch: model %s: %w", m.Version, err)
	}
	cam, err := openCamera(ctx, spec, d.images, d.log)
	if err != nil {
		return fmt.Errorf("watch: %w", err)
	}
	if spec.Kind == device.SourceV4L2 || spec.Kind == device.SourceLibcamera {
		// A live camera that fails (unplugged, program exited) is reopened
		// by the one supervisor, as in the daemon; files end with EOF.
		first := cam
		cam = supervise.New(func(ctx context.Context) (device.Camera, error) {
			if c := first; c != nil {
				first = nil
				return c, nil
			}
			return openCamera(ctx, spec, d.images, d.log)
		}, supervise.Options{Log: d.log})
	}
	defer cam.Close()
	d.log.Info("watching", "camera", spec.String(), "model", m.Version, "engine", o.engine, "input", pre.String())

	var (
		last   time.Time
		period float64 // smoothed seconds per frame
	)
	for n := 0; o.frames == 0 || n < o.frames; n++ {
		f, err := cam.Next(ctx)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil // interrupted: done
			}
			return fmt.Errorf("watch: camera: %w", err)
		}
		var (
			fillErr error
			t0      time.Time // inference starts once the input is filled
		)
		scores, err := m.Classify(func(dst []byte, _ *tflite.Tensor) error {
			fillErr = pre.Frame(dst, f)
			t0 = time.Now()
			return fillErr
		})
		infer := time.Since(t0)
		if fillErr != nil {
			d.log.Warn("frame skipped", "seq", f.Seq, "err", fillErr)
			continue
		}
		if err != nil {
			return fmt.Errorf("watch: %w", err)
		}
		best := head.Argmax(scores)
		now := time.Now()
		if !last.IsZero() {
			dt := now.Sub(last).Seconds()
			if period == 0 {
				period = dt
			}
			period = 0.8*period + 0.2*dt
		}
		last = now
		fps := 0.0
		if period > 0 {
			fps = 1 / period
		}
		fmt.Fprintf(d.stdout, "%6d  %-24s %.3f  %5.1f fps  %6.1f ms\n", f.Seq, m.Labels[best], scores[best], fps, float64(infer.Microseconds())/1000)
	}
	return nil
}
