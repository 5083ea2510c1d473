package daemon

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/alphad/alphad/device/panel"
	"github.com/alphad/alphad/internal/control"
	"github.com/alphad/alphad/internal/stillimage"
	"github.com/alphad/alphad/pipeline/labels"
	"github.com/alphad/alphad/pipeline/store"
)

// ErrNoClass means a capture had no class: none given and none selected.
var ErrNoClass = errors.New("no class selected (send teach or give a label)")

// handler runs one command; source names the transport ("mqtt",
// "button", "socket", "web") for logs and sample records.
type handler func(d *Daemon, ctx context.Context, cmd control.Command, source string) (control.Result, error)

// handlers is the one implementation of every command of control.Table.
var handlers = map[control.Name]handler{
	control.CreateClass:   (*Daemon).cmdCreateClass,
	control.RenameClass:   (*Daemon).cmdRenameClass,
	control.DeleteClass:   (*Daemon).cmdDeleteClass,
	control.Capture:       (*Daemon).cmdCapture,
	control.RecordStart:   (*Daemon).cmdRecordStart,
	control.RecordStop:    (*Daemon).cmdRecordStop,
	control.Teach:         (*Daemon).cmdSettings,
	control.AddSamples:    (*Daemon).cmdAddSamples,
	control.MoveSamples:   (*Daemon).cmdMoveSamples,
	control.DeleteSamples: (*Daemon).cmdDeleteSamples,
	control.Undo:          (*Daemon).cmdUndo,
	control.Train:         (*Daemon).cmdTrain,
	control.CancelTrain:   (*Daemon).cmdCancelTrain,
	control.Activate:      (*Daemon).cmdActivate,
	control.Rollback:      (*Daemon).cmdActivate,
	control.Import:        (*Daemon).cmdImport,
	control.Export:        (*Daemon).cmdExport,
	control.Threshold:     (*Daemon).cmdSettings,
	control.Set:           (*Daemon).cmdSettings,
	control.Status:        (*Daemon).cmdStatus,
	control.Samples:       (*Daemon).cmdSamples,
	control.LoginLink:     (*Daemon).cmdLoginLink,
	control.Review:        (*Daemon).cmdReview,
	control.ReviewFile:    (*Daemon).cmdReviewFile,
	control.ReviewDiscard: (*Daemon).cmdReviewDiscard,
	control.Publish:       (*Daemon).cmdPublish,
	control.Adopt:         (*Daemon).cmdAdopt,
}

// Do runs a command from any transport.
func (d *Daemon) Do(ctx context.Context, cmd control.Command, source string) (control.Result, error) {
	h, ok := handlers[cmd.Name]
	if !ok {
		return control.Result{}, fmt.Errorf("command %s: not supported", cmd.Name)
	}
	res, err := h(d, ctx, cmd, source)
	if err != nil {
		return control.Result{}, fmt.Errorf("%s: %w", cmd.Name, err)
	}
	return res, nil
}

// mqttHandler is the MQTT transport's view of the command layer.
type mqttHandler struct{ d *Daemon }

func (h mqttHandler) HandleCommand(ctx context.Context, cmd control.Command) (control.Result, error) {
	cmd.Wait = false // MQTT answers at once; results arrive on training/result
	return h.d.Do(ctx, cmd, "mqtt")
}

func msg(format string, args ...any) control.Result {
	return control.Result{Message: fmt.Sprintf(format, args...)}
}

func (d *Daemon) cmdCreateClass(_ context.Context, cmd control.Command, _ string) (control.Result, error) {
	if err := d.st.AddClass(cmd.Label); err != nil {
		return control.Result{}, err
	}
	d.samplesChanged()
	return msg("class %s created", cmd.Label), nil
}

func (d *Daemon) cmdRenameClass(_ context.Context, cmd control.Command, _ string) (control.Result, error) {
	if d.rec.active() == cmd.Label {
		d.stopRecording()
	}
	if err := d.st.RenameClass(cmd.Label, cmd.To); err != nil {
		return control.Result{}, err
	}
	d.settings.classesChanged(d.st.Classes(), cmd.Label, cmd.To)
	d.samplesChanged()
	d.out.emit(d.settings.event())
	return msg("class %s renamed to %s (train to use the new name)", cmd.Label, cmd.To), nil
}

