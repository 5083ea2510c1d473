package daemon

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/alphad/alphad/internal/control"
	"github.com/alphad/alphad/internal/testshared"
	"github.com/alphad/alphad/pipeline/store"
)

// TestCommands drives the MQTT command handler directly on a fresh device
// (no model): capture with and without a label, teach, undo, threshold,
// and the errors of train and rollback without data.
func TestCommands(t *testing.T) {
	rps := testshared.Path(t, "datasets", "rps_picam")
	cam := newSceneCam(50)
	cam.addScene(t, "rock", rps+"/rock", 0, 10)
	cam.addScene(t, "paper", rps+"/paper", 0, 10)
	cam.show("rock")
	state := t.TempDir()
	cfg := testConfig()
	installBackbone(t, state, cfg.Model.Backbone)
	d, err := New(Options{Config: cfg, StateDir: state, Log: testLog(t), OpenCamera: cam.open, Engine: testEngines()[0].new})
	if err != nil {
		t.Fatal(err)
	}
	start(t, d, nil)
	ctx := context.Background()
	do := func(c control.Command) (control.Result, error) {
		t.Helper()
		return d.Do(ctx, c, "test")
	}
	if _, err := do(control.Command{Name: control.Capture, Count: 3}); !errors.Is(err, ErrNoClass) {
		t.Fatalf("capture without a class: %v", err)
	}
	if _, err := do(control.Command{Name: control.Capture, Label: "rock", Count: 5}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "5 rock samples", func() bool { return d.st.Counts()["rock"] == 5 })
	if _, err := do(control.Command{Name: control.Train}); !errors.Is(err, store.ErrTooFewClasses) {
		t.Fatalf("train with one class: %v", err)
	}
	if _, err := do(control.Command{Name: control.Teach, Label: "paper"}); err != nil {
		t.Fatal(err)
	}
	cam.show("paper") // the store keeps one sample per image
	time.Sleep(100 * time.Millisecond)
	if _, err := do(control.Command{Name: control.Capture, Count: 2, Interval: 50 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "2 samples of the teach class", func() bool { return d.st.Counts()["paper"] == 2 })
	res, err := do(control.Command{Name: control.Undo})
	if err != nil || res.Details["samples"] != 2 || d.st.Counts()["paper"] != 0 {
		t.Fatalf("undo: %+v %v %v", res, err, d.st.Counts())
	}
	if _, err := do(control.Command{Name: control.Threshold, Threshold: ptr(0.75)}); err != nil {
		t.Fatal(err)
	}
	if _, got := d.settings.snapshot(); got.Threshold != 0.75 {
		t.Errorf("threshold %v", got)
	}
	if _, err := do(control.Command{Name: control.Rollback}); !errors.Is(err, store.ErrNoModel) {
		t.Fatalf("rollback without versions: %v", err)
	}
	var buf bytes.Buffer
	d.Metrics().Write(&buf)
	if !strings.Contains(buf.String(), `alphad_samples{class="rock"} 5`) {
		t.Errorf("metrics lack the rock count:\n%s", buf.String())
	}
}

func ptr(f float64) *float64 { return &f }
