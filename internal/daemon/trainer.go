package daemon

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/alphad/alphad/device/panel"
	"github.com/alphad/alphad/internal/control"
	"github.com/alphad/alphad/pipeline/head"
	"github.com/alphad/alphad/pipeline/store"
)

// Errors for training commands that cannot run now.
var (
	ErrTrainingBusy = errors.New("training already running")
	ErrStopping     = errors.New("daemon is stopping")
	ErrNotRunning   = errors.New("daemon not running")
	ErrNotTraining  = errors.New("no training running")
)

// trainer owns the training run: at most one at a time, none once the
// daemon began to stop, each cancellable.
type trainer struct {
	mu       sync.Mutex
	base     context.Context // the daemon's run; nil before Run
	stopping bool
	running  bool
	cancel   context.CancelFunc
	done     chan struct{} // closed when the current run ended
	onIdle   func()        // called after a run, once it no longer counts as busy
}

func newTrainer() *trainer {
	t := &trainer{done: make(chan struct{})}
	close(t.done)
	return t
}

// begin lets runs start, under ctx.
func (t *trainer) begin(ctx context.Context) {
	t.mu.Lock()
	t.base = ctx
	t.mu.Unlock()
}

// start runs fn in the background unless a run is going on or the daemon
// is stopping. It returns a channel closed when fn returned.
func (t *trainer) start(fn func(ctx context.Context)) (<-chan struct{}, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.stopping:
		return nil, ErrStopping
	case t.base == nil:
		return nil, ErrNotRunning
	case t.running:
		return nil, ErrTrainingBusy
	}
	ctx, cancel := context.WithCancel(t.base)
	done := make(chan struct{})
	t.running, t.cancel, t.done = true, cancel, done
	go func() {
		defer close(done)
		defer cancel()
		fn(ctx)
		t.mu.Lock()
		t.running = false
		t.mu.Unlock()
		if t.onIdle != nil {
			t.onIdle()
		}
	}()
	return done, nil
}

// busy reports whether a run is going on.
func (t *trainer) busy() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.running
}

// cancelRun cancels the run in progress.
func (t *trainer) cancelRun() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.running {
		return ErrNotTraining
	}
	t.cancel()
	return nil
}

// stop refuses new runs, cancels the current one and returns a channel
// closed when it ended.
func (t *trainer) stop() <-chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stopping = true
	if t.running {
		t.cancel()
	}
	return t.done
}

// prepareTraining checks the dataset and the options and returns the
// training run: embed, train, commit, swap the new version in. Inference
// goes on with the old model until then.
func (d *Daemon) prepareTraining(p control.TrainParams) (func(ctx context.Context, progress func(control.Event)) control.TrainingResult, error) {
	if _, err := store.CheckDataset(d.st); err != nil {
		return nil, err
	}
	for _, c := range store.EmptyClasses(d.st) {
		d.log.Warn("training skips a class without samples", "class", c)
	}
	data, src, err := d.backbone()
	if err != nil {
		return nil, err
	}
	cfg := d.cfg.Training.HeadConfig()
	if p.Epochs > 0 {
		cfg.Epochs = p.Epochs
	}
	if p.BatchSize > 0 {
		cfg.BatchSize = p.BatchSize
	}
	if p.LearningRate > 0 {
		cfg.LearningRate = p.LearningRate
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return func(ctx context.Context, progress func(control.Event)) control.TrainingResult {
		return d.train(ctx, data, src, cfg, progress)
	}, nil
}

// train runs one training and reports its result to the outputs (and
// progress to progress, when set).
func (d *Daemon) train(ctx context.Context, backbone []byte, src string, cfg head.Config, progress func(control.Event)) control.TrainingResult {
	views, _ := store.Augmentation(d.cfg.Training.Augmentation) // validated
	start := time.Now()
	d.m.trainRuns.Inc()
	counts := d.st.Counts()
	d.log.Info("training started", "backbone", src, "epochs", cfg.Epochs, "samples", counts)
	report := func(e control.Event) {
		d.out.emit(e)
		if progress != nil {
			progress(e)
		}
	}
	track := store.NewTracker(cfg.Refit)
	onProgress := func(p store.Progress) {
		f, ok := track.Update(p)
		if !ok {
			return
		}
		ev := control.TrainingProgress{Phase: p.Phase, Percent: 100 * f, Head: track.Head(p), ValidationAccuracy: nan}
		if e := p.Epoch; p.Phase == "train" && e != nil {
			ev.Epoch, ev.Epochs, ev.Loss, ev.Accuracy = e.Epoch, e.Epochs, e.TrainLoss, e.TrainAccuracy
			if e.HasVal {
				ev.ValidationAccuracy = e.ValAccuracy
			}
		}
		report(ev)
	}
	v, skipped, err := store.Train(ctx, d.state, store.TrainOptions{
		Backbone: backbone, BackboneSource: src, NewEngine: d.opts.Engine, Engine: d.trainEngineOptions(),
		Config: cfg, Views: views, Keep: d.cfg.Training.KeepVersions, Progress: onProgress,
	})
	for _, s := range skipped {
		d.log.Warn("training skipped a sample", "id", s.ID, "err", s.Err)
	}
	if err == nil {
		if ctx.Err() != nil {
			err = ctx.Err() // stopping: the new version is current and used after a restart
		} else {
			_, err = d.swapModel(v.Name)
		}
	}
	res := control.TrainingResult{OK: err == nil, Duration: time.Since(start), SamplesPerClass: counts, ValidationAccuracy: nan}
	if err != nil {
		if ctx.Err() != nil {
			d.log.Info("training cancelled")
			res.Cancelled, res.Error = true, "cancelled"
			report(res)
			return res
		}
		d.m.trainFailures.Inc()
		d.log.Error("training failed", "err", err)
		res.Error = err.Error()
		d.flash(panel.Error)
	} else {
		report(control.TrainingProgress{Phase: "done", Percent: 100, ValidationAccuracy: nan})
		res.ModelVersion = v.Name
		res.ClassAccuracy = v.ClassAccuracy()
		if t := v.Training; t != nil {
			res.EmbedDuration = time.Duration(t.EmbedSeconds * float64(time.Second))
			res.TrainDuration = time.Duration(t.TrainSeconds * float64(time.Second))
			if p := t.Phases; p != nil {
				res.PhaseSeconds = map[string]float64{"embed": p.Embed.Wall, "heads": p.Heads.Wall,
					"refit": p.Refit.Wall, "calibrate": p.Calibrate.Wall}
			}
		}
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
	report(res)
	return res
}
