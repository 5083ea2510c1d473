package head

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"syscall"
	"time"
)

// Config holds the training hyperparameters. Start from DefaultConfig.
type Config struct {
	Hidden       int     `json:"hidden"`        // hidden units; 0 = plain softmax regression
	Epochs       int     `json:"epochs"`        // passes over the training set
	BatchSize    int     `json:"batch_size"`    // samples per Adam step
	LearningRate float64 `json:"learning_rate"` // Adam step size
	// Validation is the fraction of each class held out to measure
	// validation loss and accuracy (and for early stopping); 0 = none.
	Validation float64 `json:"validation"`
	Seed       uint64  `json:"seed"` // initial weights, split, shuffling, dropout
	// Patience stops training after this many epochs without a better
	// validation loss, restoring the best weights; 0 = train all epochs
	// (the best weights are still restored when there is a validation set).
	Patience       int     `json:"patience"`
	ClassWeights   bool    `json:"class_weights"`   // weigh classes inversely to their size
	L2             float64 `json:"l2"`              // weight decay on the weight matrices
	LabelSmoothing float64 `json:"label_smoothing"` // 0..1
	Dropout        float64 `json:"dropout"`         // on the hidden layer, 0..1
	// Refit, after a run with a validation set, trains a fresh head on
	// all samples (validation included) for the best run's number of
	// epochs and returns that one; the report keeps the validation
	// figures of the first run.
	Refit bool `json:"refit"`
	// Ensemble trains this many heads (different initialisation and
	// order, same split) and merges them into one that averages their
	// logits (hidden width ×Ensemble); 0 or 1 = a single head.
	Ensemble int `json:"ensemble,omitempty"`
	// Calibrate fits a temperature on the validation set (after a run
	// with one) and folds it into the returned head, so its probabilities
	// mean what they say (Report.Temperature).
	Calibrate bool `json:"calibrate,omitempty"`
	// Prototypes blends the nearest-class-mean classifier into the head
	// when a class has fewer than FewShot samples: the head's logits get
	// Prototypes·((FewShot/n)³ − 1) times the NCM score (PrototypeScale ·
	// cosine similarity to the mean of each class's training embeddings),
	// folded into the head as one extra hidden unit per class so the
	// exported .tflite computes it too. With tiny sets the class means
	// are the better classifier; 0 = never.
	Prototypes float64 `json:"prototypes,omitempty"`
}

// DefaultConfig returns Teachable Machine's defaults (Adam, lr 0.001, batch
// 16, 50 epochs, 15 % validation, 100 hidden units) plus balanced class
// weights, L2 0.01, mild label smoothing, early stopping with patience 10,
// a refit on all samples and an ensemble of 3 heads merged into one
// (tuned on rps_picam and flowers_tf: the ensemble removes most of the
// seed-to-seed spread), with its probabilities calibrated by temperature
// scaling.
func DefaultConfig() Config {
	return Config{
		Hidden:         100,
		Epochs:         50,
		BatchSize:      16,
		LearningRate:   0.001,
		Validation:     0.15,
		Seed:           1,
		Patience:       10,
		ClassWeights:   true,
		L2:             1e-2,
		LabelSmoothing: 0.1,
		Refit:          true,
		Ensemble:       3,
		Calibrate:      true,
		Prototypes:     2,
	}
}

// Bounds of the numeric options: well past any useful value, and small
// enough that no option can make training allocate without limit (a batch
// of 10⁹ aborted the runtime; an ensemble of 10⁶ grew to 1.3 GB). The
// daemon's configuration and the CLI apply the same ones.
const (
	MaxHidden    = 4096
	MaxEpochs    = 10000
	MaxBatchSize = 4096
	MaxPatience  = 10000
	MaxEnsemble  = 16
	MaxL2        = 10
	MaxLearnRate = 10
	MaxPrototype = 100
)

