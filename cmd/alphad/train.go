package main

import (
	"errors"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/alphad/alphad/pipeline/head"
	"github.com/alphad/alphad/pipeline/store"
)

// maxThreads bounds --threads (the daemon's model.threads has the same
// bound).
const maxThreads = 64

func newTrainCmd(d *deps) *cobra.Command {
	cfg := head.DefaultConfig()
	var backbone, engineName string
	var threads int
	var asJSON bool
	augment := store.DefaultAugmentation
	cmd := &cobra.Command{
		Use:   "train",
		Short: "Train a classifier head on the dataset and make it the current model version",
		Long: "Train a head (Dense(hidden, relu) → Dense(N, softmax)) on the backbone embeddings of every\n" +
			"sample and commit it as a new model version. The backbone is --backbone (a features-only\n" +
			"model, or a full classifier cut at its global pool) or the current version's. Missing\n" +
			"embeddings are computed first (cached per backbone). Unreadable images are skipped and listed.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cfg.Validate(); err != nil {
				return &exitError{code: 2, err: fmt.Errorf("train: %w", err)}
			}
			if threads < 0 || threads > maxThreads {
				return &exitError{code: 2, err: fmt.Errorf("train: --threads %d: want 0..%d (0 = all CPUs)", threads, maxThreads)}
			}
			views, err := store.Augmentation(augment)
			if err != nil {
				return &exitError{code: 2, err: fmt.Errorf("train: %w", err)}
			}
			if c, err := d.remote(); err != nil {
				return fmt.Errorf("train: %w", err)
			} else if c != nil {
				return remoteTrainCmd(cmd, d, c, cfg)
			}
			newEngine, eopts, err := learningEngine(engineName, threads, d.log)
			if err != nil {
				return err
			}
			state, err := d.openState()
			if err != nil {
				return fmt.Errorf("train: %w", err)
			}
			defer state.Close()
			if _, err := store.CheckDataset(state.Samples()); err != nil {
				return fmt.Errorf("train: %w", err)
			}
			for _, c := range store.EmptyClasses(state.Samples()) {
				fmt.Fprintf(d.stderr, "train: skipping class %s: no samples\n", c)
			}
			data, source, err := trainBackbone(state.Models(), backbone)
			if err != nil {
				return fmt.Errorf("train: %w", err)
			}
			bar := newProgress(d.stderr, "training")
			track := store.NewTracker(cfg.Refit)
			progress := func(p store.Progress) {
				f, ok := track.Update(p)
				if !ok {
					return
				}
				bar.update(f, p.Phase+track.Head(p), trainDetail(p, track.Head(p)))
			}
			v, skipped, err := store.Train(cmd.Context(), state, store.TrainOptions{
				Backbone: data, BackboneSource: source, NewEngine: newEngine, Engine: eopts,
				Config: cfg, Views: views, Progress: progress,
			})
			if err == nil {
				bar.update(1, "done", "done")
			}
			bar.done()
			for _, s := range skipped {
				fmt.Fprintf(d.stderr, "skipped sample %s: %v\n", s.ID, s.Err)
			}
			if err != nil {
				return fmt.Errorf("train: %w", err)
			}
			if asJSON {
				return printJSON(d.stdout, trainResult(v))
			}
			fmt.Fprintf(d.stdout, "model %s: %d samples, %d classes, backbone %s\n", v.Name, v.Samples, len(v.Labels), v.Backbone.Hash)
			if tr := v.Training; tr != nil && tr.Phases != nil {
				fmt.Fprintf(d.stdout, "time %s (%d embeddings computed)\n", phasesText(tr.Phases), tr.Embedded)
			}
			return writeReport(d, v)
		},
	}
	f := cmd.Flags()
	f.StringVar(&backbone, "backbone", "", "backbone .tflite (default: the current model version's)")
	addTrainingFlags(cmd, &cfg, &augment)
	f.StringVar(&engineName, "engine", "auto", "inference engine for the backbone")
	f.IntVar(&threads, "threads", 0, "engine threads (0 = all CPUs)")
	f.BoolVar(&asJSON, "json", false, "print the result as JSON {version, classes, samples, backbone, epochs, best_epoch, stopped_early, accuracy, accuracy_on, loss, per_class}")
	return cmd
}

// phasesText is a training's time per phase, wall and CPU seconds.
func phasesText(p *store.Phases) string {
	s := fmt.Sprintf("wall/cpu s: embed %.2f/%.2f, heads %.2f/%.2f, refit %.2f/%.2f, calibrate %.2f/%.2f",
		p.Embed.Wall, p.Embed.CPU, p.Heads.Wall, p.Heads.CPU, p.Refit.Wall, p.Refit.CPU, p.Calibrate.Wall, p.Calibrate.CPU)
	if p.Save != (head.Seconds{}) {
		s += fmt.Sprintf(", save %.2f/%.2f", p.Save.Wall, p.Save.CPU)
	}
	return s
}

// trainDetail is the text beside the progress bar.
func trainDetail(p store.Progress, head string) string {
	if p.Phase == "embed" {
		return fmt.Sprintf("embedding %d/%d", p.Done, p.Total)
	}
	e := p.Epoch
	s := fmt.Sprintf("epoch %d/%d loss %.4f acc %.3f", e.Epoch, e.Epochs, e.TrainLoss, e.TrainAccuracy)
	if e.HasVal {
		s += fmt.Sprintf(" val_acc %.3f", e.ValAccuracy)
	}
	if e.Refit {
		s = "refit " + s
	}
	if head != "" {
		s = "head " + head + " " + s
	}
	return s
}

