package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/alphad/alphad/pipeline/head"
	"github.com/alphad/alphad/pipeline/store"
)

func newModelShowCmd(d *deps) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show [VERSION]",
		Short: "Show a model version's metrics: validation accuracy per class, confusion matrix, epochs, options, timings",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			models, err := d.openModels()
			if err != nil {
				return fmt.Errorf("model show: %w", err)
			}
			name := ""
			if len(args) == 1 {
				name = args[0]
			} else if name, err = models.CurrentName(); err != nil {
				return fmt.Errorf("model show: %w", err)
			}
			v, err := models.Version(name)
			if err != nil {
				return fmt.Errorf("model show: %w", err)
			}
			if asJSON {
				return writeJSON(d.stdout, struct {
					Name string `json:"name"`
					store.Version
				}{v.Name, v})
			}
			out := d.stdout
			fmt.Fprintf(out, "version   %s (%s, created %s, source %s)\n", v.Name, v.Kind, v.Created.Format("2006-01-02 15:04:05"), v.Source)
			fmt.Fprintf(out, "labels    %v\n", v.Labels)
			fmt.Fprintf(out, "backbone  %s (%s)\n", v.Backbone.Hash, v.Backbone.Source)
			if tr := v.Training; tr != nil {
				fmt.Fprintf(out, "samples   %d %v per class, %d extra views each\n", v.Samples, tr.SamplesPerClass, tr.Views)
				fmt.Fprintf(out, "timings   embedding %.2f s (%d computed, the rest cached), training %.2f s\n", tr.EmbedSeconds, tr.Embedded, tr.TrainSeconds)
				if tr.EmbedCPUSeconds+tr.TrainCPUSeconds > 0 {
					fmt.Fprintf(out, "cpu       embedding %.2f s (%d engines), training %.2f s\n", tr.EmbedCPUSeconds, max(tr.Workers, 1), tr.TrainCPUSeconds)
				}
				if tr.Phases != nil {
					fmt.Fprintf(out, "phases    %s\n", phasesText(tr.Phases))
				}
			}
			if c := v.Config; c != nil {
				fmt.Fprintf(out, "options   hidden %d, epochs %d, batch %d, lr %g, validation %g, seed %d, patience %d, l2 %g, label smoothing %g, dropout %g, class weights %v, refit %v, ensemble %d\n",
					c.Hidden, c.Epochs, c.BatchSize, c.LearningRate, c.Validation, c.Seed, c.Patience, c.L2, c.LabelSmoothing, c.Dropout, c.ClassWeights, c.Refit, c.Ensemble)
				if r := v.Report; r != nil && r.PrototypeWeight > 0 {
					fmt.Fprintf(out, "          nearest-class-mean blend, weight %.3g (prototypes %g, fewer than %d samples in a class)\n", r.PrototypeWeight, c.Prototypes, head.FewShot)
				}
			}
			if u := v.Unknown; u != nil {
				fmt.Fprintf(out, "unknown   cosine similarity to the class mean < %.3f (%.0f %% of training samples)\n", u.Threshold, 100*u.Quantile)
			}
			r := v.Report
			if r == nil {
				return nil
			}
			fmt.Fprintf(out, "accuracy  %.1f %% on %d %s samples (loss %.4f)\n", 100*r.Final.Accuracy, r.Final.Samples, r.On, r.Final.Loss)
			if err := writeConfusion(out, v.Labels, r.Final.PerClass, r.Final.Confusion); err != nil {
				return err
			}
			fmt.Fprintf(out, "epochs (head 1 of %d; best %d%s)\n", max(r.Members, 1), r.BestEpoch, map[bool]string{true: ", stopped early"}[r.Stopped])
			w := tabwriter.NewWriter(out, 0, 4, 2, ' ', tabwriter.AlignRight)
			fmt.Fprint(w, "epoch\ttrain loss\ttrain acc\tval loss\tval acc\t\n")
			for _, e := range r.Epochs {
				fmt.Fprintf(w, "%d\t%.4f\t%.3f\t%.4f\t%.3f\t\n", e.Epoch, e.TrainLoss, e.TrainAccuracy, e.ValLoss, e.ValAccuracy)
			}
			return w.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the version's metadata as JSON")
	return cmd
}
