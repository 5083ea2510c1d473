package head

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"

	"github.com/alphad/alphad/pipeline/engine"
	"github.com/alphad/alphad/pipeline/tflite"
)

// Fill writes one preprocessed image into a model input tensor's storage
// (dst is sized and typed as t). The camera pipeline provides it.
type Fill func(dst []byte, t *tflite.Tensor) error

// Backbone runs a feature extractor (or, for an imported classifier used
// as is, a whole model) and returns its output as float32, dequantizing
// uint8/int8 outputs. It is safe for concurrent use (calls are
// serialised).
type Backbone struct {
	Model *tflite.Model // the model the engine runs (already cut)
	Hash  string        // identifies the weights; keys the embedding cache

	mu     sync.Mutex
	eng    engine.Engine
	closed bool
}

// ErrClosed is returned after Close.
var ErrClosed = errors.New("head: closed")

// FeatureModel returns the feature extractor of m: m itself when it has
// no global pool or ends with it (a features-only model), otherwise m cut
// at its global average pool (a full classifier such as Google's or a
// Teachable Machine export). cut reports whether it cut.
func FeatureModel(m *tflite.Model) (f *tflite.Model, cut bool, err error) {
	if len(m.Inputs) != 1 || len(m.Outputs) != 1 {
		return nil, false, fmt.Errorf("head: backbone has %d inputs and %d outputs, want 1 and 1", len(m.Inputs), len(m.Outputs))
	}
	pool, ok := m.FindGlobalPool()
	if !ok || pool == m.Outputs[0] {
		return m, false, nil
	}
	f, err = m.CutAt(pool)
	if err != nil {
		return nil, false, fmt.Errorf("head: cut backbone at global pool: %w", err)
	}
	return f, true, nil
}

// NewBackbone builds an engine for m (used as given: cut it first with
// FeatureModel for a feature extractor).
func NewBackbone(m *tflite.Model, hash string, newEngine engine.New, opts engine.Options) (*Backbone, error) {
	if len(m.Inputs) != 1 || len(m.Outputs) != 1 {
		return nil, fmt.Errorf("head: backbone has %d inputs and %d outputs, want 1 and 1", len(m.Inputs), len(m.Outputs))
	}
	switch t := m.Output(0).Type; t {
	case tflite.Float32, tflite.Uint8, tflite.Int8:
	default:
		return nil, fmt.Errorf("head: backbone output type %s not supported", t)
	}
	eng, err := newEngine(m, opts)
	if err != nil {
		return nil, fmt.Errorf("head: backbone engine: %w", err)
	}
	return &Backbone{Model: m, Hash: hash, eng: eng}, nil
}

// prewaker is an engine that can be told an Invoke is coming (the native
// engine wakes its parked worker goroutines).
type prewaker interface{ Prewake() }

// Dim is the length of the backbone's output.
func (b *Backbone) Dim() int { return b.Model.Output(0).NumElements() }

// Input is the backbone's input tensor (shape, type, quantization).
func (b *Backbone) Input() *tflite.Tensor { return b.Model.Input(0) }

// Embed runs the backbone on what fill writes and stores the output, as
// float32, in dst (len Dim).
func (b *Backbone) Embed(dst []float32, fill Fill) error {
	if len(dst) != b.Dim() {
		return fmt.Errorf("head: embed into %d floats, want %d", len(dst), b.Dim())
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return ErrClosed
	}
	if pw, ok := b.eng.(prewaker); ok {
		pw.Prewake() // its workers wake while fill prepares the frame
	}
	if err := fill(b.eng.Input(0), b.Model.Input(0)); err != nil {
		return fmt.Errorf("head: fill backbone input: %w", err)
	}
	if err := b.eng.Invoke(); err != nil {
		return fmt.Errorf("head: backbone: %w", err)
	}
	Dequantize(dst, b.eng.Output(0), b.Model.Output(0))
	return nil
}

