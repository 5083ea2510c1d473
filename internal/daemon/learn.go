package daemon

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/alphad/alphad/device"
	"github.com/alphad/alphad/device/panel"
	"github.com/alphad/alphad/mqtt"
	"github.com/alphad/alphad/pipeline/head"
	"github.com/alphad/alphad/pipeline/store"
)

// burst is one recording: a held button, a press (one sample) or an MQTT
// capture command. The frame loop saves a sample whenever one is due.
type burst struct {
	label    string
	id       int64
	max      int
	interval time.Duration // 0: every frame
	until    time.Time
	next     time.Time
	queued   int
	source   string
}

// sample is a recorded frame on its way to the store.
type sample struct {
	burst *burst
	ns    store.NewSample
}

// Errors for commands that cannot run now.
var (
	ErrTrainingBusy = errors.New("training already running")
	ErrNoClass      = errors.New("no class selected (send teach or give a label)")
)

// startBurst starts recording samples of label; a burst in progress ends.
func (d *Daemon) startBurst(label string, count int, interval time.Duration, source string) (*burst, error) {
	if err := mqtt.ValidLabel(label); err != nil {
		return nil, fmt.Errorf("record %q: %w", label, err)
	}
	now := time.Now()
	b := &burst{label: label, id: d.st.NextBurst(), max: count, interval: interval,
		until: now.Add(d.cfg.Recording.MaxTime), next: now, source: source}
	d.mu.Lock()
	old := d.rec
	d.rec = b
	d.mu.Unlock()
	if old != nil {
		d.log.Info("recording ended", "label", old.label, "samples", old.queued, "burst", old.id)
	}
	if count > 1 {
		d.log.Info("recording", "label", label, "burst", b.id, "max", count, "source", source)
	}
	d.showLED()
	return b, nil
}

// stopBurst ends the burst in progress, if any.
func (d *Daemon) stopBurst() {
	d.mu.Lock()
	b := d.rec
	d.rec = nil
	d.mu.Unlock()
	if b != nil {
		d.log.Info("recording ended", "label", b.label, "samples", b.queued, "burst", b.id)
		d.showLED()
	}
}

// recordDue reports whether the frame loop should save this frame.
func (d *Daemon) recordDue(now time.Time) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.rec != nil && !now.Before(d.rec.next)
}

// recordFrame queues the frame as a sample of the burst in progress.
func (d *Daemon) recordFrame(fl *frameLoop, f *device.Frame) {
	now := time.Now()
	d.mu.Lock()
	b := d.rec
	if b == nil {
		d.mu.Unlock()
		return
	}
	b.queued++
	b.next = now.Add(b.interval)
	done := b.queued >= b.max || !now.Before(b.until)
	if done {
		d.rec = nil
	}
	d.mu.Unlock()
	img, err := d.sampleImage(fl, f)
	if err != nil {
		d.log.Warn("record sample", "frame", f.Seq, "err", err)
	} else {
		select {
		case d.saveQueue <- sample{burst: b, ns: store.NewSample{Label: b.label, Image: img, Source: b.source, Time: f.Time}}:
		default:
			d.m.samplesDropped.Inc()
		}
	}
	if done {
		if b.max > 1 {
			d.log.Info("recording ended", "label", b.label, "samples", b.queued, "burst", b.id)
		}
		d.showLED()
	}
}

// saver stores recorded samples (PNG encoding and fsync stay off the
// frame loop). On shutdown it stores what is queued.
func (d *Daemon) saver(ctx context.Context) error {
	for {
		select {
		case s := <-d.saveQueue:
			d.save(s)
		case <-ctx.Done():
			for {
				select {
				case s := <-d.saveQueue:
					d.save(s)
				default:
					return nil
				}
			}
		}
	}
}

func (d *Daemon) save(s sample) {
	if _, err := d.st.Add(s.burst.id, []store.NewSample{s.ns}); err != nil {
		d.log.Error("save sample", "label", s.ns.Label, "err", err)
		d.m.samplesDropped.Inc()
		return
	}
	d.m.samplesSaved.Inc()
	d.refreshCounts()
}

func (d *Daemon) refreshCounts() {
	counts := d.st.Counts()
	d.mu.Lock()
	newClass := len(counts) != len(d.counts)
	d.counts = counts
	d.mu.Unlock()
	d.refreshClassMetrics()
	if newClass && d.clf.Model() == nil {
		d.publishClasses()
	}
}

func (d *Daemon) refreshClassMetrics() {
	d.mu.Lock()
	counts := make(map[string]int, len(d.counts))
	for k, v := range d.counts {
		counts[k] = v
	}
	d.mu.Unlock()
	d.m.samples.Reset()
	for c, n := range counts {
		d.m.samples.Set(c, float64(n))
	}
}

