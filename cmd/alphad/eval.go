package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/alphad/alphad/internal/stillimage"
	"github.com/alphad/alphad/pipeline/decide"
	"github.com/alphad/alphad/pipeline/head"
	"github.com/alphad/alphad/pipeline/preprocess"
	"github.com/alphad/alphad/pipeline/store"
	"github.com/alphad/alphad/pipeline/tflite"
)

type evalFlags struct {
	cfg                head.Config
	augment            string
	backbone, engine   string
	threads            int
	cv                 head.CVOptions
	test, name, format string
	reject             []string
	threshold          float64
	classes            int
	finetune           head.FineTuneConfig
}

func newEvalCmd(d *deps) *cobra.Command {
	f := evalFlags{cfg: head.DefaultConfig(), augment: store.DefaultAugmentation, format: "text",
		finetune: head.DefaultFineTune(head.FineTuneNone)}
	cmd := &cobra.Command{
		Use:   "eval [--test DIR] [--reject DIR]... [training options]",
		Short: "Measure the training options by cross-validation on the dataset, or the current model on labelled images",
		Long: "Without --test: repeated stratified k-fold cross-validation over the state directory's samples\n" +
			"with the training options given (the same flags and defaults as `alphad train`): every fold\n" +
			"trains a head on the other folds and scores the held-out one. Prints accuracy mean ± sd over\n" +
			"the runs, per-class accuracy, the pooled confusion matrix and the unknown rate (held-out photos\n" +
			"of known classes the unknown rule rejects). Embeddings come from the cache `alphad train` fills.\n\n" +
			"With --test DIR (one sub-folder per class, named like the model's labels): scores the current\n" +
			"model on those images instead. --reject DIR (any images, none of a known class) reports the\n" +
			"share of them the current model calls unknown.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch f.format {
			case "text", "json", "row":
			default:
				return &exitError{code: 2, err: fmt.Errorf("eval: --format %q: want text, json or row", f.format)}
			}
			if f.test != "" || len(f.reject) > 0 {
				return evalModel(d, f)
			}
			return evalCV(cmd, d, f)
		},
	}
	fl := cmd.Flags()
	addTrainingFlags(cmd, &f.cfg, &f.augment)
	fl.StringVar(&f.backbone, "backbone", "", "backbone .tflite (default: the current model version's, as train)")
	fl.StringVar(&f.engine, "engine", "auto", "inference engine for the backbone")
	fl.IntVar(&f.threads, "threads", 0, "engine threads (0 = all CPUs)")
	fl.IntVar(&f.cv.Folds, "folds", 5, "cross-validation folds (stratified)")
	fl.IntVar(&f.cv.Repeats, "repeats", 2, "cross-validation repeats (another fold split and training seed each)")
	fl.IntVar(&f.cv.PerClass, "per-class", 0, "train each fold on at most N samples per class (few-shot; 0 = all)")
	fl.BoolVar(&f.cv.AddClass, "add-class", false, "also measure adding the last class to a device trained on the others: old classes' accuracy before and after")
	fl.IntVar(&f.classes, "classes", 0, "cross-validate on the first N classes only (label order; 0 = all)")
	fl.Float64Var(&f.cv.Unknown, "unknown-quantile", head.DefaultUnknownQuantile, "calibration of the unknown rule: share of training samples it would reject (<0 = no rule)")
	fl.Float64Var(&f.threshold, "threshold", decide.DefaultSmoothConfig().Threshold, "confidence below which a decision is unknown (as the daemon; the calibrated rule applies too)")
	fl.StringVar(&f.test, "test", "", "score the current model on DIR/<label>/*.{jpg,png,bmp} instead of cross-validating")
	fl.StringArrayVar(&f.reject, "reject", nil, "score the current model on DIR's images (recursively), which show no known class: the share called unknown")
	addFineTuneFlags(cmd, &f.finetune)
	fl.StringVar(&f.format, "format", "text", "text, json, or row (one table row, for scripts/eval.sh)")
	fl.StringVar(&f.name, "name", "", "row name (--format row)")
	fl.BoolFunc("json", "same as --format json", func(string) error { f.format = "json"; return nil })
	return cmd
}

