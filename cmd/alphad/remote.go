package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/alphad/alphad/internal/control"
	"github.com/alphad/alphad/internal/stillimage"
	"github.com/alphad/alphad/pipeline/head"
	"github.com/alphad/alphad/pipeline/store"
)

// The CLI on a running device: when a daemon owns the state directory,
// commands that change it go through the daemon's command layer (its
// control socket), so that the daemon serves what they report.

// remote returns a client of the daemon that owns the state directory, or
// nil when none runs.
func (d *deps) remote() (*control.Client, error) {
	dir, err := d.resolveStateDir()
	if err != nil {
		return nil, err
	}
	c, err := control.Dial(dir)
	if errors.Is(err, control.ErrNoDaemon) {
		return nil, nil
	}
	return c, err
}

// call runs one command on the daemon and prints its message.
func (d *deps) call(ctx context.Context, c *control.Client, what, command string, args map[string]any) (control.Result, error) {
	res, err := c.Call(ctx, command, args, nil)
	if err != nil {
		return res, fmt.Errorf("%s (through the running daemon): %w", what, err)
	}
	return res, nil
}

// fileArgs reads files for a bulk command, each within the file size
// limit of package stillimage (the daemon decodes them under its limits).
func fileArgs(paths []string) ([]control.File, error) {
	var files []control.File
	for _, p := range paths {
		data, err := readOriginal(p, stillimage.DefaultMaxBytes)
		if err != nil {
			return nil, err
		}
		files = append(files, control.File{Name: p, Data: data})
	}
	return files, nil
}

// printRemoteAdded prints add_samples' per-sample lines like the local
// `dataset add` does.
func printRemoteAdded(d *deps, res control.Result, asked string) addCounts {
	var c addCounts
	list, _ := res.Details["samples"].([]any)
	for _, it := range list {
		m, _ := it.(map[string]any)
		verb, _ := m["status"].(string)
		burst, _ := m["burst"].(float64)
		label := fmt.Sprint(m["label"])
		switch {
		case verb == "added":
			c.added++
		case label != asked:
			c.elsewhere++
			fmt.Fprintf(d.stderr, "image already stored in class %s as %v, not added to %s (move it: alphad dataset mv %v %s)\n",
				label, m["id"], asked, m["id"], asked)
			continue
		default:
			c.present++
		}
		fmt.Fprintf(d.stdout, "%s %v %v burst %d\n", verb, m["id"], label, int64(burst))
	}
	return c
}

func remoteDatasetAdd(ctx context.Context, d *deps, c *control.Client, label string, paths []string) error {
	if len(paths) == 0 {
		res, err := d.call(ctx, c, "dataset add", control.CreateClass, map[string]any{"label": label})
		if err != nil {
			return err
		}
		fmt.Fprintln(d.stdout, res.Message)
		return nil
	}
	files, err := fileArgs(paths)
	if err != nil {
		return fmt.Errorf("dataset add: %w", err)
	}
	res, err := d.call(ctx, c, "dataset add", control.AddSamples, map[string]any{"label": label, "files": files})
	if err != nil {
		return err
	}
	return printRemoteAdded(d, res, label).errElsewhere("dataset add")
}

// remoteDatasetImport sends DIR/<class>/* in chunks of 32 images.
func remoteDatasetImport(ctx context.Context, d *deps, c *control.Client, root string) error {
	ents, err := os.ReadDir(root)
	if err != nil {
		return fmt.Errorf("dataset import: %w", err)
	}
	var counts addCounts
	for _, e := range ents {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		dir := filepath.Join(root, e.Name())
		list, err := os.ReadDir(dir)
		if err != nil {
			return fmt.Errorf("dataset import: %w", err)
		}
		var paths []string
		for _, f := range list {
			if !f.IsDir() && !strings.HasPrefix(f.Name(), ".") {
				paths = append(paths, filepath.Join(dir, f.Name()))
			}
		}
		for len(paths) > 0 {
			n := min(len(paths), 32)
			files, err := fileArgs(paths[:n])
			if err != nil {
				return fmt.Errorf("dataset import: %w", err)
			}
			paths = paths[n:]
			res, err := d.call(ctx, c, "dataset import", control.AddSamples, map[string]any{"label": e.Name(), "files": files})
			if err != nil {
				return err
			}
			counts.plus(printRemoteAdded(d, res, e.Name()))
		}
	}
	if counts.added+counts.present+counts.elsewhere == 0 {
		return fmt.Errorf("dataset import %s: no images in class sub-folders", root)
	}
	fmt.Fprintf(d.stderr, "imported %s\n", counts.summary())
	return counts.errElsewhere("dataset import")
}

