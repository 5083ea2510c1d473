package qmath

import (
	"bytes"
	"fmt"
)

// DepthwiseParams are the quantization parameters of DEPTHWISE_CONV_2D. The
// filter is [1, KH, KW, OutC] with OutC = InC·DepthMultiplier; output
// channel oc reads input channel oc/DepthMultiplier.
type DepthwiseParams struct {
	ConvParams
	DepthMultiplier int
}

func (p *DepthwiseParams) check(filter []byte) error {
	s := p.Shape
	if err := s.check(); err != nil {
		return err
	}
	if p.DepthMultiplier < 1 || s.OutC != s.InC*p.DepthMultiplier {
		return fmt.Errorf("qmath: depthwise %d input channels × multiplier %d != %d output channels", s.InC, p.DepthMultiplier, s.OutC)
	}
	if want := s.KH * s.KW * s.OutC; len(filter) != want {
		return fmt.Errorf("qmath: depthwise filter has %d bytes, want %d", len(filter), want)
	}
	if n := len(p.FilterZero); n != 1 && n != s.OutC {
		return fmt.Errorf("qmath: depthwise has %d filter zero points for %d channels", n, s.OutC)
	}
	if n := len(p.Mult); n != 1 && n != s.OutC {
		return fmt.Errorf("qmath: depthwise has %d multipliers for %d channels", n, s.OutC)
	}
	if p.Bias != nil && len(p.Bias) != s.OutC {
		return fmt.Errorf("qmath: depthwise has %d biases for %d channels", len(p.Bias), s.OutC)
	}
	if p.Lo > p.Hi || p.Lo < p.Out.Min() || p.Hi > p.Out.Max() {
		return fmt.Errorf("qmath: depthwise clamp range [%d, %d] outside %s", p.Lo, p.Hi, p.Out)
	}
	if p.Scale != nil && len(p.Scale) != len(p.Mult) {
		return fmt.Errorf("qmath: depthwise has %d fp32 scales for %d multipliers", len(p.Scale), len(p.Mult))
	}
	return nil
}

// DepthwiseRef is the plain reference loop of TFLite's quantized
// DEPTHWISE_CONV_2D (reference_ops::DepthwiseConv for uint8,
// reference_integer_ops::DepthwiseConvPerChannel for int8).
func DepthwiseRef(dst, src, filter []byte, p *DepthwiseParams) {
	s := p.Shape
	m := p.DepthMultiplier
	for b := 0; b < s.Batch; b++ {
		for oy := 0; oy < s.OutH; oy++ {
			for ox := 0; ox < s.OutW; ox++ {
				for oc := 0; oc < s.OutC; oc++ {
					ic := oc / m
					var acc int32
					for ky := 0; ky < s.KH; ky++ {
						iy := oy*s.StrideH - s.PadTop + ky*s.DilationH
						if iy < 0 || iy >= s.InH {
							continue
						}
						for kx := 0; kx < s.KW; kx++ {
							ix := ox*s.StrideW - s.PadLeft + kx*s.DilationW
							if ix < 0 || ix >= s.InW {
								continue
							}
							x := p.In.Value(src[((b*s.InH+iy)*s.InW+ix)*s.InC+ic]) - p.InZero
							w := p.Filter.Value(filter[(ky*s.KW+kx)*s.OutC+oc]) - p.filterZero(oc)
							acc += x * w
						}
					}
					if p.Bias != nil {
						acc += p.Bias[oc]
					}
					dst[((b*s.OutH+oy)*s.OutW+ox)*s.OutC+oc] = p.Out.Byte(p.requant(acc, oc))
				}
			}
		}
	}
}