func (d *Daemon) cmdDeleteClass(_ context.Context, cmd control.Command, _ string) (control.Result, error) {
	if d.rec.active() == cmd.Label {
		d.stopRecording()
	}
	n, err := d.st.DeleteClass(cmd.Label)
	if err != nil {
		return control.Result{}, err
	}
	d.settings.classDeleted(d.st.Classes(), cmd.Label)
	d.samplesChanged()
	d.out.emit(d.settings.event())
	return control.Result{Message: fmt.Sprintf("class %s deleted with %d sample(s)", cmd.Label, n),
		Details: map[string]any{"samples": n}}, nil
}

func (d *Daemon) cmdCapture(ctx context.Context, cmd control.Command, source string) (control.Result, error) {
	label := cmp.Or(cmd.Label, d.settings.teach())
	if label == "" {
		return control.Result{}, ErrNoClass
	}
	count := max(cmd.Count, 1)
	b, err := d.rec.start(label, count, cmd.Interval, source)
	if err != nil {
		return control.Result{}, err
	}
	d.showLED()
	if source == "button" { // the LED answers
		return msg("recording %d sample(s) of %s", count, label), nil
	}
	// Answer with what was stored: the samples are in the store when the
	// answer says so. Without frames (camera down) give up after the
	// time the burst needs plus a margin.
	limit := time.Duration(count)*max(cmd.Interval, time.Second) + captureMargin
	t := time.NewTimer(limit)
	defer t.Stop()
	select {
	case <-b.done:
	case <-t.C:
		d.stopRecording()
		<-b.done
	case <-ctx.Done():
		d.stopRecording()
		<-b.done
	}
	saved, dropped := d.rec.outcome(b)
	det := map[string]any{"label": label, "count": count, "burst": b.id, "stored": saved, "dropped": dropped,
		"existing": d.rec.existing(b)} // of stored: the same image was in the store already
	if saved < count {
		return control.Result{}, fmt.Errorf("stored %d of %d sample(s) of %s (burst %d): %s", saved, count, label, b.id, d.captureShortfall(dropped))
	}
	return control.Result{Message: fmt.Sprintf("stored %d sample(s) of %s", saved, label), Details: det}, nil
}

// captureMargin is how long a capture waits for frames beyond the time
// its samples take.
const captureMargin = 10 * time.Second

// captureShortfall says why a capture stored fewer samples than asked.
func (d *Daemon) captureShortfall(dropped int) string {
	if up, camErr := d.cam.get(); !up {
		return "no frames (camera: " + cmp.Or(camErr, "not streaming") + ")"
	}
	if dropped > 0 {
		return fmt.Sprintf("%d could not be stored (see the log)", dropped)
	}
	return "the recording was stopped or replaced"
}

func (d *Daemon) cmdRecordStart(_ context.Context, cmd control.Command, source string) (control.Result, error) {
	interval := time.Duration(float64(time.Second) / d.cfg.Recording.Rate)
	b, err := d.rec.start(cmd.Label, d.cfg.Recording.MaxBurst, interval, source)
	if err != nil {
		return control.Result{}, err
	}
	d.showLED()
	return control.Result{Message: "recording " + cmd.Label, Details: map[string]any{"label": cmd.Label, "burst": b.id}}, nil
}

func (d *Daemon) cmdRecordStop(context.Context, control.Command, string) (control.Result, error) {
	b := d.stopRecording()
	if b == nil {
		return msg("not recording"), nil
	}
	return control.Result{Message: fmt.Sprintf("recorded %d sample(s) of %s", b.queued, b.label),
		Details: map[string]any{"label": b.label, "samples": b.queued, "burst": b.id}}, nil
}

func (d *Daemon) stopRecording() *burst {
	b := d.rec.stop()
	if b != nil {
		d.showLED()
	}
	return b
}

