package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/alphad/alphad/internal/stillimage"
	"github.com/alphad/alphad/pipeline/decide"
	"github.com/alphad/alphad/pipeline/engine"
	"github.com/alphad/alphad/pipeline/head"
	"github.com/alphad/alphad/pipeline/preprocess"
	"github.com/alphad/alphad/pipeline/store"
	"github.com/alphad/alphad/pipeline/tflite"
)

type classifyFlags struct {
	model, labels, engine, crop, norm string
	top, threads                      int
	json, mirror                      bool
	threshold                         float64
}

func newClassifyCmd(d *deps) *cobra.Command {
	var f classifyFlags
	cmd := &cobra.Command{
		Use:   "classify [--model M] [--labels L] [--top K] [--json] IMAGE...",
		Short: "Classify images (JPEG, PNG, BMP) with a .tflite model or the state directory's current model",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return classify(d, f, args)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.model, "model", "", "a .tflite classifier (default: the state directory's current model)")
	fl.StringVar(&f.labels, "labels", "", "labels file, plain or Teachable Machine format (default: labels.txt beside the model)")
	fl.IntVar(&f.top, "top", 5, "print the K best classes")
	fl.BoolVar(&f.json, "json", false, "print one JSON object per image")
	fl.IntVar(&f.threads, "threads", 1, "inference threads")
	fl.StringVar(&f.engine, "engine", "auto", "auto, "+strings.Join(engineNames(), " or "))
	fl.StringVar(&f.crop, "crop", "center", "center (largest centred square) or full (whole image, stretched)")
	fl.BoolVar(&f.mirror, "mirror", false, "flip images left-right first")
	fl.StringVar(&f.norm, "norm", "", "input value range LO,HI for pixels 0..255 (default: -1,1 for float models, raw codes for quantized)")
	fl.Float64Var(&f.threshold, "threshold", decide.DefaultSmoothConfig().Threshold, "confidence below which the decision is unknown (the daemon's default; a trained model's unknown rule applies too)")
	return cmd
}

type topEntry struct {
	Index int     `json:"index"`
	Label string  `json:"label"`
	Score float32 `json:"score"`
}

func classify(d *deps, f classifyFlags, images []string) error {
	if f.top < 1 {
		return &exitError{code: 2, err: fmt.Errorf("classify: --top %d must be ≥ 1", f.top)}
	}
	opts, err := preprocessOptions(f.crop, f.norm, f.mirror)
	if err != nil {
		return &exitError{code: 2, err: fmt.Errorf("classify: %w", err)}
	}
	newEngine, err := engineFactory(f.engine, d.log)
	if err != nil {
		return err
	}
	m, err := d.loadModel("classify", f.model, f.labels, newEngine, engine.Options{Threads: f.threads})
	if err != nil {
		return err
	}
	defer m.Close()
	in := m.Backbone.Input()
	opts.Images = d.images
	prep, err := preprocess.New(in, opts)
	if err != nil {
		return fmt.Errorf("classify: %w", err)
	}
	enc := json.NewEncoder(d.stdout)
	var failed []string
	for _, path := range images {
		// Twice the input side: enough for any crop, and a 24 Mpx photo
		// decodes at 1/8 scale.
		img, err := stillimage.ReadFileFit(path, d.images, 2*max(in.Shape[1], in.Shape[2]))
		if err != nil {
			fmt.Fprintf(d.stderr, "alphad: classify: %v\n", err)
			failed = append(failed, path)
			continue
		}
		probs, dec, err := m.ClassifyDecision(func(dst []byte, _ *tflite.Tensor) error { return prep.Image(dst, img) }, float32(f.threshold))
		if err != nil {
			return fmt.Errorf("classify %s: %w", path, err)
		}
		top := topK(probs, m.Labels, f.top)
		if f.json {
			// decision: the label, or null when the image is unknown.
			var decision *string
			if dec.Known {
				decision = &m.Labels[dec.Index]
			}
			if err := enc.Encode(struct {
				Path       string     `json:"path"`
				Top        []topEntry `json:"top"`
				Decision   *string    `json:"decision"`
				Similarity float32    `json:"similarity"`
			}{path, top, decision, dec.Similarity}); err != nil {
				return err
			}
			continue
		}
		fmt.Fprintf(d.stdout, "%s\n", path)
		for _, t := range top {
			fmt.Fprintf(d.stdout, "  %6.2f%%  %s (%d)\n", 100*t.Score, t.Label, t.Index)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("classify: %d of %d images could not be read: %s", len(failed), len(images), strings.Join(failed, ", "))
	}
	return nil
}

// loadModel loads the classifier a command runs: the file model with its
// labels (store.LoadClassifier), else the state directory's current model
// version. what names the command in errors.
func (d *deps) loadModel(what, model, labels string, newEngine engine.New, opts engine.Options) (*head.Model, error) {
	if model != "" {
		m, err := store.LoadClassifier(model, labels, newEngine, opts)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		return m, nil
	}
	if labels != "" {
		return nil, &exitError{code: 2, err: fmt.Errorf("%s: --labels %s needs --model (a version has its own labels)", what, labels)}
	}
	dir, err := d.resolveStateDir()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	m, err := store.LoadCurrent(dir, newEngine, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: no --model and no current model in %s (train one with `alphad train`, or `alphad model import`): %w", what, dir, err)
	}
	return m, nil
}

// preprocessOptions turns the crop/norm/mirror flags into options.
func preprocessOptions(crop, norm string, mirror bool) (preprocess.Options, error) {
	o := preprocess.Options{Mirror: mirror}
	switch crop {
	case "center", "":
		o.Crop = preprocess.CropCenter
	case "full":
		o.Crop = preprocess.CropFull
	default:
		return o, fmt.Errorf("crop %q is not center or full", crop)
	}
	if norm != "" {
		lo, hi, ok := strings.Cut(norm, ",")
		l, err1 := strconv.ParseFloat(strings.TrimSpace(lo), 32)
		h, err2 := strconv.ParseFloat(strings.TrimSpace(hi), 32)
		if !ok || err1 != nil || err2 != nil || l == h {
			return o, errors.New("norm " + strconv.Quote(norm) + " is not LO,HI (e.g. -1,1 or 0,1)")
		}
		n := preprocess.RangeNorm(float32(l), float32(h))
		o.Norm = &n
	}
	return o, nil
}

// topK returns the k highest-scoring classes, best first (ties by index).
func topK(probs []float32, names []string, k int) []topEntry {
	idx := make([]int, len(probs))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return probs[idx[a]] > probs[idx[b]] })
	if k > len(idx) {
		k = len(idx)
	}
	out := make([]topEntry, k)
	for i, j := range idx[:k] {
		out[i] = topEntry{Index: j, Label: names[j], Score: probs[j]}
	}
	return out
}