// trainResultJSON is `alphad train --json`.
type trainResultJSON struct {
	Version      string           `json:"version"`
	Classes      []string         `json:"classes"`
	Samples      int              `json:"samples"`
	Backbone     string           `json:"backbone"`
	Epochs       int              `json:"epochs"`
	BestEpoch    int              `json:"best_epoch"`
	StoppedEarly bool             `json:"stopped_early"`
	Accuracy     *float64         `json:"accuracy"`
	AccuracyOn   string           `json:"accuracy_on"`
	Loss         *float64         `json:"loss"`
	PerClass     []classScoreJSON `json:"per_class"`
}

type classScoreJSON struct {
	Class     string  `json:"class"`
	Correct   int     `json:"correct"`
	Support   int     `json:"support"`
	Accuracy  float64 `json:"accuracy"`
	Confusion []int   `json:"confusion"` // predicted counts, in class order
}

func trainResult(v store.Version) trainResultJSON {
	out := trainResultJSON{Version: v.Name, Classes: nonNil(v.Labels), Samples: v.Samples, Backbone: v.Backbone.Hash, PerClass: []classScoreJSON{}}
	if r := v.Report; r != nil {
		acc, loss := r.Final.Accuracy, r.Final.Loss
		out.Epochs, out.BestEpoch, out.StoppedEarly = len(r.Epochs), r.BestEpoch, r.Stopped
		out.Accuracy, out.AccuracyOn, out.Loss = &acc, r.On, &loss
		for c, s := range r.Final.PerClass {
			out.PerClass = append(out.PerClass, classScoreJSON{Class: v.Labels[c], Correct: s.Correct, Support: s.Support,
				Accuracy: s.Accuracy, Confusion: r.Final.Confusion[c]})
		}
	}
	return out
}

// addTrainingFlags registers the training options (shared by train and
// eval, so eval measures exactly what train would do).
func addTrainingFlags(cmd *cobra.Command, cfg *head.Config, augment *string) {
	f := cmd.Flags()
	f.IntVar(&cfg.Epochs, "epochs", cfg.Epochs, "training epochs")
	f.IntVar(&cfg.BatchSize, "batch-size", cfg.BatchSize, "samples per Adam step")
	f.Float64Var(&cfg.LearningRate, "learning-rate", cfg.LearningRate, "Adam learning rate")
	f.Float64Var(&cfg.Validation, "validation", cfg.Validation, "fraction of each class held out for validation")
	f.IntVar(&cfg.Hidden, "hidden", cfg.Hidden, "hidden units (0 = softmax regression)")
	f.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "random seed (training is deterministic for a seed)")
	f.IntVar(&cfg.Patience, "patience", cfg.Patience, "early stopping patience in epochs (0 = off)")
	f.Float64Var(&cfg.LabelSmoothing, "label-smoothing", cfg.LabelSmoothing, "label smoothing")
	f.Float64Var(&cfg.L2, "l2", cfg.L2, "L2 weight decay")
	f.Float64Var(&cfg.Dropout, "dropout", cfg.Dropout, "dropout on the hidden layer")
	f.BoolVar(&cfg.ClassWeights, "class-weights", cfg.ClassWeights, "weigh classes inversely to their size")
	f.IntVar(&cfg.Ensemble, "ensemble", cfg.Ensemble, "train this many heads and merge them (logit average)")
	f.BoolVar(&cfg.Refit, "refit", cfg.Refit, "after validation, retrain on all samples for the best epoch count")
	f.BoolVar(&cfg.Calibrate, "calibrate", cfg.Calibrate, "fit a temperature on the validation set so the probabilities are calibrated")
	f.Float64Var(&cfg.Prototypes, "prototypes", cfg.Prototypes, "nearest-class-mean blend for classes under 20 samples: weight·((20/n)³−1) on its logits (0 = off)")
	f.StringVar(augment, "augment", *augment, "extra training views per sample: none, flip (2× embeddings) or crops (flip + 2 random crops: 4×)")
}

// trainBackbone reads the backbone to train with: path, else the current
// version's backbone, else a pulled one.
func trainBackbone(models *store.Models, path string) ([]byte, string, error) {
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, "", fmt.Errorf("backbone: %w", err)
		}
		return data, path, nil
	}
	data, src, err := models.FindBackbone(store.DefaultBackbone, "")
	if errors.Is(err, store.ErrNoBackbone) {
		return nil, "", fmt.Errorf("pass --backbone MODEL.tflite, or install one: %w", err)
	}
	return data, src, err
}

// writeReport prints a version's final metrics: accuracy, per-class table
// and confusion matrix.
func writeReport(d *deps, v store.Version) error {
	r := v.Report
	if r == nil {
		return nil
	}
	fmt.Fprintf(d.stdout, "%d epochs (best %d%s), %s accuracy %.1f %% on %d samples, loss %.4f\n",
		len(r.Epochs), r.BestEpoch, map[bool]string{true: ", stopped early"}[r.Stopped], r.On,
		100*r.Final.Accuracy, r.Final.Samples, r.Final.Loss)
	w := tabwriter.NewWriter(d.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprint(w, "CLASS\tCORRECT\tACCURACY\tCONFUSION (predicted)\n")
	for c, s := range r.Final.PerClass {
		fmt.Fprintf(w, "%s\t%d/%d\t%.1f %%\t%v\n", v.Labels[c], s.Correct, s.Support, 100*s.Accuracy, r.Final.Confusion[c])
	}
	return w.Flush()
}