// cmdSettings is teach, threshold and set: one implementation of the
// runtime settings.
func (d *Daemon) cmdSettings(_ context.Context, cmd control.Command, _ string) (control.Result, error) {
	teach := cmd.TeachSet
	if cmd.Name == control.Teach {
		teach = cmd.Label
	}
	// A new class is not created here but by its first sample: a typo
	// leaves no empty class behind (which training would skip anyway).
	fresh := teach != "" && !slices.Contains(d.st.Classes(), teach)
	_, s := d.settings.snapshot()
	var err error
	if cmd.Threshold != nil || cmd.Window > 0 || teach != "" {
		if s, err = d.settings.update(cmd.Threshold, cmd.Window, teach); err != nil {
			return control.Result{}, err
		}
	}
	camera := cmd.Crop != nil || cmd.Mirror != nil || cmd.Rotate != nil
	if camera {
		if s, err = d.settings.updateCamera(cmd.Crop, cmd.Mirror, cmd.Rotate); err != nil {
			return control.Result{}, err
		}
	}
	d.out.emit(s)
	var parts []string
	if camera {
		parts = append(parts, cameraText(s.Camera))
	}
	if teach != "" {
		parts = append(parts, "teaching "+teach)
	}
	if fresh {
		parts = append(parts, "a new class: created with its first sample")
	}
	if cmd.Threshold != nil {
		parts = append(parts, fmt.Sprintf("threshold %.2f", s.Threshold))
	}
	if cmd.Window > 0 {
		parts = append(parts, fmt.Sprintf("window %d", s.Window))
	}
	return control.Result{Message: strings.Join(parts, ", "),
		Details: map[string]any{"teach_class": s.TeachClass, "threshold": s.Threshold, "window": s.Window, "camera": cameraJSON(s.Camera)}}, nil
}

// sampleSize is the side of stored samples: MobileNet's input size.
const sampleSize = 224

func (d *Daemon) cmdAddSamples(_ context.Context, cmd control.Command, source string) (control.Result, error) {
	var samples []store.NewSample
	var bad []error
	// The limits every image path shares; only the sample size is needed.
	dec := stillimage.Decoder{Limits: d.cfg.Images.Limits(), Fit: sampleSize}
	for _, f := range cmd.Files {
		img, err := dec.Decode(f.Data)
		if err != nil {
			bad = append(bad, fmt.Errorf("%s: %w", f.Name, err))
			continue
		}
		samples = append(samples, store.NewSample{Label: cmd.Label, Image: store.CenterCrop(img, sampleSize),
			Original: f.Data, OriginalExt: strings.ToLower(filepath.Ext(f.Name)), Source: source + ":" + f.Name, Time: time.Now()})
	}
	if len(bad) > 0 {
		return control.Result{}, fmt.Errorf("nothing added, %d of %d images unreadable: %w", len(bad), len(cmd.Files), errors.Join(bad...))
	}
	burst := d.st.NextBurst()
	added, err := d.st.Add(burst, samples)
	if err != nil {
		return control.Result{}, err
	}
	d.samplesChanged()
	var list []map[string]any
	fresh := 0
	for _, s := range added {
		st := "added"
		if s.Burst != burst {
			st = "exists"
		} else {
			fresh++
		}
		list = append(list, map[string]any{"id": s.ID, "label": s.Label, "burst": s.Burst, "status": st})
	}
	return control.Result{Message: fmt.Sprintf("added %d sample(s) to %s (%d already stored)", fresh, cmd.Label, len(added)-fresh),
		Details: map[string]any{"burst": burst, "samples": list}}, nil
}

func (d *Daemon) cmdMoveSamples(_ context.Context, cmd control.Command, _ string) (control.Result, error) {
	if err := d.st.Move(cmd.To, cmd.IDs...); err != nil {
		return control.Result{}, err
	}
	d.samplesChanged()
	return msg("moved %d sample(s) to %s", len(cmd.IDs), cmd.To), nil
}

func (d *Daemon) cmdDeleteSamples(_ context.Context, cmd control.Command, _ string) (control.Result, error) {
	if err := d.st.Remove(cmd.IDs...); err != nil {
		return control.Result{}, err
	}
	d.samplesChanged()
	return msg("deleted %d sample(s)", len(cmd.IDs)), nil
}

func (d *Daemon) cmdUndo(context.Context, control.Command, string) (control.Result, error) {
	d.stopRecording()
	id, n, err := d.st.UndoBurst()
	if err != nil {
		return control.Result{}, err
	}
	d.samplesChanged()
	d.log.Info("undid burst", "burst", id, "samples", n)
	return control.Result{Message: fmt.Sprintf("removed %d sample(s)", n), Details: map[string]any{"burst": id, "samples": n}}, nil
}

