package head

import (
	"bytes"
	"context"
	"errors"
	"math"
	"reflect"
	"testing"
)

// blobs makes n samples per class of Gaussian clusters in dim dimensions.
func blobs(classes, n, dim int, spread float64, seed uint64) []Sample {
	r := newRNG(seed)
	centers := make([][]float32, classes)
	for c := range centers {
		centers[c] = make([]float32, dim)
		for i := range centers[c] {
			centers[c][i] = float32(r.NormFloat64())
		}
	}
	var s []Sample
	for c := range classes {
		for range n {
			x := make([]float32, dim)
			for i := range x {
				x[i] = centers[c][i] + float32(spread*r.NormFloat64())
			}
			s = append(s, Sample{Label: c, X: x})
		}
	}
	return s
}

// TestGradient checks lossAndGrad against central finite differences of
// the objective, with and without a hidden layer, L2, label smoothing and
// class weights.
func TestGradient(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"hidden", Config{Hidden: 6, BatchSize: 4}},
		{"regression", Config{Hidden: 0, BatchSize: 4}},
		{"l2+smoothing", Config{Hidden: 5, BatchSize: 4, L2: 0.05, LabelSmoothing: 0.2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			samples := blobs(3, 2, 7, 1, 3)
			h, err := New(7, tc.cfg.Hidden, 3, 9)
			if err != nil {
				t.Fatal(err)
			}
			tr := newTrainer(h, tc.cfg, newRNG(1))
			var batch []row
			for i, s := range samples {
				batch = append(batch, row{x: s.X, label: s.Label, weight: 0.5 + float32(i)/4})
			}
			objective := func() float64 {
				_, _, o := tr.lossAndGrad(batch, false)
				return o + tr.addL2()
			}
			objective()
			analytic := append([]float32(nil), tr.gbuf...)
			const eps = 1e-2
			checked := 0
			for i := range tr.params {
				old := tr.params[i]
				tr.params[i] = old + eps
				up := objective()
				tr.params[i] = old - eps
				down := objective()
				tr.params[i] = old
				num := (up - down) / (2 * eps)
				if d := math.Abs(num - float64(analytic[i])); d > 2e-3*(1+math.Abs(num)) {
					t.Errorf("param %d: analytic %.6g, numeric %.6g", i, analytic[i], num)
				}
				checked++
			}
			if checked != len(tr.params) || checked == 0 {
				t.Fatalf("checked %d of %d params", checked, len(tr.params))
			}
		})
	}
}

