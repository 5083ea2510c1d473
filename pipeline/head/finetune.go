package head

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"

	"github.com/alphad/alphad/pipeline/tflite"
)

// Fine-tuning beyond the head: the backbone's tail (MobileNetV2's Conv_1, a
// 1×1 convolution 320→1280 with ReLU6, then the global average pool) is
// run in float32 here on cached activations entering it, so training can
// adapt it. The backbone itself still runs once per sample view.

// Tail is the end of a MobileNet-style feature extractor in float32: a
// pointwise (1×1) convolution with a ReLU or ReLU6, then the global
// average pool whose output is the embedding.
type Tail struct {
	In, Out int
	W, B    []float32 // Out×In row-major, Out
	Clip    float32   // upper bound of the activation (6 for ReLU6); 0 = ReLU
}

// FindTail finds the tail of a feature model (one cut at its global pool,
// see FeatureModel): its output must be an average pool over the whole
// map of a 1×1, stride-1 CONV_2D with a ReLU or ReLU6 and constant
// weights. It returns the tail and the tensor entering the convolution,
// where the backbone is cut (tflite.Model.CutAt) to cache activations.
func FindTail(m *tflite.Model) (*Tail, int, error) {
	if len(m.Outputs) != 1 {
		return nil, 0, fmt.Errorf("head: tail: model has %d outputs, want 1", len(m.Outputs))
	}
	producer := func(t int) *tflite.Operator {
		for _, op := range m.Operators {
			for _, o := range op.Outputs {
				if o == t {
					return op
				}
			}
		}
		return nil
	}
	pool := producer(m.Outputs[0])
	if pool == nil || (pool.Op != tflite.OpAveragePool2D && pool.Op != tflite.OpMean) || len(pool.Inputs) == 0 {
		return nil, 0, errors.New("head: tail: the model does not end with a global average pool")
	}
	if po, ok := pool.Options.(*tflite.Pool2DOptions); ok && po.Activation != tflite.ActNone {
		return nil, 0, errors.New("head: tail: the pool has a fused activation")
	}
	conv := producer(pool.Inputs[0])
	if conv == nil || conv.Op != tflite.OpConv2D || len(conv.Inputs) < 3 {
		return nil, 0, errors.New("head: tail: the pool's input is not a CONV_2D with a bias")
	}
	o, _ := conv.Options.(*tflite.Conv2DOptions)
	if o == nil || o.StrideW != 1 || o.StrideH != 1 || o.DilationW != 1 || o.DilationH != 1 {
		return nil, 0, errors.New("head: tail: the last convolution is not stride 1")
	}
	var clip float32
	switch o.Activation {
	case tflite.ActRelu6:
		clip = 6
	case tflite.ActRelu:
	default:
		return nil, 0, fmt.Errorf("head: tail: the last convolution's activation %d is not ReLU or ReLU6", o.Activation)
	}
	x, w, b := m.Tensors[conv.Inputs[0]], m.Tensors[conv.Inputs[1]], conv.Inputs[2]
	if len(w.Shape) != 4 || w.Shape[1] != 1 || w.Shape[2] != 1 || !w.IsConst() || len(x.Shape) != 4 || x.Shape[3] != w.Shape[3] {
		return nil, 0, fmt.Errorf("head: tail: the last convolution's weights %v are not 1×1 over %v", w.Shape, x.Shape)
	}
	if b < 0 || !m.Tensors[b].IsConst() || m.Tensors[b].NumElements() != w.Shape[0] {
		return nil, 0, errors.New("head: tail: the last convolution has no constant bias")
	}
	if producer(conv.Inputs[0]) == nil {
		return nil, 0, errors.New("head: tail: the last convolution reads the model's input (no backbone before it)")
	}
	t := &Tail{In: w.Shape[3], Out: w.Shape[0], Clip: clip}
	var err error
	if t.W, err = constFloats(w, 0); err != nil {
		return nil, 0, fmt.Errorf("head: tail: weights: %w", err)
	}
	if t.B, err = constFloats(m.Tensors[b], 0); err != nil {
		return nil, 0, fmt.Errorf("head: tail: bias: %w", err)
	}
	return t, conv.Inputs[0], nil
}