// evalCV cross-validates the training options on the store's samples.
func evalCV(cmd *cobra.Command, d *deps, f evalFlags) error {
	if err := errors.Join(f.cfg.Validate(), f.finetune.Validate()); err != nil {
		return &exitError{code: 2, err: fmt.Errorf("eval: %w", err)}
	}
	views, err := store.Augmentation(f.augment)
	if err != nil {
		return &exitError{code: 2, err: fmt.Errorf("eval: %w", err)}
	}
	newEngine, eopts, err := learningEngine(f.engine, f.threads, d.log)
	if err != nil {
		return err
	}
	state, err := d.openState()
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	defer state.Close()
	if _, err := store.CheckDataset(state.Samples()); err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	data, source, err := trainBackbone(state.Models(), f.backbone)
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	bar := newProgress(d.stderr, "embedding")
	topts := store.TrainOptions{
		Backbone: data, BackboneSource: source, NewEngine: newEngine, Engine: eopts, Views: views,
		Progress: func(p store.Progress) {
			bar.update(float64(p.Done)/float64(max(p.Total, 1)), "", fmt.Sprintf("%d/%d images", p.Done, p.Total))
		},
	}
	var ds *store.Dataset
	var tail *store.TailDataset
	if f.finetune.Mode == head.FineTuneNone {
		ds, err = store.EmbedStore(cmd.Context(), state, topts)
	} else if tail, err = store.EmbedTail(cmd.Context(), state, topts); err == nil {
		ds = tail.Dataset
	}
	bar.done()
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	for _, s := range ds.Skipped {
		fmt.Fprintf(d.stderr, "skipped sample %s: %v\n", s.ID, s.Err)
	}
	f.cv.MinProb = float32(f.threshold)
	if f.classes > 0 {
		if f.classes < 2 || f.classes > len(ds.Classes) {
			return &exitError{code: 2, err: fmt.Errorf("eval: --classes %d: want 2..%d", f.classes, len(ds.Classes))}
		}
		ds.Samples = slices.DeleteFunc(ds.Samples, func(s head.Sample) bool { return s.Label >= f.classes })
		ds.Classes = ds.Classes[:f.classes]
	}
	if tail != nil {
		f.cv.Features = tailFeatures(d.log, tail.Tail, ds.Samples, len(ds.Classes), f.cfg, f.finetune)
	}
	bar = newProgress(d.stderr, "eval")
	f.cv.Progress = func(done, total int) {
		bar.update(float64(done)/float64(total), "", fmt.Sprintf("fold %d/%d", done, total))
	}
	res, err := head.CrossValidate(cmd.Context(), ds.Samples, len(ds.Classes), f.cfg, f.cv)
	bar.done()
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	switch f.format {
	case "json":
		return writeJSON(d.stdout, struct {
			Mode    string         `json:"mode"`
			Labels  []string       `json:"labels"`
			Config  head.Config    `json:"config"`
			Augment string         `json:"augment"`
			Options head.CVOptions `json:"cv"`
			*head.CVResult
		}{"cross-validation", ds.Classes, f.cfg, f.augment, f.cv, res})
	case "row":
		fmt.Fprintf(d.stdout, "%s\t%d\t%5.1f ± %.1f\t%s\t%5.1f\t%5.1f\t%.2f\n", f.name, res.Samples,
			100*res.Accuracy, 100*res.AccuracySD, worstClass(ds.Classes, res.PerClass),
			100*res.Unknown, 100*res.AcceptedCorrect, res.TrainSeconds)
		if a := res.AddClass; a != nil {
			fmt.Fprintf(d.stdout, "%s\t%d\t%5.1f ± %.1f → %.1f ± %.1f\t-\t-\t-\t-\n", f.name+", old classes before → after adding "+ds.Classes[len(ds.Classes)-1],
				res.Samples, 100*a.Before, 100*a.BeforeSD, 100*a.After, 100*a.AfterSD)
		}
		for _, v := range otherVariants(res) {
			fmt.Fprintf(d.stdout, "%s\t%d\t%5.1f ± %.1f\t-\t-\t-\t-\n", f.name+", "+v, res.Samples,
				100*res.Variants[v].Accuracy, 100*res.Variants[v].SD)
		}
		return nil
	}
	fmt.Fprintf(d.stdout, "cross-validation: %d folds × %d repeats on %d samples (augment %s", res.Folds, res.Repeats, res.Samples, f.augment)
	if f.cv.PerClass > 0 {
		fmt.Fprintf(d.stdout, ", at most %d per class for training", f.cv.PerClass)
	}
	fmt.Fprintf(d.stdout, ")\naccuracy %.1f %% ± %.1f (sd over %d runs), median training %.2f s\n",
		100*res.Accuracy, 100*res.AccuracySD, len(res.Runs), res.TrainSeconds)
	for _, v := range otherVariants(res) {
		fmt.Fprintf(d.stdout, "  same heads, %-5s %.1f %% ± %.1f\n", v+":", 100*res.Variants[v].Accuracy, 100*res.Variants[v].SD)
	}
	if a := res.AddClass; a != nil {
		fmt.Fprintf(d.stdout, "adding %s: the other classes' held-out accuracy %.1f %% ± %.1f before, %.1f %% ± %.1f after (%+.1f points)\n",
			ds.Classes[len(ds.Classes)-1], 100*a.Before, 100*a.BeforeSD, 100*a.After, 100*a.AfterSD, 100*(a.After-a.Before))
	}
	if f.cv.Unknown >= 0 {
		fmt.Fprintf(d.stdout, "unknown rule (threshold %.2f): %.1f %% of held-out photos rejected, %.1f %% accepted and right\n",
			f.threshold, 100*res.Unknown, 100*res.AcceptedCorrect)
	}
	return writeConfusion(d.stdout, ds.Classes, res.PerClass, res.Confusion)
}