func TestTrainLearns(t *testing.T) {
	for _, tc := range []struct {
		name   string
		hidden int
	}{{"hidden", 32}, {"regression", 0}} {
		t.Run(tc.name, func(t *testing.T) {
			samples := blobs(4, 40, 16, 0.5, 1)
			cfg := DefaultConfig()
			cfg.Hidden = tc.hidden
			cfg.Epochs = 30
			cfg.LearningRate = 0.01
			cfg.Ensemble = 1
			var epochs []Epoch
			refit := 0
			h, rep, err := Train(context.Background(), samples, 4, cfg, func(e Epoch) {
				if e.Refit {
					refit++
				} else {
					epochs = append(epochs, e)
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(epochs) != len(rep.Epochs) || len(epochs) == 0 {
				t.Fatalf("progress saw %d epochs, report %d", len(epochs), len(rep.Epochs))
			}
			if !rep.Refit || refit != rep.BestEpoch {
				t.Errorf("refit %v for %d epochs, best epoch %d", rep.Refit, refit, rep.BestEpoch)
			}
			if rep.On != "validation" || rep.ValSize != 4*6 {
				t.Errorf("on %s with %d validation samples, want validation with 24", rep.On, rep.ValSize)
			}
			if rep.Final.Accuracy < 0.95 {
				t.Errorf("validation accuracy %.3f, want ≥ 0.95; %+v", rep.Final.Accuracy, rep.Final)
			}
			m := Evaluate(h, [][]float32{samples[0].X, samples[159].X}, []int{0, 3})
			if m.Accuracy != 1 {
				t.Errorf("evaluate: %+v", m)
			}
			if len(rep.Final.Confusion) != 4 || len(rep.Final.PerClass) != 4 {
				t.Errorf("confusion/per-class shapes: %v %v", rep.Final.Confusion, rep.Final.PerClass)
			}
		})
	}
}

func TestTrainDeterministic(t *testing.T) {
	samples := blobs(3, 20, 8, 1, 2)
	for i := range samples {
		samples[i].Views = [][]float32{samples[(i+1)%len(samples)].X}
	}
	cfg := DefaultConfig()
	cfg.Epochs = 5
	cfg.Dropout = 0.2
	var runs [2][]byte
	for i := range runs {
		h, _, err := Train(context.Background(), samples, 3, cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		runs[i], _ = h.MarshalBinary()
	}
	if !bytes.Equal(runs[0], runs[1]) {
		t.Error("two runs with the same seed differ")
	}
	cfg.Seed = 2
	h, _, _ := Train(context.Background(), samples, 3, cfg, nil)
	if b, _ := h.MarshalBinary(); bytes.Equal(b, runs[0]) {
		t.Error("different seeds gave identical heads")
	}
}

func TestEarlyStopping(t *testing.T) {
	// Pure noise: validation loss stops improving quickly.
	samples := blobs(2, 30, 8, 50, 4)
	cfg := DefaultConfig()
	cfg.Epochs = 200
	cfg.Patience = 3
	cfg.Refit = false
	cfg.LearningRate = 0.05
	_, rep, err := Train(context.Background(), samples, 2, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Stopped || len(rep.Epochs) >= 200 || rep.BestEpoch != len(rep.Epochs)-3 {
		t.Errorf("stopped=%v after %d epochs, best %d", rep.Stopped, len(rep.Epochs), rep.BestEpoch)
	}
}

func TestTrainBadInput(t *testing.T) {
	good := blobs(2, 3, 4, 1, 1)
	ctx := context.Background()
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	for _, tc := range []struct {
		name    string
		ctx     context.Context
		samples []Sample
		classes int
		cfg     func(*Config)
		want    string
	}{
		{"one class", ctx, good, 1, nil, "at least 2 classes"},
		{"empty class", ctx, good, 3, nil, "class 2 has no samples"},
		{"no samples", ctx, nil, 2, nil, "no samples"},
		{"label out of range", ctx, append([]Sample{{Label: 5, X: good[0].X}}, good...), 2, nil, "out of range"},
		{"ragged", ctx, append([]Sample{{Label: 0, X: []float32{1}}}, good...), 2, nil, "embedding length"},
		{"nan", ctx, append([]Sample{{Label: 0, X: []float32{1, float32(math.NaN()), 1, 1}}}, good...), 2, nil, "non-finite"},
		{"bad config", ctx, good, 2, func(c *Config) { c.Epochs, c.BatchSize = 0, -1 }, "batch_size"},
		{"cancelled", cancelled, good, 2, nil, "context canceled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			_, _, err := Train(tc.ctx, tc.samples, tc.classes, cfg, nil)
			if err == nil || !bytes.Contains([]byte(err.Error()), []byte(tc.want)) {
				t.Errorf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	for _, hidden := range []int{0, 3} {
		h, _ := New(5, hidden, 3, 1)
		b, err := h.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var g Head
		if err := g.UnmarshalBinary(b); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(h, &g) {
			t.Errorf("hidden=%d: round trip differs", hidden)
		}
		if err := g.UnmarshalBinary(b[:len(b)-1]); !errors.Is(err, ErrFormat) {
			t.Errorf("truncated: err = %v", err)
		}
	}
}

func FuzzUnmarshal(f *testing.F) {
	for _, hidden := range []int{0, 2} {
		h, _ := New(3, hidden, 2, 1)
		b, _ := h.MarshalBinary()
		f.Add(b)
	}
	f.Add([]byte(magic + "\xff\xff\xff\xff\x00\x00\x00\x00\x02\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var h Head
		if h.UnmarshalBinary(data) != nil {
			return
		}
		p := make([]float32, h.Classes)
		h.Predict(p, make([]float32, h.In))
		b, _ := h.MarshalBinary()
		if !bytes.Equal(b, data) {
			t.Error("re-encoding differs")
		}
	})
}

func TestPredictAllocs(t *testing.T) {
	h, _ := New(1280, 100, 5, 1)
	x, p := seq(1280, 1), make([]float32, 5)
	if n := testing.AllocsPerRun(10, func() { h.Predict(p, x) }); n != 0 {
		t.Errorf("Predict allocates %v times", n)
	}
}

// BenchmarkTrain trains the default head on n cached 1280-d embeddings
// (5 classes) for the default 50 epochs without early stopping.
func BenchmarkTrain(b *testing.B) {
	for _, n := range []int{100, 300, 1000} {
		b.Run(itoa(n), func(b *testing.B) {
			samples := blobs(5, n/5, 1280, 2, 1)
			cfg := DefaultConfig()
			cfg.Patience = 0
			cfg.Refit = false
			cfg.Ensemble = 1
			for b.Loop() {
				if _, _, err := Train(context.Background(), samples, 5, cfg, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkPredict(b *testing.B) {
	h, _ := New(1280, 100, 5, 1)
	x, p := seq(1280, 1), make([]float32, 5)
	for b.Loop() {
		h.Predict(p, x)
	}
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

// logits computes a head's logits with plain loops.
func logits(h *Head, x []float32) []float64 {
	in := make([]float64, len(x))
	for i, v := range x {
		in[i] = float64(v)
	}
	if h.Hidden > 0 {
		hid := make([]float64, h.Hidden)
		for j := range hid {
			s := float64(h.B1[j])
			for i := range in {
				s += float64(h.W1[j*h.In+i]) * in[i]
			}
			hid[j] = math.Max(s, 0)
		}
		in = hid
	}
	out := make([]float64, h.Classes)
	for c := range out {
		s := float64(h.B2[c])
		for i := range in {
			s += float64(h.W2[c*len(in)+i]) * in[i]
		}
		out[c] = s
	}
	return out
}

func TestMergeAveragesLogits(t *testing.T) {
	for _, hidden := range []int{0, 5} {
		var hs []*Head
		for k := range 3 {
			h, _ := New(7, hidden, 3, uint64(k+1))
			for i := range h.B2 {
				h.B2[i] = float32(k) * 0.1
			}
			hs = append(hs, h)
		}
		m := merge(hs)
		x := seq(7, 9)
		got := logits(m, x)
		for c := range got {
			want := 0.0
			for _, h := range hs {
				want += logits(h, x)[c] / 3
			}
			if math.Abs(got[c]-want) > 1e-5 {
				t.Errorf("hidden %d class %d: merged logit %v, mean %v", hidden, c, got[c], want)
			}
		}
	}
}

func TestEnsemble(t *testing.T) {
	samples := blobs(3, 20, 8, 1, 5)
	cfg := DefaultConfig()
	cfg.Hidden, cfg.Epochs, cfg.Ensemble = 6, 10, 3
	members := map[int]bool{}
	h, rep, err := Train(context.Background(), samples, 3, cfg, func(e Epoch) { members[e.Member] = true })
	if err != nil {
		t.Fatal(err)
	}
	if h.Hidden != 18 || rep.Members != 3 || len(members) != 3 {
		t.Errorf("hidden %d, members %d, progress from %v", h.Hidden, rep.Members, members)
	}
}
