package head

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

// CVOptions configure CrossValidate.
type CVOptions struct {
	Folds   int    // k of stratified k-fold; default 5
	Repeats int    // repetitions with another fold assignment and training seed; default 2
	Seed    uint64 // fold assignment of the first repeat
	// PerClass, when > 0, trains each fold on at most this many samples
	// per class (chosen at random from the training folds): the few-shot
	// rows. The held-out fold is scored in full.
	PerClass int
	// Unknown calibrates the open-set rule (Calibrate) on each fold's
	// training samples at this quantile and counts the held-out samples it
	// rejects; < 0 = no rule.
	Unknown float64
	// MinProb is the confidence threshold of the decision (Decide).
	MinProb float32
	// AddClass also measures adding the last class to a trained device:
	// each fold trains a second head without the last class, and both
	// heads score the held-out samples of the other classes
	// (CVResult.AddClass).
	AddClass bool `json:"add_class,omitempty"`
	// Features, if set, re-embeds the samples for each run: it gets the
	// indices (into CrossValidate's samples) of the run's training
	// samples and its training seed, and returns every sample, in order,
	// embedded by features fitted on those alone (e.g. a fine-tuned
	// backbone tail, FineTune).
	Features func(ctx context.Context, train []int, seed uint64) ([]Sample, error) `json:"-"`
	// Progress, if set, is called after each fold with the runs done and
	// their total (Folds × Repeats).
	Progress func(done, total int) `json:"-"`
}

// AddClassScore is the accuracy on the held-out samples of the classes a
// device had before the last class was added: with the head trained
// without it (Before) and with the head trained with it (After).
type AddClassScore struct {
	Before   float64 `json:"before"`
	BeforeSD float64 `json:"before_sd"`
	After    float64 `json:"after"`
	AfterSD  float64 `json:"after_sd"`
}

// Test-time variants CrossValidate scores with the same trained heads.
const (
	VariantHead  = "head"  // the head's argmax: what the model does
	VariantTTA   = "tta"   // mean probability of the image and its mirror (the sample's first view)
	VariantNCM   = "ncm"   // nearest class mean (cosine similarity), no head at all
	VariantBlend = "blend" // mean of the head's and the NCM's probabilities (softmax of 20·cosine)
)

// blendScale turns cosine similarities into NCM probabilities.
const blendScale = 20

// VariantScore is a variant's accuracy over the runs.
type VariantScore struct {
	Accuracy float64 `json:"accuracy"`
	SD       float64 `json:"sd"`
}

// CVResult is the outcome of a repeated stratified cross-validation.
// Accuracy counts argmax predictions (unknown or not); Unknown is the
// share of held-out samples of known classes the rule rejected and
// AcceptedCorrect the share it accepted with the right label.
type CVResult struct {
	Folds           int          `json:"folds"`
	Repeats         int          `json:"repeats"`
	Samples         int          `json:"samples"`
	Accuracy        float64      `json:"accuracy"`    // mean over the folds×repeats runs
	AccuracySD      float64      `json:"accuracy_sd"` // their standard deviation
	Runs            []float64    `json:"runs"`        // accuracy of each run
	PerClass        []ClassScore `json:"per_class"`   // pooled over all runs
	Confusion       [][]int      `json:"confusion"`   // [true][predicted], pooled
	Unknown         float64      `json:"unknown_rate"`
	AcceptedCorrect float64      `json:"accepted_correct"`
	TrainSeconds    float64      `json:"train_seconds"` // median wall time of one training
	// Variants are the accuracies of other decisions from the same
	// trained heads (VariantHead equals Accuracy; VariantTTA only when
	// the samples have views).
	Variants map[string]VariantScore `json:"variants"`
	AddClass *AddClassScore          `json:"add_class,omitempty"` // CVOptions.AddClass
}