// otherVariants lists the test-time variants scored beside the head.
func otherVariants(res *head.CVResult) []string {
	var out []string
	for _, v := range []string{head.VariantTTA, head.VariantNCM, head.VariantBlend} {
		if _, ok := res.Variants[v]; ok {
			out = append(out, v)
		}
	}
	return out
}

// worstClass names the class with the lowest accuracy.
func worstClass(labels []string, pc []head.ClassScore) string {
	w := 0
	for c := range pc {
		if pc[c].Accuracy < pc[w].Accuracy {
			w = c
		}
	}
	return fmt.Sprintf("%s %.1f", labels[w], 100*pc[w].Accuracy)
}

// writeConfusion prints per-class accuracy and the confusion matrix with
// class names.
func writeConfusion(out io.Writer, labels []string, pc []head.ClassScore, conf [][]int) error {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(w, "true \\ predicted\t")
	for _, l := range labels {
		fmt.Fprintf(w, "%s\t", l)
	}
	fmt.Fprint(w, "accuracy\t\n")
	for c, row := range conf {
		fmt.Fprintf(w, "%s\t", labels[c])
		for _, n := range row {
			fmt.Fprintf(w, "%d\t", n)
		}
		fmt.Fprintf(w, "%.1f %%\t\n", 100*pc[c].Accuracy)
	}
	return w.Flush()
}

