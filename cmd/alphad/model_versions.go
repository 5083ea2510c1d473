package main

import (
	"fmt"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/alphad/alphad/internal/atomicfile"
	"github.com/alphad/alphad/internal/control"
	"github.com/alphad/alphad/pipeline/store"
)

func newModelLsCmd(d *deps) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "ls",
		Short: "List the model versions (* = current)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			models, err := d.openModels()
			if err != nil {
				return fmt.Errorf("model ls: %w", err)
			}
			list, cur, err := models.List()
			if err != nil {
				return fmt.Errorf("model ls: %w", err)
			}
			if asJSON {
				out := []versionJSON{}
				for _, v := range list {
					j := versionJSON{Version: v.Name, Current: v.Name == cur, Created: v.Created, Kind: v.Kind, Classes: nonNil(v.Labels),
						Samples: v.Samples, Backbone: v.Backbone.Hash, Source: v.Source}
					if v.Report != nil {
						acc := v.Report.Final.Accuracy
						j.Accuracy, j.AccuracyOn = &acc, v.Report.On
					}
					out = append(out, j)
				}
				return printJSON(d.stdout, out)
			}
			w := tabwriter.NewWriter(d.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "  VERSION\tCREATED\tKIND\tCLASSES\tSAMPLES\tACCURACY\tBACKBONE\tSOURCE")
			for _, v := range list {
				mark, acc := " ", "-"
				if v.Name == cur {
					mark = "*"
				}
				if v.Report != nil {
					acc = fmt.Sprintf("%.1f %% (%s)", 100*v.Report.Final.Accuracy, v.Report.On)
				}
				fmt.Fprintf(w, "%s %s\t%s\t%s\t%d\t%d\t%s\t%s\t%s\n", mark, v.Name, v.Created.Format("2006-01-02 15:04:05"),
					v.Kind, len(v.Labels), v.Samples, acc, v.Backbone.Hash, v.Source)
			}
			return w.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array [{version, current, created, kind, classes, samples, accuracy, accuracy_on, backbone, source}]")
	return cmd
}

func newModelRollbackCmd(d *deps) *cobra.Command {
	return &cobra.Command{
		Use:   "rollback [VERSION]",
		Short: "Make VERSION (default: the one before the current) the current model",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			to := ""
			if len(args) == 1 {
				to = args[0]
			}
			if c, err := d.remote(); err != nil {
				return fmt.Errorf("model rollback: %w", err)
			} else if c != nil {
				return remoteSimple(cmd.Context(), d, c, "model rollback", control.Rollback, map[string]any{"version": to})
			}
			state, err := d.openState()
			if err != nil {
				return fmt.Errorf("model rollback: %w", err)
			}
			defer state.Close()
			name, err := state.Models().Rollback(to)
			if err != nil {
				return fmt.Errorf("model rollback: %w", err)
			}
			fmt.Fprintf(d.stdout, "current model: %s\n", name)
			return nil
		},
	}
}

func newModelExportCmd(d *deps) *cobra.Command {
	var version string
	cmd := &cobra.Command{
		Use:   "export OUT.tflite",
		Short: "Write the current (or --version) model as one standalone .tflite plus labels.txt beside it",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			models, err := d.openModels()
			if err != nil {
				return fmt.Errorf("model export: %w", err)
			}
			data, v, err := models.Standalone(version)
			if err != nil {
				return fmt.Errorf("model export: %w", err)
			}
			out := args[0]
			labels := filepath.Join(filepath.Dir(out), "labels.txt")
			if err := atomicfile.WriteFile(out, data, 0o644); err != nil {
				return fmt.Errorf("model export: %w", err)
			}
			if err := atomicfile.WriteFile(labels, store.LabelsText(v.Labels), 0o644); err != nil {
				return fmt.Errorf("model export: %w", err)
			}
			fmt.Fprintf(d.stdout, "exported %s to %s (%d bytes) and %s\n", v.Name, out, len(data), labels)
			return nil
		},
	}
	cmd.Flags().StringVar(&version, "version", "", "version to export (default: current)")
	return cmd
}

// importModel finds the model of a Teachable Machine export: arg itself,
// or model_unquant.tflite or model.tflite in the folder arg.
func importModel(arg string) (string, error) {
	fi, err := os.Stat(arg)
	if err != nil {
		return "", err
	}
	if !fi.IsDir() {
		return arg, nil
	}
	for _, name := range []string{"model_unquant.tflite", "model.tflite"} {
		if _, err := os.Stat(filepath.Join(arg, name)); err == nil {
			return filepath.Join(arg, name), nil
		}
	}
	return "", fmt.Errorf("%s: no model_unquant.tflite or model.tflite", arg)
}

func newModelImportCmd(d *deps) *cobra.Command {
	var labelsFlag string
	cmd := &cobra.Command{
		Use:   "import DIR|MODEL.tflite",
		Short: "Make a Teachable Machine TFLite export (model + labels.txt) the current model",
		Long: "Import a Teachable Machine TFLite export: DIR holding model_unquant.tflite or model.tflite\n" +
			"and labels.txt, or a .tflite with --labels (default: labels.txt beside it; without one the\n" +
			"classes are numbered). It becomes the current model, run as is; `alphad train` then starts\n" +
			"from its backbone, cut at the global pool. Models that are not image classifiers are refused.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			modelPath, err := importModel(args[0])
			if err != nil {
				return fmt.Errorf("model import: %w", err)
			}
			c, err := store.ReadClassifier(modelPath, labelsFlag)
			if err != nil {
				return fmt.Errorf("model import: %w", err)
			}
			if rc, err := d.remote(); err != nil {
				return fmt.Errorf("model import: %w", err)
			} else if rc != nil {
				return remoteImport(cmd.Context(), d, rc, c)
			}
			newEngine, opts, err := learningEngine("auto", 1, d.log)
			if err != nil {
				return err
			}
			m, err := c.Load(newEngine, opts) // refuses ops the engines lack
			if err != nil {
				return fmt.Errorf("model import: %w", err)
			}
			m.Close()
			state, err := d.openState()
			if err != nil {
				return fmt.Errorf("model import: %w", err)
			}
			defer state.Close()
			v, err := state.Models().Import(c)
			if err != nil {
				return fmt.Errorf("model import: %w", err)
			}
			numbered := ""
			if c.LabelsPath == "" {
				numbered = ", numbered: no labels file"
			}
			fmt.Fprintf(d.stdout, "imported %s as %s (%d classes%s), now current\n", modelPath, v.Name, len(c.Labels), numbered)
			return nil
		},
	}
	cmd.Flags().StringVar(&labelsFlag, "labels", "", "labels.txt (default: beside the model)")
	return cmd
}

func newModelActivateCmd(d *deps) *cobra.Command {
	return &cobra.Command{
		Use:   "activate VERSION",
		Short: "Make VERSION the current model (through the running daemon when there is one)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if c, err := d.remote(); err != nil {
				return fmt.Errorf("model activate: %w", err)
			} else if c != nil {
				return remoteSimple(cmd.Context(), d, c, "model activate", control.Activate, map[string]any{"version": args[0]})
			}
			state, err := d.openState()
			if err != nil {
				return fmt.Errorf("model activate: %w", err)
			}
			defer state.Close()
			name, err := state.Models().Rollback(args[0])
			if err != nil {
				return fmt.Errorf("model activate: %w", err)
			}
			fmt.Fprintf(d.stdout, "current model: %s\n", name)
			return nil
		},
	}
}