// Depthwise is a prepared quantized depthwise convolution.
type Depthwise struct {
	s        ConvShape
	m        int
	w        []int32 // [KH·KW][OutC], filter value minus its zero point
	bias     []int32
	mult     []Multiplier
	fscale   []float32 // per channel when requantizing in fp32, else nil
	biasIn   []int32   // 3×3, multiplier 1: bias - zx·Σw
	padRow   []byte    // 3×3, multiplier 1: InC stored bytes of the input zero point
	wBlk     []int32   // d.w interleaved for the vector 3×3 kernel (packDW9), or nil
	w16      []int32   // d.w interleaved for the fused AVX-512 kernel (packDW16), or nil
	rq       dwRequant // its requantization
	zxU      int32
	flipIn   byte
	flipOut  byte
	zoU      int32
	loU, hiU int32
}

// NewDepthwise prepares a depthwise convolution from its constant filter.
func NewDepthwise(p *DepthwiseParams, filter []byte) (*Depthwise, error) {
	if err := p.check(filter); err != nil {
		return nil, err
	}
	s := p.Shape
	d := &Depthwise{
		s:       s,
		m:       p.DepthMultiplier,
		w:       make([]int32, len(filter)),
		bias:    make([]int32, s.OutC),
		mult:    make([]Multiplier, s.OutC),
		zxU:     p.InZero + p.In.offset(),
		flipIn:  p.In.flip(),
		flipOut: p.Out.flip(),
		zoU:     p.OutZero + p.Out.offset(),
		loU:     p.Lo + p.Out.offset(),
		hiU:     p.Hi + p.Out.offset(),
	}
	for i, b := range filter {
		oc := i % s.OutC
		d.w[i] = p.Filter.Value(b) - p.filterZero(oc)
	}
	if p.Bias != nil {
		copy(d.bias, p.Bias)
	}
	if s.KH == 3 && s.KW == 3 && d.m == 1 {
		// Interior pixels see all nine taps: fold Σ(x-zx)·w = Σx·w - zx·Σw,
		// with x the stored value (int8 or uint8) and zx its zero point.
		d.biasIn = make([]int32, s.OutC)
		d.padRow = bytes.Repeat([]byte{byte(p.InZero)}, s.InC)
		for oc := range d.biasIn {
			var sw int32
			for t := 0; t < 9; t++ {
				sw += d.w[t*s.OutC+oc]
			}
			d.biasIn[oc] = d.bias[oc] - p.InZero*sw
		}
		if p.dot() != DotSWAR {
			d.wBlk = packDW9(d.w, s.OutC)
		}
	}
	for oc := range d.mult {
		d.mult[oc] = p.mult(oc)
	}
	if p.Scale != nil {
		d.fscale = make([]float32, s.OutC)
		for oc := range d.fscale {
			d.fscale[oc] = p.Scale[min(oc, len(p.Scale)-1)]
		}
		if d.biasIn != nil && p.dot() == DotQuads && s.OutC >= 16 {
			d.w16 = packDW16(d.w, s.OutC)
			d.rq = dwRequant{zero: d.zoU, lo: float32(d.loU - d.zoU), hi: float32(d.hiU - d.zoU), flip: int32(d.flipOut)}
		}
	}
	return d, nil
}

// Units is the number of output pixels, the unit of work Run splits on.
func (d *Depthwise) Units() int { return d.s.Batch * d.s.OutH * d.s.OutW }

// Work is the number of multiply-adds of one Run over every unit.
func (d *Depthwise) Work() int { return d.Units() * d.s.OutC * d.s.KH * d.s.KW }

// dwBlock is the number of channels accumulated at a time (on the stack).
const dwBlock = 256

