package daemon

import (
	"context"
	"errors"
	"testing"
)

// TestTrainerLifecycle: one run at a time, cancellable, and none once
// stopping began (also while one is finishing).
func TestTrainerLifecycle(t *testing.T) {
	tr := newTrainer()
	if _, err := tr.start(func(context.Context) {}); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("before begin: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tr.begin(ctx)
	release := make(chan struct{})
	cancelled := make(chan struct{})
	done, err := tr.start(func(ctx context.Context) {
		<-release
		<-ctx.Done()
		close(cancelled)
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.start(func(context.Context) {}); !errors.Is(err, ErrTrainingBusy) {
		t.Fatalf("second run: %v", err)
	}
	if !tr.busy() {
		t.Fatal("not busy during a run")
	}
	close(release)
	if err := tr.cancelRun(); err != nil {
		t.Fatal(err)
	}
	<-cancelled
	<-done
	if tr.busy() {
		t.Fatal("busy after the run")
	}
	if err := tr.cancelRun(); !errors.Is(err, ErrNotTraining) {
		t.Fatalf("cancel with no run: %v", err)
	}
	stopped := tr.stop()
	<-stopped
	if _, err := tr.start(func(context.Context) { t.Error("a run started after stop") }); !errors.Is(err, ErrStopping) {
		t.Fatalf("after stop: %v", err)
	}
}
