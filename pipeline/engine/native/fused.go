package native

import (
	"github.com/alphad/alphad/pipeline/tflite"
)

// Fused inverted-residual blocks, float32. MobileNetV2's blocks expand a
// feature map six-fold with a 1×1 CONV_2D, filter it with a 3×3
// DEPTHWISE_CONV_2D and project it back with another 1×1 CONV_2D (plus,
// where the shape allows, an ADD of the block's input). Run op by op, the
// expanded map of the early blocks (112×112×96: 4.8 MB) is written to
// memory by one op and read back by the next: far more than a core's L2
// holds, so both ops wait on memory, and with two threads each core reads
// lines the other wrote. The first block has no expand (its depthwise
// reads the stem's output), so the stem CONV_2D (3×3, stride 2, im2col)
// takes the expand's place there.
//
// fusePlan finds such chains before the arena is laid out; a chain runs as
// one pool job over bands of output rows. Each thread keeps a window of
// expanded rows in scratch of its own: for each step of a few output rows
// it computes the expanded rows the step needs (those it holds from the
// step before, the 3×3 window's overlap, are kept), runs the depthwise
// rows on them and, when there is a project, multiplies the step's
// depthwise rows straight into the block output, then adds the residual
// rows to it. The intermediate tensors then never exist: the arena leaves
// them out.
//
// The arithmetic is the unfused ops' own: the same packed GEMM (gemm.block)
// and depthwise row kernel (dwConv.row3x3, with the same border weights),
// each output element computed by the same micro-kernel as the unfused op
// would (tile or single row: the GEMM rows are cut at whole mr-row units of
// the whole product) and the ADD's binFlat, so the results are the same
// bit for bit.

const (
	// fuseMinPixels is the smallest expanded map (height × width) fused:
	// below it the maps fit in L2 anyway, and the small maps are cut by
	// channels too, which bands of rows cannot be.
	fuseMinPixels = 28 * 28
	// fuseWindowBytes bounds a thread's window of expanded rows: with
	// the depthwise rows and the GEMM's panels it stays in a core's L2.
	fuseWindowBytes = 192 << 10
	// fuseBufferBytes is the least a window's buffer holds: rows of
	// later steps are added behind until it is full, and only then are
	// the rows still needed moved to its front.
	fuseBufferBytes = 384 << 10
)

// fuseLimits are fusePlan's size choices; zero fields take the defaults
// above (tests vary them).
type fuseLimits struct {
	minPixels, window, buffer int
}

// fusion is the plan's set of fused blocks.
type fusion struct {
	blocks   []*fusedBlock // by the index of the block's first op, else nil
	head     []int         // per op: the op whose run covers it (itself when not fused)
	internal []bool        // per tensor: lives only inside a fused block (no arena space)
	chained  []bool        // per op: may run inside the op before it (see chain.go)
	// scratch is each thread's scratch, shared by every block (they run
	// one after the other): a block finds it still in the core's cache
	// where the block before left it.
	scratch [][]float32
}

// fusedBlock is an [expand →] depthwise [→ project [→ add]] chain run as
// one op.
type fusedBlock struct {
	ops     []int // the chain's op indices, in order
	in, out int   // tensors: the block's input, its output
	// expand nil: the block starts with the depthwise, on a stored map
	// (the window is that map). The expand is a 1×1 convolution, or any
	// other (im2col: MobileNetV2's stem).
	expand *convStage
	// project nil: the block ends with the depthwise.
	project *gemm
	dw      *dwConv
	lines   bool // dw runs whole lines with the line kernels (padWeights)
	// The residual ADD after the project (res < 0: none): out =
	// clamp(project + residual, addLo, addHi), resFirst when the
	// residual is the ADD's first operand.
	res           int
	resFirst      bool
	addLo, addHi  float32
	h, w, cin, ce int // expanded map, input and expanded channels (ce = cin without expand)
	ho, wo, cout  int // output map and channels
	xlo, xhi      int // depthwise columns whose window is inside the map
	grain         int // output rows per pool item
	step          int // output rows per step
	capPixels     int // expanded pixels a window holds

	src, dst, resid []float32
	scratch         []fusedScratch // one per thread
	run             uint64         // counts runs: a window is valid only in its own run
}

// fusedScratch is one thread's window of expanded rows and its depthwise
// rows (when the block has a project).
type fusedScratch struct {
	e, d   []float32
	cols   []float32 // im2col rows of the expand (when it gathers)
	p0, p1 int       // e holds expanded pixels [p0,p1) (raster order), pixel p0 at e[0]
	run    uint64    // the run the window belongs to
	_      [64]byte
}

