package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/alphad/alphad/device"
	"github.com/alphad/alphad/pipeline/engine"
	"github.com/alphad/alphad/pipeline/labels"
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
		Use:   "watch --camera SPEC --model M [--labels L] [--engine E]",
		Short: "Classify camera frames live and print the top label of each frame",
		Long: "Classify camera frames live and print one line per frame: sequence number, top label,\n" +
			"score, frames per second and inference time. SPEC is a camera spec such as\n" +
			"v4l2:/dev/video0?width=640&height=480, libcamera:, dir:PATH?fps=5&loop=true, mjpeg:FILE\n" +
			"or image:FILE (`alphad devices` lists cameras).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runWatch(cmd.Context(), d, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.camera, "camera", "", "camera spec (required)")
	f.StringVar(&o.model, "model", "", "TFLite image classifier (required)")
	f.StringVar(&o.labels, "labels", "", "labels file (default: labels.txt beside the model, if any)")
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
	if o.camera == "" || o.model == "" {
		return usageErr("--camera and --model are required")
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
	m, err := tflite.ReadFile(o.model)
	if err != nil {
		return fmt.Errorf("watch: %w", err)
	}
	names, err := loadLabels(o.labels, o.model)
	if err != nil {
		return fmt.Errorf("watch: %w", err)
	}
	pre, err := preprocess.New(m.Input(0), popts)
	if err != nil {
		return fmt.Errorf("watch: model %s: %w", o.model, err)
	}
	out := m.Output(0)
	if n := out.NumElements(); names != nil && len(names) != n {
		d.log.Warn("labels do not match the model", "labels", len(names), "classes", n)
	}
	eng, err := newEngine(m, engine.Options{Threads: o.threads})
	if err != nil {
		return fmt.Errorf("watch: engine %s: %w", o.engine, err)
	}
	defer eng.Close()
	cam, err := openCamera(ctx, spec, d.log)
	if err != nil {
		return fmt.Errorf("watch: %w", err)
	}
	defer cam.Close()
	d.log.Info("watching", "camera", spec.String(), "model", o.model, "engine", eng.Name(), "input", pre.String())

	var (
		scores []float32
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
		if err := pre.Frame(eng.Input(0), f); err != nil {
			d.log.Warn("frame skipped", "seq", f.Seq, "err", err)
			continue
		}
		t0 := time.Now()
		if err := eng.Invoke(); err != nil {
			return fmt.Errorf("watch: invoke: %w", err)
		}
		infer := time.Since(t0)
		scores = dequantize(scores, out, eng.Output(0))
		best := argmax(scores)
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
		label := fmt.Sprintf("class %d", best)
		if best >= 0 && best < len(names) {
			label = names[best]
		}
		score := float32(0)
		if best >= 0 {
			score = scores[best]
		}
		fmt.Fprintf(d.stdout, "%6d  %-24s %.3f  %5.1f fps  %6.1f ms\n", f.Seq, label, score, fps, float64(infer.Microseconds())/1000)
	}
	return nil
}

// loadLabels reads the labels flag, else labels.txt beside the model; nil
// when neither exists.
func loadLabels(flag, model string) ([]string, error) {
	if flag != "" {
		return labels.ReadFile(flag)
	}
	p := filepath.Join(filepath.Dir(model), "labels.txt")
	if _, err := os.Stat(p); err != nil {
		return nil, nil
	}
	return labels.ReadFile(p)
}

// dequantize converts the raw output tensor to real scores in dst.
func dequantize(dst []float32, t *tflite.Tensor, raw []byte) []float32 {
	n := t.NumElements()
	if cap(dst) < n {
		dst = make([]float32, n)
	}
	dst = dst[:n]
	scale, zp := float32(1), float32(0)
	if q := t.Quant; q != nil && len(q.Scale) == 1 && len(q.ZeroPoint) == 1 {
		scale, zp = q.Scale[0], float32(q.ZeroPoint[0])
	}
	switch t.Type {
	case tflite.Float32:
		copy(dst, engine.Float32s(raw))
	case tflite.Uint8:
		for i := range dst {
			dst[i] = scale * (float32(raw[i]) - zp)
		}
	case tflite.Int8:
		for i := range dst {
			dst[i] = scale * (float32(int8(raw[i])) - zp)
		}
	default:
		clear(dst)
	}
	return dst
}

func argmax(s []float32) int {
	best := -1
	for i, v := range s {
		if best < 0 || v > s[best] {
			best = i
		}
	}
	return best
}
