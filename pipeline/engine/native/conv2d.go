package native

import (
	"github.com/alphad/alphad/pipeline/tflite"
)

// CONV_2D, float32. A 1×1 convolution with stride 1 is one GEMM straight
// on the NHWC input (rows = pixels, columns = input channels); any other
// geometry first gathers each output pixel's receptive field into a row of
// an im2col scratch buffer, then runs the same GEMM. Weights are packed
// once, in prepare.

func prepareConv2D(p *plan, op *tflite.Operator) (runFunc, error) {
	if err := p.checkIO(op, 2, 1); err != nil {
		return nil, err
	}
	in, filt, out := op.Inputs[0], op.Inputs[1], op.Outputs[0]
	if isQuant(p, in) {
		return prepareQuantConv2D(p, op)
	}
	opts, ok := op.Options.(*tflite.Conv2DOptions)
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
	n, h, w, cin, ok1 := nhwc(p, in)
	cout, kh, kw, fcin, ok2 := nhwc(p, filt)
	if !ok1 || !ok2 {
		return nil, p.unsupported(op, "input and filter must be 4-D")
	}
	if fcin != cin {
		return nil, p.unsupported(op, "grouped convolution (filter depth %d, input depth %d)", fcin, cin)
	}
	wy := newWindow(h, kh, opts.StrideH, opts.DilationH, opts.Padding)
	wx := newWindow(w, kw, opts.StrideW, opts.DilationW, opts.Padding)
	if err := checkShape(p, op, out, n, wy.out, wx.out, cout); err != nil {
		return nil, err
	}
	lo, hi, err := actRange(p, op, opts.Activation)
	if err != nil {
		return nil, err
	}
	bias, err := floatBias(p, op, 2, cout)
	if err != nil {
		return nil, err
	}
	k := kh * kw * cin
	g := newGemm(p.kern, p.f32(filt), cout, k, bias, lo, hi)

	src, dst := p.f32(in), p.f32(out)
	if kh == 1 && kw == 1 && wy.stride == 1 && wx.stride == 1 && wy.pad == 0 && wx.pad == 0 {
		m := n * h * w
		gr := g.grid(m, p.pool.threads, false)
		items := func(i0, i1 int) { g.gridItems(gr, dst, cout, src, cin, i0, i1) }
		j := p.pool.newJob(gr.items(), m*cout*cin, items)
		return func() { p.pool.runJob(j) }, nil
	}

	// Each item gathers its own rows of the im2col matrix and multiplies
	// them at once: one pass over the pool per image, the rows still in
	// cache when the GEMM reads them.
	m := wy.out * wx.out
	cols := alignedF32(m * k)
	gather := im2col{y: wy, x: wx, c: cin}
	gr := g.grid(m, p.pool.threads, true)
	var batch int
	items := func(i0, i1 int) {
		img, out := src[batch*h*w*cin:], dst[batch*m*cout:]
		for i := i0; i < i1; i++ {
			m0, m1, p0, p1 := gr.item(i, g.kern.mr)
			gather.fill(cols, img, m0, m1)
			g.block(out, cout, cols, k, m0, m1, p0, p1)
		}
	}
	j := p.pool.newJob(gr.items(), m*cout*k, items)
	return func() {
		for batch = 0; batch < n; batch++ {
			p.pool.runJob(j)
		}
	}, nil
}

// im2col gathers receptive fields of one NHWC image into rows of cols:
// row oy*outW+ox holds the kh×kw×c window (zeros where it leaves the
// image), in the filter's [kh][kw][c] order.
type im2col struct {
	y, x window
	c    int
}

// fill writes rows [r0,r1) of cols (output pixels in raster order).
func (g *im2col) fill(cols, src []float32, r0, r1 int) {
	kw, c := g.x.filter, g.c
	seg := kw * c
	k := g.y.filter * seg
	if r1 <= r0 {
		return
	}
	_ = cols[r1*k-1]
	oy, ox := r0/g.x.out, r0%g.x.out
	for r := r0; r < r1; r++ {
		row := cols[r*k : (r+1)*k : (r+1)*k]
		ix0 := ox*g.x.stride - g.x.pad
		// Taps [kx0,kx1) are inside the image; undilated, they are
		// adjacent in the input.
		kx0, kx1 := max(0, -ix0), min(kw, g.x.in-ix0)
		inside := g.x.dilation == 1 && kx0 == 0 && kx1 == kw
		for ky := 0; ky < g.y.filter; ky++ {
			iy := oy*g.y.stride - g.y.pad + ky*g.y.dilation
			out := row[ky*seg : (ky+1)*seg : (ky+1)*seg]
			if iy < 0 || iy >= g.y.in {
				clear(out)
				continue
			}
			line := src[iy*g.x.in*c : (iy+1)*g.x.in*c]
			if inside {
				in := line[ix0*c : ix0*c+seg]
				if seg <= 16 {
					// A few elements: a loop beats memmove's call.
					for i := range out {
						out[i] = in[i]
					}
				} else {
					copy(out, in)
				}
				continue
			}
			for kx := 0; kx < kw; kx++ {
				ix := ix0 + kx*g.x.dilation
				cell := out[kx*c : (kx+1)*c]
				if ix < 0 || ix >= g.x.in {
					clear(cell)
					continue
				}
				copy(cell, line[ix*c:(ix+1)*c])
			}
		}
		if ox++; ox == g.x.out {
			ox = 0
			oy++
		}
	}
}
