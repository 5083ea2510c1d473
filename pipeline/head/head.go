// Package head is alphad's trainable classifier head: a small dense network
// (Dense(hidden, relu) → Dense(N, softmax), or plain softmax regression)
// trained on device with Adam on backbone embeddings. It is pure Go and
// float32, deterministic for a given seed, and knows nothing about cameras or
// files beyond its own weight encoding.
package head

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
)

// Head is a trained (or freshly initialised) classifier head. Weights are
// row-major [out][in], the layout of TFLite FULLY_CONNECTED weights.
// When Hidden is 0 the head is a single Dense(Classes, softmax) layer and
// W1/B1 are empty.
type Head struct {
	In, Hidden, Classes int
	W1, B1              []float32 // Hidden×In, Hidden
	W2, B2              []float32 // Classes×(Hidden or In), Classes
}

// New returns a head with Glorot-uniform weights and zero biases, drawn
// from a generator seeded with seed.
func New(in, hidden, classes int, seed uint64) (*Head, error) {
	if in <= 0 || hidden < 0 || classes < 2 {
		return nil, fmt.Errorf("head: bad shape in=%d hidden=%d classes=%d", in, hidden, classes)
	}
	h := alloc(in, hidden, classes)
	r := newRNG(seed)
	glorot(r, h.W1, in, hidden)
	glorot(r, h.W2, h.width(), classes)
	return h, nil
}

func alloc(in, hidden, classes int) *Head {
	h := &Head{In: in, Hidden: hidden, Classes: classes}
	if hidden > 0 {
		h.W1 = make([]float32, hidden*in)
		h.B1 = make([]float32, hidden)
	}
	h.W2 = make([]float32, classes*h.width())
	h.B2 = make([]float32, classes)
	return h
}

func glorot(r *rand.Rand, w []float32, in, out int) {
	limit := math.Sqrt(6 / float64(in+out))
	for i := range w {
		w[i] = float32((2*r.Float64() - 1) * limit)
	}
}

// width is the input width of the last layer.
func (h *Head) width() int {
	if h.Hidden > 0 {
		return h.Hidden
	}
	return h.In
}

// Clone returns a deep copy.
func (h *Head) Clone() *Head {
	c := alloc(h.In, h.Hidden, h.Classes)
	c.copyFrom(h)
	return c
}

func (h *Head) copyFrom(src *Head) {
	copy(h.W1, src.W1)
	copy(h.B1, src.B1)
	copy(h.W2, src.W2)
	copy(h.B2, src.B2)
}

// maxStackHidden is the hidden width Predict handles without allocating.
const maxStackHidden = 512

// Predict writes the class probabilities for embedding x into dst
// (len Classes). It allocates nothing for hidden widths up to 512 and is
// safe for concurrent use.
func (h *Head) Predict(dst, x []float32) {
	h.Logits(dst, x)
	softmax(dst)
}

// Logits writes the head's pre-softmax outputs for embedding x into dst
// (len Classes), allocating nothing for hidden widths up to 512.
func (h *Head) Logits(dst, x []float32) {
	if len(x) != h.In || len(dst) != h.Classes {
		panic(fmt.Sprintf("head: Predict with len(x)=%d len(dst)=%d, want %d and %d", len(x), len(dst), h.In, h.Classes))
	}
	in := x
	if h.Hidden > 0 {
		var buf [maxStackHidden]float32
		var hid []float32
		if h.Hidden <= maxStackHidden {
			hid = buf[:h.Hidden]
		} else {
			hid = make([]float32, h.Hidden)
		}
		gemv(hid, h.W1, h.B1, x)
		for j, v := range hid {
			if v < 0 {
				hid[j] = 0
			}
		}
		in = hid
	}
	gemv(dst, h.W2, h.B2, in)
}

// softmax replaces z by its softmax, in place.
func softmax(z []float32) {
	m := z[0]
	for _, v := range z[1:] {
		if v > m {
			m = v
		}
	}
	var s float64
	for i, v := range z {
		e := math.Exp(float64(v - m))
		z[i] = float32(e)
		s += e
	}
	inv := float32(1 / s)
	for i := range z {
		z[i] *= inv
	}
}

// Argmax returns the index of the largest value (the first on ties).
func Argmax(p []float32) int {
	best := 0
	for i, v := range p {
		if v > p[best] {
			best = i
		}
	}
	return best
}

// The weight encoding: magic, three uint32 dimensions, then W1, B1, W2, B2
// as little-endian float32.
const magic = "ALPHAD-HEAD-1\n"

// ErrFormat is wrapped by UnmarshalBinary for data that is not an encoded head.
var ErrFormat = errors.New("head: not an encoded head")

// MarshalBinary encodes the head's shape and weights.
func (h *Head) MarshalBinary() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(magic)
	for _, v := range []int{h.In, h.Hidden, h.Classes} {
		binary.Write(&b, binary.LittleEndian, uint32(v))
	}
	for _, w := range [][]float32{h.W1, h.B1, h.W2, h.B2} {
		binary.Write(&b, binary.LittleEndian, w)
	}
	return b.Bytes(), nil
}

// UnmarshalBinary decodes what MarshalBinary wrote.
func (h *Head) UnmarshalBinary(data []byte) error {
	r := bytes.NewReader(data)
	m := make([]byte, len(magic))
	if _, err := io.ReadFull(r, m); err != nil || string(m) != magic {
		return fmt.Errorf("%w: bad magic", ErrFormat)
	}
	var dims [3]uint32
	if err := binary.Read(r, binary.LittleEndian, &dims); err != nil {
		return fmt.Errorf("%w: short header", ErrFormat)
	}
	in, hidden, classes := int(dims[0]), int(dims[1]), int(dims[2])
	if in <= 0 || classes < 2 || in > 1<<20 || hidden > 1<<16 || classes > 1<<16 {
		return fmt.Errorf("%w: bad shape in=%d hidden=%d classes=%d", ErrFormat, in, hidden, classes)
	}
	width := in
	if hidden > 0 {
		width = hidden
	}
	want := 4 * (hidden*in + hidden + classes*width + classes)
	if r.Len() != want {
		return fmt.Errorf("%w: %d weight bytes, want %d", ErrFormat, r.Len(), want)
	}
	n := alloc(in, hidden, classes)
	for _, w := range [][]float32{n.W1, n.B1, n.W2, n.B2} {
		if err := binary.Read(r, binary.LittleEndian, w); err != nil {
			return fmt.Errorf("%w: %v", ErrFormat, err)
		}
	}
	for _, w := range [][]float32{n.W1, n.B1, n.W2, n.B2} {
		for _, v := range w {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("%w: non-finite weight", ErrFormat)
			}
		}
	}
	*h = *n
	return nil
}

// newRNG is the seeded generator behind every random choice of the head.
func newRNG(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}