func writeJSON(out io.Writer, v any) error {
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// modelEval is the score of the current model on labelled (and rejected)
// images.
type modelEval struct {
	Mode            string            `json:"mode"`
	Version         string            `json:"version"`
	Labels          []string          `json:"labels"`
	Samples         int               `json:"samples"`
	Accuracy        float64           `json:"accuracy"`
	PerClass        []head.ClassScore `json:"per_class,omitempty"`
	Confusion       [][]int           `json:"confusion,omitempty"`
	Unknown         float64           `json:"unknown_rate"`
	AcceptedCorrect float64           `json:"accepted_correct"`
	Rejected        []rejectScore     `json:"reject,omitempty"`
}

type rejectScore struct {
	Dir      string  `json:"dir"`
	Images   int     `json:"images"`
	Rejected float64 `json:"rejected"` // share called unknown
}

// evalModel scores the current model on --test and --reject images.
func evalModel(d *deps, f evalFlags) error {
	newEngine, eopts, err := learningEngine(f.engine, f.threads, d.log)
	if err != nil {
		return err
	}
	dir, err := d.resolveStateDir()
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	m, err := store.LoadCurrent(dir, newEngine, eopts)
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	defer m.Close()
	prep, err := preprocess.New(m.Backbone.Input(), preprocess.Options{})
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	decide := func(path string) (head.Decision, error) {
		img, err := stillimage.ReadFile(path, stillimage.Limits{})
		if err != nil {
			return head.Decision{}, fmt.Errorf("eval: %w", err)
		}
		_, dec, err := m.ClassifyDecision(func(dst []byte, _ *tflite.Tensor) error { return prep.Image(dst, img) }, float32(f.threshold))
		if err != nil {
			return head.Decision{}, fmt.Errorf("eval %s: %w", path, err)
		}
		return dec, nil
	}
	res := modelEval{Mode: "model", Version: m.Version, Labels: m.Labels}
	if f.test != "" {
		files, err := labelledImages(f.test, m.Labels)
		if err != nil {
			return fmt.Errorf("eval: %w", err)
		}
		res.Confusion = make([][]int, len(m.Labels))
		for c := range res.Confusion {
			res.Confusion[c] = make([]int, len(m.Labels))
		}
		var correct, rejected, right int
		for c, paths := range files {
			for _, p := range paths {
				dec, err := decide(p)
				if err != nil {
					return err
				}
				res.Confusion[c][dec.Index]++
				if dec.Index == c {
					correct++
				}
				switch {
				case !dec.Known:
					rejected++
				case dec.Index == c:
					right++
				}
				res.Samples++
			}
		}
		n := float64(max(res.Samples, 1))
		res.Accuracy, res.Unknown, res.AcceptedCorrect = float64(correct)/n, float64(rejected)/n, float64(right)/n
		res.PerClass = head.ClassScores(res.Confusion)
	}
	for _, rd := range f.reject {
		paths, err := imagesUnder(rd)
		if err != nil {
			return fmt.Errorf("eval: %w", err)
		}
		rs := rejectScore{Dir: rd, Images: len(paths)}
		n := 0
		for _, p := range paths {
			dec, err := decide(p)
			if err != nil {
				return err
			}
			if !dec.Known {
				n++
			}
		}
		rs.Rejected = float64(n) / float64(max(len(paths), 1))
		res.Rejected = append(res.Rejected, rs)
	}
	switch f.format {
	case "json":
		return writeJSON(d.stdout, res)
	case "row":
		acc, unk, right := "-", "-", "-"
		if f.test != "" {
			acc = fmt.Sprintf("%5.1f", 100*res.Accuracy)
			unk, right = fmt.Sprintf("%5.1f", 100*res.Unknown), fmt.Sprintf("%5.1f", 100*res.AcceptedCorrect)
		}
		for _, r := range res.Rejected {
			unk = fmt.Sprintf("%5.1f (%s)", 100*r.Rejected, filepath.Base(r.Dir))
		}
		fmt.Fprintf(d.stdout, "%s\t%d\t%s\t-\t%s\t%s\t-\n", f.name, res.Samples+rejectImages(res.Rejected), acc, unk, right)
		return nil
	}
	fmt.Fprintf(d.stdout, "model %s\n", res.Version)
	if f.test != "" {
		fmt.Fprintf(d.stdout, "%s: accuracy %.1f %% on %d images; unknown rule: %.1f %% rejected, %.1f %% accepted and right\n",
			f.test, 100*res.Accuracy, res.Samples, 100*res.Unknown, 100*res.AcceptedCorrect)
		if err := writeConfusion(d.stdout, m.Labels, res.PerClass, res.Confusion); err != nil {
			return err
		}
	}
	for _, r := range res.Rejected {
		fmt.Fprintf(d.stdout, "%s: %.1f %% of %d images called unknown\n", r.Dir, 100*r.Rejected, r.Images)
	}
	return nil
}

func rejectImages(r []rejectScore) int {
	n := 0
	for _, x := range r {
		n += x.Images
	}
	return n
}

// labelledImages lists DIR/<label>/ images per model label; a sub-folder
// that names no label is an error.
func labelledImages(dir string, labels []string) ([][]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	out := make([][]string, len(labels))
	found := false
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		c := slices.Index(labels, e.Name())
		if c < 0 {
			return nil, fmt.Errorf("test folder %s: %q is not a label of the model (%s)", dir, e.Name(), strings.Join(labels, ", "))
		}
		paths, err := imagesUnder(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		out[c] = paths
		found = found || len(paths) > 0
	}
	if !found {
		return nil, fmt.Errorf("test folder %s: no images in sub-folders named like the labels (%s)", dir, strings.Join(labels, ", "))
	}
	return out, nil
}

// imagesUnder lists the JPEG, PNG and BMP files under dir, sorted.
func imagesUnder(dir string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch strings.ToLower(filepath.Ext(p)) {
		case ".jpg", ".jpeg", ".png", ".bmp":
			if !e.IsDir() {
				out = append(out, p)
			}
		}
		return nil
	})
	if err == nil && len(out) == 0 {
		err = fmt.Errorf("%s: no images (.jpg, .png, .bmp)", dir)
	}
	return out, err
}
