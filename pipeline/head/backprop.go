package head

import (
	"math"
	"math/rand/v2"
)

// trainer holds the head's parameters in one flat slice (h's weight slices
// are views into it), their gradients, Adam's moments and scratch space.
type trainer struct {
	h      *Head
	cfg    Config
	r      *rand.Rand
	params []float32
	grad   *Head     // views into gradBuf
	gbuf   []float32 // gradient, same layout as params
	m, v   []float32 // Adam moments
	step   int
	// per-sample scratch, grown to the batch size
	xs, xj             [][]float32
	z1, hid, mask, dz1 [][]float32
	p                  [][]float32
	dj                 []float32
	order              []int
}

func newTrainer(h *Head, cfg Config, r *rand.Rand) *trainer {
	n := len(h.W1) + len(h.B1) + len(h.W2) + len(h.B2)
	t := &trainer{h: h, cfg: cfg, r: r,
		params: make([]float32, n), gbuf: make([]float32, n),
		m: make([]float32, n), v: make([]float32, n),
	}
	old := *h
	view(h, t.params)
	h.copyFrom(&old)
	t.grad = &Head{In: h.In, Hidden: h.Hidden, Classes: h.Classes}
	view(t.grad, t.gbuf)
	return t
}

// view points h's weight slices into buf, in the order W1, B1, W2, B2.
func view(h *Head, buf []float32) {
	w := h.width()
	next := func(n int) []float32 {
		s := buf[:n:n]
		buf = buf[n:]
		return s
	}
	h.W1 = next(h.Hidden * h.In)
	h.B1 = next(h.Hidden)
	h.W2 = next(h.Classes * w)
	h.B2 = next(h.Classes)
}

// epoch runs one shuffled pass of mini-batches and returns the mean plain
// cross-entropy and accuracy seen along the way.
func (t *trainer) epoch(rows []row) (loss, acc float64) {
	if len(t.order) != len(rows) {
		t.order = make([]int, len(rows))
		for i := range t.order {
			t.order[i] = i
		}
	}
	t.r.Shuffle(len(t.order), func(i, j int) { t.order[i], t.order[j] = t.order[j], t.order[i] })
	batch := make([]row, 0, t.cfg.BatchSize)
	var sumLoss float64
	correct := 0
	for start := 0; start < len(rows); start += t.cfg.BatchSize {
		batch = batch[:0]
		for _, i := range t.order[start:min(start+t.cfg.BatchSize, len(rows))] {
			batch = append(batch, rows[i])
		}
		l, c, _ := t.lossAndGrad(batch, t.cfg.Dropout > 0)
		sumLoss += l
		correct += c
		t.adam()
	}
	return sumLoss / float64(len(rows)), float64(correct) / float64(len(rows))
}

