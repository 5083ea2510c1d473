package store

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/alphad/alphad/pipeline/engine"
	"github.com/alphad/alphad/pipeline/engine/native"
	"github.com/alphad/alphad/pipeline/head"
	"github.com/alphad/alphad/pipeline/store/storetest"
	"github.com/alphad/alphad/pipeline/tflite"
)

func newNative(m *tflite.Model, o engine.Options) (engine.Engine, error) { return native.New(m, o) }

func tinyBytes(t testing.TB) []byte {
	b, err := tflite.Marshal(storetest.TinyBackbone(8, 6))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fill adds n images per class.
func fill(t *testing.T, s *Store, classes []string, n int) {
	for c, label := range classes {
		var ns []NewSample
		for i := range n {
			ns = append(ns, NewSample{Label: label, Image: storetest.ClassImage(c, 8, uint64(100*c+i))})
		}
		if _, err := s.Add(s.NextBurst(), ns); err != nil {
			t.Fatal(err)
		}
	}
}

func TestTrainAndVersions(t *testing.T) {
	dir := t.TempDir()
	state := openState(t, dir)
	s := state.Samples()
	classes := []string{"red", "green", "blue"}
	fill(t, s, classes, 12)
	cfg := head.DefaultConfig()
	cfg.Hidden, cfg.Epochs, cfg.LearningRate = 16, 40, 0.01
	var phases []string
	opts := TrainOptions{Backbone: tinyBytes(t), BackboneSource: "tiny", NewEngine: newNative, Config: cfg, Views: []int{ViewFlipped, ViewCrop, ViewCropFlipped},
		Progress: func(p Progress) {
			if len(phases) == 0 || phases[len(phases)-1] != p.Phase {
				phases = append(phases, p.Phase)
			}
		}}
	v1, skipped, err := Train(context.Background(), state, opts)
	if err != nil || len(skipped) != 0 {
		t.Fatal(err, skipped)
	}
	if !slices.Equal(phases, []string{"embed", "train"}) {
		t.Errorf("phases %v", phases)
	}
	if v1.Name != "v000001" || !slices.Equal(v1.Labels, classes) || v1.Report.Final.Accuracy < 0.9 {
		t.Errorf("v1 = %s %v accuracy %v", v1.Name, v1.Labels, v1.Report.Final.Accuracy)
	}
	// The second run finds every embedding cached.
	phases = nil
	v2, _, err := Train(context.Background(), state, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(phases, []string{"train"}) || v2.Name != "v000002" {
		t.Errorf("second run phases %v, version %s", phases, v2.Name)
	}

	m, err := LoadCurrent(dir, newNative, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := head.NewClassifier(m)
	for ci := range classes {
		p, err := c.Classify(ImageFill(storetest.ClassImage(ci, 8, 999)))
		if err != nil {
			t.Fatal(err)
		}
		if p.Label != classes[ci] || p.Version != "v000002" || !p.Known {
			t.Errorf("class %d: got %+v", ci, p)
		}
	}
	// The version records its metrics and its unknown rule, and Load
	// brings the rule back.
	other, err := OpenModels(dir) // a reader beside the owner, like `alphad model ls`
	if err != nil {
		t.Fatal(err)
	}
	saved, err := other.Version("v000002")
	if err != nil {
		t.Fatal(err)
	}
	if tr := saved.Training; tr == nil || !slices.Equal(tr.SamplesPerClass, []int{12, 12, 12}) || tr.Views != 3 || tr.Embedded != 0 || tr.TrainSeconds <= 0 {
		t.Errorf("training info %+v (second run: all embeddings cached)", saved.Training)
	}
	if v1.Training == nil || v1.Training.Embedded != 36*4 {
		t.Errorf("first run training info %+v, want 144 embedded", v1.Training)
	}
	if saved.Unknown == nil || m.Unknown == nil || m.Unknown.Threshold != saved.Unknown.Threshold || len(m.Unknown.Means) != 3 {
		t.Errorf("unknown rule saved %+v, loaded %+v", saved.Unknown, m.Unknown)
	}
	if acc := saved.ClassAccuracy(); len(acc) != 3 || acc["red"] != saved.Report.Final.PerClass[0].Accuracy {
		t.Errorf("class accuracy %v, per class %+v", acc, saved.Report.Final.PerClass)
	}
	if len(saved.Report.Epochs) == 0 || len(saved.Report.Final.Confusion) != 3 {
		t.Errorf("report epochs %d, confusion %v", len(saved.Report.Epochs), saved.Report.Final.Confusion)
	}
	models, _ := OpenModels(dir)
	opts.Keep = 2 // Train prunes to the last two versions
	v3, _, err := Train(context.Background(), state, opts)
	if err != nil {
		t.Fatal(err)
	}
	if list, _, err := models.List(); err != nil || len(list) != 2 || list[0].Name != "v000002" {
		t.Errorf("after training with Keep 2: %d versions, %v", len(list), err)
	}
	models.Keep = 2
	if _, err := models.Commit(Version{Kind: KindHead, Labels: v3.Labels, Backbone: v3.Backbone}, m.Head); err != nil {
		t.Fatal(err)
	}
	list, cur, err := models.List()
	if err != nil || len(list) != 2 || cur != "v000004" || list[0].Name != "v000003" {
		t.Errorf("list = %d versions, current %s, %v", len(list), cur, err)
	}
	if to, err := models.Rollback(""); err != nil || to != "v000003" {
		t.Errorf("rollback = %s, %v", to, err)
	}
	if _, err := models.Rollback(""); !errors.Is(err, ErrNothingToRoll) {
		t.Errorf("rollback past the oldest: %v", err)
	}
	if _, err := models.Rollback("v000001"); !errors.Is(err, ErrNoSuchVersion) {
		t.Errorf("rollback to pruned: %v", err)
	}
	// Swap to the rolled-back version without a restart.
	m3, err := LoadCurrent(dir, newNative, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c.Swap(m3).Close()
	if p, _ := c.Classify(ImageFill(storetest.ClassImage(0, 8, 5))); p.Version != "v000003" {
		t.Errorf("after swap version %s", p.Version)
	}
}

func TestTrainRejects(t *testing.T) {
	cfg := head.DefaultConfig()
	cfg.Epochs = 2
	for _, tc := range []struct {
		name  string
		setup func(*Store)
		want  error
	}{
		{"no classes", func(*Store) {}, ErrTooFewClasses},
		{"one class", func(s *Store) { fill(t, s, []string{"a"}, 2) }, ErrTooFewClasses},
		{"one class and an empty one", func(s *Store) { fill(t, s, []string{"a"}, 2); s.AddClass("c") }, ErrTooFewClasses},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			state := openState(t, dir)
			s := state.Samples()
			tc.setup(s)
			_, _, err := Train(context.Background(), state, TrainOptions{Backbone: tinyBytes(t), NewEngine: newNative, Config: cfg})
			if !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
			if _, err := LoadCurrent(dir, newNative, engine.Options{}); !errors.Is(err, ErrNoModel) {
				t.Errorf("a model appeared: %v", err)
			}
		})
	}
}

func TestTrainSkipsBadImages(t *testing.T) {
	dir := t.TempDir()
	state := openState(t, dir)
	s := state.Samples()
	fill(t, s, []string{"a", "b"}, 4)
	bad := s.Samples()[0]
	if err := writeFile(s.ImagePath(bad.ID), []byte("not a png")); err != nil {
		t.Fatal(err)
	}
	cfg := head.DefaultConfig()
	cfg.Epochs = 2
	v, skipped, err := Train(context.Background(), state, TrainOptions{Backbone: tinyBytes(t), NewEngine: newNative, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if len(skipped) != 1 || skipped[0].ID != bad.ID || !strings.Contains(skipped[0].Err.Error(), "png") || v.Samples != 7 {
		t.Errorf("skipped %v, trained on %d", skipped, v.Samples)
	}
}

func TestBackboneHashMismatch(t *testing.T) {
	dir := t.TempDir()
	state := openState(t, dir)
	s := state.Samples()
	fill(t, s, []string{"a", "b"}, 3)
	cfg := head.DefaultConfig()
	cfg.Epochs = 2
	if _, _, err := Train(context.Background(), state, TrainOptions{Backbone: tinyBytes(t), NewEngine: newNative, Config: cfg}); err != nil {
		t.Fatal(err)
	}
	// Another backbone of the same width: its cache starts empty, so
	// every embedding is recomputed, never mixed with the first one's.
	other, _ := tflite.Marshal(storetest.TinyBackbone(16, 6))
	embedded := 0
	_, _, err := Train(context.Background(), state, TrainOptions{Backbone: other, NewEngine: newNative, Config: cfg,
		Progress: func(p Progress) {
			if p.Phase == "embed" {
				embedded = p.Done
			}
		}})
	if err != nil || embedded != 6 {
		t.Errorf("recomputed %d embeddings, want 6 (%v)", embedded, err)
	}
	// A backbone file that changed on disk is refused at load.
	models, _ := OpenModels(dir)
	v, _ := models.Version("v000002")
	writeFile(dir+"/"+v.Backbone.File, other[:len(other)-1])
	if _, err := models.Load("", newNative, engine.Options{}); !errors.Is(err, ErrBackboneHash) {
		t.Errorf("load with a changed backbone: %v", err)
	}
}
