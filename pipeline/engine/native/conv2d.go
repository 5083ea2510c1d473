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
	in, out := op.Inputs[0], op.Outputs[0]
	if isQuant(p, in) {
		return prepareQuantConv2D(p, op)
	}
	c, n, err := newConv(p, op)
	if err != nil {
		return nil, err
	}
	g, cin, cout, k := c.g, c.cin, c.cout, c.k

	src, dst := p.f32(in), p.f32(out)
	if c.gather == nil {
		m := n * c.h * c.w
		gr := g.grid(m, p.pool.threads, false)
		if gr.cc >= p.pool.threads {
			// Items go row chunk fastest: each thread's segment is
			// (mostly) whole column chunks, its own output channels.
			p.markChanCut(out)
		}
		t := &opTail{at: p.at, out: out, gr: gr, mr: g.kern.mr, nr: g.kern.nr, cols: cout}
		p.tail = t
		items := func(i0, i1 int) {
			g.gridItems(gr, dst, cout, src, cin, i0, i1)
			if t.post != nil {
				for i := i0; i < i1; i++ {
					t.item(i) // while the items' output is in cache
				}
			}
		}
		j := p.pool.newJob(gr.items(), m*cout*cin, items)
		return func() { p.pool.runJob(j) }, nil
	}

	// Each item gathers its own rows of the im2col matrix a block at a
	// time into its thread's scratch slot and multiplies them at once:
	// the block is still in cache when the GEMM reads it, and one pass
	// over the pool covers an image. Blocks are whole mr-row units, so the
	// tiles fall where an unsplit product puts them.
	gather := c.gather
	m, isz := c.h*c.w, gather.y.in*gather.x.in*cin
	gr := g.grid(m, p.pool.threads, true)
	mr := g.kern.mr
	blockRows := c.gatherRows
	cols := alignedF32(p.pool.threads * blockRows * k)
	var batch int
	items := func(i0, i1, thread int) {
		img, out := src[batch*isz:], dst[batch*m*cout:]
		slot := cols[thread*blockRows*k : (thread+1)*blockRows*k]
		for i := i0; i < i1; i++ {
			m0, m1, p0, p1 := gr.item(i, mr)
			for b0 := m0; b0 < m1; b0 += blockRows {
				b1 := min(b0+blockRows, m1)
				gather.fill(slot, img, b0, b1, b0)
				g.block(out[b0*cout:], cout, slot, k, 0, b1-b0, p0, p1)
			}
		}
	}
	j := p.pool.newThreadJob(gr.items(), m*cout*k, items)
	return func() {
		for batch = 0; batch < n; batch++ {
			p.pool.runJob(j)
		}
	}, nil
}

// convStage is a prepared float32 CONV_2D: a GEMM on the input itself
// (1×1, stride 1, no padding; gather nil) or on im2col rows gathered from
// it.
type convStage struct {
	g          *gemm
	gather     *im2col
	h, w, cout int // output map
	cin, k     int // input channels, GEMM depth
	gatherRows int // im2col rows gathered at a time (whole mr-row units)
}

// newConv checks float32 CONV_2D op (its inputs and outputs present, see
// checkIO) and prepares it, packing the weights; n is the batch. The
// errors are prepareConv2D's.
func newConv(p *plan, op *tflite.Operator) (c *convStage, n int, err error) {
	opts, ok := op.Options.(*tflite.Conv2DOptions)
	if !ok {
		return nil, 0, p.unsupported(op, "missing options")
	}
	in, filt, out := op.Inputs[0], op.Inputs[1], op.Outputs[0]
	if err := checkFilterOp(p, op); err != nil {
		return nil, 0, err
	}
	n, h, w, cin, ok1 := nhwc(p, in)
	cout, kh, kw, fcin, ok2 := nhwc(p, filt)
	if !ok1 || !ok2 {
		return nil, 0, p.unsupported(op, "input and filter must be 4-D")
	}
	if fcin != cin {
		return nil, 0, p.unsupported(op, "grouped convolution (filter depth %d, input depth %d)", fcin, cin)
	}
	wy := newWindow(h, kh, opts.StrideH, opts.DilationH, opts.Padding)
	wx := newWindow(w, kw, opts.StrideW, opts.DilationW, opts.Padding)
	if err := checkShape(p, op, out, n, wy.out, wx.out, cout); err != nil {
		return nil, 0, err
	}
	lo, hi, err := actRange(p, op, opts.Activation)
	if err != nil {
		return nil, 0, err
	}
	bias, err := floatBias(p, op, 2, cout)
	if err != nil {
		return nil, 0, err
	}
	c = &convStage{h: wy.out, w: wx.out, cout: cout, cin: cin, k: kh * kw * cin}
	c.g = newGemm(p.kern, p.f32(filt), cout, c.k, bias, lo, hi)
	if kh != 1 || kw != 1 || wy.stride != 1 || wx.stride != 1 || wy.pad != 0 || wx.pad != 0 {
		mr := c.g.kern.mr
		c.gather = &im2col{y: wy, x: wx, c: cin}
		c.gatherRows = max(mr, (16<<10)/c.k/mr*mr)
	}
	return c, n, nil
}

// checkFilterOp checks that the input, filter and output of a float32
// CONV_2D or DEPTHWISE_CONV_2D are float32 and its filter constant.
func checkFilterOp(p *plan, op *tflite.Operator) error {
	filt := op.Inputs[1]
	for _, t := range []int{op.Inputs[0], filt, op.Outputs[0]} {
		if err := checkType(p, op, t, tflite.Float32); err != nil {
			return err
		}
	}
	if !p.tensor(filt).IsConst() {
		return p.unsupported(op, "non-constant filter")
	}
	return nil
}

// im2col gathers receptive fields of one NHWC image into rows of cols:
// row oy*outW+ox holds the kh×kw×c window (zeros where it leaves the
// image), in the filter's [kh][kw][c] order.
type im2col struct {
	y, x window
	c    int
}

// fill writes the rows of output pixels [r0,r1) (raster order) into
// cols, pixel r at row r-base.
func (g *im2col) fill(cols, src []float32, r0, r1, base int) {
	kw, c := g.x.filter, g.c
	seg := kw * c
	k := g.y.filter * seg
	if r1 <= r0 {
		return
	}
	cols = cols[:(r1-base)*k]
	for r := r0; r < r1; {
		// One output line at a time: the input lines of its taps are
		// found once.
		oy, ox0 := r/g.x.out, r%g.x.out
		ox1 := min(g.x.out, ox0+r1-r)
		for ky := 0; ky < g.y.filter; ky++ {
			iy := oy*g.y.stride - g.y.pad + ky*g.y.dilation
			if iy < 0 || iy >= g.y.in {
				for ox := ox0; ox < ox1; ox++ {
					q := (r + ox - ox0 - base) * k
					clear(cols[q+ky*seg : q+(ky+1)*seg])
				}
				continue
			}
			line := src[iy*g.x.in*c : (iy+1)*g.x.in*c]
			for ox := ox0; ox < ox1; ox++ {
				q := (r+ox-ox0-base)*k + ky*seg
				out := cols[q : q+seg : q+seg]
				ix0 := ox*g.x.stride - g.x.pad
				if g.x.dilation == 1 && ix0 >= 0 && ix0+kw <= g.x.in {
					// The taps are adjacent in the input.
					in := line[ix0*c : ix0*c+seg]
					if seg == 9 { // 3×3 over RGB, the usual first layer
						*(*[9]float32)(out) = *(*[9]float32)(in)
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
		}
		r += ox1 - ox0
	}
}
