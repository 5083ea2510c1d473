package qmath

import (
	"fmt"
	"math"
)

// Softmax is quantized SOFTMAX as TFLite's optimized kernel computes it for
// uint8 and int8 (optimized_ops::Softmax with a float exp table): with m
// the row maximum, p_j = exp(-s·β·(m-q_j)) / Σ exp(...), quantized to the
// output scale in float32.
type Softmax struct {
	in, out  Type
	outScale float32
	outZero  int32
	table    [256]float32 // table[d] = exp(-inScale·β·d)
}

// NewSoftmax prepares the exp table for an input scale and β.
func NewSoftmax(in, out Type, inScale, beta, outScale float32, outZero int32) *Softmax {
	s := &Softmax{in: in, out: out, outScale: outScale, outZero: outZero}
	scale := -inScale * beta
	for d := range s.table {
		s.table[d] = float32(math.Exp(float64(scale * float32(d))))
	}
	return s
}

// Run applies the softmax to each row of depth values in src.
func (s *Softmax) Run(dst, src []byte, depth int) error {
	if depth < 1 || len(src)%depth != 0 || len(dst) != len(src) {
		return fmt.Errorf("qmath: softmax: %d inputs, %d outputs, depth %d", len(src), len(dst), depth)
	}
	lo, hi := s.out.Min(), s.out.Max()
	for r := 0; r < len(src); r += depth {
		in := src[r : r+depth]
		out := dst[r : r+depth]
		m := s.in.Min()
		for _, b := range in {
			m = max(m, s.in.Value(b))
		}
		var sum float32
		for _, b := range in {
			sum += s.table[m-s.in.Value(b)]
		}
		inv := 1 / float32(sum*s.outScale)
		for j, b := range in {
			p := float32(s.table[m-s.in.Value(b)] * inv)
			var q int32
			if s.out == Uint8 {
				q = int32(p + 0.5)
			} else {
				q = int32(math.Round(float64(p))) + s.outZero
			}
			out[j] = s.out.Byte(clamp(q, lo, hi))
		}
	}
	return nil
}