// Validate lists every bad field.
func (c Config) Validate() error {
	var errs []error
	bad := func(field string, v any, want string) {
		errs = append(errs, fmt.Errorf("head: config %s = %v: %s", field, v, want))
	}
	if c.Hidden < 0 || c.Hidden > MaxHidden {
		bad("hidden", c.Hidden, fmt.Sprintf("want 0..%d", MaxHidden))
	}
	if c.Epochs < 1 || c.Epochs > MaxEpochs {
		bad("epochs", c.Epochs, fmt.Sprintf("want 1..%d", MaxEpochs))
	}
	if c.BatchSize < 1 || c.BatchSize > MaxBatchSize {
		bad("batch_size", c.BatchSize, fmt.Sprintf("want 1..%d", MaxBatchSize))
	}
	if !(c.LearningRate > 0 && c.LearningRate < MaxLearnRate) {
		bad("learning_rate", c.LearningRate, fmt.Sprintf("want 0 < v < %d", MaxLearnRate))
	}
	if !(c.Validation >= 0 && c.Validation < 1) {
		bad("validation", c.Validation, "want 0 ≤ v < 1")
	}
	if c.Patience < 0 || c.Patience > MaxPatience {
		bad("patience", c.Patience, fmt.Sprintf("want 0..%d", MaxPatience))
	}
	if !(c.L2 >= 0 && c.L2 <= MaxL2) {
		bad("l2", c.L2, fmt.Sprintf("want 0 ≤ v ≤ %d", MaxL2))
	}
	if !(c.LabelSmoothing >= 0 && c.LabelSmoothing < 1) {
		bad("label_smoothing", c.LabelSmoothing, "want 0 ≤ v < 1")
	}
	if !(c.Dropout >= 0 && c.Dropout < 1) {
		bad("dropout", c.Dropout, "want 0 ≤ v < 1")
	}
	if !(c.Prototypes >= 0 && c.Prototypes <= MaxPrototype) {
		bad("prototypes", c.Prototypes, fmt.Sprintf("want 0 ≤ v ≤ %d", MaxPrototype))
	}
	if c.Ensemble < 0 || c.Ensemble > MaxEnsemble {
		bad("ensemble", c.Ensemble, fmt.Sprintf("want 0..%d", MaxEnsemble))
	}
	return errors.Join(errs...)
}

// Sample is one labelled training example.
type Sample struct {
	Label int
	X     []float32 // the embedding
	// Views are embeddings of augmented copies of the same image (a
	// horizontal flip, a crop). They are used for training only and always
	// land on the same side of the validation split as X.
	Views [][]float32
}

// Epoch is the progress report after one epoch. Train figures are averaged
// over the epoch's batches; loss is the plain cross-entropy.
type Epoch struct {
	Epoch         int     `json:"epoch"` // from 1
	Epochs        int     `json:"epochs"`
	TrainLoss     float64 `json:"train_loss"`
	TrainAccuracy float64 `json:"train_accuracy"`
	ValLoss       float64 `json:"val_loss,omitempty"`
	ValAccuracy   float64 `json:"val_accuracy,omitempty"`
	HasVal        bool    `json:"has_val"`
	Refit         bool    `json:"refit,omitempty"`  // an epoch of the refit on all samples
	Member        int     `json:"member,omitempty"` // ensemble member, from 1
	Members       int     `json:"members,omitempty"`
}

// Metrics are the accuracy figures of a head on a labelled set.
type Metrics struct {
	Samples   int          `json:"samples"`
	Loss      float64      `json:"loss"`
	Accuracy  float64      `json:"accuracy"`
	PerClass  []ClassScore `json:"per_class"`
	Confusion [][]int      `json:"confusion"` // [true][predicted]
}

// ClassScore is the accuracy on one class.
type ClassScore struct {
	Support  int     `json:"support"`
	Correct  int     `json:"correct"`
	Accuracy float64 `json:"accuracy"`
}