func (d *Daemon) cmdTrain(ctx context.Context, cmd control.Command, source string) (control.Result, error) {
	run, err := d.prepareTraining(cmd.Train)
	if err != nil {
		return control.Result{}, err
	}
	var res control.TrainingResult
	done, err := d.trainer.start(func(tctx context.Context) { res = run(tctx, cmd.Progress) })
	if err != nil {
		return control.Result{}, err
	}
	d.log.Info("training requested", "source", source)
	d.showLED()
	if !cmd.Wait {
		return msg("training started"), nil
	}
	select {
	case <-done:
	case <-ctx.Done():
		return control.Result{}, fmt.Errorf("gave up waiting: %w (training goes on)", ctx.Err())
	}
	if !res.OK {
		if res.Cancelled {
			return control.Result{}, errors.New("training cancelled")
		}
		return control.Result{}, errors.New(res.Error)
	}
	return control.Result{Message: "model " + res.ModelVersion + " in use", Details: trainingDetails(res)}, nil
}

func trainingDetails(r control.TrainingResult) map[string]any {
	m := map[string]any{"model_version": r.ModelVersion, "epochs": r.Epochs, "accuracy": r.Accuracy,
		"duration_s": r.Duration.Seconds(), "samples_per_class": r.SamplesPerClass,
		"embed_s": r.EmbedDuration.Seconds(), "train_s": r.TrainDuration.Seconds()}
	if r.PhaseSeconds != nil {
		m["phases_s"] = r.PhaseSeconds
	}
	if r.ClassAccuracy != nil {
		m["class_accuracy"] = r.ClassAccuracy
	}
	if !math.IsNaN(r.ValidationAccuracy) {
		m["validation_accuracy"] = r.ValidationAccuracy
	}
	return m
}

func (d *Daemon) cmdCancelTrain(context.Context, control.Command, string) (control.Result, error) {
	if err := d.trainer.cancelRun(); err != nil {
		return control.Result{}, err
	}
	return msg("training cancelled"), nil
}

// cmdActivate is activate and rollback: put a version in use.
func (d *Daemon) cmdActivate(_ context.Context, cmd control.Command, _ string) (control.Result, error) {
	if cmd.Name == control.Activate && cmd.Version == "" {
		return control.Result{}, errors.New("field version: required")
	}
	name, err := d.models.Rollback(cmd.Version)
	if err != nil {
		return control.Result{}, err
	}
	if _, err := d.swapModel(name); err != nil {
		return control.Result{}, err
	}
	return control.Result{Message: "model " + name + " in use", Details: map[string]any{"model_version": name}}, nil
}

func (d *Daemon) cmdImport(_ context.Context, cmd control.Command, _ string) (control.Result, error) {
	var model, labelsText []byte
	var modelName string
	for _, f := range cmd.Files {
		switch {
		case strings.HasSuffix(strings.ToLower(f.Name), ".tflite"):
			model, modelName = f.Data, f.Name
		case filepath.Base(f.Name) == "labels.txt":
			labelsText = f.Data
		default:
			return control.Result{}, fmt.Errorf("file %s: want a .tflite model and labels.txt", f.Name)
		}
	}
	if model == nil || labelsText == nil {
		return control.Result{}, errors.New("files: want a .tflite model and labels.txt")
	}
	names, err := labels.Parse(labelsText)
	if err != nil {
		return control.Result{}, fmt.Errorf("labels.txt: %w", err)
	}
	source := cmp.Or(cmd.Source, modelName)
	c, err := store.NewClassifierFile(source, model, names)
	if err != nil {
		return control.Result{}, err
	}
	m, err := c.Load(d.opts.Engine, d.engineOptions()) // it runs here before it is stored
	if err != nil {
		return control.Result{}, err
	}
	m.Close()
	v, err := d.models.Import(c)
	if err != nil {
		return control.Result{}, err
	}
	if _, err := d.swapModel(v.Name); err != nil {
		return control.Result{}, err
	}
	return control.Result{Message: fmt.Sprintf("imported %s as %s (%d classes), in use", source, v.Name, len(names)),
		Details: map[string]any{"model_version": v.Name, "classes": names}}, nil
}

