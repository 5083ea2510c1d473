package native

import (
	"github.com/alphad/alphad/pipeline/tflite"
)

// Fused inverted-residual blocks, float32. MobileNetV2's blocks expand a
// feature map six-fold with a 1×1 CONV_2D, filter it with a 3×3
// DEPTHWISE_CONV_2D and project it back with another 1×1 CONV_2D. Run op
// by op, the expanded map of the early blocks (112×112×96: 4.8 MB) is
// written to memory by one op and read back by the next: far more than a
// core's L2 holds, so both ops wait on memory, and with two threads each
// core reads lines the other wrote.
//
// fusePlan finds such chains before the arena is laid out; a chain runs as
// one pool job over bands of output rows. Each thread keeps a window of
// expanded rows in scratch of its own: for each step of a few output rows
// it computes the expanded rows the step needs (those it holds from the
// step before, the 3×3 window's overlap, are kept), runs the depthwise
// rows on them and, when there is a project, multiplies the step's
// depthwise rows straight into the block output. The intermediate tensors
// then never exist: the arena leaves them out.
//
// The arithmetic is the unfused ops' own: the same packed GEMM (gem.block)
// and depthwise row kernel (dwConv.row3x3, with the same border weights),
// each output element computed by the same micro-kernel as the unfused op
// would (tile or single row: the GEMM rows are cut at whole mr-row units of
// the whole product), so the results are the same bit for bit.

const (
	// fuseMinPixels is the smallest expanded map (height × width) fused:
	// below it the maps fit in cache anyway and the band bookkeeping is
	// not worth it.
	fuseMinPixels = 56 * 56
	// fuseWindowBytes bounds a thread's window of expanded rows: with
	// the depthwise rows and the GEMM's panels it stays in a core's L2.
	fuseWindowBytes = 192 << 10
)

// fusion is the plan's set of fused blocks.
type fusion struct {
	blocks   []*fusedBlock // by the index of the block's first op, else nil
	head     []int         // per op: the op whose run covers it (itself when not fused)
	internal []bool        // per tensor: lives only inside a fused block (no arena space)
}

// fusedBlock is an expand → depthwise [→ project] chain run as one op.
type fusedBlock struct {
	ops             []int // the chain's op indices, in order
	in, out         int   // tensors: the block's input, its output
	expand, project *gemm // project nil: the block ends with the depthwise
	dw              *dwConv
	h, w, cin, ce   int // input map, input and expanded channels
	ho, wo, cout    int // output map and channels
	xlo, xhi        int // depthwise columns whose window is inside the map
	grain           int // output rows per pool item
	step            int // output rows per step

	src, dst []float32
	scratch  []fusedScratch // one per thread
	run      uint64         // counts runs: a window is valid only in its own run
}

// fusedScratch is one thread's window of expanded rows and its depthwise
// rows (when the block has a project).
type fusedScratch struct {
	e, d   []float32
	p0, p1 int    // e holds expanded pixels [p0,p1) (raster order), pixel p0 at e[0]
	run    uint64 // the run the window belongs to
	_      [64]byte
}

