package head

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
)

// Unknown is the open-set rule of a trained model: an image whose
// embedding is far from the mean embedding of the class the head picked is
// "unknown", however confident the softmax is (a softmax always picks one
// of the known classes; a car in front of a garage-door model does not
// look like either door class in embedding space).
//
// The class means are of L2-normalised embeddings; Threshold is a cosine
// similarity calibrated on the training samples themselves (see
// Calibrate). Measured on rps_picam (float MobileNetV2 features, 70/30
// split): at 99 % acceptance of held-out own photos the cosine rule
// rejects 99.8 % of flowers_tf and every tm_webcam_face_hand frame, where
// a max-probability threshold rejects 0–31 % and an energy score 22–32 %.
type Unknown struct {
	Means     [][]float32 // per class, unit length
	Threshold float32     // minimum cosine similarity to the picked class's mean
	Quantile  float64     // the fraction of training samples below Threshold
}

// UnknownMargin is subtracted from the calibrated quantile: a new photo
// may sit a little further from the class mean than the training
// samples' leave-one-out similarity (on rps_picam the margin keeps one
// more held-out photo and still rejects every flower).
const UnknownMargin = 0.05

// DefaultUnknownQuantile is the share of (leave-one-out) training samples
// the calibrated threshold would call unknown.
const DefaultUnknownQuantile = 0.01

// Calibrate computes the class means of samples (their plain embeddings,
// L2-normalised) and sets the threshold to the q-quantile of each
// sample's leave-one-out cosine similarity to its own class mean: the
// similarity a new photo of a known class can expect, less UnknownMargin.
func Calibrate(samples []Sample, classes int, q float64) (*Unknown, error) {
	in, err := checkSamples(samples, classes)
	if err != nil {
		return nil, err
	}
	if !(q >= 0 && q < 1) {
		return nil, fmt.Errorf("head: unknown quantile %v: want 0 ≤ q < 1", q)
	}
	sums := make([][]float64, classes)
	count := make([]int, classes)
	for c := range sums {
		sums[c] = make([]float64, in)
	}
	norm := make([]float32, in)
	for _, s := range samples {
		unit(norm, s.X)
		for i, v := range norm {
			sums[s.Label][i] += float64(v)
		}
		count[s.Label]++
	}
	u := &Unknown{Means: make([][]float32, classes), Quantile: q}
	for c := range sums {
		m := make([]float32, in)
		for i, v := range sums[c] {
			m[i] = float32(v / float64(count[c]))
		}
		u.Means[c] = unit(m, m)
	}
	// Leave-one-out similarity: the sample's class mean without it.
	sims := make([]float64, 0, len(samples))
	loo := make([]float32, in)
	for _, s := range samples {
		c := s.Label
		n := count[c]
		if n < 2 {
			continue
		}
		unit(norm, s.X)
		for i := range loo {
			loo[i] = float32((sums[c][i] - float64(norm[i])) / float64(n-1))
		}
		unit(loo, loo)
		sims = append(sims, dot64(norm, loo))
	}
	if len(sims) == 0 {
		// One sample per class: nothing to learn a spread from.
		u.Threshold = 0
		return u, nil
	}
	slices.Sort(sims)
	u.Threshold = float32(sims[int(q*float64(len(sims)))] - UnknownMargin)
	return u, nil
}

// Similarity is the cosine similarity of embedding x to class c's mean.
func (u *Unknown) Similarity(x []float32, c int) float32 {
	m := u.Means[c]
	var xx, xm float64
	for i, v := range x {
		xx += float64(v) * float64(v)
		xm += float64(v) * float64(m[i])
	}
	if xx == 0 {
		return 0
	}
	return float32(xm / math.Sqrt(xx))
}

// Decision is what a model says about one image: a class, or unknown.
type Decision struct {
	Index      int     // the most probable class (also when unknown)
	Known      bool    // false: the image is "unknown"
	Score      float32 // its probability
	Similarity float32 // cosine similarity to the class mean (1 without a rule)
}

// Decide is alphad's single decision rule, shared by the daemon and
// `alphad classify`: the most probable class, unless its probability is
// below minProb (the user's confidence threshold) or, when u is not nil,
// the embedding is less similar to that class's mean than u.Threshold.
func Decide(u *Unknown, probs, emb []float32, minProb float32) Decision {
	k := Argmax(probs)
	d := Decision{Index: k, Score: probs[k], Similarity: 1, Known: probs[k] >= minProb}
	if u != nil && k < len(u.Means) && len(emb) == len(u.Means[k]) {
		d.Similarity = u.Similarity(emb, k)
		d.Known = d.Known && d.Similarity >= u.Threshold
	}
	return d
}

// Check verifies the rule fits a head of classes outputs on dim-long
// embeddings.
func (u *Unknown) Check(classes, dim int) error {
	if len(u.Means) != classes {
		return fmt.Errorf("head: unknown rule has %d class means, want %d", len(u.Means), classes)
	}
	for c, m := range u.Means {
		if len(m) != dim {
			return fmt.Errorf("head: unknown rule: class %d mean has %d values, want %d", c, len(m), dim)
		}
	}
	return nil
}

type unknownJSON struct {
	Threshold float32  `json:"threshold"`
	Quantile  float64  `json:"quantile"`
	Dim       int      `json:"dim"`
	Means     []string `json:"means"` // base64 little-endian float32, per class
}

// MarshalJSON writes the means compactly (base64 float32).
func (u *Unknown) MarshalJSON() ([]byte, error) {
	j := unknownJSON{Threshold: u.Threshold, Quantile: u.Quantile}
	for _, m := range u.Means {
		j.Dim = len(m)
		b := make([]byte, 0, 4*len(m))
		for _, v := range m {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
		}
		j.Means = append(j.Means, base64.StdEncoding.EncodeToString(b))
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (u *Unknown) UnmarshalJSON(data []byte) error {
	var j unknownJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return fmt.Errorf("head: unknown rule: %w", err)
	}
	if math.IsNaN(float64(j.Threshold)) || j.Dim <= 0 || j.Dim > 1<<20 {
		return errors.New("head: unknown rule: bad threshold or dim")
	}
	means := make([][]float32, len(j.Means))
	for c, s := range j.Means {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(b) != 4*j.Dim {
			return fmt.Errorf("head: unknown rule: class %d mean: want %d base64 float32", c, j.Dim)
		}
		m := make([]float32, j.Dim)
		for i := range m {
			m[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
			if math.IsNaN(float64(m[i])) || math.IsInf(float64(m[i]), 0) {
				return fmt.Errorf("head: unknown rule: class %d mean: non-finite value", c)
			}
		}
		means[c] = m
	}
	*u = Unknown{Means: means, Threshold: j.Threshold, Quantile: j.Quantile}
	return nil
}

// unit writes x/‖x‖ into dst (which may be x) and returns dst.
func unit(dst, x []float32) []float32 {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	inv := 0.0
	if s > 0 {
		inv = 1 / math.Sqrt(s)
	}
	for i, v := range x {
		dst[i] = float32(float64(v) * inv)
	}
	return dst
}

func dot64(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}