// lossAndGrad sets t.gbuf to the gradient of the data term of the
// training objective on batch (weighted, label-smoothed cross-entropy
// averaged over the batch) and returns the summed plain cross-entropy, the
// number of correct predictions and the data term itself. The L2 term
// (L2/2·‖W‖² on the weight matrices) is added by adam, in the same pass
// over the parameters as the step (see addL2 for it on its own).
func (t *trainer) lossAndGrad(batch []row, dropout bool) (plain float64, correct int, objective float64) {
	h, g := t.h, t.grad
	clear(t.gbuf)
	t.grow(len(batch))
	nb := float32(len(batch))
	k := float32(h.Classes)
	eps := float32(t.cfg.LabelSmoothing)
	keep := float32(1 - t.cfg.Dropout)
	xs := t.xs[:len(batch)]
	for b, rw := range batch {
		xs[b] = rw.x
	}
	ins := xs
	if h.Hidden > 0 {
		gemmRows(t.z1[:len(batch)], h.W1, h.B1, xs)
		for b := range batch {
			z1, mask, hid := t.z1[b], t.mask[b], t.hid[b]
			for j, z := range z1 {
				m := float32(1)
				if dropout {
					m = 0
					if t.r.Float32() < keep {
						m = 1 / keep
					}
				}
				if z <= 0 {
					m = 0
				}
				mask[j] = m
				hid[j] = z * m
			}
		}
		ins = t.hid[:len(batch)]
	}
	gemmRows(t.p[:len(batch)], h.W2, h.B2, ins)
	w := h.width()
	for b, rw := range batch {
		p, in := t.p[b], ins[b]
		softmax(p)
		plain -= math.Log(math.Max(float64(p[rw.label]), 1e-30))
		if Argmax(p) == rw.label {
			correct++
		}
		s := rw.weight / nb
		// dz2 = s·(p − target), in place.
		for c := range p {
			target := eps / k
			if c == rw.label {
				target += 1 - eps
			}
			objective -= float64(s) * float64(target) * math.Log(math.Max(float64(p[c]), 1e-30))
			p[c] = s * (p[c] - target)
		}
		if h.Hidden > 0 {
			clear(t.dz1[b])
		}
		for c, d := range p {
			axpy(g.W2[c*w:(c+1)*w], d, in)
			g.B2[c] += d
			if h.Hidden > 0 {
				axpy(t.dz1[b], d, h.W2[c*w:(c+1)*w])
			}
		}
		if h.Hidden > 0 {
			for j, m := range t.mask[b] {
				t.dz1[b][j] *= m
			}
		}
	}
	// gW1[j] += Σ_b dz1[b][j]·x_b over the samples where the unit was
	// active, four samples at a time.
	for j := range h.Hidden {
		d, x := t.dj[:0], t.xj[:0]
		for b := range batch {
			if v := t.dz1[b][j]; v != 0 {
				d, x = append(d, v), append(x, xs[b])
				g.B1[j] += v
			}
		}
		row := g.W1[j*h.In : (j+1)*h.In]
		i := 0
		for ; i+4 <= len(d); i += 4 {
			axpy4(row, d[i], d[i+1], d[i+2], d[i+3], x[i], x[i+1], x[i+2], x[i+3])
		}
		for ; i < len(d); i++ {
			axpy(row, d[i], x[i])
		}
	}
	return plain, correct, objective
}

// addL2 adds the gradient of the L2 term to t.gbuf and returns the term:
// what adam folds into its step, for the gradient check.
func (t *trainer) addL2() float64 {
	h, g := t.h, t.grad
	l2 := float32(t.cfg.L2)
	var sq float64
	for _, p := range [][2][]float32{{g.W1, h.W1}, {g.W2, h.W2}} {
		axpy(p[0], l2, p[1])
		sq += float64(dot(p[1], p[1]))
	}
	return 0.5 * float64(l2) * sq
}

// grow makes the per-sample scratch hold n samples.
func (t *trainer) grow(n int) {
	for len(t.xs) < n {
		h := t.h
		t.xs = append(t.xs, nil)
		t.z1 = append(t.z1, make([]float32, h.Hidden))
		t.mask = append(t.mask, make([]float32, h.Hidden))
		t.hid = append(t.hid, make([]float32, h.Hidden))
		t.dz1 = append(t.dz1, make([]float32, h.Hidden))
		t.p = append(t.p, make([]float32, h.Classes))
		t.dj = append(t.dj, 0)
		t.xj = append(t.xj, nil)
	}
}

// Adam's constants (Keras defaults).
const (
	beta1   = 0.9
	beta2   = 0.999
	epsilon = 1e-7
)

// adam applies one Adam step with the gradient in t.gbuf plus the L2
// term's (on the weight matrices).
func (t *trainer) adam() {
	t.step++
	c1 := 1 - math.Pow(beta1, float64(t.step))
	c2 := 1 - math.Pow(beta2, float64(t.step))
	lr := float32(t.cfg.LearningRate * math.Sqrt(c2) / c1)
	eps := float32(epsilon * math.Sqrt(c2))
	l2 := float32(t.cfg.L2)
	// params and gbuf are W1, B1, W2, B2 in a row (see view).
	h := t.h
	w1, b1, w2 := len(h.W1), len(h.B1), len(h.W2)
	for _, seg := range []struct {
		lo, hi int
		l2     float32
	}{{0, w1, l2}, {w1, w1 + b1, 0}, {w1 + b1, w1 + b1 + w2, l2}, {w1 + b1 + w2, len(t.params), 0}} {
		lo, hi := seg.lo, seg.hi
		adamStep(t.params[lo:hi], t.gbuf[lo:hi], t.m[lo:hi], t.v[lo:hi], lr, eps, seg.l2)
	}
}

func sqrt32(x float32) float32 { return float32(math.Sqrt(float64(x))) }