// Run computes output pixels [lo, hi) of dst from src. Disjoint ranges may
// run concurrently. It allocates nothing.
func (d *Depthwise) Run(dst, src []byte, lo, hi int) {
	s := &d.s
	// Slicing checks the sizes without touching memory: an index
	// expression here would be a read, under the race detector, of the
	// last output byte while another worker writes it.
	src, dst = src[:s.inLen()], dst[:s.outLen()]
	var acc [dwBlock]int32
	for pix := lo; pix < hi; pix++ {
		ox := pix % s.OutW
		oy := (pix / s.OutW) % s.OutH
		b := pix / (s.OutW * s.OutH)
		if n := d.interiorRun(oy, ox, hi-pix); n > 0 {
			d.interiorRow(dst[pix*s.OutC:(pix+n)*s.OutC], src, b, oy, ox, n)
			pix += n - 1
			continue
		}
		out := dst[pix*s.OutC : (pix+1)*s.OutC]
		if d.interior3x3(out, src, b, oy, ox) {
			continue
		}
		for c0 := 0; c0 < s.OutC; c0 += dwBlock {
			n := min(dwBlock, s.OutC-c0)
			a := acc[:n]
			copy(a, d.bias[c0:c0+n])
			for ky := 0; ky < s.KH; ky++ {
				iy := oy*s.StrideH - s.PadTop + ky*s.DilationH
				if iy < 0 || iy >= s.InH {
					continue
				}
				for kx := 0; kx < s.KW; kx++ {
					ix := ox*s.StrideW - s.PadLeft + kx*s.DilationW
					if ix < 0 || ix >= s.InW {
						continue
					}
					tap := ky*s.KW + kx
					w := d.w[tap*s.OutC+c0 : tap*s.OutC+c0+n]
					row := src[((b*s.InH+iy)*s.InW+ix)*s.InC:]
					if d.m == 1 {
						x := row[c0 : c0+n]
						macFlip(a, x, w, d.flipIn, d.zxU)
					} else {
						for i := range a {
							x := int32(row[(c0+i)/d.m]^d.flipIn) - d.zxU
							a[i] += x * w[i]
						}
					}
				}
			}
			o := out[c0 : c0+n]
			if d.fscale != nil {
				for i, v := range a {
					q := fp32Quant(v, d.fscale[c0+i], d.zoU, d.loU, d.hiU)
					o[i] = byte(q) ^ d.flipOut
				}
				continue
			}
			for i, v := range a {
				q := clamp(d.mult[c0+i].Mul(v)+d.zoU, d.loU, d.hiU)
				o[i] = byte(q) ^ d.flipOut
			}
		}
	}
}

// interiorRun is the number of output pixels from (oy, ox) along the row,
// at most max, whose nine taps all lie inside the input, when the fused
// AVX-512 kernel takes whole 16-channel blocks; 0 otherwise.
func (d *Depthwise) interiorRun(oy, ox, limit int) int {
	s := &d.s
	if d.w16 == nil || s.InC%16 != 0 {
		return 0
	}
	iy := oy*s.StrideH - s.PadTop
	if iy < 0 || iy+2*s.DilationH >= s.InH {
		return 0
	}
	ix := ox*s.StrideW - s.PadLeft
	if ix < 0 {
		return 0
	}
	// The last column whose taps end inside the input.
	last := s.InW - 1 - 2*s.DilationW + s.PadLeft
	if last < 0 {
		return 0
	}
	end := min(last/s.StrideW+1, s.OutW) // one past the last such column
	return max(0, min(end-ox, limit))
}

// interiorRow computes n output pixels from (oy, ox) along the row, all
// inside the input (interiorRun), with the fused kernel.
func (d *Depthwise) interiorRow(out, src []byte, b, oy, ox, n int) {
	s := &d.s
	c := s.InC
	iy, ix := oy*s.StrideH-s.PadTop, ox*s.StrideW-s.PadLeft
	step := s.StrideW * c
	span := (n-1)*step + c
	var x [9][]byte
	for t := range x {
		off := ((b*s.InH+iy+t/3*s.DilationH)*s.InW + ix + t%3*s.DilationW) * c
		x[t] = src[off : off+span]
	}
	dw9q16row(out, &x, d.w16, d.biasIn, d.fscale, &d.rq, d.flipIn != 0, c, n, step)
}