// CrossValidate measures cfg on samples by repeated stratified k-fold
// cross-validation: each repeat splits every class into k folds, trains
// on k−1 (with the samples' views) and scores the plain embeddings of the
// held-out fold. Repeat r trains with seed cfg.Seed+r.
func CrossValidate(ctx context.Context, samples []Sample, classes int, cfg Config, o CVOptions) (*CVResult, error) {
	if o.Folds == 0 {
		o.Folds = 5
	}
	if o.Repeats == 0 {
		o.Repeats = 2
	}
	if o.AddClass && classes < 3 {
		return nil, fmt.Errorf("head: adding a class needs 3 classes (2 before), have %d", classes)
	}
	if o.Folds < 2 || o.Repeats < 1 {
		return nil, fmt.Errorf("head: cross-validation with %d folds and %d repeats: want ≥ 2 and ≥ 1", o.Folds, o.Repeats)
	}
	if _, err := checkSamples(samples, classes); err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	byClass := make([][]int, classes)
	for i, s := range samples {
		byClass[s.Label] = append(byClass[s.Label], i)
	}
	for c, idx := range byClass {
		if len(idx) < o.Folds {
			return nil, fmt.Errorf("head: class %d has %d samples, fewer than %d folds", c, len(idx), o.Folds)
		}
	}
	res := &CVResult{Folds: o.Folds, Repeats: o.Repeats, Confusion: make([][]int, classes)}
	for c := range res.Confusion {
		res.Confusion[c] = make([]int, classes)
	}
	var times []float64
	var total, rejected, acceptedRight int
	probs := make([]float32, classes)
	flip := make([]float32, classes)
	ncm := make([]float32, classes)
	runs := map[string][]float64{}
	var before, after []float64
	for r := range o.Repeats {
		rng := newRNG(o.Seed + uint64(r)*0x51ed27)
		fold := make([]int, len(samples))
		for _, idx := range byClass {
			perm := rng.Perm(len(idx))
			for pos, j := range perm {
				fold[idx[j]] = pos % o.Folds
			}
		}
		for k := range o.Folds {
			var trainIdx []int
			for i := range samples {
				if fold[i] != k {
					trainIdx = append(trainIdx, i)
				}
			}
			if o.PerClass > 0 {
				trainIdx = limitPerClass(samples, trainIdx, classes, o.PerClass, rng)
			}
			c := cfg
			c.Seed = cfg.Seed + uint64(r)
			start := time.Now()
			all := samples
			if o.Features != nil {
				var err error
				if all, err = o.Features(ctx, trainIdx, c.Seed); err != nil {
					return nil, fmt.Errorf("head: cross-validation repeat %d fold %d: %w", r+1, k+1, err)
				}
			}
			var train, test []Sample
			for _, i := range trainIdx {
				train = append(train, all[i])
			}
			for i, s := range all {
				if fold[i] == k {
					test = append(test, s)
				}
			}
			if c.Validation > 0 && len(train) < 4*classes {
				c.Validation = 0 // too few to hold any out
			}
			h, _, err := Train(ctx, train, classes, c, nil)
			if err != nil {
				return nil, fmt.Errorf("head: cross-validation repeat %d fold %d: %w", r+1, k+1, err)
			}
			times = append(times, time.Since(start).Seconds())
			q := max(o.Unknown, 0)
			u, err := Calibrate(train, classes, q)
			if err != nil {
				return nil, err
			}
			rule := u
			if o.Unknown < 0 {
				rule = nil
			}
			correct := 0
			hits := map[string]int{}
			for _, s := range test {
				h.Predict(probs, s.X)
				if len(s.Views) > 0 {
					h.Predict(flip, s.Views[0])
					for i := range flip {
						flip[i] = (probs[i] + flip[i]) / 2
					}
					if Argmax(flip) == s.Label {
						hits[VariantTTA]++
					}
				}
				for c := range ncm {
					ncm[c] = blendScale * u.Similarity(s.X, c)
				}
				softmax(ncm)
				if Argmax(ncm) == s.Label {
					hits[VariantNCM]++
				}
				for c := range ncm {
					ncm[c] = (ncm[c] + probs[c]) / 2
				}
				if Argmax(ncm) == s.Label {
					hits[VariantBlend]++
				}
				d := Decide(rule, probs, s.X, o.MinProb)
				res.Confusion[s.Label][d.Index]++
				if d.Index == s.Label {
					correct++
				}
				switch {
				case !d.Known:
					rejected++
				case d.Index == s.Label:
					acceptedRight++
				}
				total++
			}
			if o.AddClass {
				b, a, err := addClassRun(ctx, train, test, classes, c, h)
				if err != nil {
					return nil, fmt.Errorf("head: cross-validation repeat %d fold %d: %w", r+1, k+1, err)
				}
				before, after = append(before, b), append(after, a)
			}
			res.Runs = append(res.Runs, float64(correct)/float64(len(test)))
			hits[VariantHead] = correct
			for _, v := range []string{VariantHead, VariantTTA, VariantNCM, VariantBlend} {
				if v != VariantTTA || len(test[0].Views) > 0 {
					runs[v] = append(runs[v], float64(hits[v])/float64(len(test)))
				}
			}
			if o.Progress != nil {
				o.Progress(len(res.Runs), o.Folds*o.Repeats)
			}
		}
	}
	res.Samples = len(samples)
	res.Accuracy, res.AccuracySD = meanSD(res.Runs)
	res.Unknown = float64(rejected) / float64(total)
	res.AcceptedCorrect = float64(acceptedRight) / float64(total)
	res.PerClass = ClassScores(res.Confusion)
	res.TrainSeconds = median(times)
	if o.AddClass {
		res.AddClass = &AddClassScore{}
		res.AddClass.Before, res.AddClass.BeforeSD = meanSD(before)
		res.AddClass.After, res.AddClass.AfterSD = meanSD(after)
	}
	res.Variants = map[string]VariantScore{}
	for v, r := range runs {
		m, sd := meanSD(r)
		res.Variants[v] = VariantScore{Accuracy: m, SD: sd}
	}
	return res, ctx.Err()
}