// constFloats dequantizes a constant tensor (float32, uint8, int8 or
// int32; per-tensor or per-channel along axis, which must be 0).
func constFloats(t *tflite.Tensor, axis int) ([]float32, error) {
	n := t.NumElements()
	out := make([]float32, n)
	if t.Type == tflite.Float32 {
		Dequantize(out, t.Data, t)
		return out, nil
	}
	q := t.Quant
	if q == nil || len(q.Scale) == 0 {
		return nil, fmt.Errorf("%s tensor %q is not quantized", t.Type, t.Name)
	}
	if q.PerChannel() && (q.Axis != axis || len(q.Scale) != t.Shape[axis]) {
		return nil, fmt.Errorf("tensor %q: per-channel quantization on axis %d, want %d", t.Name, q.Axis, axis)
	}
	per := n / len(q.Scale)
	for i := range out {
		c := i / per
		s, zp := q.Scale[c], float32(0)
		if c < len(q.ZeroPoint) {
			zp = float32(q.ZeroPoint[c])
		}
		var v float32
		switch t.Type {
		case tflite.Uint8:
			v = float32(t.Data[i])
		case tflite.Int8:
			v = float32(int8(t.Data[i]))
		case tflite.Int32:
			v = float32(int32(uint32(t.Data[4*i]) | uint32(t.Data[4*i+1])<<8 | uint32(t.Data[4*i+2])<<16 | uint32(t.Data[4*i+3])<<24))
		default:
			return nil, fmt.Errorf("tensor %q: type %s not supported", t.Name, t.Type)
		}
		out[i] = s * (v - zp)
	}
	return out, nil
}

// Pre writes the pre-activations of one view into dst: x holds P
// positions × In activations (NHWC order), dst P × Out.
func (t *Tail) Pre(dst, x []float32) {
	p := len(x) / t.In
	xs, ds := make([][]float32, p), make([][]float32, p)
	for i := range p {
		xs[i], ds[i] = x[i*t.In:(i+1)*t.In], dst[i*t.Out:(i+1)*t.Out]
	}
	gemmRows(ds, t.W, t.B, xs)
}

// Scale is a per-channel affine adaptation of a tail's pre-activation
// (BitFit/FiLM style): Gamma·z + Beta enters the activation. Tail.Fold
// turns it into an ordinary tail.
type Scale struct {
	Gamma, Beta []float32
}

// identityScale is the pretrained tail's scale.
func identityScale(n int) Scale {
	s := Scale{Gamma: make([]float32, n), Beta: make([]float32, n)}
	for i := range s.Gamma {
		s.Gamma[i] = 1
	}
	return s
}

// Adaptation is what fine-tuning changes in a tail: a per-channel scale
// and shift of the pre-activation and, with Rank > 0, a low-rank update
// of the weights (LoRA): Gamma·((W + Atᵀ·B)·x + bias) + Beta enters the
// activation. Tail.Fold turns it into an ordinary tail.
type Adaptation struct {
	Scale
	Rank  int
	At, B []float32 // Rank×Out and Rank×In
}

// Identity is the adaptation that changes nothing.
func (t *Tail) Identity() Adaptation { return Adaptation{Scale: identityScale(t.Out)} }

// Fold returns the tail computing t with a applied: the low-rank update
// added to the weights, then each output row of the weights and its bias
// times Gamma, plus Beta on the bias.
func (t *Tail) Fold(a Adaptation) *Tail {
	f := &Tail{In: t.In, Out: t.Out, Clip: t.Clip, W: make([]float32, len(t.W)), B: make([]float32, len(t.B))}
	copy(f.W, t.W)
	for k := range a.Rank {
		at, b := a.At[k*t.Out:(k+1)*t.Out], a.B[k*t.In:(k+1)*t.In]
		for o, v := range at {
			axpy(f.W[o*t.In:(o+1)*t.In], v, b)
		}
	}
	for o := range t.Out {
		g := a.Gamma[o]
		row := f.W[o*t.In : (o+1)*t.In]
		for i := range row {
			row[i] *= g
		}
		f.B[o] = g*t.B[o] + a.Beta[o]
	}
	return f
}

// lowRank adds the low-rank update of a to the pre-activations z of one
// view (P × Out) whose input activations are x (P × In), leaving B·x in
// y (P × Rank).
func (t *Tail) lowRank(z, y, x []float32, a *Adaptation) {
	r := a.Rank
	for p := range len(x) / t.In {
		xp, yp, zp := x[p*t.In:(p+1)*t.In], y[p*r:(p+1)*r], z[p*t.Out:(p+1)*t.Out]
		for k := range r {
			yp[k] = dot(a.B[k*t.In:(k+1)*t.In], xp)
			axpy(zp, yp[k], a.At[k*t.Out:(k+1)*t.Out])
		}
	}
}

