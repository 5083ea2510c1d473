package head

import (
	"context"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// smallTail is a random tail with pre-activations spread over both kinks
// of ReLU6.
func smallTail(in, out int, seed uint64) *Tail {
	r := newRNG(seed)
	t := &Tail{In: in, Out: out, Clip: 6, W: make([]float32, in*out), B: make([]float32, out)}
	for i := range t.W {
		t.W[i] = float32(4 * (2*r.Float64() - 1))
	}
	for i := range t.B {
		t.B[i] = float32(2 * (2*r.Float64() - 1))
	}
	return t
}

// tailSamples makes n samples of random tail inputs (positions pixels,
// one view each) with their pre-activations, labelled 0, 1, 2, 0, ….
func tailSamples(tail *Tail, r *rand.Rand, n, positions int) []TailSample {
	var samples []TailSample
	for b := range n {
		x := make([]float32, positions*tail.In)
		for i := range x {
			x[i] = float32(r.Float64())
		}
		z := make([]float32, positions*tail.Out)
		tail.Pre(z, x)
		samples = append(samples, TailSample{Label: b % 3, X: [][]float32{x}, Z: [][]float32{z}})
	}
	return samples
}

// TestTailGradient checks the gradient of the training objective with
// respect to the tail's scale and shift (inputGrad, then poolGrad)
// against central finite differences, through a hidden layer and
// without one.
func TestTailGradient(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"hidden", Config{Hidden: 6, BatchSize: 4, LabelSmoothing: 0.1}},
		{"regression", Config{Hidden: 0, BatchSize: 4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const in, out, positions = 3, 5, 4
			tail := smallTail(in, out, 2)
			r := newRNG(5)
			var zs [][]float32
			var labels []int
			for b, s := range tailSamples(tail, r, 4, positions) {
				zs, labels = append(zs, s.Z[0]), append(labels, b%3)
			}
			h, err := New(out, tc.cfg.Hidden, 3, 9)
			if err != nil {
				t.Fatal(err)
			}
			tr := newTrainer(h, tc.cfg, newRNG(1))
			s := identityScale(out)
			for o := range out {
				s.Gamma[o] = 0.8 + 0.1*float32(o)
				s.Beta[o] = 0.3 - 0.2*float32(o)
			}
			objective := func() float64 {
				batch := make([]row, len(zs))
				for b, z := range zs {
					e := make([]float32, out)
					tail.pool(e, z, s)
					batch[b] = row{x: e, label: labels[b], weight: 0.5 + float32(b)/4}
				}
				_, _, obj := tr.lossAndGrad(batch, false)
				return obj
			}
			objective()
			g := Scale{Gamma: make([]float32, out), Beta: make([]float32, out)}
			dx := make([]float32, out)
			for b, z := range zs {
				tr.inputGrad(dx, b)
				tail.poolGrad(g, dx, z, s)
			}
			nonzero := checkGrad(t, "gamma", s.Gamma, g.Gamma, objective) + checkGrad(t, "beta", s.Beta, g.Beta, objective)
			if nonzero < out {
				t.Errorf("only %d of %d gradients are nonzero: the test does not exercise the tail", nonzero, 2*out)
			}
		})
	}
}

// TestTailFold checks that folding a scale into the tail computes the
// same embedding as applying it.
func TestTailFold(t *testing.T) {
	tail := smallTail(4, 6, 3)
	s := identityScale(6)
	for o := range 6 {
		s.Gamma[o], s.Beta[o] = 1.5-0.2*float32(o), 0.5-0.25*float32(o)
	}
	x := make([]float32, 9*4)
	for i := range x {
		x[i] = float32(i%7) / 3
	}
	z := make([]float32, 9*6)
	tail.Pre(z, x)
	want := make([]float32, 6)
	tail.pool(want, z, s)
	f := tail.Fold(Adaptation{Scale: s})
	f.Pre(z, x)
	got := make([]float32, 6)
	f.pool(got, z, identityScale(6))
	for o := range got {
		if math.Abs(float64(got[o]-want[o])) > 1e-5 {
			t.Errorf("channel %d: folded %g, applied %g", o, got[o], want[o])
		}
	}
}