// fusePlan finds the blocks to fuse: a float32 1×1 stride-1 CONV_2D whose
// output feeds only the DEPTHWISE_CONV_2D (3×3, multiplier 1, stride 1 or
// 2) right after it, and optionally the 1×1 stride-1 CONV_2D right after
// that, on an expanded map of at least minPixels (0: fuseMinPixels).
// Intermediate tensors must have no other reader and be neither model
// inputs nor outputs. A chain that fails any check is left to the
// unfused ops, which report what is wrong with it. windowBytes (0:
// fuseWindowBytes) bounds the window of expanded rows.
func fusePlan(p *plan, minPixels, windowBytes int) *fusion {
	if minPixels <= 0 {
		minPixels = fuseMinPixels
	}
	if windowBytes <= 0 {
		windowBytes = fuseWindowBytes
	}
	m := p.model
	readers := make([]int, len(m.Tensors))
	boundary := make([]bool, len(m.Tensors))
	for _, op := range m.Operators {
		for _, t := range op.Inputs {
			if t >= 0 {
				readers[t]++
			}
		}
	}
	for _, t := range m.Inputs {
		boundary[t] = true
	}
	for _, t := range m.Outputs {
		boundary[t] = true
	}
	// inner reports whether tensor t, written by op i, is read only by op
	// i+1, as its first input.
	inner := func(i, t int) bool {
		if i+1 >= len(m.Operators) || t < 0 || boundary[t] || readers[t] != 1 || m.Tensors[t].IsConst() {
			return false
		}
		next := m.Operators[i+1]
		return len(next.Inputs) > 0 && next.Inputs[0] == t
	}
	f := &fusion{
		blocks:   make([]*fusedBlock, len(m.Operators)),
		head:     make([]int, len(m.Operators)),
		internal: make([]bool, len(m.Tensors)),
	}
	for i := range f.head {
		f.head[i] = i
	}
	for i := 0; i+1 < len(m.Operators); i++ {
		b := newFusedBlock(p, i, inner, minPixels, windowBytes)
		if b == nil {
			continue
		}
		f.blocks[i] = b
		for k, o := range b.ops {
			f.head[o] = i
			if k > 0 {
				f.internal[m.Operators[o].Inputs[0]] = true
			}
		}
		i = b.ops[len(b.ops)-1]
	}
	return f
}

// newFusedBlock returns the block starting at op i, or nil.
func newFusedBlock(p *plan, i int, inner func(i, t int) bool, minPixels, windowBytes int) *fusedBlock {
	ops := p.model.Operators
	a, b := ops[i], ops[i+1]
	if a.Op != tflite.OpConv2D || b.Op != tflite.OpDepthwiseConv2D || len(a.Outputs) != 1 || len(b.Outputs) != 1 ||
		!inner(i, a.Outputs[0]) {
		return nil
	}
	expand, h, w, cin, ce, ok := pointwise(p, a)
	if !ok || h*w < minPixels {
		return nil
	}
	dw, ok := depthwise3x3(p, b, h, w, ce)
	if !ok {
		return nil
	}
	f := &fusedBlock{
		ops: []int{i, i + 1}, in: a.Inputs[0], out: b.Outputs[0], expand: expand, dw: dw,
		h: h, w: w, cin: cin, ce: ce, ho: dw.y.out, wo: dw.x.out, cout: ce, grain: 1,
	}
	if i+2 < len(ops) && ops[i+2].Op == tflite.OpConv2D && len(ops[i+2].Outputs) == 1 && inner(i+1, b.Outputs[0]) {
		if g, ph, pw, pc, cout, ok := pointwise(p, ops[i+2]); ok && ph == f.ho && pw == f.wo && pc == ce {
			f.ops = append(f.ops, i+2)
			f.project, f.out, f.cout = g, ops[i+2].Outputs[0], cout
			// Steps and bands start on whole mr-row units of the
			// projection, as the unfused op cuts it.
			mr := g.kern.mr
			f.grain = mr / gcd(f.wo, mr)
		}
	}
	f.xlo = min((dw.x.pad+dw.x.stride-1)/dw.x.stride, dw.x.out)
	f.xhi = max(min((dw.x.in-3+dw.x.pad)/dw.x.stride+1, dw.x.out), f.xlo)
	rowBytes := w * ce * 4
	f.step = f.grain
	for ((f.step+f.grain-1)*dw.y.stride+3)*rowBytes <= windowBytes && f.step+f.grain <= f.ho {
		f.step += f.grain
	}
	return f
}

