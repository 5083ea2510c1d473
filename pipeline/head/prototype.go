package head

import "math"

// PrototypeScale turns a cosine similarity to a class mean into a logit
// (the nearest-class-mean classifier's softmax(PrototypeScale·cosine)).
const PrototypeScale = 20

// FewShot is the class size from which the head is used alone: below it
// the prototype weight is base·((FewShot/n)³ − 1) for a smallest class of
// n samples (cross-validated on flowers_tf: with 5 photos per class the
// class means beat the trained head by 9 points, with all 80 they lose by
// 7, and a fixed blend cost 1.3 points at full size; at 5 per class a
// weight of 30 still left the blend 0.2 points under the class means on
// rps_picam, so the weight grows with the cube).
const FewShot = 20

// prototypeOffset keeps the prototype units' ReLU open for embeddings
// with negative features (MobileNet's pooled features are ≥ 0 and never
// need it): exact while x·m̂/ν ≥ −prototypeOffset.
const prototypeOffset = 1

// prototypeWeight is the weight of the prototype term for a training set
// whose smallest class has n samples: base·((FewShot/n)³ − 1) below
// FewShot, else 0.
func prototypeWeight(base float64, samples []Sample, idx []int, classes int) float64 {
	count := make([]int, classes)
	for _, i := range idx {
		count[samples[i].Label]++
	}
	n := count[0]
	for _, c := range count {
		n = min(n, c)
	}
	if n <= 0 || n >= FewShot {
		return 0
	}
	r := float64(FewShot) / float64(n)
	return base * (r*r*r - 1)
}

// withPrototypes returns h plus w·PrototypeScale·(x·m̂_c)/ν on each class
// c's logit, where m̂_c is the unit mean of the unit embeddings of class c
// among samples[idx] and ν their mean norm: the nearest-class-mean score,
// with the embedding's own norm replaced by the typical one so that it is
// linear in x and folds into the head's layers exactly (a hidden unit per
// class, or the output weights of a head without hidden layer). Its
// argmax alone is the nearest class mean's.
func withPrototypes(h *Head, samples []Sample, idx []int, classes int, w float64) *Head {
	in := h.In
	sums := make([][]float64, classes)
	for c := range sums {
		sums[c] = make([]float64, in)
	}
	norm := make([]float32, in)
	var nu float64
	for _, i := range idx {
		s := samples[i]
		nu += math.Sqrt(dot64(s.X, s.X))
		unit(norm, s.X)
		for j, v := range norm {
			sums[s.Label][j] += float64(v)
		}
	}
	nu /= float64(max(len(idx), 1))
	if nu == 0 {
		nu = 1
	}
	means := make([][]float32, classes)
	for c := range means {
		m := make([]float32, in)
		for j, v := range sums[c] {
			m[j] = float32(v)
		}
		unit(m, m)
		for j := range m {
			m[j] = float32(float64(m[j]) / nu)
		}
		means[c] = m
	}
	k := float32(w * PrototypeScale)
	if h.Hidden == 0 {
		out := h.Clone()
		for c := range classes {
			axpy(out.W2[c*in:(c+1)*in], k, means[c])
		}
		return out
	}
	hid := h.Hidden + classes
	out := alloc(in, hid, classes)
	copy(out.W1, h.W1)
	copy(out.B1, h.B1)
	for c := range classes {
		copy(out.W1[(h.Hidden+c)*in:], means[c])
		out.B1[h.Hidden+c] = prototypeOffset
		copy(out.W2[c*hid:], h.W2[c*h.Hidden:(c+1)*h.Hidden])
		out.W2[c*hid+h.Hidden+c] = k
		out.B2[c] = h.B2[c] - k*prototypeOffset
	}
	return out
}