// lowRankGrad adds to g (At and B) the gradient of the loss with respect
// to the low-rank update, given dx (its gradient with respect to the
// embedding), the view's pre-activations z with the update, y = B·x and
// x, under identity scale. dz is scratch (len Out), dy len Rank.
func (t *Tail) lowRankGrad(g *Adaptation, dx, z, y, x, dz []float32, a *Adaptation) {
	r := a.Rank
	p := len(x) / t.In
	inv := 1 / float32(p)
	var dy [maxRank]float32
	for q := range p {
		zq, yq, xq := z[q*t.Out:(q+1)*t.Out], y[q*r:(q+1)*r], x[q*t.In:(q+1)*t.In]
		for o, u := range zq {
			if u <= 0 || (t.Clip > 0 && u >= t.Clip) {
				dz[o] = 0
			} else {
				dz[o] = dx[o] * inv
			}
		}
		for k := range r {
			axpy(g.At[k*t.Out:(k+1)*t.Out], yq[k], dz)
			dy[k] = dot(a.At[k*t.Out:(k+1)*t.Out], dz)
		}
		for k := range r {
			if dy[k] != 0 {
				axpy(g.B[k*t.In:(k+1)*t.In], dy[k], xq)
			}
		}
	}
}

// MaxRank bounds the rank of a low-rank adaptation.
const MaxRank = maxRank

const maxRank = 64

// clip is the activation's upper bound (+Inf for a plain ReLU).
func (t *Tail) clip() float32 {
	if t.Clip > 0 {
		return t.Clip
	}
	return float32(math.Inf(1))
}

// pool writes the embedding of pre-activations z (P × Out) under s into
// dst (len Out): the mean over positions of act(Gamma·z + Beta).
func (t *Tail) pool(dst, z []float32, s Scale) {
	clear(dst)
	n := len(dst)
	g, b := s.Gamma[:n], s.Beta[:n]
	hi := t.clip()
	for q := range len(z) / n {
		row := z[q*n : (q+1)*n]
		for o, v := range row {
			u := g[o]*v + b[o]
			if u < 0 {
				u = 0
			} else if u > hi {
				u = hi
			}
			dst[o] += u
		}
	}
	inv := 1 / float32(len(z)/n)
	for o := range dst {
		dst[o] *= inv
	}
}

// poolGrad adds to gs the gradient of the loss with respect to s, given
// dx, its gradient with respect to the embedding of pre-activations z.
func (t *Tail) poolGrad(gs Scale, dx, z []float32, s Scale) {
	n := len(dx)
	g, b := s.Gamma[:n], s.Beta[:n]
	dg, db := gs.Gamma[:n], gs.Beta[:n]
	inv := 1 / float32(len(z)/n)
	hi := t.clip()
	for q := range len(z) / n {
		row := z[q*n : (q+1)*n]
		for o, v := range row {
			if u := g[o]*v + b[o]; u > 0 && u < hi {
				d := dx[o] * inv
				dg[o] += d * v
				db[o] += d
			}
		}
	}
}

// TailSample is one labelled sample for fine-tuning a tail: per view
// (0: the stored image, then its augmented views), the activations X
// entering the tail (P × In) and the pretrained tail's pre-activations Z
// (P × Out).
type TailSample struct {
	Label int
	X, Z  [][]float32
}

// TailSamples computes the pre-activations of samples whose X and Views
// are the activations entering t (P × In each; kept, not copied), on all
// CPUs.
func TailSamples(t *Tail, samples []Sample) []TailSample {
	out := make([]TailSample, len(samples))
	var wg sync.WaitGroup
	work := make(chan int)
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				s := samples[i]
				ts := TailSample{Label: s.Label, X: append([][]float32{s.X}, s.Views...)}
				for _, x := range ts.X {
					z := make([]float32, len(x)/t.In*t.Out)
					t.Pre(z, x)
					ts.Z = append(ts.Z, z)
				}
				out[i] = ts
			}
		}()
	}
	for i := range samples {
		work <- i
	}
	close(work)
	wg.Wait()
	return out
}

// embedView writes the embedding of view v of s under a into e; z and y
// are scratch (P × Out, P × Rank) used with a low-rank update, and left
// holding its pre-activations and B·x.
func (t *Tail) embedView(e []float32, s TailSample, v int, a *Adaptation, z, y []float32) {
	if a.Rank == 0 {
		t.pool(e, s.Z[v], a.Scale)
		return
	}
	copy(z, s.Z[v])
	t.lowRank(z, y, s.X[v], a)
	t.pool(e, z, a.Scale)
}

