package main

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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
			name, err := state.Models().Rollback(versionArg(state.Models(), to))
			if err != nil {
				return fmt.Errorf("model rollback: %w", versionHelp(state.Models(), to, err))
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
			data, v, err := models.Standalone(versionArg(models, version))
			if err != nil {
				return fmt.Errorf("model export: %w", versionHelp(models, version, err))
			}
			out := args[0]
			if fi, err := os.Stat(filepath.Dir(out)); err != nil || !fi.IsDir() {
				return fmt.Errorf("model export: the directory %s does not exist (create it first: mkdir -p %s)", filepath.Dir(out), filepath.Dir(out))
			}
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

// versionArg turns a bare number ("2") into the version it numbers
// ("v000002") when that version exists; other names pass unchanged.
func versionArg(models *store.Models, arg string) string {
	if arg == "" || strings.Trim(arg, "0123456789") != "" {
		return arg
	}
	n, err := strconv.Atoi(arg)
	if err != nil {
		return arg
	}
	list, _, err := models.List()
	if err != nil {
		return arg
	}
	for _, v := range list {
		if v.Name == fmt.Sprintf("v%06d", n) {
			return v.Name
		}
	}
	return arg
}

// versionHelp adds the existing versions to a "no such version" error.
func versionHelp(models *store.Models, arg string, err error) error {
	if !errors.Is(err, store.ErrNoSuchVersion) {
		return err
	}
	list, cur, lerr := models.List()
	if lerr != nil || len(list) == 0 {
		return fmt.Errorf("%w: there are no model versions yet (alphad train, or alphad model import DIR)", err)
	}
	var names []string
	for _, v := range list {
		n := v.Name
		if n == cur {
			n += " (current)"
		}
		names = append(names, n)
	}
	return fmt.Errorf("no model version %q; the versions are %s (alphad model ls shows them)", arg, strings.Join(names, ", "))
}

// errTFJS and errKeras name Teachable Machine exports alphad cannot run,
// with what to do instead.
const (
	tfjsHint  = "this is a TF.js export (model.json + weights.bin): in Teachable Machine choose Export Model → Tensorflow Lite → Floating point, download, and import that zip or folder"
	kerasHint = "this is a Keras export (.h5): in Teachable Machine choose Export Model → Tensorflow Lite → Floating point, download, and import that zip or folder"
)

// importModel finds the model of a Teachable Machine export: arg itself,
// model_unquant.tflite or model.tflite in the folder arg, or in the zip
// arg (Teachable Machine's download, unpacked into tmp). TF.js and Keras
// exports are refused with what to do.
func importModel(arg, tmp string) (string, error) {
	fi, err := os.Stat(arg)
	if err != nil {
		return "", err
	}
	if !fi.IsDir() {
		if strings.HasSuffix(strings.ToLower(arg), ".zip") || isZip(arg) {
			return importZip(arg, tmp)
		}
		if strings.HasSuffix(strings.ToLower(arg), ".h5") {
			return "", fmt.Errorf("%s: %s", arg, kerasHint)
		}
		if filepath.Base(arg) == "model.json" {
			return "", fmt.Errorf("%s: %s", arg, tfjsHint)
		}
		return arg, nil
	}
	for _, name := range []string{"model_unquant.tflite", "model.tflite"} {
		if _, err := os.Stat(filepath.Join(arg, name)); err == nil {
			return filepath.Join(arg, name), nil
		}
	}
	if _, err := os.Stat(filepath.Join(arg, "model.json")); err == nil {
		return "", fmt.Errorf("%s: %s", arg, tfjsHint)
	}
	if _, err := os.Stat(filepath.Join(arg, "keras_model.h5")); err == nil {
		return "", fmt.Errorf("%s: %s", arg, kerasHint)
	}
	return "", fmt.Errorf("%s: no model_unquant.tflite or model.tflite (a Teachable Machine Tensorflow Lite export)", arg)
}

func isZip(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	magic := make([]byte, 4)
	_, err = io.ReadFull(f, magic)
	return err == nil && string(magic) == "PK\x03\x04"
}

// importZip unpacks a Teachable Machine Tensorflow Lite zip (its .tflite
// and labels.txt) into tmp and returns the model's path there.
func importZip(path, tmp string) (string, error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	defer zr.Close()
	var model, labelsFile *zip.File
	var names []string
	for _, f := range zr.File {
		base := filepath.Base(f.Name)
		names = append(names, base)
		switch {
		case base == "model.json" || strings.HasSuffix(base, ".bin") && strings.Contains(base, "weights"):
			return "", fmt.Errorf("%s: %s", path, tfjsHint)
		case strings.HasSuffix(base, ".h5"):
			return "", fmt.Errorf("%s: %s", path, kerasHint)
		case base == "model_unquant.tflite" || base == "model.tflite" && (model == nil || filepath.Base(model.Name) != "model_unquant.tflite"):
			model = f
		case base == "labels.txt":
			labelsFile = f
		}
	}
	if model == nil {
		return "", fmt.Errorf("%s: no model_unquant.tflite or model.tflite in the zip (it holds %s)", path, strings.Join(names, ", "))
	}
	for _, f := range []*zip.File{model, labelsFile} {
		if f == nil {
			continue
		}
		if f.UncompressedSize64 > 256<<20 {
			return "", fmt.Errorf("%s: %s is larger than 256 MB", path, f.Name)
		}
		r, err := f.Open()
		if err != nil {
			return "", fmt.Errorf("%s: %s: %w", path, f.Name, err)
		}
		data, err := io.ReadAll(io.LimitReader(r, 256<<20))
		r.Close()
		if err != nil {
			return "", fmt.Errorf("%s: %s: %w", path, f.Name, err)
		}
		if err := os.WriteFile(filepath.Join(tmp, filepath.Base(f.Name)), data, 0o600); err != nil {
			return "", fmt.Errorf("%s: %w", path, err)
		}
	}
	return filepath.Join(tmp, filepath.Base(model.Name)), nil
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
			tmp, err := os.MkdirTemp("", "alphad-import-")
			if err != nil {
				return fmt.Errorf("model import: %w", err)
			}
			defer os.RemoveAll(tmp)
			modelPath, err := importModel(args[0], tmp)
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
			fmt.Fprintf(d.stdout, "imported %s as %s (%d classes%s), now current\n", args[0], v.Name, len(c.Labels), numbered)
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
			name, err := state.Models().Rollback(versionArg(state.Models(), args[0]))
			if err != nil {
				return fmt.Errorf("model activate: %w", versionHelp(state.Models(), args[0], err))
			}
			fmt.Fprintf(d.stdout, "current model: %s\n", name)
			return nil
		},
	}
}