// fusePlan finds the blocks to fuse and, with chain, the pairs of ops to
// chain (chainPairs, see chain.go): a float32 1×1 stride-1 CONV_2D whose
// output feeds only the DEPTHWISE_CONV_2D (3×3, multiplier 1, stride 1 or
// 2) right after it, optionally the 1×1 stride-1 CONV_2D right after that
// and then an ADD of its output and another tensor of the same shape, on
// an expanded map of at least lim.minPixels; the expand may also be any
// other float32 CONV_2D (im2col), and without an expand a depthwise fuses
// with the project after it. Intermediate tensors must have no other
// reader and be neither model inputs nor outputs. A chain that fails any
// check is left to the unfused ops, which report what is wrong with it.
//
// Measured (MobileNetV2 float, 2 cores, whole passes interleaved): blocks
// on 112×112 and 56×56 maps gain with one and two threads; those on 28×28
// (expanded 28×28×192: 600 kB, in L2 anyway) gain only with two threads
// (ops 13-23 about 45 µs) and cost nothing with one, given the scratch
// shared by all blocks (with a scratch per block they cost one thread
// about 100 µs).
func fusePlan(p *plan, lim fuseLimits, chain bool) *fusion {
	if lim.minPixels <= 0 {
		lim.minPixels = fuseMinPixels
	}
	if lim.window <= 0 {
		lim.window = fuseWindowBytes
	}
	if lim.buffer <= 0 {
		lim.buffer = fuseBufferBytes
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
	// i+1, as its input k.
	inner := func(i, t, k int) bool {
		if i+1 >= len(m.Operators) || t < 0 || boundary[t] || readers[t] != 1 || m.Tensors[t].IsConst() {
			return false
		}
		next := m.Operators[i+1]
		return len(next.Inputs) > k && next.Inputs[k] == t
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
		b := newFusedBlock(p, i, inner, lim)
		if b == nil {
			continue
		}
		f.blocks[i] = b
		for k, o := range b.ops {
			f.head[o] = i
			if k > 0 {
				f.internal[m.Operators[o-1].Outputs[0]] = true
			}
		}
		i = b.ops[len(b.ops)-1]
	}
	f.chained = make([]bool, len(m.Operators))
	if chain {
		chainPairs(m, f)
	}
	return f
}

// newFusedBlock returns the block starting at op i, or nil: an expand
// CONV_2D, its depthwise and optionally the rest, or a depthwise (on a
// stored map) and its project, optionally with the ADD.
func newFusedBlock(p *plan, i int, inner func(i, t, k int) bool, lim fuseLimits) *fusedBlock {
	ops := p.model.Operators
	if len(ops[i].Inputs) == 0 {
		return nil
	}
	f := &fusedBlock{in: ops[i].Inputs[0], grain: 1, res: -1}
	j := i // the depthwise
	switch ops[i].Op {
	case tflite.OpConv2D:
		a := ops[i]
		if ops[i+1].Op != tflite.OpDepthwiseConv2D || len(a.Outputs) != 1 || !inner(i, a.Outputs[0], 0) {
			return nil
		}
		var ok bool
		if f.expand, ok = newConvStage(p, a); !ok {
			return nil
		}
		f.h, f.w, f.cin, f.ce = f.expand.h, f.expand.w, f.expand.cin, f.expand.cout
		f.ops = append(f.ops, i)
		j = i + 1
	case tflite.OpDepthwiseConv2D:
		var n int
		var ok bool
		if f.in < 0 {
			return nil
		}
		if n, f.h, f.w, f.ce, ok = nhwc(p, f.in); !ok || n != 1 {
			return nil
		}
		f.cin = f.ce
	default:
		return nil
	}
	if f.h*f.w < lim.minPixels {
		return nil
	}
	b := ops[j]
	dw, ok := depthwise3x3(p, b, f.h, f.w, f.ce)
	if !ok {
		return nil
	}
	f.ops = append(f.ops, j)
	f.dw, f.out, f.ho, f.wo, f.cout = dw, b.Outputs[0], dw.y.out, dw.x.out, f.ce
	// The line kernels, as the unfused op would run them.
	f.lines = dw.lineKernels()
	if j+1 < len(ops) && ops[j+1].Op == tflite.OpConv2D && len(ops[j+1].Outputs) == 1 && inner(j, b.Outputs[0], 0) {
		if g, ph, pw, pc, cout, ok := pointwise(p, ops[j+1]); ok && ph == f.ho && pw == f.wo && pc == f.ce {
			f.ops = append(f.ops, j+1)
			f.project, f.out, f.cout = g, ops[j+1].Outputs[0], cout
			// Steps and bands start on whole mr-row units of the
			// projection, as the unfused op cuts it.
			mr := g.kern.mr
			f.grain = mr / gcd(f.wo, mr)
			f.residual(p, j+2, inner)
		}
	}
	if f.expand == nil && f.project == nil {
		return nil // a depthwise alone
	}
	w := f.w
	f.xlo, f.xhi = dw.interior()
	rowBytes := w * f.ce * 4
	f.step = f.grain
	for ((f.step+f.grain-1)*dw.y.stride+3)*rowBytes <= lim.window && f.step+f.grain <= f.ho {
		f.step += f.grain
	}
	if f.expand != nil {
		// Room for one step's rows and the mr-row units around them, and
		// for rows of later steps until the buffer is full.
		mr := f.expand.g.kern.mr
		f.capPixels = max(((f.step-1)*dw.y.stride+3)*w+2*mr, lim.buffer/(4*f.ce))
	}
	return f
}

// residual adds op j to the block if it is a float32 ADD of the block's
// output (read by it alone) and another tensor of the same shape, as
// prepareAdd would run it (binFlat).
func (f *fusedBlock) residual(p *plan, j int, inner func(i, t, k int) bool) {
	if j >= len(p.model.Operators) {
		return
	}
	op := p.model.Operators[j]
	if op.Op != tflite.OpAdd || len(op.Inputs) != 2 || len(op.Outputs) != 1 {
		return
	}
	k := 0
	if !inner(j-1, f.out, 0) {
		if k = 1; !inner(j-1, f.out, 1) {
			return
		}
	}
	other := op.Inputs[1-k]
	for _, t := range []int{other, op.Outputs[0]} {
		if t < 0 || p.tensor(t).Type != tflite.Float32 || checkShape(p, op, t, 1, f.ho, f.wo, f.cout) != nil {
			return
		}
	}
	act := tflite.ActNone
	if o, ok := op.Options.(*tflite.AddOptions); ok {
		act = o.Activation
	}
	lo, hi, err := actRange(p, op, act)
	if err != nil {
		return
	}
	f.ops = append(f.ops, j)
	f.res, f.resFirst, f.addLo, f.addHi, f.out = other, k == 1, lo, hi, op.Outputs[0]
}

// newConvStage prepares op if it is a float32 CONV_2D on one image, as
// prepareConv2D would.
func newConvStage(p *plan, op *tflite.Operator) (*convStage, bool) {
	if p.checkIO(op, 2, 1) != nil {
		return nil, false
	}
	c, n, err := newConv(p, op)
	return c, err == nil && n == 1
}

// rows computes output pixels [q0,q1) (raster order) into c, one row per
// pixel (stride cout), from input src; cols is scratch of gatherRows×k.
// q0 must start an mr-row unit of the whole product, as in the unfused op.
func (c *convStage) rows(dst, src, cols []float32, q0, q1 int) {
	if c.gather == nil {
		c.g.block(dst, c.cout, src[q0*c.cin:], c.cin, 0, q1-q0, 0, c.g.panels())
		return
	}
	for b0 := q0; b0 < q1; b0 += c.gatherRows {
		b1 := min(b0+c.gatherRows, q1)
		c.gather.fill(cols, src, b0, b1, b0)
		c.g.block(dst[(b0-q0)*c.cout:], c.cout, cols, c.k, 0, b1-b0, 0, c.g.panels())
	}
}

// pointwise builds the GEMM of op if it is a float32 1×1, stride-1
// CONV_2D on one [1,h,w,cin] image, as prepareConv2D would.
func pointwise(p *plan, op *tflite.Operator) (g *gemm, h, w, cin, cout int, ok bool) {
	c, ok := newConvStage(p, op)
	if !ok || c.gather != nil {
		return nil, 0, 0, 0, 0, false
	}
	return c.g, c.h, c.w, c.cin, c.cout, true
}

// depthwise3x3 builds the depthwise convolution of op if it is a float32
// 3×3, multiplier-1, undilated DEPTHWISE_CONV_2D with stride 1 or 2 on one
// [1,h,w,c] image whose border pixels take the shifted weights, as
// prepareDepthwiseConv2D would.
func depthwise3x3(p *plan, op *tflite.Operator, h, w, c int) (*dwConv, bool) {
	if p.checkIO(op, 2, 1) != nil {
		return nil, false
	}
	d, n, err := newDWConv(p, op)
	if err != nil || n != 1 || d.y.in != h || d.x.in != w || d.c != c ||
		!d.fast() || d.y.stride > 2 || d.edges == nil {
		return nil, false
	}
	return d, true
}

// scratchSizes are the float32s of a thread's window, im2col rows and
// depthwise rows in block f, each rounded up to a cache line.
func (f *fusedBlock) scratchSizes() (e, cols, d int) {
	line := func(n int) int { return (n + 15) &^ 15 }
	if f.expand != nil {
		e = line(f.capPixels * f.ce)
		if f.expand.gather != nil {
			cols = line(f.expand.gatherRows * f.expand.k)
		}
	}
	if f.project != nil {
		d = line(f.step * f.wo * f.ce)
	}
	return e, cols, d
}

// prepare prepares block i (see fusedBlock.prepare), first laying out the
// threads' scratch for all blocks.
func (fz *fusion) prepare(p *plan, i int) runFunc {
	if fz.scratch == nil {
		var n int
		for _, f := range fz.blocks {
			if f != nil {
				e, cols, d := f.scratchSizes()
				n = max(n, e+cols+d)
			}
		}
		fz.scratch = make([][]float32, p.pool.threads)
		for t := range fz.scratch {
			fz.scratch[t] = alignedF32(n)
		}
	}
	return fz.blocks[i].prepare(p, fz.scratch)
}

// prepare binds the block to its tensors' storage and to the threads'
// scratch (one slice per thread) and builds its run: one pool job whose
// items are grain-row bands of output rows.
func (f *fusedBlock) prepare(p *plan, scratch [][]float32) runFunc {
	f.src, f.dst = p.f32(f.in), p.f32(f.out)
	if f.res >= 0 {
		f.resid = p.f32(f.res)
	}
	ne, ncols, nd := f.scratchSizes()
	f.scratch = make([]fusedScratch, p.pool.threads)
	for t := range f.scratch {
		buf := scratch[t]
		f.scratch[t].e = buf[:ne:ne]
		f.scratch[t].cols = buf[ne : ne+ncols : ne+ncols]
		f.scratch[t].d = buf[ne+ncols : ne+ncols+nd : ne+ncols+nd]
	}
	work := f.ho * f.wo * f.ce * 9
	if f.expand != nil {
		work += f.h * f.w * f.ce * f.expand.k
	}
	if f.project != nil {
		work += f.ho * f.wo * f.cout * f.ce
	}
	if f.res >= 0 {
		work += f.ho * f.wo * f.cout * elemWork
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
	var win []float32
	if f.expand == nil {
		win = f.src[r0*w*ce:]
	} else {
		win = f.window(s, r0, r1)
	}
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
	if f.res >= 0 {
		out := f.dst[o0*f.wo*f.cout : o1*f.wo*f.cout]
		res := f.resid[o0*f.wo*f.cout : o1*f.wo*f.cout]
		if f.resFirst {
			binFlat(binAdd, out, res, out, f.addLo, f.addHi)
		} else {
			binFlat(binAdd, out, out, res, f.addLo, f.addHi)
		}
	}
}

// window computes the expanded rows [r0,r1) that s's window lacks and
// returns the window from row r0 on.
func (f *fusedBlock) window(s *fusedScratch, r0, r1 int) []float32 {
	ce, w := f.ce, f.w
	mr := f.expand.g.kern.mr
	at := r0 * w
	end := min((r1*w+mr-1)/mr*mr, f.h*w)
	switch {
	case s.run != f.run || at < s.p0 || at > s.p1:
		// Start a new window on an mr-row unit of the expand product.
		s.p0 = at / mr * mr
		s.p1 = s.p0
		s.run = f.run
	case end-s.p0 > f.capPixels:
		// Full: keep the rows still needed (the windows' overlap).
		copy(s.e, s.e[(at-s.p0)*ce:(s.p1-s.p0)*ce])
		s.p0 = at
	}
	if end > s.p1 {
		f.expand.rows(s.e[(s.p1-s.p0)*ce:], f.src, s.cols, s.p1, end)
		s.p1 = end
	}
	return s.e[(at-s.p0)*ce:]
}

// line is dwConv.line for output row oy written as row at of dst, its
// input read from win, which starts at input row r0.
func (f *fusedBlock) line(dst, win []float32, at, oy, r0 int) {
	if f.lines {
		f.dw.vlineAt(dst, win, at, oy, r0, 0, f.dw.c)
		return
	}
	f.dw.lineAt(dst, win, at, oy, r0, f.xlo, f.xhi, 0, f.dw.c)
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