// Embed returns the samples' embeddings under t adapted by a (X from
// view 0, Views from the others).
func (t *Tail) Embed(samples []TailSample, a Adaptation) []Sample {
	out := make([]Sample, len(samples))
	var z, y []float32
	for i, ts := range samples {
		out[i].Label = ts.Label
		for v := range ts.Z {
			if a.Rank > 0 && len(z) != len(ts.Z[v]) {
				z, y = make([]float32, len(ts.Z[v])), make([]float32, len(ts.Z[v])/t.Out*a.Rank)
			}
			e := make([]float32, t.Out)
			t.embedView(e, ts, v, &a, z, y)
			if v == 0 {
				out[i].X = e
			} else {
				out[i].Views = append(out[i].Views, e)
			}
		}
	}
	return out
}

// Fine-tuning modes (FineTuneConfig.Mode).
const (
	FineTuneNone   = "none"   // the backbone's own embeddings (no tail in float)
	FineTuneFrozen = "frozen" // the float tail, unchanged: the control for the others
	FineTuneScale  = "scale"  // per-channel scale and shift of the tail's pre-activation
	FineTuneLoRA   = "lora"   // a low-rank update of the tail's weights (Rank)
)

// FineTuneConfig configures FineTune. Start from DefaultFineTune.
type FineTuneConfig struct {
	Mode string `json:"mode"`
	// Warmup epochs train the head alone on the pretrained tail (linear
	// probing first keeps a random head's gradients out of the tail).
	Warmup int `json:"warmup"`
	// Epochs of joint training (head and tail), early-stopped on the
	// validation split with Patience.
	Epochs       int     `json:"epochs"`
	Patience     int     `json:"patience"`
	LearningRate float64 `json:"learning_rate"` // Adam, for the tail's parameters
	// L2 pulls the tail's parameters back to the pretrained ones
	// (Gamma 1, Beta 0, no low-rank update): L2/2·‖θ − θ₀‖².
	L2   float64 `json:"l2"`
	Rank int     `json:"rank,omitempty"` // of the low-rank update (mode lora)
}

// DefaultFineTune returns the defaults of a mode. Measured with `alphad
// eval` (5 folds × 2 seeds, 2026-12-02): neither mode beats the float tail
// left frozen — flowers_tf 87.4 ± 4.4 % frozen, 87.4 ± 4.7 scale, 86.5 ±
// 3.9 LoRA rank 8 (87.8 ± 3.8 at rank 16, lr 3e-2); rps_picam 98.3 ± 1.4
// frozen and scale, 97.8 ± 1.4 LoRA; at 10 per class all within 0.4
// points — for 2–4× the head's training time, so training does not use
// it (eval --finetune only).
func DefaultFineTune(mode string) FineTuneConfig {
	return FineTuneConfig{Mode: mode, Warmup: 10, Epochs: 20, Patience: 5, LearningRate: 1e-2, L2: 1e-3, Rank: 8}
}

// Validate lists every bad field.
func (c FineTuneConfig) Validate() error {
	var errs []error
	bad := func(field string, v any, want string) {
		errs = append(errs, fmt.Errorf("head: fine-tune %s = %v: %s", field, v, want))
	}
	switch c.Mode {
	case FineTuneNone, FineTuneFrozen, FineTuneScale, FineTuneLoRA:
	default:
		bad("mode", c.Mode, "want none, frozen, scale or lora")
	}
	if c.Warmup < 0 || c.Warmup > MaxEpochs {
		bad("warmup", c.Warmup, fmt.Sprintf("want 0..%d", MaxEpochs))
	}
	if c.Epochs < 0 || c.Epochs > MaxEpochs {
		bad("epochs", c.Epochs, fmt.Sprintf("want 0..%d", MaxEpochs))
	}
	if c.Patience < 0 || c.Patience > MaxPatience {
		bad("patience", c.Patience, fmt.Sprintf("want 0..%d", MaxPatience))
	}
	if !(c.LearningRate > 0 && c.LearningRate < MaxLearnRate) {
		bad("learning_rate", c.LearningRate, fmt.Sprintf("want 0 < v < %d", MaxLearnRate))
	}
	if !(c.L2 >= 0 && c.L2 <= MaxL2) {
		bad("l2", c.L2, fmt.Sprintf("want 0 ≤ v ≤ %d", MaxL2))
	}
	if c.Mode == FineTuneLoRA && (c.Rank < 1 || c.Rank > MaxRank) {
		bad("rank", c.Rank, fmt.Sprintf("want 1..%d", MaxRank))
	}
	return errors.Join(errs...)
}

