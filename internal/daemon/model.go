package daemon

import (
	"errors"
	"fmt"
	"runtime"
	"slices"

	"github.com/alphad/alphad/internal/control"
	"github.com/alphad/alphad/pipeline/engine"
	"github.com/alphad/alphad/pipeline/head"
	"github.com/alphad/alphad/pipeline/store"
)

func (d *Daemon) engineOptions() engine.Options {
	return engine.Options{Threads: d.cfg.Model.Threads}
}

// trainEngineOptions are the options of the engines training embeds
// with: training.threads of them, one per CPU by default.
func (d *Daemon) trainEngineOptions() engine.Options {
	t := d.cfg.Training.Threads
	if t <= 0 {
		t = runtime.NumCPU()
	}
	return engine.Options{Threads: t}
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

// swapModel loads version name ("" = current) and puts it in use. A
// version on the backbone in use (a new training, an adopted publication
// or a rollback on the same backbone) shares its engine: only a new head
// is loaded, and the backbone stays open.
func (d *Daemon) swapModel(name string) (*head.Model, error) {
	d.model.swapping.Lock()
	defer d.model.swapping.Unlock()
	m, err := d.models.LoadShared(name, d.model.clf.Model(), d.opts.Engine, d.engineOptions())
	if err != nil {
		return nil, err
	}
	wasFile := d.model.info.Load().fromFile
	if old := d.model.set(m, "", d.versionValAcc(m, "")); old != nil && old.Backbone != m.Backbone {
		old.Close()
	}
	d.setAccuracyMetric(m, "")
	if wasFile != "" {
		d.log.Warn("model.path is set: the daemon uses it again after a restart; clear it to keep the state directory's model", "model_path", wasFile)
	}
	d.log.Info("model in use", "version", m.Version, "classes", len(m.Labels))
	d.out.emit(control.ModelChanged{Version: m.Version, Classes: slices.Clone(m.Labels)})
	d.publishClasses()
	return m, nil
}

// setAccuracyMetric sets alphad_model_accuracy{class} from the version
// in use (cleared for a model without a validation report).
func (d *Daemon) setAccuracyMetric(m *head.Model, fromFile string) {
	d.m.modelAccuracy.Reset()
	if m == nil || fromFile != "" {
		return
	}
	v, err := d.models.Version(m.Version)
	if err != nil {
		return
	}
	for c, a := range v.ClassAccuracy() {
		d.m.modelAccuracy.Set(c, a)
	}
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
