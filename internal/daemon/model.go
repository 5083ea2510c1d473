package daemon

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/alphad/alphad/internal/control"
	"github.com/alphad/alphad/pipeline/engine"
	"github.com/alphad/alphad/pipeline/head"
	"github.com/alphad/alphad/pipeline/labels"
	"github.com/alphad/alphad/pipeline/store"
	"github.com/alphad/alphad/pipeline/tflite"
)

func (d *Daemon) engineOptions() engine.Options {
	return engine.Options{Threads: d.cfg.Model.Threads}
}

// loadStartModel loads model.path, else the state directory's current
// version; (nil, "", nil) when there is none.
func (d *Daemon) loadStartModel() (*head.Model, string, error) {
	if p := d.cfg.Model.Path; p != "" {
		m, err := loadFileModel(p, d.cfg.Model.Labels, d.opts.Engine, d.engineOptions())
		if err != nil {
			return nil, "", err
		}
		d.log.Info("model loaded", "file", p, "classes", len(m.Labels))
		return m, p, nil
	}
	m, err := d.models.Load("", d.opts.Engine, d.engineOptions())
	if errors.Is(err, store.ErrNoModel) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("daemon: load current model of %s: %w", d.opts.StateDir, err)
	}
	d.log.Info("model loaded", "version", m.Version, "classes", len(m.Labels))
	return m, "", nil
}

// loadFileModel loads a plain .tflite classifier and its labels (the
// labels file, else labels.txt beside the model, else class numbers).
func loadFileModel(path, labelsPath string, newEngine engine.New, opts engine.Options) (*head.Model, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("daemon: model: %w", err)
	}
	tm, err := tflite.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("daemon: model %s: %w", path, err)
	}
	if len(tm.Outputs) != 1 {
		return nil, fmt.Errorf("daemon: model %s: %d outputs, want 1 (a classifier)", path, len(tm.Outputs))
	}
	n := tm.Output(0).NumElements()
	var names []string
	if labelsPath == "" {
		if p := filepath.Join(filepath.Dir(path), "labels.txt"); fileExists(p) {
			labelsPath = p
		}
	}
	if labelsPath != "" {
		if names, err = labels.ReadFile(labelsPath); err != nil {
			return nil, fmt.Errorf("daemon: model %s: %w", path, err)
		}
		if len(names) != n {
			return nil, fmt.Errorf("daemon: model %s has %d outputs but %s has %d labels", path, n, labelsPath, len(names))
		}
	} else {
		for i := range n {
			names = append(names, strconv.Itoa(i))
		}
	}
	bb, err := head.NewBackbone(tm, store.HashBytes(data), newEngine, opts)
	if err != nil {
		return nil, fmt.Errorf("daemon: model %s: %w", path, err)
	}
	return &head.Model{Version: "file:" + filepath.Base(path), Labels: names, Backbone: bb}, nil
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// backbone returns the .tflite training starts from (see FindBackbone).
func (d *Daemon) backbone() ([]byte, string, error) {
	return FindBackbone(d.models, d.opts.StateDir, d.cfg.Model.Backbone, d.cfg.Model.Path)
}

// FindBackbone returns the .tflite that training starts from and where it
// came from: the current version's backbone, else the pulled backbone
// (name, or any under models/backbones), else modelPath. Full classifiers
// are cut at their global pool by the trainer. With none, the error says
// how to get one.
func FindBackbone(models *store.Models, stateDir, name, modelPath string) ([]byte, string, error) {
	if cur, err := models.CurrentName(); err == nil {
		v, err := models.Version(cur)
		if err != nil {
			return nil, "", err
		}
		data, err := models.ReadBackbone(v.Backbone)
		if err != nil {
			return nil, "", err
		}
		return data, v.Backbone.Source, nil
	}
	candidates := []string{BackbonePath(stateDir, name)}
	others, _ := filepath.Glob(filepath.Join(stateDir, "models", "backbones", "*.tflite"))
	slices.Sort(others)
	candidates = append(candidates, others...)
	if modelPath != "" {
		candidates = append(candidates, modelPath)
	}
	for _, p := range candidates {
		if fileExists(p) {
			data, err := os.ReadFile(p)
			if err != nil {
				return nil, "", fmt.Errorf("daemon: backbone: %w", err)
			}
			return data, p, nil
		}
	}
	return nil, "", fmt.Errorf("daemon: %w in %s.\n"+
		"  Get the default backbone (MobileNetV2, 3.4 MB) with:   alphad model pull\n"+
		"  or offline from a copy:                                alphad model pull --mirror /path/to/mobilenet_v2_1.0_224_quant.tgz\n"+
		"  or use a Teachable Machine export as the model:        alphad model import DIR\n"+
		"  (or set model.path in the configuration)", ErrNoBackbone, stateDir)
}

// swapModel loads version name ("" = current) and puts it in use.
func (d *Daemon) swapModel(name string) (*head.Model, error) {
	m, err := d.models.Load(name, d.opts.Engine, d.engineOptions())
	if err != nil {
		return nil, err
	}
	wasFile := d.model.info.Load().fromFile
	if old := d.model.set(m, "", d.versionValAcc(m, "")); old != nil {
		old.Close()
	}
	if wasFile != "" {
		d.log.Warn("model.path is set: the daemon uses it again after a restart; clear it to keep the state directory's model", "model_path", wasFile)
	}
	d.log.Info("model in use", "version", m.Version, "classes", len(m.Labels))
	d.out.emit(control.ModelChanged{Version: m.Version, Classes: slices.Clone(m.Labels)})
	d.publishClasses()
	return m, nil
}

// versionValAcc is the validation accuracy of a state-directory model,
// NaN if unknown (or m is nil or came from a file).
func (d *Daemon) versionValAcc(m *head.Model, fromFile string) float64 {
	if m == nil || fromFile != "" {
		return nan
	}
	v, err := d.models.Version(m.Version)
	if err != nil || v.Report == nil || v.Report.On != "validation" {
		return nan
	}
	return v.Report.Final.Accuracy
}
