package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/alphad/alphad/pipeline/head"
)

// addFineTuneFlags registers the options of fine-tuning the backbone's
// tail (head.FineTune).
func addFineTuneFlags(cmd *cobra.Command, ft *head.FineTuneConfig) {
	f := cmd.Flags()
	f.StringVar(&ft.Mode, "finetune", ft.Mode, "fine-tune the backbone's last 1×1 conv on cached activations: none, frozen (the float tail unchanged: the control), scale (per-channel scale and shift)")
	f.IntVar(&ft.Warmup, "finetune-warmup", ft.Warmup, "fine-tuning: epochs training the head alone first")
	f.IntVar(&ft.Epochs, "finetune-epochs", ft.Epochs, "fine-tuning: joint epochs (early-stopped on the validation split)")
	f.IntVar(&ft.Patience, "finetune-patience", ft.Patience, "fine-tuning: early stopping patience (0 = off)")
	f.Float64Var(&ft.LearningRate, "finetune-lr", ft.LearningRate, "fine-tuning: Adam learning rate of the tail's parameters")
	f.Float64Var(&ft.L2, "finetune-l2", ft.L2, "fine-tuning: decay of the tail's parameters toward the pretrained ones")
}

// tailFeatures returns the cross-validation hook that fine-tunes the tail
// on each run's training samples and re-embeds every sample with it.
// samples hold the activations entering the tail.
func tailFeatures(t *head.Tail, samples []head.Sample, classes int, cfg head.Config, ft head.FineTuneConfig) func(context.Context, []int, uint64) ([]head.Sample, error) {
	zs := head.TailSamples(t, samples)
	return func(ctx context.Context, train []int, seed uint64) ([]head.Sample, error) {
		sub := make([]head.TailSample, len(train))
		for k, i := range train {
			sub[k] = zs[i]
		}
		c := cfg
		c.Seed = seed
		if c.Validation > 0 && len(train) < 4*classes {
			c.Validation = 0 // as CrossValidate: too few to hold any out
		}
		s, _, err := head.FineTune(ctx, t, sub, classes, c, ft)
		if err != nil {
			return nil, err
		}
		return t.Embed(zs, s), nil
	}
}