// pointwise builds the GEMM of op if it is a float32 1×1, stride-1
// CONV_2D on one [1,h,w,cin] image, as prepareConv2D would.
func pointwise(p *plan, op *tflite.Operator) (g *gemm, h, w, cin, cout int, ok bool) {
	opts, isConv := op.Options.(*tflite.Conv2DOptions)
	if !isConv || len(op.Inputs) < 2 || len(op.Outputs) != 1 || op.Inputs[0] < 0 || op.Inputs[1] < 0 {
		return nil, 0, 0, 0, 0, false
	}
	in, filt, out := op.Inputs[0], op.Inputs[1], op.Outputs[0]
	for _, t := range []int{in, filt, out} {
		if p.tensor(t).Type != tflite.Float32 {
			return nil, 0, 0, 0, 0, false
		}
	}
	n, h, w, cin, ok1 := nhwc(p, in)
	cout, kh, kw, fcin, ok2 := nhwc(p, filt)
	if !ok1 || !ok2 || n != 1 || kh != 1 || kw != 1 || fcin != cin || !p.tensor(filt).IsConst() ||
		max(opts.StrideH, 1) != 1 || max(opts.StrideW, 1) != 1 || checkShape(p, op, out, 1, h, w, cout) != nil {
		return nil, 0, 0, 0, 0, false
	}
	lo, hi, err := actRange(p, op, opts.Activation)
	if err != nil {
		return nil, 0, 0, 0, 0, false
	}
	bias, err := floatBias(p, op, 2, cout)
	if err != nil {
		return nil, 0, 0, 0, 0, false
	}
	return newGemm(p.kern, p.f32(filt), cout, cin, bias, lo, hi), h, w, cin, cout, true
}

// depthwise3x3 builds the depthwise convolution of op if it is a float32
// 3×3, multiplier-1, undilated DEPTHWISE_CONV_2D with stride 1 or 2 on one
// [1,h,w,c] image whose border pixels take the shifted weights, as
// prepareDepthwiseConv2D would.
func depthwise3x3(p *plan, op *tflite.Operator, h, w, c int) (*dwConv, bool) {
	opts, isDW := op.Options.(*tflite.DepthwiseConv2DOptions)
	if !isDW || len(op.Inputs) < 2 || len(op.Outputs) != 1 || op.Inputs[0] < 0 || op.Inputs[1] < 0 {
		return nil, false
	}
	in, filt, out := op.Inputs[0], op.Inputs[1], op.Outputs[0]
	for _, t := range []int{in, filt, out} {
		if p.tensor(t).Type != tflite.Float32 {
			return nil, false
		}
	}
	one, kh, kw, oc, ok := nhwc(p, filt)
	if !ok || one != 1 || kh != 3 || kw != 3 || oc != c || !p.tensor(filt).IsConst() ||
		checkShape(p, op, in, 1, h, w, c) != nil {
		return nil, false
	}
	d := &dwConv{
		y: newWindow(h, 3, opts.StrideH, opts.DilationH, opts.Padding),
		x: newWindow(w, 3, opts.StrideW, opts.DilationW, opts.Padding),
		c: c,
		// An oc = c filter is multiplier 1 whatever the option says
		// (prepareDepthwiseConv2D infers it from the shapes).
		mult: 1,
		vec:  p.kern.vector() && haveDWRow8(),
	}
	if d.y.stride > 2 || d.y.dilation != 1 || d.x.dilation != 1 || checkShape(p, op, out, 1, d.y.out, d.x.out, c) != nil {
		return nil, false
	}
	var err error
	if d.lo, d.hi, err = actRange(p, op, opts.Activation); err != nil {
		return nil, false
	}
	if d.bias, err = floatBias(p, op, 2, c); err != nil {
		return nil, false
	}
	d.w = p.f32(filt)
	d.shiftWeights()
	if d.edges == nil {
		return nil, false
	}
	return d, true
}

