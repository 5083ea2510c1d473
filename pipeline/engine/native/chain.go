package native

import "github.com/alphad/alphad/pipeline/tflite"

// Chained ops, float32. On the small maps late in MobileNetV2 (14×14 and
// 7×7, below fuseMinPixels) each block is four short ops: the expand
// CONV_2D, the DEPTHWISE_CONV_2D, the project CONV_2D and the residual
// ADD, 10–100 µs each. Run one by one, every op ends in a barrier of the
// pool, and a consumer's items need not fall on the thread that wrote
// their input: a depthwise split in two halves cannot even the load when
// one thread starts late, and an ADD split by lines reads rows the other
// core wrote.
//
// A chained op runs inside the job of the 1×1 CONV_2D right before it,
// item by item: once an item of the convolution has computed its rows and
// columns of the output, the chained op computes what it needs of just
// those (post). The depthwise takes the item's channels, on every row (so
// it chains only when the convolution is cut by columns alone), the ADD
// the item's rows and columns. One barrier per pair instead of two, the
// pair's load balanced over the convolution's items, and the chained op
// reads lines its own thread has just written, still in L1 or L2.
//
// The tensor between the two keeps its arena space (other ops may read
// it), and each op computes its outputs with its own kernels, so the
// results are the unchained ops' bit for bit. fusePlan marks the pairs
// before the arena is laid out (fusion.chained), and layout counts the
// second op as running at the first's index, so that its output never
// shares bytes with the convolution's input; at prepare time the second
// op chains if the convolution's cut allows it, else it runs on its own.

// opTail is the pool job of a prepared 1×1 CONV_2D, which the op after it
// may join (see chainable).
type opTail struct {
	at, out int      // the op's index and its output tensor
	gr      gemmGrid // the job's items
	mr, nr  int      // the GEMM micro-kernel's tile
	cols    int      // output channels
	// post, when set, runs after each item on the output rows [m0,m1)
	// and channels [c0,c1) the item has just computed.
	post func(m0, m1, c0, c1 int)
}

// item calls post for item i of the tail's grid.
func (t *opTail) item(i int) {
	m0, m1, p0, p1 := t.gr.item(i, t.mr)
	t.post(m0, m1, p0*t.nr, min(p1*t.nr, t.cols))
}

// chainable returns the job of the op before the one being prepared when
// that op is a 1×1 CONV_2D writing tensor in and fusePlan marked the pair
// (so the arena allows it), else nil.
func (p *plan) chainable(in int) *opTail {
	t := p.tail
	if t == nil || t.post != nil || t.at != p.at-1 || t.out != in || p.fz == nil || !p.fz.chained[p.at] {
		return nil
	}
	return t
}

// chain makes post run inside t's items and records that the op being
// prepared runs there; its own run is then empty.
func (p *plan) chain(t *opTail, post func(m0, m1, c0, c1 int)) runFunc {
	t.post = post
	p.chained = true
	return func() {}
}

// chainPairs marks in f.chained the ops that may run inside the job of
// the op before them: a DEPTHWISE_CONV_2D, ADD or MUL right after a
// float32 CONV_2D, reading its output, neither of them in a fused block.
func chainPairs(m *tflite.Model, f *fusion) {
	for i := 1; i < len(m.Operators); i++ {
		a, b := m.Operators[i-1], m.Operators[i]
		if f.head[i-1] != i-1 || f.head[i] != i || f.blocks[i-1] != nil || f.blocks[i] != nil {
			continue
		}
		if a.Op != tflite.OpConv2D || len(a.Outputs) != 1 || len(a.Inputs) == 0 || a.Inputs[0] < 0 ||
			m.Tensors[a.Inputs[0]].Type != tflite.Float32 {
			continue
		}
		switch b.Op {
		case tflite.OpDepthwiseConv2D, tflite.OpAdd, tflite.OpMul:
		default:
			continue
		}
		for _, t := range b.Inputs {
			if t == a.Outputs[0] {
				f.chained[i] = true
			}
		}
	}
}

// chainDW returns the run of depthwise d chained into t, line by line
// with the line kernels (lines: padWeights has prepared d) or by rows
// with the row kernels (d.band), or nil when t's items do not each cover
// whole blocks of eight channels on every row.
func (d *dwConv) chainDW(p *plan, t *opTail, n int, src, dst []float32, lines bool) runFunc {
	if !d.chainFits(t) {
		return nil
	}
	isz, osz := d.y.in*d.x.in*d.c, d.y.out*d.x.out*d.c
	return p.chain(t, func(_, _, c0, c1 int) {
		for b := range n {
			o, s := dst[b*osz:(b+1)*osz], src[b*isz:(b+1)*isz]
			if !lines {
				d.band(o, s, 0, d.y.out, c0, c1)
				continue
			}
			for oy := range d.y.out {
				d.vline(o, s, oy, c0, c1)
			}
		}
	})
}

// chainFits reports whether every item of t covers all rows and a run of
// channels starting at a multiple of eight and ending at one or at the
// last channel (the cut the depthwise kernels take).
func (d *dwConv) chainFits(t *opTail) bool {
	const block = 8
	if d.mult != 1 || t.cols != d.c || t.gr.rc != 1 {
		return false
	}
	for i := range t.gr.items() {
		_, _, p0, p1 := t.gr.item(i, t.mr)
		c0, c1 := p0*t.nr, min(p1*t.nr, t.cols)
		if c0%block != 0 || (c1%block != 0 && c1 != t.cols) {
			return false
		}
	}
	return true
}

// chainFlat returns the run of a same-shape binary op chained into t,
// which writes its operand x (a or b); nil when t does not write one.
func (bin *binOp) chainFlat(p *plan, ia, ib int) runFunc {
	t := p.chainable(ia)
	if t == nil {
		t = p.chainable(ib)
	}
	if t == nil || len(bin.dst) != len(bin.a) || t.gr.m*t.cols != len(bin.dst) {
		return nil
	}
	cols := t.cols
	return p.chain(t, func(m0, m1, c0, c1 int) {
		if c0 == 0 && c1 == cols {
			s, e := m0*cols, m1*cols
			binFlat(bin.kind, bin.dst[s:e], bin.a[s:e], bin.b[s:e], bin.lo, bin.hi)
			return
		}
		for r := m0; r < m1; r++ {
			s, e := r*cols+c0, r*cols+c1
			binFlat(bin.kind, bin.dst[s:e], bin.a[s:e], bin.b[s:e], bin.lo, bin.hi)
		}
	})
}