// interior3x3 computes one output pixel of a 3×3 filter with depth
// multiplier 1, accumulating all nine taps in a register with the input
// zero point folded into the bias (biasIn); taps outside the input read a
// row of the zero point (padRow), which adds nothing. It reports false,
// doing nothing, for other geometries.
func (d *Depthwise) interior3x3(out, src []byte, b, oy, ox int) bool {
	s := &d.s
	if d.biasIn == nil {
		return false
	}
	iy, ix := oy*s.StrideH-s.PadTop, ox*s.StrideW-s.PadLeft
	c := s.InC
	var x [9][]byte
	for t := range x {
		y, xx := iy+t/3*s.DilationH, ix+t%3*s.DilationW
		if y < 0 || y >= s.InH || xx < 0 || xx >= s.InW {
			// A tap outside the input reads the zero point, whose
			// term the folded bias cancels exactly.
			x[t] = d.padRow
			continue
		}
		off := ((b*s.InH+y)*s.InW + xx) * c
		x[t] = src[off : off+c]
	}
	out = out[:c]
	start := 0
	if d.w16 != nil {
		// Whole 16-channel blocks in one call, requantized and stored.
		dw9q16(out, &x, d.w16, d.biasIn, d.fscale, &d.rq, d.flipIn != 0)
		start = c / 16 * 16
	}
	var acc [dwBlock]int32
	for c0 := start; c0 < c; c0 += dwBlock {
		n := min(dwBlock, c-c0)
		a := acc[:n]
		copy(a, d.biasIn[c0:c0+n])
		done := 0
		if d.wBlk != nil {
			done = n / 8 * 8
			var xs [9][]byte
			for t := range x {
				xs[t] = x[t][c0 : c0+done]
			}
			dw9(a[:done], &xs, d.wBlk[c0/8*72:], d.flipIn != 0)
		}
		for t := range x {
			w := d.w[t*c+c0+done : t*c+c0+n]
			if d.flipIn == 0 {
				macU8(a[done:], x[t][c0+done:c0+n], w)
			} else {
				macI8(a[done:], x[t][c0+done:c0+n], w)
			}
		}
		o := out[c0 : c0+n]
		if d.fscale != nil {
			fs := d.fscale[c0 : c0+n]
			i := 0
			if d.wBlk != nil {
				var zero [16]int32
				var q [16]int32
				rp := newRequantParams(0, d.zoU, d.loU, d.hiU)
				for ; i+16 <= n; i += 16 {
					requant16(&q, a[i:i+16], zero[:], zero[:], fs[i:i+16], &rp)
					for j, v := range q {
						o[i+j] = byte(v) ^ d.flipOut
					}
				}
			}
			for ; i < n; i++ {
				o[i] = byte(fp32Quant(a[i], fs[i], d.zoU, d.loU, d.hiU)) ^ d.flipOut
			}
			continue
		}
		for i, v := range a {
			o[i] = byte(clamp(d.mult[c0+i].Mul(v)+d.zoU, d.loU, d.hiU)) ^ d.flipOut
		}
	}
	return true
}

// macU8 does a[i] += x[i]·w[i] for unsigned bytes.
func macU8(a []int32, x []byte, w []int32) {
	x = x[:len(a)]
	w = w[:len(a)]
	for i := range a {
		a[i] += int32(x[i]) * w[i]
	}
}

// macI8 does a[i] += int8(x[i])·w[i].
func macI8(a []int32, x []byte, w []int32) {
	x = x[:len(a)]
	w = w[:len(a)]
	for i := range a {
		a[i] += int32(int8(x[i])) * w[i]
	}
}

// macFlip does a[i] += (x[i]^flip - zero)·w[i].
func macFlip(a []int32, x []byte, w []int32, flip byte, zero int32) {
	x = x[:len(a)]
	w = w[:len(a)]
	for i := range a {
		a[i] += (int32(x[i]^flip) - zero) * w[i]
	}
}