// Report summarises a training run.
type Report struct {
	Epochs    []Epoch `json:"epochs"`
	BestEpoch int     `json:"best_epoch"` // the epoch whose weights were kept
	Stopped   bool    `json:"stopped_early"`
	Refit     bool    `json:"refit"`      // the head was refitted on all samples for BestEpoch epochs
	Members   int     `json:"members"`    // heads merged (Config.Ensemble)
	TrainSize int     `json:"train_size"` // rows incl. augmented views
	ValSize   int     `json:"val_size"`
	// Final is measured on the validation set, or on the training
	// samples (without views) when there is none: see On.
	Final Metrics `json:"final"`
	On    string  `json:"on"` // "validation" or "training"
	// Temperature divides the returned head's logits (folded into its
	// weights) when Config.Calibrate; 0 = not calibrated.
	Temperature float64 `json:"temperature,omitempty"`
	// PrototypeWeight is the weight of the nearest-class-mean term in
	// the returned head (Config.Prototypes, grown for few samples).
	PrototypeWeight float64 `json:"prototype_weight,omitempty"`
	// Timings are the wall and CPU time of the phases.
	Timings *Timings `json:"timings,omitempty"`
}

// Train fits a new head to samples of classes 0..classes-1. progress, if
// not nil, is called after every epoch. Training is deterministic for a
// given Config.Seed. It stops with ctx's error when ctx ends.
func Train(ctx context.Context, samples []Sample, classes int, cfg Config, progress func(Epoch)) (*Head, *Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, nil, err
	}
	in, err := checkSamples(samples, classes)
	if err != nil {
		return nil, nil, err
	}
	// The split depends on the seed only, so ensemble members share it.
	trainIdx, valIdx := split(samples, classes, cfg.Validation, newRNG(cfg.Seed^0x5eed))
	var val []row
	for _, i := range valIdx {
		val = append(val, row{x: samples[i].X, label: samples[i].Label, weight: 1})
	}
	members := max(cfg.Ensemble, 1)
	finals, bests := make([]*Head, members), make([]*Head, members)
	reps, rngs := make([]*Report, members), make([]*rand.Rand, members)
	reports := make([]func(Epoch), members)
	var mu sync.Mutex
	for k := range members {
		rngs[k] = newRNG(cfg.Seed + uint64(k)*0x9e3779b9)
		if progress != nil {
			reports[k] = func(e Epoch) {
				e.Member, e.Members = k+1, members
				mu.Lock()
				defer mu.Unlock()
				progress(e)
			}
		}
	}
	var tm Timings
	watch := startWatch()
	// The members are independent (own generator, same split): they train
	// side by side, all at once (the Go scheduler shares the CPUs among
	// them: three heads on two cores take 1.5 head-times, not 2), first
	// their validated runs, then their refits. The result does not depend
	// on how many run at once.
	err = eachMember(members, func(k int) (err error) {
		bests[k], reps[k], err = trainValidated(ctx, samples, trainIdx, val, in, classes, cfg, rngs[k], reports[k])
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	tm.Heads = watch.lap()
	refit := len(val) > 0 && cfg.Refit
	err = eachMember(members, func(k int) (err error) {
		if !refit {
			finals[k] = bests[k].Clone()
			return nil
		}
		finals[k], err = trainRefit(ctx, samples, in, classes, cfg, reps[k].BestEpoch, rngs[k], reports[k])
		reps[k].Refit = true
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	if refit {
		tm.Refit = watch.lap()
	}
	rep := reps[0]
	final := merge(finals)
	var best *Head
	if len(val) > 0 {
		best = merge(bests)
	}
	if w := prototypeWeight(cfg.Prototypes, samples, allIndices(len(samples)), classes); w > 0 {
		all := make([]int, len(samples))
		for i := range all {
			all[i] = i
		}
		rep.PrototypeWeight = w
		final = withPrototypes(final, samples, all, classes, w)
		if best != nil {
			if wb := prototypeWeight(cfg.Prototypes, samples, trainIdx, classes); wb > 0 {
				best = withPrototypes(best, samples, trainIdx, classes, wb)
			}
		}
	}
	if len(val) > 0 {
		rep.Final, rep.On = evaluate(best, val, classes, true), "validation"
		if cfg.Calibrate {
			// Temperature scaling fitted on the validation run, folded
			// into the output layer (the exported .tflite gets it too).
			rep.Temperature = fitTemperature(best, val)
			final.scaleLogits(float32(1 / rep.Temperature))
		}
	} else {
		var all []row
		for _, s := range samples {
			all = append(all, row{x: s.X, label: s.Label, weight: 1})
		}
		rep.Final, rep.On = evaluate(final, all, classes, true), "training"
	}
	rep.Members = members
	tm.Calibrate = watch.lap()
	rep.Timings = &tm
	return final, rep, nil
}

// eachMember runs fn(k) for every member k at once and joins their
// errors.
func eachMember(members int, fn func(k int) error) error {
	errs := make([]error, members)
	var wg sync.WaitGroup
	for k := range members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[k] = fn(k)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Seconds is the wall and CPU time of a phase; CPU is the whole
// process's (user + system, all threads).
type Seconds struct {
	Wall float64 `json:"wall"`
	CPU  float64 `json:"cpu"`
}

// Timings are where Train's time went.
type Timings struct {
	Heads     Seconds `json:"heads"`          // every member's validated run (early stopping)
	Refit     Seconds `json:"refit,omitzero"` // their refits on all samples
	Calibrate Seconds `json:"calibrate"`      // merging, prototypes, temperature, final metrics
}

// stopwatch measures consecutive phases.
type stopwatch struct {
	t   time.Time
	cpu float64
}

func startWatch() stopwatch { return stopwatch{time.Now(), ProcessCPUSeconds()} }

// lap returns the time since the last lap (or the start) and starts the
// next one.
func (s *stopwatch) lap() Seconds {
	t, c := time.Now(), ProcessCPUSeconds()
	d := Seconds{Wall: t.Sub(s.t).Seconds(), CPU: c - s.cpu}
	s.t, s.cpu = t, c
	return d
}

// ProcessCPUSeconds is the process's CPU time so far (user + system, all
// threads).
func ProcessCPUSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// fitTemperature returns the temperature T that minimises the
// cross-entropy of softmax(logits/T) on rows (a grid over 0.25..4): the
// label smoothing and the ensemble leave the head underconfident (T < 1
// sharpens it), which a confidence threshold would otherwise pay for.
func fitTemperature(h *Head, rows []row) float64 {
	logits := make([][]float32, len(rows))
	for i, rw := range rows {
		logits[i] = make([]float32, h.Classes)
		h.Logits(logits[i], rw.x)
	}
	p := make([]float32, h.Classes)
	bestT, bestLoss := 1.0, math.Inf(1)
	for k := -20; k <= 20; k++ {
		t := math.Pow(2, float64(k)/10)
		var loss float64
		for i, rw := range rows {
			for c, z := range logits[i] {
				p[c] = z / float32(t)
			}
			softmax(p)
			loss -= math.Log(math.Max(float64(p[rw.label]), 1e-30))
		}
		if loss < bestLoss {
			bestT, bestLoss = t, loss
		}
	}
	return bestT
}

// scaleLogits multiplies the head's logits by k (the last layer's weights
// and biases).
func (h *Head) scaleLogits(k float32) {
	for i := range h.W2 {
		h.W2[i] *= k
	}
	for i := range h.B2 {
		h.B2[i] *= k
	}
}

func allIndices(n int) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	return idx
}

// merge combines heads of the same shape into one whose logits are the
// mean of theirs: the hidden layers side by side, the output weights
// divided by their number. It is exact, and exports like any head.
func merge(hs []*Head) *Head {
	if len(hs) == 1 {
		return hs[0].Clone()
	}
	h0, k := hs[0], float32(len(hs))
	if h0.Hidden == 0 {
		m := h0.Clone()
		for _, h := range hs[1:] {
			for i := range m.W2 {
				m.W2[i] += h.W2[i]
			}
			for i := range m.B2 {
				m.B2[i] += h.B2[i]
			}
		}
		for i := range m.W2 {
			m.W2[i] /= k
		}
		for i := range m.B2 {
			m.B2[i] /= k
		}
		return m
	}
	m := alloc(h0.In, h0.Hidden*len(hs), h0.Classes)
	for j, h := range hs {
		copy(m.W1[j*h.Hidden*h.In:], h.W1)
		copy(m.B1[j*h.Hidden:], h.B1)
		for c := range h.Classes {
			for u := range h.Hidden {
				m.W2[c*m.Hidden+j*h.Hidden+u] = h.W2[c*h.Hidden+u] / k
			}
			m.B2[c] += h.B2[c] / k
		}
	}
	return m
}

// trainValidated trains one head on trainIdx with early stopping on val
// and returns its best weights and the report (without Final).
func trainValidated(ctx context.Context, samples []Sample, trainIdx []int, val []row, in, classes int, cfg Config, r *rand.Rand, progress func(Epoch)) (best *Head, rep *Report, err error) {
	h, _ := New(in, cfg.Hidden, classes, r.Uint64())
	rows := trainingRows(samples, trainIdx, classes, cfg.ClassWeights)
	t := newTrainer(h, cfg, r)
	rep = &Report{TrainSize: len(rows), ValSize: len(val)}
	best = h.Clone()
	bestLoss := math.Inf(1)
	since := 0
	for e := 1; e <= cfg.Epochs; e++ {
		if err := ctx.Err(); err != nil {
			return nil, nil, fmt.Errorf("head: train: %w", err)
		}
		loss, acc := t.epoch(rows)
		ep := Epoch{Epoch: e, Epochs: cfg.Epochs, TrainLoss: loss, TrainAccuracy: acc}
		if len(val) > 0 {
			m := evaluate(h, val, classes, false)
			ep.ValLoss, ep.ValAccuracy, ep.HasVal = m.Loss, m.Accuracy, true
			if m.Loss < bestLoss {
				bestLoss, since, rep.BestEpoch = m.Loss, 0, e
				best.copyFrom(h)
			} else {
				since++
			}
		} else {
			rep.BestEpoch = e
			best.copyFrom(h)
		}
		rep.Epochs = append(rep.Epochs, ep)
		if progress != nil {
			progress(ep)
		}
		if len(val) > 0 && cfg.Patience > 0 && since >= cfg.Patience {
			rep.Stopped = true
			break
		}
	}
	return best, rep, nil
}

// trainRefit trains a fresh head on every sample for epochs epochs (the
// validated run's best), with r continuing the validated run's generator.
func trainRefit(ctx context.Context, samples []Sample, in, classes int, cfg Config, epochs int, r *rand.Rand, progress func(Epoch)) (*Head, error) {
	rows := trainingRows(samples, allIndices(len(samples)), classes, cfg.ClassWeights)
	h, _ := New(in, cfg.Hidden, classes, r.Uint64())
	t := newTrainer(h, cfg, r)
	for e := 1; e <= epochs; e++ {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("head: train: %w", err)
		}
		loss, acc := t.epoch(rows)
		if progress != nil {
			progress(Epoch{Epoch: e, Epochs: epochs, TrainLoss: loss, TrainAccuracy: acc, Refit: true})
		}
	}
	return h.Clone(), nil
}

// trainingRows lists the embeddings (with views) of samples[idx] with
// their class weights.
func trainingRows(samples []Sample, idx []int, classes int, weighted bool) []row {
	var rows []row
	for _, i := range idx {
		s := samples[i]
		rows = append(rows, row{x: s.X, label: s.Label, weight: 1})
		for _, v := range s.Views {
			rows = append(rows, row{x: v, label: s.Label, weight: 1})
		}
	}
	if weighted {
		count := make([]int, classes)
		for _, rw := range rows {
			count[rw.label]++
		}
		for i := range rows {
			rows[i].weight = float32(float64(len(rows)) / float64(classes*count[rows[i].label]))
		}
	}
	return rows
}

func checkSamples(samples []Sample, classes int) (int, error) {
	if classes < 2 {
		return 0, fmt.Errorf("head: need at least 2 classes, have %d", classes)
	}
	if len(samples) == 0 {
		return 0, errors.New("head: no samples")
	}
	in := len(samples[0].X)
	if in == 0 {
		return 0, errors.New("head: sample 0: empty embedding")
	}
	count := make([]int, classes)
	for i, s := range samples {
		if s.Label < 0 || s.Label >= classes {
			return 0, fmt.Errorf("head: sample %d: label %d out of range 0..%d", i, s.Label, classes-1)
		}
		count[s.Label]++
		for _, x := range append([][]float32{s.X}, s.Views...) {
			if len(x) != in {
				return 0, fmt.Errorf("head: sample %d: embedding length %d, want %d", i, len(x), in)
			}
			for _, v := range x {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					return 0, fmt.Errorf("head: sample %d: non-finite embedding", i)
				}
			}
		}
	}
	for c, n := range count {
		if n == 0 {
			return 0, fmt.Errorf("head: class %d has no samples", c)
		}
	}
	return in, nil
}

// split holds out round(frac·n) samples of each class (keeping at least
// one for training), chosen at random.
func split(samples []Sample, classes int, frac float64, r *rand.Rand) (train, val []int) {
	byClass := make([][]int, classes)
	for i, s := range samples {
		byClass[s.Label] = append(byClass[s.Label], i)
	}
	for _, idx := range byClass {
		r.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		nv := int(math.Round(frac * float64(len(idx))))
		nv = min(nv, len(idx)-1)
		val = append(val, idx[:nv]...)
		train = append(train, idx[nv:]...)
	}
	return train, val
}

type row struct {
	x      []float32
	label  int
	weight float32
}

// Evaluate measures h on labelled embeddings.
func Evaluate(h *Head, x [][]float32, labels []int) Metrics {
	rows := make([]row, len(x))
	for i := range x {
		rows[i] = row{x: x[i], label: labels[i], weight: 1}
	}
	return evaluate(h, rows, h.Classes, true)
}

func evaluate(h *Head, rows []row, classes int, detail bool) Metrics {
	m := Metrics{Samples: len(rows)}
	if detail {
		m.Confusion = make([][]int, classes)
		for i := range m.Confusion {
			m.Confusion[i] = make([]int, classes)
		}
	}
	correct := 0
	// Batches of 16 through the tiled kernel when possible.
	const chunk = 16
	t := &trainer{h: h}
	xs := make([][]float32, 0, chunk)
	for start := 0; start < len(rows); start += chunk {
		part := rows[start:min(start+chunk, len(rows))]
		xs = xs[:0]
		for _, rw := range part {
			xs = append(xs, rw.x)
		}
		t.grow(len(part))
		ins := xs
		if h.Hidden > 0 {
			gemmRows(t.hid[:len(part)], h.W1, h.B1, xs)
			for _, hid := range t.hid[:len(part)] {
				for j, v := range hid {
					hid[j] = max(v, 0)
				}
			}
			ins = t.hid[:len(part)]
		}
		gemmRows(t.p[:len(part)], h.W2, h.B2, ins)
		for b, rw := range part {
			p := t.p[b]
			softmax(p)
			m.Loss -= math.Log(math.Max(float64(p[rw.label]), 1e-30))
			k := Argmax(p)
			if k == rw.label {
				correct++
			}
			if detail {
				m.Confusion[rw.label][k]++
			}
		}
	}
	if len(rows) > 0 {
		m.Loss /= float64(len(rows))
		m.Accuracy = float64(correct) / float64(len(rows))
	}
	if detail {
		m.PerClass = make([]ClassScore, classes)
		for c := range classes {
			s := ClassScore{Correct: m.Confusion[c][c]}
			for _, n := range m.Confusion[c] {
				s.Support += n
			}
			if s.Support > 0 {
				s.Accuracy = float64(s.Correct) / float64(s.Support)
			}
			m.PerClass[c] = s
		}
	}
	return m
}