// TestLowRankGradient checks the gradient of the training objective with
// respect to the low-rank update (inputGrad, then lowRankGrad) against
// central finite differences.
func TestLowRankGradient(t *testing.T) {
	const in, out, positions, rank = 3, 5, 4, 2
	tail := smallTail(in, out, 2)
	r := newRNG(5)
	samples := tailSamples(tail, r, 4, positions)
	cfg := Config{Hidden: 6, BatchSize: 4}
	h, err := New(out, cfg.Hidden, 3, 9)
	if err != nil {
		t.Fatal(err)
	}
	tr := newTrainer(h, cfg, newRNG(1))
	a := tail.Identity()
	a.Rank, a.At, a.B = rank, make([]float32, rank*out), make([]float32, rank*in)
	for i := range a.At {
		a.At[i] = float32(r.Float64() - 0.5)
	}
	for i := range a.B {
		a.B[i] = float32(r.Float64() - 0.5)
	}
	zs, ys := make([][]float32, 4), make([][]float32, 4)
	objective := func() float64 {
		batch := make([]row, len(samples))
		for b, s := range samples {
			zs[b], ys[b] = make([]float32, positions*out), make([]float32, positions*rank)
			e := make([]float32, out)
			tail.embedView(e, s, 0, &a, zs[b], ys[b])
			batch[b] = row{x: e, label: s.Label, weight: 1}
		}
		_, _, obj := tr.lossAndGrad(batch, false)
		return obj
	}
	objective()
	g := Adaptation{Rank: rank, At: make([]float32, rank*out), B: make([]float32, rank*in)}
	dx, dz := make([]float32, out), make([]float32, out)
	for b, s := range samples {
		tr.inputGrad(dx, b)
		tail.lowRankGrad(&g, dx, zs[b], ys[b], s.X[0], dz, &a)
	}
	nonzero := checkGrad(t, "At", a.At, g.At, objective) + checkGrad(t, "B", a.B, g.B, objective)
	if nonzero < rank*(in+out)/2 {
		t.Errorf("only %d of %d gradients are nonzero: the test does not exercise the tail", nonzero, rank*(in+out))
	}
	// Folding the update into the weights computes the same embedding.
	f := tail.Fold(a)
	for _, s := range samples {
		want, got := make([]float32, out), make([]float32, out)
		tail.embedView(want, s, 0, &a, zs[0], ys[0])
		z := make([]float32, positions*out)
		f.Pre(z, s.X[0])
		f.pool(got, z, identityScale(out))
		for o := range got {
			if math.Abs(float64(got[o]-want[o])) > 1e-5 {
				t.Errorf("folded channel %d: %g, applied %g", o, got[o], want[o])
			}
		}
	}
}

// TestFineTuneLearns checks that fine-tuning moves the tail toward
// separating classes the pretrained tail mixes, and that it keeps the
// pretrained tail with mode frozen.
func TestFineTuneLearns(t *testing.T) {
	const in, out, positions = 4, 8, 4
	tail := smallTail(in, out, 7)
	r := newRNG(11)
	var samples []TailSample
	for i := range 60 {
		c := i % 2
		x := make([]float32, positions*in)
		for k := range x {
			x[k] = float32(r.NormFloat64()*0.5) + float32(c)*0.4*float32(k%in)
		}
		z := make([]float32, positions*out)
		tail.Pre(z, x)
		samples = append(samples, TailSample{Label: c, X: [][]float32{x}, Z: [][]float32{z}})
	}
	cfg := DefaultConfig()
	cfg.Hidden = 0
	ft := DefaultFineTune(FineTuneScale)
	ft.LearningRate = 1e-2
	s, rep, err := FineTune(context.Background(), tail, samples, 2, cfg, ft)
	if err != nil {
		t.Fatal(err)
	}
	moved := 0.0
	for o := range out {
		moved += math.Abs(float64(s.Gamma[o]-1)) + math.Abs(float64(s.Beta[o]))
	}
	if rep.Epochs == 0 || moved == 0 {
		t.Errorf("scale: fine-tuning ran %d epochs and moved the tail by %g", rep.Epochs, moved)
	}
	ft.Mode, ft.Rank = FineTuneLoRA, 2
	s, rep, err = FineTune(context.Background(), tail, samples, 2, cfg, ft)
	if err != nil {
		t.Fatal(err)
	}
	moved = 0
	for _, v := range s.At {
		moved += math.Abs(float64(v))
	}
	if rep.Epochs == 0 || s.Rank != 2 || moved == 0 {
		t.Errorf("lora: fine-tuning ran %d epochs and moved the tail by %g (rank %d)", rep.Epochs, moved, s.Rank)
	}
	ft.Mode = FineTuneFrozen
	s, _, err = FineTune(context.Background(), tail, samples, 2, cfg, ft)
	if err != nil {
		t.Fatal(err)
	}
	for o := range out {
		if s.Gamma[o] != 1 || s.Beta[o] != 0 {
			t.Fatalf("frozen: channel %d has gamma %g beta %g", o, s.Gamma[o], s.Beta[o])
		}
	}
	ft.Mode = "bogus"
	if _, _, err := FineTune(context.Background(), tail, samples, 2, cfg, ft); err == nil {
		t.Error("mode bogus: no error")
	}
}

