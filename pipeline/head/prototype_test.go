package head

import (
	"context"
	"math"
	"testing"
)

// TestPrototypesFold checks that the prototype term folded into a head
// adds exactly w·PrototypeScale·cos(x, m̂_c)·‖x‖/ν to each logit, with a
// hidden layer and without, computed here the plain way.
func TestPrototypesFold(t *testing.T) {
	samples := positive(blobs(3, 10, 12, 0.5, 3), 1)
	idx := []int{0, 1, 2, 3, 10, 11, 12, 20, 21, 22, 23, 24}
	// The plain reference: unit class means of unit embeddings, mean norm.
	means := make([][]float64, 3)
	for c := range means {
		means[c] = make([]float64, 12)
	}
	var nu float64
	for _, i := range idx {
		x := samples[i].X
		n := math.Sqrt(dot64(x, x))
		nu += n
		for j, v := range x {
			means[samples[i].Label][j] += float64(v) / n
		}
	}
	nu /= float64(len(idx))
	for c := range means {
		var s float64
		for _, v := range means[c] {
			s += v * v
		}
		for j := range means[c] {
			means[c][j] /= math.Sqrt(s)
		}
	}
	for _, hidden := range []int{0, 5} {
		h, _ := New(12, hidden, 3, 9)
		p := withPrototypes(h, samples, idx, 3, 0.7)
		if hidden > 0 && p.Hidden != hidden+3 {
			t.Fatalf("hidden %d: prototype head has %d hidden units, want %d", hidden, p.Hidden, hidden+3)
		}
		want, got := make([]float32, 3), make([]float32, 3)
		for _, s := range samples {
			h.Logits(want, s.X)
			p.Logits(got, s.X)
			for c := range want {
				var xm float64
				for j, v := range s.X {
					xm += float64(v) * means[c][j]
				}
				w := float64(want[c]) + 0.7*PrototypeScale*xm/nu
				if math.Abs(float64(got[c])-w) > 1e-4*max(1, math.Abs(w)) {
					t.Fatalf("hidden %d: logit %d = %v, want %v", hidden, c, got[c], w)
				}
			}
		}
	}
	// Few samples per class: the weight grows as (FewShot/n)³ − 1.
	if w, want := prototypeWeight(0.5, samples, idx, 3), 0.5*(FewShot*FewShot*FewShot/27.0-1); math.Abs(w-want) > 1e-12 {
		t.Errorf("weight with 3 in the smallest class %v, want %v", w, want)
	}
	big := positive(blobs(2, FewShot, 4, 0.5, 3), 1)
	all := make([]int, len(big))
	for i := range all {
		all[i] = i
	}
	if w := prototypeWeight(0.5, big, all, 2); w != 0 {
		t.Errorf("weight with %d per class %v, want 0", FewShot, w)
	}
}

// TestTrainPrototypes: training with the prototype term reports its
// weight and still learns; on tiny sets (3 per class) it is at least as
// accurate as the nearest class mean alone.
func TestTrainPrototypes(t *testing.T) {
	samples := positive(blobs(3, 20, 16, 0.9, 11), 2)
	cfg := DefaultConfig()
	cfg.Hidden, cfg.Epochs, cfg.LearningRate, cfg.Ensemble = 16, 20, 0.01, 2
	res, err := CrossValidate(context.Background(), samples, 3, cfg, CVOptions{Folds: 4, Repeats: 2, PerClass: 3, Unknown: -1})
	if err != nil {
		t.Fatal(err)
	}
	if ncm := res.Variants[VariantNCM].Accuracy; res.Accuracy < ncm-1e-9 {
		t.Errorf("3-shot: head with prototypes %.3f, nearest class mean %.3f", res.Accuracy, ncm)
	}
	for _, n := range []int{5, FewShot} {
		var sub []Sample
		count := map[int]int{}
		for _, s := range samples {
			if count[s.Label] < n {
				count[s.Label]++
				sub = append(sub, s)
			}
		}
		h, rep, err := Train(context.Background(), sub, 3, cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		want, hidden := 0.0, cfg.Hidden*cfg.Ensemble
		if n < FewShot {
			want, hidden = cfg.Prototypes*(float64(FewShot*FewShot*FewShot)/float64(n*n*n)-1), hidden+3
		}
		if math.Abs(rep.PrototypeWeight-want) > 1e-9 || h.Hidden != hidden || rep.Final.Accuracy < 0.9 {
			t.Errorf("%d per class: prototype weight %v (want %v), hidden %d (want %d), accuracy %.3f", n, rep.PrototypeWeight, want, h.Hidden, hidden, rep.Final.Accuracy)
		}
	}
}

// TestAddClassCV measures adding the third class to a two-class device
// on separated blobs: the old classes stay right.
func TestAddClassCV(t *testing.T) {
	samples := positive(blobs(3, 12, 16, 0.4, 5), 2)
	cfg := DefaultConfig()
	cfg.Hidden, cfg.Epochs, cfg.LearningRate, cfg.Ensemble = 16, 20, 0.01, 1
	res, err := CrossValidate(context.Background(), samples, 3, cfg, CVOptions{Folds: 3, Repeats: 1, Unknown: -1, AddClass: true})
	if err != nil {
		t.Fatal(err)
	}
	a := res.AddClass
	if a == nil || a.Before < 0.95 || a.After < 0.95 {
		t.Fatalf("add class: %+v, want both ≥ 0.95 on separated blobs", a)
	}
	if _, err := CrossValidate(context.Background(), samples[:24], 2, cfg, CVOptions{Folds: 3, AddClass: true}); err == nil {
		t.Error("adding a class to a one-class device: no error")
	}
}
