package native

import (
	"unsafe"

	"github.com/alphad/alphad/pipeline/tflite"
)

// DEPTHWISE_CONV_2D, float32. Weights stay in TFLite's [1][kh][kw][c·mult]
// layout, which is channel-contiguous like the NHWC activations. Each output
// pixel is bias plus a sum of taps; a 3×3, multiplier-1 pixel whose window
// lies inside the image takes a fast path that sums all nine taps per
// channel in one pass. With the AVX2 or AVX-512 line kernels (dwLine8,
// dwLine16), one call computes a whole output line of a channel block,
// border pixels too (see padWeights); elsewhere the row kernels run the
// interior and shifted weight copies the border (see shiftWeights).

func prepareDepthwiseConv2D(p *plan, op *tflite.Operator) (runFunc, error) {
	if err := p.checkIO(op, 2, 1); err != nil {
		return nil, err
	}
	in, out := op.Inputs[0], op.Outputs[0]
	if isQuant(p, in) {
		return prepareQuantDepthwiseConv2D(p, op)
	}
	d, n, err := newDWConv(p, op)
	if err != nil {
		return nil, err
	}
	h, w, c, oc := d.y.in, d.x.in, d.c, d.c*d.mult
	src, dst := p.f32(in), p.f32(out)
	var batch int
	if t := p.chainable(in); t != nil {
		var run runFunc
		switch {
		case d.lineKernels():
			run = d.chainDW(p, t, n, src, dst, true)
		case d.fast() && d.edges != nil:
			run = d.chainDW(p, t, n, src, dst, false)
		}
		if run != nil {
			return run, nil
		}
	}
	if d.lineKernels() {
		return d.prepareLines(p, in, n, src, dst), nil
	}
	// Items are row bands times channel blocks: a small map with many
	// channels (7×7×960) has too few rows to share evenly by rows alone.
	// Channel blocks are whole multiples of eight (the vector width), so
	// every channel takes the same path however the op is cut.
	bands, blocks := d.y.out, 1
	if want := p.pool.threads * itemsPerThread; p.pool.threads > 1 && d.fast() && d.edges != nil && bands < want {
		blocks = min((want+bands-1)/bands, max(c/16, 1))
	}
	items := func(lo, hi int) {
		for i := lo; i < hi; i++ {
			r, b := i%bands, i/bands
			c0, c1 := c*b/blocks/8*8, c*(b+1)/blocks/8*8
			if b == blocks-1 {
				c1 = c
			}
			d.band(dst[batch*d.y.out*d.x.out*oc:], src[batch*h*w*c:], r, r+1, c0, c1)
		}
	}
	if blocks == 1 {
		items = func(lo, hi int) { d.rows(dst[batch*d.y.out*d.x.out*oc:], src[batch*h*w*c:], lo, hi) }
	}
	j := p.pool.newJob(bands*blocks, d.y.out*d.x.out*oc*d.y.filter*d.x.filter, items)
	return func() {
		for batch = 0; batch < n; batch++ {
			p.pool.runJob(j)
		}
	}, nil
}

// newDWConv checks float32 DEPTHWISE_CONV_2D op (its inputs and outputs
// present, see checkIO) and prepares it for one image, the border weights
// too (shiftWeights); n is the batch. The errors are
// prepareDepthwiseConv2D's.
func newDWConv(p *plan, op *tflite.Operator) (d *dwConv, n int, err error) {
	opts, ok := op.Options.(*tflite.DepthwiseConv2DOptions)
	if !ok {
		return nil, 0, p.unsupported(op, "missing options")
	}
	in, filt, out := op.Inputs[0], op.Inputs[1], op.Outputs[0]
	if err := checkFilterOp(p, op); err != nil {
		return nil, 0, err
	}
	n, h, w, c, ok1 := nhwc(p, in)
	one, kh, kw, oc, ok2 := nhwc(p, filt)
	if !ok1 || !ok2 || one != 1 {
		return nil, 0, p.unsupported(op, "input and filter must be 4-D, filter [1,kh,kw,c]")
	}
	mult := max(opts.DepthMultiplier, 1)
	if oc != c*mult {
		// TFLite infers the multiplier from the shapes when the option is 0.
		if c == 0 || oc%c != 0 {
			return nil, 0, p.unsupported(op, "filter depth %d is not a multiple of input depth %d", oc, c)
		}
		mult = oc / c
	}
	d = &dwConv{
		y: newWindow(h, kh, opts.StrideH, opts.DilationH, opts.Padding),
		x: newWindow(w, kw, opts.StrideW, opts.DilationW, opts.Padding),
		c: c, mult: mult, vec: p.kern.vector() && haveDWRow8(),
		wide: p.kern.avx512 && haveDWLine16(),
	}
	if err := checkShape(p, op, out, n, d.y.out, d.x.out, oc); err != nil {
		return nil, 0, err
	}
	if d.lo, d.hi, err = actRange(p, op, opts.Activation); err != nil {
		return nil, 0, err
	}
	if d.bias, err = floatBias(p, op, 2, oc); err != nil {
		return nil, 0, err
	}
	d.w = p.f32(filt)
	d.shiftWeights()
	return d, n, nil
}

