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
		rows := func(u0, u1 int) { g.unitRows(dst, cout, src, cin, m, u0, u1) }
		units := g.units(m)
		j := p.pool.newJob(units, m*cout*cin, rows)
		return func() { p.pool.runJob(j) }, nil
	}

	m := wy.out * wx.out
	cols := alignedF32(m * k)
	gather := im2col{y: wy, x: wx, c: cin}
	var batch int
	fill := func(y0, y1 int) { gather.fill(cols, src[batch*h*w*cin:], y0, y1) }
	rows := func(u0, u1 int) { g.unitRows(dst[batch*m*cout:], cout, cols, k, m, u0, u1) }
	fillJob, rowsJob := p.pool.newJob(wy.out, m*k, fill), p.pool.newJob(g.units(m), m*cout*k, rows)
	return func() {
		for batch = 0; batch < n; batch++ {
			p.pool.runJob(fillJob)
			p.pool.runJob(rowsJob)
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

// fill writes the rows of output lines [oy0,oy1).
func (g *im2col) fill(cols, src []float32, oy0, oy1 int) {
	k := g.y.filter * g.x.filter * g.c
	for oy := oy0; oy < oy1; oy++ {
		for ox := 0; ox < g.x.out; ox++ {
			row := cols[(oy*g.x.out+ox)*k : (oy*g.x.out+ox+1)*k]
			for ky := 0; ky < g.y.filter; ky++ {
				iy := oy*g.y.stride - g.y.pad + ky*g.y.dilation
				seg := row[ky*g.x.filter*g.c : (ky+1)*g.x.filter*g.c]
				if iy < 0 || iy >= g.y.in {
					clear(seg)
					continue
				}
				for kx := 0; kx < g.x.filter; kx++ {
					ix := ox*g.x.stride - g.x.pad + kx*g.x.dilation
					cell := seg[kx*g.c : (kx+1)*g.c]
					if ix < 0 || ix >= g.x.in {
						clear(cell)
						continue
					}
					off := (iy*g.x.in + ix) * g.c
					copy(cell, src[off:off+g.c])
				}
			}
		}
	}
}
