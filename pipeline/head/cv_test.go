package head

import (
	"context"
	"encoding/json"
	"math"
	"reflect"
	"testing"
)

// positive shifts blobs into the positive orthant, like the pooled ReLU6
// features of MobileNetV2, so cosine similarity to class means is
// meaningful.
func positive(s []Sample, shift float32) []Sample {
	for _, sm := range s {
		for i := range sm.X {
			sm.X[i] = max(sm.X[i]+shift, 0)
		}
	}
	return s
}

func TestCrossValidate(t *testing.T) {
	samples := positive(blobs(3, 20, 16, 0.4, 7), 2)
	for i := range samples {
		mirror := append([]float32(nil), samples[i].X...)
		samples[i].Views = [][]float32{mirror}
	}
	cfg := DefaultConfig()
	cfg.Hidden, cfg.Epochs, cfg.LearningRate, cfg.Ensemble = 16, 20, 0.01, 1
	res, err := CrossValidate(context.Background(), samples, 3, cfg, CVOptions{Folds: 4, Repeats: 2, Unknown: 0.01, MinProb: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Runs) != 8 || res.Samples != 60 {
		t.Errorf("%d runs on %d samples, want 8 on 60", len(res.Runs), res.Samples)
	}
	total := 0
	for c, row := range res.Confusion {
		for _, n := range row {
			total += n
		}
		if res.PerClass[c].Support != 40 {
			t.Errorf("class %d support %d, want 40 (20 × 2 repeats)", c, res.PerClass[c].Support)
		}
	}
	if total != 120 {
		t.Errorf("confusion holds %d predictions, want 120", total)
	}
	if res.Accuracy < 0.95 || res.Variants[VariantNCM].Accuracy < 0.95 || res.Variants[VariantTTA].Accuracy < 0.95 {
		t.Errorf("accuracy %.3f, variants %+v, want ≥ 0.95 on separated blobs", res.Accuracy, res.Variants)
	}
	if res.Variants[VariantHead].Accuracy != res.Accuracy {
		t.Errorf("head variant %.3f, accuracy %.3f", res.Variants[VariantHead].Accuracy, res.Accuracy)
	}
	if res.AcceptedCorrect+res.Unknown > 1 || res.AcceptedCorrect < 0.8 {
		t.Errorf("accepted-correct %.3f, unknown %.3f", res.AcceptedCorrect, res.Unknown)
	}
	// Few-shot: 3 per class still trains (without a validation split).
	few, err := CrossValidate(context.Background(), samples, 3, cfg, CVOptions{Folds: 4, Repeats: 1, PerClass: 3, Unknown: -1})
	if err != nil {
		t.Fatal(err)
	}
	if few.Unknown != 0 || few.Accuracy < 0.8 {
		t.Errorf("3-shot: accuracy %.3f unknown %.3f (no rule: want 0)", few.Accuracy, few.Unknown)
	}
	if _, err := CrossValidate(context.Background(), samples[:10], 3, cfg, CVOptions{}); err == nil {
		t.Error("a class without samples: no error")
	}
	if _, err := CrossValidate(context.Background(), samples, 3, cfg, CVOptions{Folds: 25}); err == nil {
		t.Error("more folds than samples per class: no error")
	}
}

func TestUnknownRejectsOtherDomain(t *testing.T) {
	all := positive(blobs(4, 30, 32, 0.3, 3), 1.5)
	known, other := all[:90], all[90:] // class 3 is never trained
	u, err := Calibrate(known, 3, DefaultUnknownQuantile)
	if err != nil {
		t.Fatal(err)
	}
	if err := u.Check(3, 32); err != nil {
		t.Fatal(err)
	}
	if u.Threshold <= 0 || u.Threshold >= 1 {
		t.Fatalf("threshold %v, want inside (0, 1)", u.Threshold)
	}
	probs := []float32{0.9, 0.05, 0.05}
	accepted := 0
	for _, s := range known {
		p := []float32{0, 0, 0}
		p[s.Label] = 0.9
		if Decide(u, p, s.X, 0.6).Known {
			accepted++
		}
	}
	if accepted < 85 {
		t.Errorf("%d/90 known samples accepted, want ≥ 85", accepted)
	}
	for _, s := range other {
		if d := Decide(u, probs, s.X, 0); d.Known {
			t.Errorf("a sample of an unseen class accepted (similarity %.3f, threshold %.3f)", d.Similarity, u.Threshold)
		}
	}
	if d := Decide(nil, []float32{0.5, 0.3, 0.2}, nil, 0.6); d.Known || d.Index != 0 {
		t.Errorf("below the confidence threshold: %+v, want unknown index 0", d)
	}
	if d := Decide(nil, []float32{0.1, 0.7, 0.2}, nil, 0.6); !d.Known || d.Index != 1 || d.Similarity != 1 {
		t.Errorf("no rule, confident: %+v", d)
	}
	if err := u.Check(4, 32); err == nil {
		t.Error("Check(4 classes) of a 3-class rule: no error")
	}
}

func TestUnknownJSONRoundTrip(t *testing.T) {
	u, err := Calibrate(positive(blobs(2, 10, 8, 0.3, 5), 1), 2, 0.05)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(u)
	if err != nil {
		t.Fatal(err)
	}
	var back Unknown
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*u, back) {
		t.Errorf("round trip: %+v != %+v", back, *u)
	}
	for _, bad := range []string{`{}`, `{"dim":2,"means":["AAAA"]}`, `{"dim":1,"means":["AADAfw=="]}`, `{"threshold":1,"dim":1,"means":["!"]}`} {
		if err := json.Unmarshal([]byte(bad), &back); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func FuzzUnknownJSON(f *testing.F) {
	u, _ := Calibrate(positive(blobs(2, 4, 4, 0.3, 5), 1), 2, 0.05)
	b, _ := json.Marshal(u)
	f.Add(b)
	f.Add([]byte(`{"dim":1,"means":["AACAPw=="]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var u Unknown
		if json.Unmarshal(data, &u) != nil {
			return
		}
		for _, m := range u.Means {
			for _, v := range m {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					t.Fatalf("non-finite mean accepted: %v", m)
				}
			}
		}
		if _, err := json.Marshal(&u); err != nil {
			t.Fatal(err)
		}
	})
}

func TestCalibrateTemperature(t *testing.T) {
	samples := blobs(3, 30, 16, 1.2, 9)
	cfg := DefaultConfig()
	cfg.Hidden, cfg.Epochs, cfg.Ensemble = 16, 15, 1
	cfg.Calibrate = false
	plain, rp, err := Train(context.Background(), samples, 3, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Calibrate = true
	cal, rc, err := Train(context.Background(), samples, 3, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rp.Temperature != 0 || !(rc.Temperature >= 0.25 && rc.Temperature <= 4) {
		t.Fatalf("temperatures %v (off) and %v (on)", rp.Temperature, rc.Temperature)
	}
	// The calibrated head is the same head with logits divided by T.
	a, b := make([]float32, 3), make([]float32, 3)
	for _, s := range samples[:10] {
		plain.Logits(a, s.X)
		cal.Logits(b, s.X)
		for c := range a {
			if d := math.Abs(float64(a[c])/rc.Temperature - float64(b[c])); d > 1e-4*(1+math.Abs(float64(a[c]))) {
				t.Fatalf("logit %d: %v / T %v ≠ %v", c, a[c], rc.Temperature, b[c])
			}
		}
	}
	// A fitted temperature does not make the validation loss worse.
	rows := make([]row, len(samples))
	for i, s := range samples {
		rows[i] = row{x: s.X, label: s.Label, weight: 1}
	}
	if tt := fitTemperature(plain, rows); evaluate(scaled(plain, tt), rows, 3, false).Loss > evaluate(plain, rows, 3, false).Loss+1e-9 {
		t.Errorf("temperature %v increases the loss", tt)
	}
}

func scaled(h *Head, t float64) *Head {
	c := h.Clone()
	c.scaleLogits(float32(1 / t))
	return c
}

// TestCrossValidateFeatures: the Features hook is called once per run
// with the run's training samples (at most PerClass of each class) and
// seed, and the heads train and score on the samples it returns.
func TestCrossValidateFeatures(t *testing.T) {
	// Pure noise: no head beats chance on these embeddings.
	samples := positive(blobs(2, 20, 8, 0.4, 3), 2)
	for i := range samples {
		for j := range samples[i].X {
			samples[i].X[j] = float32(newRNG(uint64(i*8 + j)).Float64())
		}
	}
	cfg := DefaultConfig()
	cfg.Hidden, cfg.Epochs, cfg.LearningRate, cfg.Ensemble = 8, 20, 0.01, 1
	calls := 0
	o := CVOptions{Folds: 4, Repeats: 1, Unknown: -1, PerClass: 6}
	o.Features = func(_ context.Context, train []int, seed uint64) ([]Sample, error) {
		calls++
		count := make([]int, 2)
		for _, i := range train {
			count[samples[i].Label]++
		}
		if count[0] > 6 || count[1] > 6 || seed != cfg.Seed {
			t.Errorf("run %d: %v training samples per class (want ≤ 6), seed %d", calls, count, seed)
		}
		// Features that give the label away: perfect accuracy.
		out := make([]Sample, len(samples))
		for i, s := range samples {
			x := make([]float32, 8)
			x[s.Label] = 1
			out[i] = Sample{Label: s.Label, X: x}
		}
		return out, nil
	}
	res, err := CrossValidate(context.Background(), samples, 2, cfg, o)
	if err != nil {
		t.Fatal(err)
	}
	if calls != 4 || res.Accuracy != 1 {
		t.Errorf("%d calls, accuracy %.3f; want 4 and 1 (the hook's features)", calls, res.Accuracy)
	}
}