// FineTuneReport summarises a fine-tuning run.
type FineTuneReport struct {
	Epochs    int     `json:"epochs"`     // joint epochs run
	BestEpoch int     `json:"best_epoch"` // joint epoch kept (0 = the pretrained tail)
	ValLoss   float64 `json:"val_loss"`   // of the kept tail with its head
}

// FineTune adapts the tail t to samples of classes 0..classes-1: a head
// of cfg's shape (one member, cfg's loss, class weights and L2) trains on
// the pretrained tail's embeddings for ft.Warmup epochs, then head and
// tail train together for up to ft.Epochs, keeping the tail of the best
// validation loss. The validation split is Train's for the same samples
// and cfg.Seed, so a head trained afterwards on the adapted embeddings
// validates on samples the tail did not see. Mode frozen returns the
// identity.
func FineTune(ctx context.Context, t *Tail, samples []TailSample, classes int, cfg Config, ft FineTuneConfig) (Adaptation, *FineTuneReport, error) {
	best := t.Identity()
	rep := &FineTuneReport{}
	if err := errors.Join(cfg.Validate(), ft.Validate()); err != nil {
		return best, nil, err
	}
	if ft.Mode != FineTuneScale && ft.Mode != FineTuneLoRA {
		return best, rep, nil
	}
	if len(samples) == 0 {
		return best, nil, errors.New("head: fine-tune: no samples")
	}
	// Train's split: it depends only on the labels' order and the seed.
	plain := make([]Sample, len(samples))
	for i, ts := range samples {
		plain[i].Label = ts.Label
	}
	trainIdx, valIdx := split(plain, classes, cfg.Validation, newRNG(cfg.Seed^0x5eed))
	type ref struct {
		s      int // sample
		v      int // view
		label  int
		weight float32
	}
	var rows, val []ref
	for _, i := range trainIdx {
		for v := range samples[i].Z {
			rows = append(rows, ref{s: i, v: v, label: samples[i].Label, weight: 1})
		}
	}
	for _, i := range valIdx {
		val = append(val, ref{s: i, label: samples[i].Label, weight: 1})
	}
	if cfg.ClassWeights {
		count := make([]int, classes)
		for _, r := range rows {
			count[r.label]++
		}
		for i := range rows {
			rows[i].weight = float32(float64(len(rows)) / float64(classes*count[rows[i].label]))
		}
	}
	r := newRNG(cfg.Seed + 0xf17e)
	h, err := New(t.Out, cfg.Hidden, classes, r.Uint64())
	if err != nil {
		return best, nil, err
	}
	tr := newTrainer(h, cfg, r)
	// The tail's parameters in one slice (Gamma, Beta or At, B), their
	// pretrained values, gradient and Adam moments.
	var a, g Adaptation
	var params, init, grad []float32
	p0 := len(samples[0].Z[0]) / t.Out // positions
	if ft.Mode == FineTuneScale {
		params, grad = make([]float32, 2*t.Out), make([]float32, 2*t.Out)
		a = Adaptation{Scale: Scale{Gamma: params[:t.Out:t.Out], Beta: params[t.Out:]}}
		g = Adaptation{Scale: Scale{Gamma: grad[:t.Out:t.Out], Beta: grad[t.Out:]}}
		copy(a.Gamma, best.Gamma)
	} else {
		k := ft.Rank
		params, grad = make([]float32, k*(t.Out+t.In)), make([]float32, k*(t.Out+t.In))
		a = Adaptation{Scale: best.Scale, Rank: k, At: params[: k*t.Out : k*t.Out], B: params[k*t.Out:]}
		g = Adaptation{Rank: k, At: grad[: k*t.Out : k*t.Out], B: grad[k*t.Out:]}
		// LoRA's initialisation: the down projection random, the up
		// projection zero, so training starts at the pretrained tail.
		glorot(r, a.B, t.In, k)
		best.Rank, best.At, best.B = k, make([]float32, len(a.At)), slices.Clone(a.B)
	}
	init = slices.Clone(params)
	m, v := make([]float32, len(params)), make([]float32, len(params))
	bestParams := slices.Clone(params)
	step := 0
	// Per batch slot: the embedding and, with a low-rank update, the
	// pre-activations and B·x.
	emb, zs, ys := make([][]float32, cfg.BatchSize), make([][]float32, cfg.BatchSize), make([][]float32, cfg.BatchSize)
	for i := range emb {
		emb[i] = make([]float32, t.Out)
		if a.Rank > 0 {
			zs[i], ys[i] = make([]float32, p0*t.Out), make([]float32, p0*a.Rank)
		}
	}
	valLoss := func() float64 {
		vr := make([]row, len(val))
		for i, x := range val {
			e := make([]float32, t.Out)
			t.embedView(e, samples[x.s], 0, &a, zs[0], ys[0])
			vr[i] = row{x: e, label: x.label, weight: 1}
		}
		return evaluate(h, vr, classes, false).Loss
	}
	bestLoss := math.Inf(1)
	since := 0
	order := make([]int, len(rows))
	for i := range order {
		order[i] = i
	}
	// The warmup's embeddings do not change: computed once.
	var fixed [][]float32
	if ft.Warmup > 0 {
		fixed = make([][]float32, len(rows))
		for i, rw := range rows {
			fixed[i] = make([]float32, t.Out)
			t.embedView(fixed[i], samples[rw.s], rw.v, &a, zs[0], ys[0])
		}
	}
	dx, dz := make([]float32, t.Out), make([]float32, t.Out)
	batch := make([]row, 0, cfg.BatchSize)
	for e := 1; e <= ft.Warmup+ft.Epochs; e++ {
		if err := ctx.Err(); err != nil {
			return best, nil, fmt.Errorf("head: fine-tune: %w", err)
		}
		joint := e > ft.Warmup
		r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for start := 0; start < len(order); start += cfg.BatchSize {
			idx := order[start:min(start+cfg.BatchSize, len(order))]
			batch = batch[:0]
			for b, i := range idx {
				x := emb[b]
				if joint {
					t.embedView(x, samples[rows[i].s], rows[i].v, &a, zs[b], ys[b])
				} else {
					x = fixed[i]
				}
				batch = append(batch, row{x: x, label: rows[i].label, weight: rows[i].weight})
			}
			tr.lossAndGrad(batch, cfg.Dropout > 0)
			if joint {
				clear(grad)
				for b, i := range idx {
					tr.inputGrad(dx, b)
					s := samples[rows[i].s]
					if a.Rank == 0 {
						t.poolGrad(g.Scale, dx, s.Z[rows[i].v], a.Scale)
					} else {
						t.lowRankGrad(&g, dx, zs[b], ys[b], s.X[rows[i].v], dz, &a)
					}
				}
				if l2 := float32(ft.L2); l2 > 0 {
					for j, p := range params {
						grad[j] += l2 * (p - init[j])
					}
				}
				step++
				c1 := 1 - math.Pow(beta1, float64(step))
				c2 := 1 - math.Pow(beta2, float64(step))
				adamStep(params, grad, m, v, float32(ft.LearningRate*math.Sqrt(c2)/c1), float32(epsilon*math.Sqrt(c2)), 0)
			}
			tr.adam()
		}
		if !joint {
			if e == ft.Warmup && len(val) > 0 {
				bestLoss = valLoss() // the pretrained tail's, with the warmed-up head
				rep.ValLoss = bestLoss
			}
			continue
		}
		rep.Epochs = e - ft.Warmup
		if len(val) == 0 {
			copy(bestParams, params)
			rep.BestEpoch = rep.Epochs
			continue
		}
		if l := valLoss(); l < bestLoss {
			bestLoss, since, rep.BestEpoch, rep.ValLoss = l, 0, rep.Epochs, l
			copy(bestParams, params)
		} else if since++; ft.Patience > 0 && since >= ft.Patience {
			break
		}
	}
	if rep.BestEpoch > 0 {
		copy(params, bestParams)
		best = a
	}
	return best, rep, nil
}

// inputGrad writes into dx the gradient of the last lossAndGrad's
// objective with respect to batch sample b's input.
func (t *trainer) inputGrad(dx []float32, b int) {
	h := t.h
	clear(dx)
	if h.Hidden > 0 {
		for j, d := range t.dz1[b] {
			if d != 0 {
				axpy(dx, d, h.W1[j*h.In:(j+1)*h.In])
			}
		}
		return
	}
	for c, d := range t.p[b] {
		axpy(dx, d, h.W2[c*h.In:(c+1)*h.In])
	}
}