// TestFineTuneBounds: every numeric fine-tuning option has a bound; the
// bound itself passes and one past it is refused naming the field.
func TestFineTuneBounds(t *testing.T) {
	for _, tc := range []struct {
		field     string
		set       func(*FineTuneConfig, float64)
		max, over float64
	}{
		{"warmup", func(c *FineTuneConfig, v float64) { c.Warmup = int(v) }, MaxEpochs, MaxEpochs + 1},
		{"warmup", func(c *FineTuneConfig, v float64) { c.Warmup = int(v) }, 0, -1},
		{"epochs", func(c *FineTuneConfig, v float64) { c.Epochs = int(v) }, MaxEpochs, MaxEpochs + 1},
		{"patience", func(c *FineTuneConfig, v float64) { c.Patience = int(v) }, MaxPatience, MaxPatience + 1},
		{"learning_rate", func(c *FineTuneConfig, v float64) { c.LearningRate = v }, MaxLearnRate - 1, MaxLearnRate},
		{"learning_rate", func(c *FineTuneConfig, v float64) { c.LearningRate = v }, 1e-9, math.NaN()},
		{"l2", func(c *FineTuneConfig, v float64) { c.L2 = v }, MaxL2, MaxL2 + 0.5},
		{"rank", func(c *FineTuneConfig, v float64) { c.Rank = int(v) }, MaxRank, MaxRank + 1},
		{"rank", func(c *FineTuneConfig, v float64) { c.Rank = int(v) }, 1, 0},
	} {
		c := DefaultFineTune(FineTuneLoRA)
		tc.set(&c, tc.max)
		if err := c.Validate(); err != nil {
			t.Errorf("%s = %v: %v", tc.field, tc.max, err)
		}
		tc.set(&c, tc.over)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "fine-tune "+tc.field+" = ") {
			t.Errorf("%s = %v: got %v, want an error naming the field", tc.field, tc.over, err)
		}
	}
}

// benchTail is MobileNetV2's tail shape (Conv_1: 320 → 1280 on 7×7) with
// n samples of two views.
func benchTail(n int) (*Tail, []TailSample) {
	const in, out, positions = 320, 1280, 49
	tail := smallTail(in, out, 1)
	for i := range tail.W {
		tail.W[i] /= 40
	}
	r := newRNG(3)
	samples := make([]TailSample, n)
	for i := range samples {
		samples[i].Label = i % 5
		for range 2 {
			x := make([]float32, positions*in)
			for k := range x {
				x[k] = float32(r.Float64() * 3)
			}
			z := make([]float32, positions*out)
			tail.Pre(z, x)
			samples[i].X, samples[i].Z = append(samples[i].X, x), append(samples[i].Z, z)
		}
	}
	return tail, samples
}

// BenchmarkTailPre is the pre-activations of one view (the one-off cost
// per sample view before fine-tuning: 49×320×1280 multiply-adds).
func BenchmarkTailPre(b *testing.B) {
	tail, samples := benchTail(1)
	z := make([]float32, len(samples[0].Z[0]))
	b.ResetTimer()
	for b.Loop() {
		tail.Pre(z, samples[0].X[0])
	}
}

// BenchmarkFineTune is one joint epoch (warmup 0, patience off, no
// validation) over 50 samples × 2 views, per mode: ns/op divided by 100
// is the cost of one training row.
func BenchmarkFineTune(b *testing.B) {
	tail, samples := benchTail(50)
	cfg := DefaultConfig()
	cfg.Validation = 0
	for _, mode := range []string{FineTuneScale, FineTuneLoRA} {
		b.Run(mode, func(b *testing.B) {
			ft := DefaultFineTune(mode)
			ft.Warmup, ft.Epochs, ft.Patience = 0, 1, 0
			for b.Loop() {
				if _, _, err := FineTune(context.Background(), tail, samples, 5, cfg, ft); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// checkGrad compares the analytic gradient got of param with central
// differences of objective, and returns how many entries of got are
// nonzero (a test that never moves the objective proves nothing).
func checkGrad(t *testing.T, name string, param, got []float32, objective func() float64) int {
	t.Helper()
	const eps = 1e-3
	nonzero := 0
	for i := range param {
		old := param[i]
		param[i] = old + eps
		up := objective()
		param[i] = old - eps
		down := objective()
		param[i] = old
		num := (up - down) / (2 * eps)
		if d := math.Abs(num - float64(got[i])); d > 5e-3*(1+math.Abs(num)) {
			t.Errorf("%s[%d]: analytic %.6g, numeric %.6g", name, i, got[i], num)
		}
		if got[i] != 0 {
			nonzero++
		}
	}
	return nonzero
}
