package qmath

import (
	"fmt"
	"math"
)

// ConcatInput is one operand of a quantized CONCATENATION: its type and
// quantization, and how many consecutive elements it contributes per outer
// step (its size from the concatenation axis inward).
type ConcatInput struct {
	Type  Type
	Scale float32
	Zero  int32
	Size  int
}

// Concat is a prepared quantized CONCATENATION (TFLite's
// ConcatenationWithScaling): inputs quantized like the output are copied,
// others are requantized in float32 with round half away from zero.
type Concat struct {
	out      Type
	outScale float32
	outZero  int32
	outer    int
	inputs   []ConcatInput
	total    int
}

// NewConcat prepares the concatenation of inputs into an output of type
// out, repeated outer times.
func NewConcat(out Type, outScale float32, outZero int32, outer int, inputs []ConcatInput) (*Concat, error) {
	c := &Concat{out: out, outScale: outScale, outZero: outZero, outer: outer, inputs: inputs}
	for i, in := range inputs {
		if in.Size < 0 {
			return nil, fmt.Errorf("qmath: concat input %d has size %d", i, in.Size)
		}
		if in.Type != out && (in.Scale != outScale || in.Zero != outZero) {
			return nil, fmt.Errorf("qmath: concat input %d is %s, output %s", i, in.Type, out)
		}
		c.total += in.Size
	}
	return c, nil
}

// Run writes the concatenation of srcs (one per input) into dst.
func (c *Concat) Run(dst []byte, srcs [][]byte) {
	inv := 1 / c.outScale
	lo, hi := c.out.Min(), c.out.Max()
	for k := 0; k < c.outer; k++ {
		o := dst[k*c.total:]
		for i, in := range c.inputs {
			src := srcs[i][k*in.Size : (k+1)*in.Size]
			d := o[:in.Size]
			o = o[in.Size:]
			if in.Scale == c.outScale && in.Zero == c.outZero && in.Type == c.out {
				copy(d, src)
				continue
			}
			scale := in.Scale * inv
			bias := float32(-in.Zero) * scale
			for j, b := range src {
				v := int32(math.Round(float64(float32(float32(in.Type.Value(b))*scale)+bias))) + c.outZero
				d[j] = c.out.Byte(clamp(v, lo, hi))
			}
		}
	}
}
