package qmath

import (
	"fmt"
	"math"
)

// MeanMode selects which of TFLite's quantized MEAN code paths to follow;
// they round differently, and the runtime picks one from the op's shape and
// options (see MeanModeFor).
type MeanMode uint8

// The quantized MEAN paths.
const (
	// MeanMultiplier sums the raw values, scales by one fixed-point
	// multiplier inScale/(n·outScale) and adds zo - int(zi·si/so)
	// (optimized_ops::Mean, reference_ops::Mean for uint8: the 4-D, axes
	// {1,2}, keep_dims case).
	MeanMultiplier MeanMode = iota
	// MeanIntegerOps subtracts the input zero point, scales by si/so, then
	// divides by n rounding half away from zero
	// (reference_integer_ops::Mean, int8, same case).
	MeanIntegerOps
	// MeanFloat averages in float32 and rounds round(mean·s + b + 0.5)
	// (reference_ops::QuantizedMeanOrSum: other axes or keep_dims false,
	// scales or zero points differ).
	MeanFloat
	// MeanXNNPACK is XNNPACK's global average pooling, which the TFLite
	// runtime delegates the 4-D {1,2} keep_dims case to: the sum less
	// n·zi, times (si/so)/n in float32, rounded half to even.
	MeanXNNPACK
	// MeanTruncate divides the integer sum by n, truncating (reference_ops::Mean
	// when input and output quantization are equal).
	MeanTruncate
)

// MeanModeFor is the path TFLite's optimized MEAN kernel takes: 4-D input
// reduced over axes {1,2} with keep_dims uses the multiplier path; anything
// else falls back to the reference kernels.
func MeanModeFor(hw4DKeepDims, sameQuant bool) MeanMode {
	switch {
	case hw4DKeepDims:
		return MeanMultiplier
	case sameQuant:
		return MeanTruncate
	default:
		return MeanFloat
	}
}

// MeanParams describe a quantized MEAN over the middle axis of an input
// viewed as [Outer, Reduce, Inner] (output [Outer, Inner]).
type MeanParams struct {
	Mode                 MeanMode
	In, Out              Type
	InScale, OutScale    float32
	InZero, OutZero      int32
	Outer, Reduce, Inner int
}

// Mean computes the quantized MEAN. It allocates nothing.
func Mean(dst, src []byte, p *MeanParams) error {
	if p.Reduce < 1 || len(src) < p.Outer*p.Reduce*p.Inner || len(dst) < p.Outer*p.Inner {
		return fmt.Errorf("qmath: mean: bad sizes %d→%d for %d×%d×%d", len(src), len(dst), p.Outer, p.Reduce, p.Inner)
	}
	MeanInner(dst, src, p, 0, p.Inner)
	return nil
}

// MeanInner computes the outputs of inner indices [i0, i1) of every outer
// index; disjoint ranges may run concurrently. The sizes must have been
// checked (Mean does); it allocates nothing.
func MeanInner(dst, src []byte, p *MeanParams, i0, i1 int) {
	n := int32(p.Reduce)
	lo, hi := p.Out.Min(), p.Out.Max()
	var m Multiplier
	var bias int32
	var fscale, fbias float32
	switch p.Mode {
	case MeanMultiplier:
		m = QuantizeMultiplier(float64(p.InScale / (float32(n) * p.OutScale)))
		bias = p.OutZero - int32(float32(p.InZero)*p.InScale/p.OutScale)
	case MeanIntegerOps:
		m = QuantizeMultiplier(float64(p.InScale) / float64(p.OutScale))
	case MeanFloat:
		fscale = p.InScale / p.OutScale
		fbias = float32(-float32(p.InZero)*fscale) + 0.5
	case MeanXNNPACK:
		fscale = p.InScale / p.OutScale / float32(n)
	}
	flip, off := p.In.flip(), p.In.offset()
	var acc [poolBlock]int32
	for o := 0; o < p.Outer; o++ {
		for ib := i0; ib < i1; ib += poolBlock {
			w := min(poolBlock, i1-ib)
			a := acc[:w]
			clear(a)
			colSum(a, src[o*p.Reduce*p.Inner+ib:], p.Reduce, p.Inner, flip)
			for j, u := range a {
				sum := u - n*off
				var v int32
				switch p.Mode {
				case MeanMultiplier:
					v = clamp(m.Mul(sum)+bias, lo, hi)
				case MeanIntegerOps:
					acc := m.Mul(sum - n*p.InZero)
					if acc > 0 {
						acc = (acc + n/2) / n
					} else {
						acc = (acc - n/2) / n
					}
					v = clamp(acc+p.OutZero, lo, hi)
				case MeanFloat:
					mean := float32(sum) / float32(n)
					r := float32(math.Round(float64(float32(mean*fscale) + fbias)))
					r += float32(p.OutZero)
					v = int32(min(max(r, float32(lo)), float32(hi)))
				case MeanXNNPACK:
					v = fp32Quant(sum-n*p.InZero, fscale, p.OutZero, lo, hi)
				case MeanTruncate:
					v = clamp(sum/n, lo, hi)
				}
				dst[o*p.Inner+ib+j] = p.Out.Byte(v)
			}
		}
	}
}