// Dequantize converts raw output storage of tensor t to float32 in dst.
func Dequantize(dst []float32, raw []byte, t *tflite.Tensor) {
	scale, zp := float32(1), float32(0)
	if t.Quant != nil && len(t.Quant.Scale) > 0 {
		scale = t.Quant.Scale[0]
		if len(t.Quant.ZeroPoint) > 0 {
			zp = float32(t.Quant.ZeroPoint[0])
		}
	}
	switch t.Type {
	case tflite.Float32:
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
	case tflite.Uint8:
		for i := range dst {
			dst[i] = scale * (float32(raw[i]) - zp)
		}
	case tflite.Int8:
		for i := range dst {
			dst[i] = scale * (float32(int8(raw[i])) - zp)
		}
	}
}

// Close frees the engine; Embed fails afterwards.
func (b *Backbone) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	return b.eng.Close()
}

// Model is one loaded model version: a backbone and a trained head, or a
// whole imported classifier (Head nil) whose output are the probabilities.
type Model struct {
	Version  string
	Labels   []string
	Backbone *Backbone
	Head     *Head // nil: Backbone is a full classifier
	// Unknown is the version's open-set rule (nil: none, e.g. an
	// imported classifier); see Decide.
	Unknown *Unknown

	mu  sync.Mutex
	emb []float32
}

// ClassifyDecision classifies the image fill writes and applies the
// model's decision rule (Decide with m.Unknown and minProb): the
// probabilities and the decision.
func (m *Model) ClassifyDecision(fill Fill, minProb float32) ([]float32, Decision, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, err := m.classify(fill)
	if err != nil {
		return nil, Decision{}, err
	}
	return p, Decide(m.Unknown, p, m.emb, minProb), nil
}

// Classify returns the class probabilities (len(Labels)) for the image
// fill writes.
func (m *Model) Classify(fill Fill) ([]float32, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.classify(fill)
}

// classify runs the model, leaving the embedding in m.emb; m.mu is held.
func (m *Model) classify(fill Fill) ([]float32, error) {
	if len(m.emb) != m.Backbone.Dim() {
		m.emb = make([]float32, m.Backbone.Dim())
	}
	if err := m.Backbone.Embed(m.emb, fill); err != nil {
		return nil, err
	}
	if m.Head == nil {
		if len(m.emb) != len(m.Labels) {
			return nil, fmt.Errorf("head: model %s has %d outputs and %d labels", m.Version, len(m.emb), len(m.Labels))
		}
		return append([]float32(nil), m.emb...), nil
	}
	p := make([]float32, m.Head.Classes)
	m.Head.Predict(p, m.emb)
	return p, nil
}

// Close closes the backbone.
func (m *Model) Close() error { return m.Backbone.Close() }

// Prediction is one classification.
type Prediction struct {
	Version string
	Index   int
	Label   string
	Score   float32
	Probs   []float32 // per label
	// Known is false when the model's unknown rule rejects the image
	// (Decide with minProb 0: the caller's confidence threshold applies
	// on top); Similarity is the cosine similarity to the class mean.
	Known      bool
	Similarity float32
}

// Classifier classifies with the current model, which can be swapped
// while it runs (a new training, a rollback) without a restart. It is safe
// for concurrent use.
type Classifier struct {
	cur atomic.Pointer[Model]
}

// NewClassifier returns a classifier using m.
func NewClassifier(m *Model) *Classifier {
	c := &Classifier{}
	c.cur.Store(m)
	return c
}

// Model is the model in use.
func (c *Classifier) Model() *Model { return c.cur.Load() }

// Swap puts m in use and returns the previous model; the caller closes
// it. A Classify running on the old model when it is closed retries with
// the new one.
func (c *Classifier) Swap(m *Model) *Model { return c.cur.Swap(m) }

// Classify runs the current model on the image fill writes.
func (c *Classifier) Classify(fill Fill) (Prediction, error) {
	for {
		m := c.cur.Load()
		if m == nil {
			return Prediction{}, errors.New("head: classifier has no model")
		}
		p, d, err := m.ClassifyDecision(fill, 0)
		if errors.Is(err, ErrClosed) && c.cur.Load() != m {
			// Swapped out and closed while we ran: use the new model.
			continue
		}
		if err != nil {
			return Prediction{}, fmt.Errorf("head: classify: %w", err)
		}
		k := d.Index
		label := fmt.Sprint(k)
		if k < len(m.Labels) {
			label = m.Labels[k]
		}
		return Prediction{Version: m.Version, Index: k, Label: label, Score: p[k], Probs: p,
			Known: d.Known, Similarity: d.Similarity}, nil
	}
}