func remoteDatasetLs(ctx context.Context, d *deps, c *control.Client, all bool) ([]classJSON, []sampleJSON, error) {
	if all {
		res, err := d.call(ctx, c, "dataset ls", control.Samples, nil)
		if err != nil {
			return nil, nil, err
		}
		var out []sampleJSON
		list, _ := res.Details["samples"].([]any)
		for _, it := range list {
			m, _ := it.(map[string]any)
			t, _ := time.Parse(time.RFC3339Nano, fmt.Sprint(m["time"]))
			burst, _ := m["burst"].(float64)
			id, _ := m["id"].(string)
			label, _ := m["label"].(string)
			source, _ := m["source"].(string)
			out = append(out, sampleJSON{ID: id, Label: label, Time: t, Burst: int64(burst), Source: source})
		}
		return nil, out, nil
	}
	res, err := d.call(ctx, c, "dataset ls", control.Status, nil)
	if err != nil {
		return nil, nil, err
	}
	counts, _ := res.Details["samples_per_class"].(map[string]any)
	classes, _ := res.Details["classes"].([]any)
	var out []classJSON
	for _, cl := range classes {
		n, _ := counts[fmt.Sprint(cl)].(float64)
		out = append(out, classJSON{Name: fmt.Sprint(cl), Samples: int(n)})
	}
	return out, nil, nil
}

func remoteSimple(ctx context.Context, d *deps, c *control.Client, what, command string, args map[string]any) error {
	res, err := d.call(ctx, c, what, command, args)
	if err != nil {
		return err
	}
	fmt.Fprintln(d.stdout, res.Message)
	return nil
}

func remoteTrain(ctx context.Context, d *deps, c *control.Client, args map[string]any, asJSON bool) error {
	args["wait"] = true
	bar := newProgress(d.stderr, "training")
	res, err := c.Call(ctx, control.Train, args, func(p control.ProgressLine) {
		detail := p.Phase
		if p.Epochs > 0 {
			detail = fmt.Sprintf("epoch %d/%d loss %.4f acc %.3f", p.Epoch, p.Epochs, p.Loss, p.Accuracy)
			if p.Head != "" {
				detail = "head " + p.Head + " " + detail
			}
		}
		bar.update(p.Percent/100, p.Phase+p.Head, detail)
	})
	bar.done()
	if err != nil {
		return fmt.Errorf("train (through the running daemon): %w", err)
	}
	if asJSON {
		return printJSON(d.stdout, res.Details)
	}
	fmt.Fprintln(d.stdout, res.Message)
	if acc, ok := res.Details["validation_accuracy"].(float64); ok {
		fmt.Fprintf(d.stdout, "validation accuracy %.1f %%\n", 100*acc)
	}
	return nil
}

// remoteImport sends a classifier read (and checked) here to the daemon.
func remoteImport(ctx context.Context, d *deps, c *control.Client, m *store.ClassifierFile) error {
	files := []control.File{{Name: filepath.Base(m.Path), Data: m.Data}, {Name: "labels.txt", Data: store.LabelsText(m.Labels)}}
	return remoteSimple(ctx, d, c, "model import", control.Import, map[string]any{"files": files, "source": m.Path})
}

// remoteTrainCmd trains through the daemon: epochs, batch size and
// learning rate are passed; the other options are the daemon's
// (training: in its configuration), and saying otherwise is an error.
func remoteTrainCmd(cmd *cobra.Command, d *deps, c *control.Client, cfg head.Config) error {
	var other []string
	cmd.LocalFlags().VisitAll(func(f *pflag.Flag) {
		switch {
		case !f.Changed, f.Name == "epochs", f.Name == "batch-size", f.Name == "learning-rate", f.Name == "json":
		default:
			other = append(other, "--"+f.Name)
		}
	})
	if len(other) > 0 {
		return &exitError{code: 2, err: fmt.Errorf("train: a daemon runs on this state directory and trains with its configured options; "+
			"%s cannot be passed to it (set them under training: in its configuration, or stop it)", strings.Join(other, ", "))}
	}
	args := map[string]any{}
	changed := cmd.Flags().Changed
	if changed("epochs") {
		args["epochs"] = cfg.Epochs
	}
	if changed("batch-size") {
		args["batch_size"] = cfg.BatchSize
	}
	if changed("learning-rate") {
		args["learning_rate"] = cfg.LearningRate
	}
	asJSON, _ := cmd.Flags().GetBool("json")
	return remoteTrain(cmd.Context(), d, c, args, asJSON)
}
