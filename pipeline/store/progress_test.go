package store

import (
	"math"
	"testing"

	"github.com/alphad/alphad/pipeline/head"
)

// TestTrackerSideBySide: three heads training at once (their epochs
// interleaved, early stopping ending each before its last epoch), then
// their refits: the fraction rises with every epoch, is half way through
// the head phase when every validated run is, and ends at 0.98.
func TestTrackerSideBySide(t *testing.T) {
	tr := NewTracker(true)
	last := 0.0
	step := func(p Progress) float64 {
		f, ok := tr.Update(p)
		if !ok || f < last {
			t.Fatalf("%+v: fraction %v (ok %v) after %v", p.Epoch, f, ok, last)
		}
		last = f
		return f
	}
	step(Progress{Phase: "embed", Done: 10, Total: 10})
	for e := 1; e <= 20; e++ {
		for m := 1; m <= 3; m++ {
			step(Progress{Phase: "train", Epoch: &head.Epoch{Epoch: e, Epochs: 40, Member: m, Members: 3}})
		}
	}
	if f := last; math.Abs(f-(0.40+0.58/4)) > 1e-9 {
		t.Errorf("validated runs half done: %v, want %v", f, 0.40+0.58/4)
	}
	for e := 1; e <= 10; e++ {
		for m := 1; m <= 3; m++ {
			step(Progress{Phase: "train", Epoch: &head.Epoch{Epoch: e, Epochs: 10, Refit: true, Member: m, Members: 3}})
		}
	}
	if math.Abs(last-0.98) > 1e-9 {
		t.Errorf("after the refits: %v, want 0.98", last)
	}
}
