package native

import (
	"unsafe"

	"github.com/alphad/alphad/pipeline/tflite"
)

// DEPTHWISE_CONV_2D, float32. Weights stay in TFLite's [1][kh][kw][c·mult]
// layout, which is channel-contiguous like the NHWC activations. Each output
// pixel is bias plus a sum of taps; a 3×3, multiplier-1 pixel whose window
// lies inside the image takes a fast path that sums all nine taps per
// channel in one pass.

func prepareDepthwiseConv2D(p *plan, op *tflite.Operator) (runFunc, error) {
	if err := p.checkIO(op, 2, 1); err != nil {
		return nil, err
	}
	in, filt, out := op.Inputs[0], op.Inputs[1], op.Outputs[0]
	if isQuant(p, in) {
		return prepareQuantDepthwiseConv2D(p, op)
	}
	opts, ok := op.Options.(*tflite.DepthwiseConv2DOptions)
	if !ok {
		return nil, p.unsupported(op, "missing options")
	}
	for _, t := range []int{in, filt, out} {
		if err := checkType(p, op, t, tflite.Float32); err != nil {
			return nil, err
		}
	}
	if !p.tensor(filt).IsConst() {
		return nil, p.unsupported(op, "non-constant filter")
	}
	n, h, w, c, ok1 := nhwc(p, in)
	one, kh, kw, oc, ok2 := nhwc(p, filt)
	if !ok1 || !ok2 || one != 1 {
		return nil, p.unsupported(op, "input and filter must be 4-D, filter [1,kh,kw,c]")
	}
	mult := max(opts.DepthMultiplier, 1)
	if oc != c*mult {
		// TFLite infers the multiplier from the shapes when the option is 0.
		if c == 0 || oc%c != 0 {
			return nil, p.unsupported(op, "filter depth %d is not a multiple of input depth %d", oc, c)
		}
		mult = oc / c
	}
	d := &dwConv{
		y: newWindow(h, kh, opts.StrideH, opts.DilationH, opts.Padding),
		x: newWindow(w, kw, opts.StrideW, opts.DilationW, opts.Padding),
		c: c, mult: mult, vec: p.kern.vector() && haveDWRow8(),
	}
	if err := checkShape(p, op, out, n, d.y.out, d.x.out, oc); err != nil {
		return nil, err
	}
	var err error
	if d.lo, d.hi, err = actRange(p, op, opts.Activation); err != nil {
		return nil, err
	}
	if d.bias, err = floatBias(p, op, 2, oc); err != nil {
		return nil, err
	}
	d.w = p.f32(filt)
	src, dst := p.f32(in), p.f32(out)
	var batch int
	rows := func(lo, hi int) {
		d.rows(dst[batch*d.y.out*d.x.out*oc:], src[batch*h*w*c:], lo, hi)
	}
	j := p.pool.newJob(d.y.out, d.y.out*d.x.out*oc*kh*kw, rows)
	return func() {
		for batch = 0; batch < n; batch++ {
			p.pool.runJob(j)
		}
	}, nil
}

// dwConv is a prepared depthwise convolution of one image.
type dwConv struct {
	y, x    window
	c, mult int
	w, bias []float32
	lo, hi  float32
	vec     bool // run 8-channel blocks with row8 (AVX2+FMA)
}