// addClassRun trains a head on train without the last class and returns
// its accuracy on test's samples of the other classes (before) and that
// of h, trained with every class (after).
func addClassRun(ctx context.Context, train, test []Sample, classes int, cfg Config, h *Head) (before, after float64, err error) {
	var old []Sample
	for _, s := range train {
		if s.Label < classes-1 {
			old = append(old, s)
		}
	}
	h0, _, err := Train(ctx, old, classes-1, cfg, nil)
	if err != nil {
		return 0, 0, err
	}
	p0, p := make([]float32, classes-1), make([]float32, classes)
	n, b, a := 0, 0, 0
	for _, s := range test {
		if s.Label == classes-1 {
			continue
		}
		n++
		h0.Predict(p0, s.X)
		h.Predict(p, s.X)
		if Argmax(p0) == s.Label {
			b++
		}
		if Argmax(p) == s.Label {
			a++
		}
	}
	return float64(b) / float64(max(n, 1)), float64(a) / float64(max(n, 1)), nil
}

// limitPerClass keeps at most n random ones of each class among the
// samples listed in idx.
func limitPerClass(s []Sample, idx []int, classes, n int, r *rand.Rand) []int {
	perm := r.Perm(len(idx))
	count := make([]int, classes)
	var out []int
	for _, p := range perm {
		if i := idx[p]; count[s[i].Label] < n {
			count[s[i].Label]++
			out = append(out, i)
		}
	}
	return out
}

// ClassScores turns a confusion matrix ([true][predicted]) into per-class
// accuracy.
func ClassScores(conf [][]int) []ClassScore {
	out := make([]ClassScore, len(conf))
	for c, row := range conf {
		s := ClassScore{Correct: row[c]}
		for _, n := range row {
			s.Support += n
		}
		if s.Support > 0 {
			s.Accuracy = float64(s.Correct) / float64(s.Support)
		}
		out[c] = s
	}
	return out
}

func meanSD(x []float64) (mean, sd float64) {
	if len(x) == 0 {
		return 0, 0
	}
	for _, v := range x {
		mean += v
	}
	mean /= float64(len(x))
	if len(x) < 2 {
		return mean, 0
	}
	for _, v := range x {
		sd += (v - mean) * (v - mean)
	}
	return mean, math.Sqrt(sd / float64(len(x)-1))
}

func median(x []float64) float64 {
	if len(x) == 0 {
		return 0
	}
	s := slices.Clone(x)
	slices.Sort(s)
	return s[len(s)/2]
}