// prepare binds the block to its tensors' storage and builds its run:
// one pool job whose items are grain-row bands of output rows.
func (f *fusedBlock) prepare(p *plan) runFunc {
	f.src, f.dst = p.f32(f.in), p.f32(f.out)
	mr := f.expand.kern.mr
	winPixels := ((f.step-1)*f.dw.y.stride+3)*f.w + 2*mr
	f.scratch = make([]fusedScratch, p.pool.threads)
	for t := range f.scratch {
		f.scratch[t].e = alignedF32(winPixels * f.ce)
		if f.project != nil {
			f.scratch[t].d = alignedF32(f.step * f.wo * f.ce)
		}
	}
	work := f.h*f.w*f.ce*f.cin + f.ho*f.wo*f.ce*9
	if f.project != nil {
		work += f.ho * f.wo * f.cout * f.ce
	}
	items := (f.ho + f.grain - 1) / f.grain
	j := p.pool.newThreadJob(items, work, func(lo, hi, thread int) {
		s := &f.scratch[thread]
		o1 := min(hi*f.grain, f.ho)
		for o := lo * f.grain; o < o1; o += f.step {
			f.rows(s, o, min(o+f.step, o1))
		}
	})
	return func() {
		f.run++
		p.pool.runJob(j)
	}
}

// inRow is the first input row of the (clamped, see dwConv.line) 3×3
// window of output row oy.
func (f *fusedBlock) inRow(oy int) int {
	return min(max(oy*f.dw.y.stride-f.dw.y.pad, 0), f.h-3)
}

// rows computes output rows [o0,o1) with thread scratch s.
func (f *fusedBlock) rows(s *fusedScratch, o0, o1 int) {
	ce, w := f.ce, f.w
	r0, r1 := f.inRow(o0), f.inRow(o1-1)+3 // the expanded rows needed
	mr := f.expand.kern.mr
	at := r0 * w
	switch {
	case s.run != f.run || at < s.p0 || at > s.p1:
		// Start a new window on an mr-row unit of the expand product.
		s.p0 = at / mr * mr
		s.p1 = s.p0
		s.run = f.run
	case at > s.p0:
		// Keep the rows still needed (the windows' overlap).
		copy(s.e, s.e[(at-s.p0)*ce:(s.p1-s.p0)*ce])
		s.p0 = at
	}
	if end := min((r1*w+mr-1)/mr*mr, f.h*w); end > s.p1 {
		f.expand.block(s.e[(s.p1-s.p0)*ce:], ce, f.src[s.p1*f.cin:], f.cin, 0, end-s.p1, 0, f.expand.panels())
		s.p1 = end
	}
	win := s.e[(at-s.p0)*ce:]
	if f.project == nil {
		for oy := o0; oy < o1; oy++ {
			f.line(f.dst, win, oy, oy, r0)
		}
		return
	}
	for oy := o0; oy < o1; oy++ {
		f.line(s.d, win, oy-o0, oy, r0)
	}
	f.project.block(f.dst[o0*f.wo*f.cout:], f.cout, s.d, ce, 0, (o1-o0)*f.wo, 0, f.project.panels())
}

// line is dwConv.line for output row oy written as row at of dst, its
// input read from win, which starts at input row r0.
func (f *fusedBlock) line(dst, win []float32, at, oy, r0 int) {
	d := f.dw
	iy0 := oy*d.y.stride - d.y.pad
	iy := min(max(iy0, 0), d.y.in-3)
	dy := iy - iy0
	for ox := 0; ox < f.xlo; ox++ {
		ix0 := ox*d.x.stride - d.x.pad
		ix := min(max(ix0, 0), d.x.in-3)
		d.row3x3(dst, win, d.shifted(dy, ix-ix0), at, iy-r0, ix, ox, 1, 0, d.c)
	}
	d.row3x3(dst, win, d.shifted(dy, 0), at, iy-r0, f.xlo*d.x.stride-d.x.pad, f.xlo, f.xhi-f.xlo, 0, d.c)
	for ox := f.xhi; ox < d.x.out; ox++ {
		ix0 := ox*d.x.stride - d.x.pad
		ix := min(max(ix0, 0), d.x.in-3)
		d.row3x3(dst, win, d.shifted(dy, ix-ix0), at, iy-r0, ix, ox, 1, 0, d.c)
	}
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