// rows computes output lines [oy0,oy1).
func (d *dwConv) rows(dst, src []float32, oy0, oy1 int) {
	oc := d.c * d.mult
	fast := d.mult == 1 && d.y.filter == 3 && d.x.filter == 3 && d.y.dilation == 1 && d.x.dilation == 1
	// Output columns [xlo,xhi) have their whole window inside the image:
	// ox·stride-pad ≥ 0 and ox·stride-pad+3 ≤ in. When the image is
	// narrower than the window (in-3+pad < 0) there are none; Go's division
	// truncates toward zero, so that case must not go through it.
	xlo := min((d.x.pad+d.x.stride-1)/d.x.stride, d.x.out)
	xhi := xlo
	if last := d.x.in - 3 + d.x.pad; last >= 0 {
		xhi = max(min(last/d.x.stride+1, d.x.out), xlo)
	}
	for oy := oy0; oy < oy1; oy++ {
		iy0 := oy*d.y.stride - d.y.pad
		if fast && iy0 >= 0 && iy0+3 <= d.y.in && xhi > xlo {
			for ox := 0; ox < xlo; ox++ {
				d.pixel(dst[(oy*d.x.out+ox)*oc:(oy*d.x.out+ox+1)*oc], src, iy0, ox*d.x.stride-d.x.pad)
			}
			d.row3x3(dst, src, oy, iy0, xlo, xhi)
			for ox := xhi; ox < d.x.out; ox++ {
				d.pixel(dst[(oy*d.x.out+ox)*oc:(oy*d.x.out+ox+1)*oc], src, iy0, ox*d.x.stride-d.x.pad)
			}
			continue
		}
		for ox := 0; ox < d.x.out; ox++ {
			o := dst[(oy*d.x.out+ox)*oc : (oy*d.x.out+ox+1)*oc]
			ix0 := ox*d.x.stride - d.x.pad
			if fast && iy0 >= 0 && iy0+3 <= d.y.in && ix0 >= 0 && ix0+3 <= d.x.in {
				d.pixel3x3(o, src, iy0, ix0)
				continue
			}
			d.pixel(o, src, iy0, ix0)
		}
	}
}

// dwBlock is the channel block row3x3 sweeps at a time: one 64-byte cache
// line of each input pixel, so the three input rows of a block stay in L1
// while every channel of the block passes over them.
const dwBlock = 16

// row3x3 computes the interior columns [xlo,xhi) of output line oy for a
// 3×3, multiplier-1 filter whose window rows iy0..iy0+2 are inside the
// image. Channel by channel (or eight at a time with AVX2), the nine
// weights stay in registers while the window slides along the line.
// Bounds are checked once up front; the loops walk raw pointers.
func (d *dwConv) row3x3(dst, src []float32, oy, iy0, xlo, xhi int) {
	c := d.c
	row := d.x.in * c
	ix := xlo*d.x.stride - d.x.pad
	// Last elements touched: input (iy0+2, ix of column xhi-1 plus 2,
	// channel c-1) and output (oy, xhi-1, c-1).
	_ = src[(iy0+2)*row+((xhi-1)*d.x.stride-d.x.pad+2)*c+c-1]
	_ = dst[(oy*d.x.out+xhi-1)*c+c-1]
	_ = d.w[9*c-1]
	_ = d.bias[c-1]
	step := uintptr(d.x.stride*c) * 4
	cs := uintptr(c) * 4
	rs := uintptr(row) * 4
	n := xhi - xlo
	lo, hi := d.lo, d.hi
	w := unsafe.Pointer(unsafe.SliceData(d.w))
	c0 := 0
	if d.vec {
		for ; c0+8 <= c; c0 += 8 {
			d.row8(dst, src, oy, iy0, xlo, n, c0)
		}
	}
	for ; c0 < c; c0 += dwBlock {
		for ch := c0; ch < min(c0+dwBlock, c); ch++ {
			wc := unsafe.Add(w, 4*ch)
			w00 := *(*float32)(wc)
			w01 := *(*float32)(unsafe.Add(wc, cs))
			w02 := *(*float32)(unsafe.Add(wc, 2*cs))
			w10 := *(*float32)(unsafe.Add(wc, 3*cs))
			w11 := *(*float32)(unsafe.Add(wc, 4*cs))
			w12 := *(*float32)(unsafe.Add(wc, 5*cs))
			w20 := *(*float32)(unsafe.Add(wc, 6*cs))
			w21 := *(*float32)(unsafe.Add(wc, 7*cs))
			w22 := *(*float32)(unsafe.Add(wc, 8*cs))
			b := d.bias[ch]
			p := unsafe.Pointer(&src[iy0*row+ix*c+ch])
			o := unsafe.Pointer(&dst[(oy*d.x.out+xlo)*c+ch])
			for range n {
				p1 := unsafe.Add(p, rs)
				p2 := unsafe.Add(p1, rs)
				s := b + *(*float32)(p)*w00 + *(*float32)(unsafe.Add(p, cs))*w01 + *(*float32)(unsafe.Add(p, 2*cs))*w02
				s += *(*float32)(p1)*w10 + *(*float32)(unsafe.Add(p1, cs))*w11 + *(*float32)(unsafe.Add(p1, 2*cs))*w12
				s += *(*float32)(p2)*w20 + *(*float32)(unsafe.Add(p2, cs))*w21 + *(*float32)(unsafe.Add(p2, 2*cs))*w22
				*(*float32)(o) = min(max(s, lo), hi)
				p = unsafe.Add(p, step)
				o = unsafe.Add(o, cs)
			}
		}
	}
}