func (d *Daemon) cmdExport(_ context.Context, cmd control.Command, _ string) (control.Result, error) {
	data, v, err := d.models.Standalone(cmd.Version)
	if err != nil {
		return control.Result{}, err
	}
	return control.Result{Message: fmt.Sprintf("%s: %d bytes", v.Name, len(data)),
		Details: map[string]any{"model_version": v.Name, "labels": v.Labels}, Data: data}, nil
}

func (d *Daemon) cmdStatus(context.Context, control.Command, string) (control.Result, error) {
	_, s := d.settings.snapshot()
	up, camErr := d.cam.get()
	det := map[string]any{
		"classes": d.st.Classes(), "samples_per_class": d.st.Counts(), "training": d.trainer.busy(),
		"recording": d.rec.active(), "teach_class": s.TeachClass, "threshold": s.Threshold, "window": s.Window,
		"camera_up": up, "camera_error": camErr, "state_dir": d.opts.StateDir,
		"camera": cameraJSON(s.Camera), "review_items": d.state.Review().Len(),
	}
	version := ""
	if m := d.model.clf.Model(); m != nil {
		version = m.Version
		det["model_classes"] = m.Labels
	}
	det["model_version"] = version
	if f := d.fleetStatus(); f != nil {
		det["fleet"] = f
	}
	return control.Result{Message: d.status(-1), Details: det}, nil
}

func (d *Daemon) cmdSamples(_ context.Context, cmd control.Command, _ string) (control.Result, error) {
	var list []map[string]any
	for _, s := range d.st.Samples() {
		if cmd.Label != "" && s.Label != cmd.Label {
			continue
		}
		list = append(list, map[string]any{"id": s.ID, "label": s.Label, "time": s.Time, "source": s.Source, "burst": s.Burst})
	}
	return control.Result{Message: fmt.Sprintf("%d sample(s)", len(list)),
		Details: map[string]any{"classes": d.st.Classes(), "samples": list}}, nil
}

// samplesChanged refreshes the sample counts and tells the outputs.
func (d *Daemon) samplesChanged() {
	d.refreshClassMetrics()
	d.publishClasses()
}

// publishClasses tells the outputs the classes to show: the model's, or
// the recorded ones before there is a model; with the sample counts.
func (d *Daemon) publishClasses() {
	names := d.st.Classes()
	if m := d.model.clf.Model(); m != nil {
		names = slices.Clone(m.Labels)
	}
	d.out.emit(control.Classes{Names: names, Counts: d.st.Counts()})
}

func (d *Daemon) refreshClassMetrics() {
	d.m.samples.Reset()
	for c, n := range d.st.Counts() {
		d.m.samples.Set(c, float64(n))
	}
}

// panelEvents turns button gestures into commands (the default mapping).
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
		var cmd control.Command
		switch e.Intent() {
		case panel.Sample:
			cmd = control.Command{Name: control.Capture, Label: e.Action.Label, Count: 1}
		case panel.RecordStart:
			cmd = control.Command{Name: control.RecordStart, Label: e.Action.Label}
		case panel.RecordStop:
			cmd = control.Command{Name: control.RecordStop}
		case panel.Train:
			cmd = control.Command{Name: control.Train}
		case panel.Undo:
			cmd = control.Command{Name: control.Undo}
		default:
			continue
		}
		if _, err := d.Do(ctx, cmd, "button"); err != nil {
			d.log.Warn("button", "button", e.Button, "gesture", e.Gesture, "err", err)
			d.flash(panel.Error)
		}
	}
}

// showLED shows the steady pattern for the current state.
func (d *Daemon) showLED() {
	if d.opts.Panel == nil {
		return
	}
	p := panel.Idle
	switch {
	case d.trainer.busy():
		p = panel.Training
	case d.rec.active() != "":
		p = panel.Recording
	}
	d.opts.Panel.Show(p)
}

// flash plays a one-shot pattern (Success, Error).
func (d *Daemon) flash(p panel.Pattern) {
	if d.opts.Panel != nil {
		d.opts.Panel.Show(p)
	}
}
