package daemon

import (
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"os"
	"testing"

	"github.com/alphad/alphad/internal/control"
	"github.com/alphad/alphad/internal/cputime"
	"github.com/alphad/alphad/internal/testshared"
	"github.com/alphad/alphad/pipeline/head"
	"github.com/alphad/alphad/pipeline/store"
)

// swapRig is a daemon (not running: commands only) whose state holds
// head versions on the features backbone, and one imported classifier
// on another backbone.
func swapRig(tb testing.TB, eng testEngine, heads int) (d *Daemon, names []string, other string) {
	tb.Helper()
	state := tb.TempDir()
	installBackbone(tb, state, "features")
	cfg := testConfig()
	cfg.Model.Backbone = "features"
	d, err := New(Options{Config: cfg, StateDir: state, Log: slog.New(slog.DiscardHandler), OpenCamera: newSceneCam(1).open, Engine: eng.new})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { d.close(true, true) })
	bbs, err := d.models.NamedBackbones()
	if err != nil {
		tb.Fatal(err)
	}
	for i := range heads {
		h, err := head.New(1280, 0, 2, uint64(i+1))
		if err != nil {
			tb.Fatal(err)
		}
		v, err := d.models.Commit(store.Version{Kind: store.KindHead, Labels: []string{"a", "b"}, Backbone: bbs["features"], Source: "test"}, h)
		if err != nil {
			tb.Fatal(err)
		}
		names = append(names, v.Name)
	}
	full, err := os.ReadFile(testshared.Path(tb, "models", "mobilenet_v2_1.0_224_quant.tflite"))
	if err != nil {
		tb.Fatal(err)
	}
	ref, err := d.models.PutBackbone(full, "test")
	if err != nil {
		tb.Fatal(err)
	}
	labels := make([]string, 1001)
	for i := range labels {
		labels[i] = fmt.Sprintf("c%d", i)
	}
	v, err := d.models.Commit(store.Version{Kind: store.KindTFLite, Labels: labels, Backbone: ref, Source: "test"}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return d, names, v.Name
}

func activate(tb testing.TB, d *Daemon, name string) *head.Model {
	tb.Helper()
	if _, err := d.Do(context.Background(), control.Command{Name: control.Activate, Version: name}, "test"); err != nil {
		tb.Fatal(err)
	}
	return d.model.clf.Model()
}

// TestSwapSharesBackbone: a version on the backbone in use (a training,
// an adoption, a rollback) shares its engine instead of building a second
// one, and the backbone stays open; a version on another backbone gets
// its own, and the old one is closed.
func TestSwapSharesBackbone(t *testing.T) {
	eng := testEngines()[0]
	d, names, other := swapRig(t, eng, 2)
	m1 := activate(t, d, names[0])
	m2 := activate(t, d, names[1])
	if m2.Version != names[1] || m2.Backbone != m1.Backbone {
		t.Fatalf("%s on the same backbone as %s: backbone %p, want the one in use %p", m2.Version, m1.Version, m2.Backbone, m1.Backbone)
	}
	fill := store.ImageFill(image.NewRGBA(image.Rect(0, 0, 224, 224)))
	if _, err := m2.Classify(fill); err != nil {
		t.Fatalf("the shared backbone after the swap: %v", err)
	}
	m3 := activate(t, d, other)
	if m3.Backbone == m2.Backbone || m3.Head != nil {
		t.Fatalf("an imported classifier shares the features backbone")
	}
	if _, err := m2.Classify(fill); !errors.Is(err, head.ErrClosed) {
		t.Errorf("the replaced backbone: %v, want closed", err)
	}
	// Back to a head version: its backbone is built anew (the classifier
	// in use is another model of the same file or none).
	m4 := activate(t, d, names[0])
	if m4.Backbone == m3.Backbone {
		t.Error("a head version shares an imported classifier's engine")
	}
	if _, err := m4.Classify(fill); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkSwapModel: activating a head version on the backbone in use,
// what every training and every adoption does (cpu-ns/op: the process's
// CPU time, as the engines' worker threads count too).
func BenchmarkSwapModel(b *testing.B) {
	for _, eng := range testEngines() {
		b.Run(eng.name, func(b *testing.B) {
			d, names, _ := swapRig(b, eng, 2)
			activate(b, d, names[0])
			b.ResetTimer()
			cpu := cputime.Process()
			for i := range b.N {
				activate(b, d, names[(i+1)%2])
			}
			b.ReportMetric(float64(cputime.Process()-cpu)/float64(b.N), "cpu-ns/op")
		})
	}
}