// pixel computes one output pixel tap by tap, skipping taps outside the
// image (the general path: any size, multiplier, dilation).
func (d *dwConv) pixel(o, src []float32, iy0, ix0 int) {
	oc := len(o)
	copy(o, d.bias)
	for ky := 0; ky < d.y.filter; ky++ {
		iy := iy0 + ky*d.y.dilation
		if iy < 0 || iy >= d.y.in {
			continue
		}
		for kx := 0; kx < d.x.filter; kx++ {
			ix := ix0 + kx*d.x.dilation
			if ix < 0 || ix >= d.x.in {
				continue
			}
			in := src[(iy*d.x.in+ix)*d.c : (iy*d.x.in+ix+1)*d.c]
			wt := d.w[(ky*d.x.filter+kx)*oc : (ky*d.x.filter+kx+1)*oc]
			if d.mult == 1 {
				wt = wt[:len(in)]
				o := o[:len(in)]
				for ch, v := range in {
					o[ch] += v * wt[ch]
				}
				continue
			}
			for ch, v := range in {
				for m := 0; m < d.mult; m++ {
					o[ch*d.mult+m] += v * wt[ch*d.mult+m]
				}
			}
		}
	}
	for i, v := range o {
		o[i] = min(max(v, d.lo), d.hi)
	}
}

// pixel3x3 computes an interior output pixel of a 3×3, multiplier-1
// filter: nine input and nine weight rows, one pass over the channels.
func (d *dwConv) pixel3x3(o, src []float32, iy0, ix0 int) {
	c := d.c
	row := d.x.in * c
	base := iy0*row + ix0*c
	i00 := src[base : base+c]
	i01 := src[base+c : base+2*c]
	i02 := src[base+2*c : base+3*c]
	base += row
	i10 := src[base : base+c]
	i11 := src[base+c : base+2*c]
	i12 := src[base+2*c : base+3*c]
	base += row
	i20 := src[base : base+c]
	i21 := src[base+c : base+2*c]
	i22 := src[base+2*c : base+3*c]
	w := d.w[:9*c]
	w00, w01, w02 := w[0:c], w[c:2*c], w[2*c:3*c]
	w10, w11, w12 := w[3*c:4*c], w[4*c:5*c], w[5*c:6*c]
	w20, w21, w22 := w[6*c:7*c], w[7*c:8*c], w[8*c:9*c]
	b := d.bias[:c]
	o = o[:c]
	lo, hi := d.lo, d.hi
	for ch := range o {
		s := b[ch] + i00[ch]*w00[ch] + i01[ch]*w01[ch] + i02[ch]*w02[ch]
		s += i10[ch]*w10[ch] + i11[ch]*w11[ch] + i12[ch]*w12[ch]
		s += i20[ch]*w20[ch] + i21[ch]*w21[ch] + i22[ch]*w22[ch]
		o[ch] = min(max(s, lo), hi)
	}
}