// prepareLines is the run of a filter padWeights has prepared, on n
// images: line by line with the line kernels, whose one call covers a
// whole line of a channel block, border pixels included (the row kernels
// take one call per run of pixels and per block of eight, which on the
// small maps of late layers cost more than the sums themselves).
//
// The op is cut into items of row bands times blocks of eight channels,
// numbered band fastest. When the producer of the input split its
// threads by channels (a 1×1 convolution cut by weight columns, see
// gemm.grid), the cut is by channels alone: each thread reads the
// channels it wrote and the weights of those channels only. Otherwise it
// is by rows, and by channel blocks too when there are fewer rows than
// items wanted.
func (d *dwConv) prepareLines(p *plan, in, n int, src, dst []float32) runFunc {
	c := d.c
	groups := c / 8
	bands, blocks := d.y.out, 1
	want := p.pool.threads * itemsPerThread
	switch {
	case p.pool.threads == 1:
		bands = 1
	case p.chanCut[in] && groups >= p.pool.threads:
		// One block per thread: a line kernel call per row and block
		// costs enough that eight blocks of 7×7×960 ran no faster on two
		// threads than on one (1.0×; one block per thread 1.3–1.8×).
		bands, blocks = 1, p.pool.threads
	case bands < want:
		blocks = min((want+bands-1)/bands, max(groups, 1))
	}
	isz, osz := d.y.in*d.x.in*c, d.y.out*d.x.out*c
	var batch int
	items := func(lo, hi int) {
		s, o := src[batch*isz:(batch+1)*isz], dst[batch*osz:(batch+1)*osz]
		for i := lo; i < hi; i++ {
			r, b := i%bands, i/bands
			c0, c1 := groups*b/blocks*8, groups*(b+1)/blocks*8
			if b == blocks-1 {
				c1 = c
			}
			for oy := d.y.out * r / bands; oy < d.y.out*(r+1)/bands; oy++ {
				d.vline(o, s, oy, c0, c1)
			}
		}
	}
	j := p.pool.newJob(bands*blocks, osz*9, items)
	return func() {
		for batch = 0; batch < n; batch++ {
			p.pool.runJob(j)
		}
	}
}

// dwConv is a prepared depthwise convolution of one image.
type dwConv struct {
	y, x    window
	c, mult int
	w, bias []float32
	lo, hi  float32
	vec     bool // run 8-channel blocks with dwRow8 (AVX2+FMA, NEON)
	wide    bool // lines take 16-channel blocks with dwLine16 (AVX-512)
	// edges holds the weights shifted for border windows, by (dy+2)*5+dx+2
	// (see shiftWeights); nil: border pixels go tap by tap.
	edges *[25][]float32
	// pad holds the weights for dwLine8, [5][5][c] with the 3×3 taps in
	// the middle and zeros around (see padWeights); segs is one output
	// line as runs of pixels that share a column shift, ended by a zero
	// run. Both nil: the lines take rows.
	pad  []float32
	segs []dwSeg
}

// dwSeg is a run of n output pixels of a line whose windows have the same
// column shift: byte offsets of the first window's input (from the
// line's first input row), of its output (from the line's start) and of
// its weights (from the padded weights of the line's row shift).
type dwSeg struct{ n, src, dst, w int }

