package qmath

import "fmt"

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
	for oc := range d.mult {
		d.mult[oc] = p.mult(oc)
	}
	if p.Scale != nil {
		d.fscale = make([]float32, s.OutC)
		for oc := range d.fscale {
			d.fscale[oc] = p.Scale[min(oc, len(p.Scale)-1)]
		}
	}
	return d, nil
}

// Units is the number of output pixels, the unit of work Run splits on.
func (d *Depthwise) Units() int { return d.s.Batch * d.s.OutH * d.s.OutW }

// dwBlock is the number of channels accumulated at a time (on the stack).
const dwBlock = 256

// Run computes output pixels [lo, hi) of dst from src. Disjoint ranges may
// run concurrently. It allocates nothing.
func (d *Depthwise) Run(dst, src []byte, lo, hi int) {
	s := d.s
	_ = src[s.inLen()-1]
	_ = dst[s.outLen()-1]
	var acc [dwBlock]int32
	for pix := lo; pix < hi; pix++ {
		ox := pix % s.OutW
		oy := (pix / s.OutW) % s.OutH
		b := pix / (s.OutW * s.OutH)
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

// interior3x3 computes one output pixel whose 3×3 window lies inside the
// input (depth multiplier 1), accumulating all nine taps in a register.
// It reports false, doing nothing, for other pixels and geometries.
func (d *Depthwise) interior3x3(out, src []byte, b, oy, ox int) bool {
	s := d.s
	if s.KH != 3 || s.KW != 3 || d.m != 1 {
		return false
	}
	iy, ix := oy*s.StrideH-s.PadTop, ox*s.StrideW-s.PadLeft
	if iy < 0 || ix < 0 || iy+2*s.DilationH >= s.InH || ix+2*s.DilationW >= s.InW {
		return false
	}
	c := s.InC
	row := func(ky, kx int) []byte {
		off := ((b*s.InH+iy+ky*s.DilationH)*s.InW + ix + kx*s.DilationW) * c
		return src[off : off+c]
	}
	x0, x1, x2 := row(0, 0), row(0, 1), row(0, 2)
	x3, x4, x5 := row(1, 0), row(1, 1), row(1, 2)
	x6, x7, x8 := row(2, 0), row(2, 1), row(2, 2)
	w := d.w[:9*c]
	w0, w1, w2 := w[0:c], w[c:2*c], w[2*c:3*c]
	w3, w4, w5 := w[3*c:4*c], w[4*c:5*c], w[5*c:6*c]
	w6, w7, w8 := w[6*c:7*c], w[7*c:8*c], w[8*c:9*c]
	bias := d.bias[:c]
	out = out[:c]
	f, z := d.flipIn, d.zxU
	for i := range out {
		a := bias[i] +
			(int32(x0[i]^f)-z)*w0[i] + (int32(x1[i]^f)-z)*w1[i] + (int32(x2[i]^f)-z)*w2[i] +
			(int32(x3[i]^f)-z)*w3[i] + (int32(x4[i]^f)-z)*w4[i] + (int32(x5[i]^f)-z)*w5[i] +
			(int32(x6[i]^f)-z)*w6[i] + (int32(x7[i]^f)-z)*w7[i] + (int32(x8[i]^f)-z)*w8[i]
		var q int32
		if d.fscale != nil {
			q = fp32Quant(a, d.fscale[i], d.zoU, d.loU, d.hiU)
		} else {
			q = clamp(d.mult[i].Mul(a)+d.zoU, d.loU, d.hiU)
		}
		out[i] = byte(q) ^ d.flipOut
	}
	return true
}

// macFlip does a[i] += (x[i]^flip - zero)·w[i].
func macFlip(a []int32, x []byte, w []int32, flip byte, zero int32) {
	x = x[:len(a)]
	w = w[:len(a)]
	for i := range a {
		a[i] += (int32(x[i]^flip) - zero) * w[i]
	}
}
