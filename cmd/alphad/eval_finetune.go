package main

import (
	"context"
	"log/slog"
	"math"

	"github.com/spf13/cobra"

	"github.com/alphad/alphad/pipeline/head"
)

// addFineTuneFlags registers the options of fine-tuning the backbone's
// tail (head.FineTune).
func addFineTuneFlags(cmd *cobra.Command, ft *head.FineTuneConfig) {
	f := cmd.Flags()
	f.StringVar(&ft.Mode, "finetune", ft.Mode, "fine-tune the backbone's last 1×1 conv on cached activations: none, frozen (the float tail unchanged: the control), scale (per-channel scale and shift), lora (low-rank update of the weights)")
	f.IntVar(&ft.Rank, "finetune-rank", ft.Rank, "fine-tuning: rank of the low-rank update (--finetune lora)")
	f.IntVar(&ft.Warmup, "finetune-warmup", ft.Warmup, "fine-tuning: epochs training the head alone first")
	f.IntVar(&ft.Epochs, "finetune-epochs", ft.Epochs, "fine-tuning: joint epochs (early-stopped on the validation split)")
	f.IntVar(&ft.Patience, "finetune-patience", ft.Patience, "fine-tuning: early stopping patience (0 = off)")
	f.Float64Var(&ft.LearningRate, "finetune-lr", ft.LearningRate, "fine-tuning: Adam learning rate of the tail's parameters")
	f.Float64Var(&ft.L2, "finetune-l2", ft.L2, "fine-tuning: decay of the tail's parameters toward the pretrained ones")
}

// tailFeatures returns the cross-validation hook that fine-tunes the tail
// on each run's training samples and re-embeds every sample with it.
// samples hold the activations entering the tail.
func tailFeatures(log *slog.Logger, t *head.Tail, samples []head.Sample, classes int, cfg head.Config, ft head.FineTuneConfig) func(context.Context, []int, uint64) ([]head.Sample, error) {
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
		s, rep, err := head.FineTune(ctx, t, sub, classes, c, ft)
		if err != nil {
			return nil, err
		}
		var dg, db, da float64
		for _, v := range s.At {
			da += math.Abs(float64(v))
		}
		for o := range s.Gamma {
			dg += math.Abs(float64(s.Gamma[o] - 1))
			db += math.Abs(float64(s.Beta[o]))
		}
		log.Debug("fine-tuned tail", "epochs", rep.Epochs, "best_epoch", rep.BestEpoch, "val_loss", rep.ValLoss,
			"mean_abs_dgamma", dg/float64(len(s.Gamma)), "mean_abs_beta", db/float64(len(s.Beta)), "mean_abs_at", da/float64(max(len(s.At), 1)))
		return t.Embed(zs, s), nil
	}
}
