package store

import (
	"context"
	"slices"
	"testing"

	"github.com/alphad/alphad/pipeline/engine"
)

// TestEmbedParallel embeds the same store with one engine and with three
// side by side: the embeddings (plain and views) are identical and in the
// same order, and every one of them was computed once.
func TestEmbedParallel(t *testing.T) {
	views := []int{ViewFlipped, ViewCrop}
	run := func(threads int) *Dataset {
		state := openState(t, t.TempDir())
		fill(t, state.Samples(), []string{"red", "green", "blue"}, 7)
		var last Progress
		ds, err := EmbedStore(context.Background(), state, TrainOptions{Backbone: tinyBytes(t), BackboneSource: "tiny",
			NewEngine: newNative, Engine: engine.Options{Threads: threads}, Views: views,
			Progress: func(p Progress) { last = p }})
		if err != nil {
			t.Fatal(err)
		}
		if want := 21 * 3; ds.Embedded != want || last.Done != want || last.Total != want {
			t.Errorf("%d threads: embedded %d, last progress %d/%d, want %d", threads, ds.Embedded, last.Done, last.Total, want)
		}
		return ds
	}
	one, three := run(1), run(3)
	if one.Workers != 1 || three.Workers != 3 {
		t.Errorf("workers %d and %d, want 1 and 3", one.Workers, three.Workers)
	}
	if len(one.Samples) != len(three.Samples) || len(one.Samples) != 21 {
		t.Fatalf("%d and %d samples", len(one.Samples), len(three.Samples))
	}
	for i, a := range one.Samples {
		b := three.Samples[i]
		if a.Label != b.Label || !slices.Equal(a.X, b.X) || len(a.Views) != len(views) || len(b.Views) != len(views) {
			t.Fatalf("sample %d differs: label %d/%d", i, a.Label, b.Label)
		}
		for v := range a.Views {
			if !slices.Equal(a.Views[v], b.Views[v]) {
				t.Fatalf("sample %d view %d differs", i, v)
			}
		}
	}
}