// trainOverrides are the training settings an MQTT command may change
// (zero: the configuration's).
type trainOverrides struct {
	Epochs, BatchSize int
	LearningRate      float64
}

// startTraining checks the dataset and starts training in the
// background; inference goes on with the old model until the new one is
// swapped in.
func (d *Daemon) startTraining(o trainOverrides) error {
	if _, err := store.CheckDataset(d.st); err != nil {
		return err
	}
	data, src, err := d.backbone()
	if err != nil {
		return err
	}
	cfg := head.DefaultConfig()
	t := d.cfg.Training
	cfg.Epochs, cfg.BatchSize, cfg.LearningRate, cfg.Validation, cfg.Hidden = t.Epochs, t.BatchSize, t.LearningRate, t.Validation, t.Hidden
	if o.Epochs > 0 {
		cfg.Epochs = o.Epochs
	}
	if o.BatchSize > 0 {
		cfg.BatchSize = o.BatchSize
	}
	if o.LearningRate > 0 {
		cfg.LearningRate = o.LearningRate
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	d.mu.Lock()
	if d.training {
		d.mu.Unlock()
		return ErrTrainingBusy
	}
	ctx := d.trainCtx
	if ctx == nil {
		d.mu.Unlock()
		return errors.New("daemon not running")
	}
	d.training = true
	d.trainers.Add(1)
	d.mu.Unlock()
	d.showLED()
	go func() {
		defer d.trainers.Done()
		d.train(ctx, data, src, cfg)
	}()
	return nil
}

func (d *Daemon) train(ctx context.Context, backbone []byte, src string, cfg head.Config) {
	views, _ := store.Augmentation(d.cfg.Training.Augmentation) // validated
	start := time.Now()
	d.m.trainRuns.Inc()
	counts := d.st.Counts()
	d.log.Info("training started", "backbone", src, "epochs", cfg.Epochs, "samples", counts)
	progress := func(p store.Progress) {
		if p.Phase != "train" || p.Epoch == nil || d.mq == nil {
			return
		}
		e := p.Epoch
		val := nan
		if e.HasVal {
			val = e.ValAccuracy
		}
		d.mq.PublishTrainingProgress(mqtt.TrainingProgress{Epoch: e.Epoch, Epochs: e.Epochs, Loss: e.TrainLoss,
			Accuracy: e.TrainAccuracy, ValidationAccuracy: val})
	}
	v, skipped, err := store.Train(ctx, d.state, store.TrainOptions{
		Backbone: backbone, BackboneSource: src, NewEngine: d.opts.Engine, Engine: d.engineOptions(),
		Config: cfg, Views: views, Keep: d.cfg.Training.KeepVersions, Progress: progress,
	})
	for _, s := range skipped {
		d.log.Warn("training skipped a sample", "id", s.ID, "err", s.Err)
	}
	if err == nil {
		_, err = d.swapModel(v.Name)
	}
	d.mu.Lock()
	d.training = false
	d.mu.Unlock()
	res := mqtt.TrainingResult{OK: err == nil, Duration: time.Since(start), SamplesPerClass: counts, ValidationAccuracy: nan}
	if err != nil {
		if ctx.Err() != nil {
			d.log.Info("training cancelled")
			return
		}
		d.m.trainFailures.Inc()
		d.log.Error("training failed", "err", err)
		res.Error = err.Error()
		d.flash(panel.Error)
	} else {
		res.ModelVersion = v.Name
		if r := v.Report; r != nil {
			res.Epochs = len(r.Epochs)
			res.Accuracy = r.Final.Accuracy
			if r.On == "validation" {
				res.ValidationAccuracy = r.Final.Accuracy
			}
			if n := len(r.Epochs); n > 0 {
				res.Accuracy = r.Epochs[n-1].TrainAccuracy
			}
		}
		d.log.Info("training done", "version", v.Name, "took", res.Duration.Round(time.Millisecond),
			"validation_accuracy", res.ValidationAccuracy)
		d.flash(panel.Success)
	}
	d.showLED()
	if d.mq != nil {
		d.mq.PublishTrainingResult(res)
	}
	d.publishDiagnostics()
}

// undo removes the last recorded burst.
func (d *Daemon) undo() (int64, int, error) {
	d.stopBurst()
	id, n, err := d.st.UndoBurst()
	if err != nil {
		return 0, 0, err
	}
	d.refreshCounts()
	d.log.Info("undid burst", "burst", id, "samples", n)
	return id, n, nil
}

// rollback puts the previous (or a given) model version back in use.
func (d *Daemon) rollback(to string) (string, error) {
	name, err := d.models.Rollback(to)
	if err != nil {
		return "", err
	}
	if _, err := d.swapModel(name); err != nil {
		return "", err
	}
	d.publishDiagnostics()
	return name, nil
}

// HandleCommand implements mqtt.Handler: capture, train, undo, rollback,
// teach and threshold. Long work (training, recording) is started and
// the command answered at once.
func (d *Daemon) HandleCommand(ctx context.Context, cmd mqtt.Command) (mqtt.Result, error) {
	switch cmd.Name {
	case mqtt.CmdCapture:
		label := cmd.Label
		if label == "" {
			d.mu.Lock()
			label = d.teach
			d.mu.Unlock()
		}
		if label == "" {
			return mqtt.Result{}, ErrNoClass
		}
		count := max(cmd.Count, 1)
		b, err := d.startBurst(label, count, cmd.Interval, "mqtt")
		if err != nil {
			return mqtt.Result{}, err
		}
		return mqtt.Result{Message: fmt.Sprintf("recording %d sample(s) of %s", count, label),
			Details: map[string]any{"label": label, "count": count, "burst": b.id}}, nil
	case mqtt.CmdTrain:
		if err := d.startTraining(trainOverrides{Epochs: cmd.Epochs, BatchSize: cmd.BatchSize, LearningRate: cmd.LearningRate}); err != nil {
			return mqtt.Result{}, err
		}
		return mqtt.Result{Message: "training started"}, nil
	case mqtt.CmdUndo:
		id, n, err := d.undo()
		if err != nil {
			return mqtt.Result{}, err
		}
		return mqtt.Result{Message: fmt.Sprintf("removed %d sample(s)", n), Details: map[string]any{"burst": id, "samples": n}}, nil
	case mqtt.CmdRollback:
		name, err := d.rollback(cmd.Version)
		if err != nil {
			return mqtt.Result{}, err
		}
		return mqtt.Result{Message: "model " + name + " in use", Details: map[string]any{"model_version": name}}, nil
	case mqtt.CmdTeach:
		if !slices.Contains(d.st.Classes(), cmd.Label) {
			if err := d.st.AddClass(cmd.Label); err != nil {
				return mqtt.Result{}, err
			}
			d.refreshCounts()
		}
		d.mu.Lock()
		d.teach = cmd.Label
		d.mu.Unlock()
		d.publishSettings()
		return mqtt.Result{Message: "teaching " + cmd.Label}, nil
	case mqtt.CmdThreshold:
		d.setThreshold(cmd.Threshold)
		d.publishSettings()
		return mqtt.Result{Message: fmt.Sprintf("threshold %.2f", cmd.Threshold)}, nil
	}
	return mqtt.Result{}, fmt.Errorf("command %s: not supported", cmd.Name)
}

func (d *Daemon) setThreshold(t float64) {
	d.thresholdV.Store(math.Float64bits(t))
	d.threshold.Store(math.Float64bits(t) | thresholdPending)
}

// thresholdPending marks a threshold change for the frame loop (the sign
// bit: thresholds are never negative).
const thresholdPending = 1 << 63

// panelEvents acts on button gestures with the default mapping.
func (d *Daemon) panelEvents(ctx context.Context, events <-chan panel.Event) error {
	for {
		var e panel.Event
		var ok bool
		select {
		case <-ctx.Done():
			return nil
		case e, ok = <-events:
			if !ok {
				return nil
			}
		}
		var err error
		switch e.Intent() {
		case panel.Sample:
			_, err = d.startBurst(e.Action.Label, 1, 0, "button")
		case panel.RecordStart:
			_, err = d.startBurst(e.Action.Label, d.cfg.Recording.MaxBurst, d.recordInterval(), "button")
		case panel.RecordStop:
			d.stopBurst()
		case panel.Train:
			err = d.startTraining(trainOverrides{})
		case panel.Undo:
			_, _, err = d.undo()
		}
		if err != nil {
			d.log.Warn("button", "button", e.Button, "gesture", e.Gesture, "err", err)
			d.flash(panel.Error)
		}
	}
}

func (d *Daemon) recordInterval() time.Duration {
	return time.Duration(float64(time.Second) / d.cfg.Recording.Rate)
}

// showLED shows the steady pattern for the current state.
func (d *Daemon) showLED() {
	if d.opts.Panel == nil {
		return
	}
	d.mu.Lock()
	p := panel.Idle
	switch {
	case d.training:
		p = panel.Training
	case d.rec != nil:
		p = panel.Recording
	}
	d.mu.Unlock()
	d.opts.Panel.Show(p)
}

// flash plays a one-shot pattern (Success, Error).
func (d *Daemon) flash(p panel.Pattern) {
	if d.opts.Panel != nil {
		d.opts.Panel.Show(p)
	}
}
