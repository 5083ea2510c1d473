package daemon

import (
	"errors"
	"fmt"

	"github.com/alphad/alphad/pipeline/engine"
	"github.com/alphad/alphad/pipeline/head"
	"github.com/alphad/alphad/pipeline/store"
)

// DefaultBackbone is the backbone a fresh device trains from.
const DefaultBackbone = store.DefaultBackbone

// validBackboneName checks model.backbone (see store.ValidBackboneName).
func validBackboneName(name string) error { return store.ValidBackboneName(name) }

func (d *Daemon) engineOptions() engine.Options {
	return engine.Options{Threads: d.cfg.Model.Threads}
}

// loadStartModel loads model.path, else the state directory's current
// version; (nil, "", nil) when there is none.
func (d *Daemon) loadStartModel() (*head.Model, string, error) {
	if p := d.cfg.Model.Path; p != "" {
		m, err := store.LoadClassifier(p, d.cfg.Model.Labels, d.opts.Engine, d.engineOptions())
		if err != nil {
			return nil, "", fmt.Errorf("daemon: model.path: %w", err)
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

// backbone returns the .tflite training starts from (see
// store.Models.FindBackbone).
func (d *Daemon) backbone() ([]byte, string, error) {
	return d.models.FindBackbone(d.cfg.Model.Backbone, d.cfg.Model.Path)
}

// swapModel loads version name ("" = current) and puts it in use.
func (d *Daemon) swapModel(name string) (*head.Model, error) {
	m, err := d.models.Load(name, d.opts.Engine, d.engineOptions())
	if err != nil {
		return nil, err
	}
	if old := d.clf.Swap(m); old != nil {
		old.Close()
	}
	d.mu.Lock()
	wasFile := d.fromFile
	d.fromFile = ""
	d.valAcc = d.versionValAcc(m.Version)
	d.mu.Unlock()
	if wasFile != "" {
		d.log.Warn("model.path is set: the daemon uses it again after a restart; clear it to keep the state directory's model", "model_path", wasFile)
	}
	d.log.Info("model in use", "version", m.Version, "classes", len(m.Labels))
	d.publishClasses()
	return m, nil
}

// versionValAcc is the validation accuracy of a version, NaN if unknown.
func (d *Daemon) versionValAcc(name string) float64 {
	v, err := d.models.Version(name)
	if err != nil || v.Report == nil || v.Report.On != "validation" {
		return nan
	}
	return v.Report.Final.Accuracy
}