// rows computes output lines [oy0,oy1).
func (d *dwConv) rows(dst, src []float32, oy0, oy1 int) {
	oc := d.c * d.mult
	fast := d.fast()
	xlo, xhi := d.interior()
	for oy := oy0; oy < oy1; oy++ {
		iy0 := oy*d.y.stride - d.y.pad
		if fast && d.edges != nil {
			d.line(dst, src, oy, xlo, xhi, 0, d.c)
			continue
		}
		if fast && iy0 >= 0 && iy0+3 <= d.y.in && xhi > xlo {
			for ox := 0; ox < xlo; ox++ {
				d.pixel(dst[(oy*d.x.out+ox)*oc:(oy*d.x.out+ox+1)*oc], src, iy0, ox*d.x.stride-d.x.pad)
			}
			d.row3x3(dst, src, d.w, oy, iy0, xlo*d.x.stride-d.x.pad, xlo, xhi-xlo, 0, d.c)
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

// band computes channels [c0,c1) of output lines [oy0,oy1) of a fast
// filter with shifted weights (shiftWeights has prepared d.edges).
func (d *dwConv) band(dst, src []float32, oy0, oy1, c0, c1 int) {
	xlo, xhi := d.interior()
	for oy := oy0; oy < oy1; oy++ {
		d.line(dst, src, oy, xlo, xhi, c0, c1)
	}
}

// interior returns the output columns [xlo,xhi) of a 3×3 filter whose
// whole window is inside the image: ox·stride-pad ≥ 0 and
// ox·stride-pad+3 ≤ in. When the image is narrower than the window
// (in-3+pad < 0) there are none; Go's division truncates toward zero, so
// that case must not go through it.
func (d *dwConv) interior() (xlo, xhi int) {
	xlo = min((d.x.pad+d.x.stride-1)/d.x.stride, d.x.out)
	xhi = xlo
	if last := d.x.in - 3 + d.x.pad; last >= 0 {
		xhi = max(min(last/d.x.stride+1, d.x.out), xlo)
	}
	return xlo, xhi
}

// line computes channels [c0,c1) of output line oy: every pixel, border
// ones too, as a 3×3 window inside the image with weights shifted to
// match (see shiftWeights); [xlo,xhi) are the interior columns.
func (d *dwConv) line(dst, src []float32, oy, xlo, xhi, c0, c1 int) {
	d.lineAt(dst, src, oy, oy, 0, xlo, xhi, c0, c1)
}

// lineAt is line writing output line oy as line at of dst, with src
// starting at input row r0 (a fused block's window of rows).
func (d *dwConv) lineAt(dst, src []float32, at, oy, r0, xlo, xhi, c0, c1 int) {
	iy0 := oy*d.y.stride - d.y.pad
	iy := min(max(iy0, 0), d.y.in-3)
	dy := iy - iy0
	for ox := 0; ox < xlo; ox++ {
		ix0 := ox*d.x.stride - d.x.pad
		ix := min(max(ix0, 0), d.x.in-3)
		d.row3x3(dst, src, d.shifted(dy, ix-ix0), at, iy-r0, ix, ox, 1, c0, c1)
	}
	d.row3x3(dst, src, d.shifted(dy, 0), at, iy-r0, xlo*d.x.stride-d.x.pad, xlo, xhi-xlo, c0, c1)
	for ox := xhi; ox < d.x.out; ox++ {
		ix0 := ox*d.x.stride - d.x.pad
		ix := min(max(ix0, 0), d.x.in-3)
		d.row3x3(dst, src, d.shifted(dy, ix-ix0), at, iy-r0, ix, ox, 1, c0, c1)
	}
}

// fast reports whether the filter is 3×3, multiplier 1, undilated: the
// shape the row kernels run.
func (d *dwConv) fast() bool {
	return d.mult == 1 && d.y.filter == 3 && d.x.filter == 3 && d.y.dilation == 1 && d.x.dilation == 1
}

// shiftWeights prepares the border pixels of a fast filter: a window that
// hangs over the image edge by dy rows and dx columns is moved inside
// (window start clamped to [0, in-3]) and run with weights shifted by
// (dy, dx), zero where a tap would fall outside the image. Every border
// pixel then takes the row kernel instead of the tap-by-tap loop. It needs
// an image at least 3×3 and windows at most 2 outside; otherwise rows
// keeps the tap-by-tap path.
func (d *dwConv) shiftWeights() {
	if !d.fast() || d.y.in < 3 || d.x.in < 3 {
		return
	}
	shifts := func(wn window) map[int]bool {
		s := map[int]bool{0: true}
		for o := 0; o < wn.out; o++ {
			i0 := o*wn.stride - wn.pad
			s[min(max(i0, 0), wn.in-3)-i0] = true
		}
		return s
	}
	dys, dxs := shifts(d.y), shifts(d.x)
	for dy := range dys {
		for dx := range dxs {
			if dy < -2 || dy > 2 || dx < -2 || dx > 2 {
				return
			}
		}
	}
	c := d.c
	var edges [25][]float32
	for dy := range dys {
		for dx := range dxs {
			if dy == 0 && dx == 0 {
				edges[12] = d.w
				continue
			}
			w := alignedF32(9 * c)
			for ky := range 3 {
				for kx := range 3 {
					sy, sx := ky+dy, kx+dx
					if sy < 0 || sy >= 3 || sx < 0 || sx >= 3 {
						continue
					}
					copy(w[(ky*3+kx)*c:(ky*3+kx+1)*c], d.w[(sy*3+sx)*c:(sy*3+sx+1)*c])
				}
			}
			edges[(dy+2)*5+dx+2] = w
		}
	}
	d.edges = &edges
}

// padWeights prepares a fast filter for dwLine8, which runs every pixel of
// a line as a 3×3 window inside the image weighted as shiftWeights does,
// but reads the shifted weights out of one padded copy: the weights of a
// window moved by (dy, dx) start at row 1+dy, column 1+dx of pad. It
// needs an image at least 3×3, windows at most one outside, and channels
// to fill one vector block; it reports whether it prepared the filter.
func (d *dwConv) padWeights() bool {
	if !d.fast() || d.y.in < 3 || d.x.in < 3 || d.c < 8 {
		return false
	}
	shift := func(wn window, o int) int {
		i0 := o*wn.stride - wn.pad
		return min(max(i0, 0), wn.in-3) - i0
	}
	for o := range max(d.y.out, d.x.out) {
		if (o < d.y.out && abs(shift(d.y, o)) > 1) || (o < d.x.out && abs(shift(d.x, o)) > 1) {
			return false
		}
	}
	c := d.c
	d.pad = alignedF32(25 * c)
	for ky := range 3 {
		for kx := range 3 {
			copy(d.pad[((ky+1)*5+kx+1)*c:], d.w[(ky*3+kx)*c:(ky*3+kx+1)*c])
		}
	}
	d.segs = d.segs[:0]
	for ox := 0; ox < d.x.out; ox++ {
		dx := shift(d.x, ox)
		ix := ox*d.x.stride - d.x.pad + dx
		if k := len(d.segs) - 1; k >= 0 && d.segs[k].w == (1+dx)*c*4 {
			d.segs[k].n++
			continue
		}
		d.segs = append(d.segs, dwSeg{n: 1, src: ix * c * 4, dst: ox * c * 4, w: (1 + dx) * c * 4})
	}
	d.segs = append(d.segs, dwSeg{})
	return true
}

// lineKernels prepares d for the line kernels (dwLine8, and dwLine16 when
// d.wide) if the CPU has them and padWeights takes the filter, and reports
// whether it did.
func (d *dwConv) lineKernels() bool { return d.vec && haveDWLine8() && d.padWeights() }

func abs(v int) int { return max(v, -v) }

// vline computes channels [c0,c1) of output line oy of a filter
// padWeights has prepared: whole blocks of sixteen with dwLine16 (when
// d.wide), then of eight with dwLine8 (the same sums lane by lane, so the
// bits do not depend on how the channels were cut), the rest
// (fewer than eight, at the end of the channels) in Go, summed as
// row3x3 sums them.
func (d *dwConv) vline(dst, src []float32, oy, c0, c1 int) { d.vlineAt(dst, src, oy, oy, 0, c0, c1) }

// vlineAt is vline writing output line oy as line at of dst, with src
// starting at input row r0 (a fused block's window of rows).
func (d *dwConv) vlineAt(dst, src []float32, at, oy, r0, c0, c1 int) {
	c := d.c
	row := d.x.in * c
	iy0 := oy*d.y.stride - d.y.pad
	iy := min(max(iy0, 0), d.y.in-3)
	dy := iy - iy0
	s := src[(iy-r0)*row : (iy-r0+3)*row]
	o := dst[at*d.x.out*c : (at+1)*d.x.out*c]
	w := d.pad[(1+dy)*5*c : (4+dy)*5*c]
	_ = d.bias[c-1]
	if d.wide {
		if g16 := (c1 - c0) / 16; g16 > 0 {
			dwLine16(&o[c0], &s[c0], &w[c0], &d.bias[c0], g16, &d.segs[0], c*4, row*4, 5*c*4, d.x.stride*c*4, d.lo, d.hi)
			c0 += 16 * g16
		}
	}
	groups := (c1 - c0) / 8
	if groups > 0 {
		dwLine8(&o[c0], &s[c0], &w[c0], &d.bias[c0], groups, &d.segs[0], c*4, row*4, 5*c*4, d.x.stride*c*4, d.lo, d.hi)
	}
	for ch := c0 + groups*8; ch < c1; ch++ {
		b := d.bias[ch]
		for _, sg := range d.segs[:len(d.segs)-1] {
			wt := w[sg.w/4+ch:]
			w00, w01, w02 := wt[0], wt[c], wt[2*c]
			w10, w11, w12 := wt[5*c], wt[6*c], wt[7*c]
			w20, w21, w22 := wt[10*c], wt[11*c], wt[12*c]
			p := sg.src/4 + ch
			for k := range sg.n {
				in := s[p : p+2*row+2*c+1]
				v := b + in[0]*w00 + in[c]*w01 + in[2*c]*w02
				v += in[row]*w10 + in[row+c]*w11 + in[row+2*c]*w12
				v += in[2*row]*w20 + in[2*row+c]*w21 + in[2*row+2*c]*w22
				o[sg.dst/4+k*c+ch] = min(max(v, d.lo), d.hi)
				p += d.x.stride * c
			}
		}
	}
}

// shifted is the weight set for a window moved by (dy, dx) (see
// shiftWeights).
func (d *dwConv) shifted(dy, dx int) []float32 { return d.edges[(dy+2)*5+dx+2] }

// dwBlock is the channel block row3x3 sweeps at a time: one 64-byte cache
// line of each input pixel, so the three input rows of a block stay in L1
// while every channel of the block passes over them.
const dwBlock = 16

// row3x3 computes channels [cbeg,cend) of n output pixels of line oy
// from column xo on, for a 3×3, multiplier-1 filter with weights w
// ([9][c]): the first pixel's window starts at input row iy, column ix,
// inside the image with the whole window, and each further pixel's one
// stride to the right.
// Channel by channel (or eight at a time with the assembly row8), the nine
// weights stay in registers while the window slides along the line.
// Bounds are checked once up front; the loops walk raw pointers.
func (d *dwConv) row3x3(dst, src, w []float32, oy, iy, ix, xo, n, cbeg, cend int) {
	if n <= 0 || cend <= cbeg {
		return
	}
	c := d.c
	row := d.x.in * c
	// Last elements touched: input (iy+2, the last window's column plus
	// 2, channel cend-1) and output (oy, xo+n-1, cend-1). Not channel c-1:
	// another thread may be writing the other channels of the pixel.
	_ = src[(iy+2)*row+((n-1)*d.x.stride+ix+2)*c+cend-1]
	_ = dst[(oy*d.x.out+xo+n-1)*c+cend-1]
	_ = w[9*c-1]
	_ = d.bias[c-1]
	step := uintptr(d.x.stride*c) * 4
	cs := uintptr(c) * 4
	rs := uintptr(row) * 4
	lo, hi := d.lo, d.hi
	wp := unsafe.Pointer(unsafe.SliceData(w))
	c0 := cbeg
	if d.vec {
		p := unsafe.Pointer(&src[iy*row+ix*c])
		o := unsafe.Pointer(&dst[(oy*d.x.out+xo)*c])
		for ; c0+8 <= cend; c0 += 8 {
			dwRow8((*float32)(unsafe.Add(o, 4*c0)), (*float32)(unsafe.Add(p, 4*c0)), (*float32)(unsafe.Add(wp, 4*c0)),
				&d.bias[c0], n, int(cs), int(rs), int(step), lo, hi)
		}
	}
	for ; c0 < cend; c0 += dwBlock {
		for ch := c0; ch < min(c0+dwBlock, cend); ch++ {
			wc := unsafe.Add(wp, 4*ch)
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
			p := unsafe.Pointer(&src[iy*row+ix*c+ch])
			o := unsafe.Pointer(&dst[(oy*d.x.out+xo)*c+ch])
			for i := 0; ; {
				p1 := unsafe.Add(p, rs)
				p2 := unsafe.Add(p1, rs)
				s := b + *(*float32)(p)*w00 + *(*float32)(unsafe.Add(p, cs))*w01 + *(*float32)(unsafe.Add(p, 2*cs))*w02
				s += *(*float32)(p1)*w10 + *(*float32)(unsafe.Add(p1, cs))*w11 + *(*float32)(unsafe.Add(p1, 2*cs))*w12
				s += *(*float32)(p2)*w20 + *(*float32)(unsafe.Add(p2, cs))*w21 + *(*float32)(unsafe.Add(p2, 2*cs))*w22
				*(*float32)(o) = min(max(s, lo), hi)
				if i++; i == n {
					break // no pointer past the last pixel (checkptr)
				}
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
