package native

// Quantized (uint8/int8) dispatch. The float prepare funcs call these when
// an op's input is uint8 or int8. Each validates the op's types, shapes and
// quantization parameters, computes the multipliers exactly as the TFLite
// runtime does for that op (XNNPACK's float32 scales for the ops its
// default delegate takes, TFLite's fixed-point ones for the rest; see
// fp32Requant), and returns a run function over package qmath; see the
// contract at the top of kernel.go. TestQuantGolden, TestQuantOpsOracle
// and TestQuantTeachableMachine hold every choice to the real runtime.

import (
	"github.com/alphad/alphad/pipeline/engine/native/qmath"
	"github.com/alphad/alphad/pipeline/tflite"
)

// fp32Requant makes the quantized kernels follow the TFLite runtime as it
// really runs (its default XNNPACK delegate takes CONV_2D,
// DEPTHWISE_CONV_2D, FULLY_CONNECTED, ADD, MUL and MEAN over H,W and
// requantizes in float32) rather than TFLite's fixed-point reference
// kernels; see package qmath. With it the shared golden outputs match bit
// for bit; with the reference arithmetic they differ by up to 16 LSB.
const fp32Requant = true

// qtype maps a tensor type to its qmath type.
func qtype(p *plan, op *tflite.Operator, t int) (qmath.Type, error) {
	switch ty := p.tensor(t).Type; ty {
	case tflite.Uint8:
		return qmath.Uint8, nil
	case tflite.Int8:
		return qmath.Int8, nil
	default:
		return 0, p.unsupported(op, "tensor %d (%s) is %s, want uint8 or int8", t, p.tensor(t).Name, ty)
	}
}

// qparams returns the per-tensor scale and zero point of tensor t.
func qparams(p *plan, op *tflite.Operator, t int) (scale float32, zero int32, err error) {
	q := p.tensor(t).Quant
	if q == nil || len(q.Scale) != 1 {
		return 0, 0, p.unsupported(op, "tensor %d (%s) needs per-tensor quantization", t, p.tensor(t).Name)
	}
	if len(q.ZeroPoint) > 0 {
		zero = int32(q.ZeroPoint[0])
	}
	if !(q.Scale[0] > 0) {
		return 0, 0, p.unsupported(op, "tensor %d (%s) has scale %g", t, p.tensor(t).Name, q.Scale[0])
	}
	return q.Scale[0], zero, nil
}

// qtensor is the type, scale and zero point of one per-tensor quantized
// operand.
type qtensor struct {
	typ   qmath.Type
	scale float32
	zero  int32
}

func qinfo(p *plan, op *tflite.Operator, t int) (qtensor, error) {
	typ, err := qtype(p, op, t)
	if err != nil {
		return qtensor{}, err
	}
	s, z, err := qparams(p, op, t)
	if err != nil {
		return qtensor{}, err
	}
	if z < typ.Min() || z > typ.Max() {
		return qtensor{}, p.unsupported(op, "tensor %d zero point %d out of %s range", t, z, typ)
	}
	return qtensor{typ, s, z}, nil
}

// qact is the clamp range of a fused activation on output o.
func qact(p *plan, op *tflite.Operator, act tflite.Activation, o qtensor) (lo, hi int32, err error) {
	lo, hi, ok := qmath.ActivationRange(qmath.Activation(act), o.typ, o.scale, o.zero)
	if !ok {
		return 0, 0, p.unsupported(op, "fused activation %d", act)
	}
	return lo, hi, nil
}

// elemLine is the unit element-wise jobs split on: one cache line, so two
// threads never write the same line.
const elemLine = 64

// elementwise prepares fn over elements [0,n) as a pool job split on whole
// cache lines, each element weighing weight times elemWork.
func elementwise(p *plan, n, weight int, fn func(lo, hi int)) *job {
	lines := (n + elemLine - 1) / elemLine
	return p.pool.newJob(lines, n*weight*elemWork, func(lo, hi int) { fn(lo*elemLine, min(hi*elemLine, n)) })
}

// convQuant gathers the quantization of a CONV_2D, DEPTHWISE_CONV_2D or
// FULLY_CONNECTED: input, output, filter zero points and the multipliers
// (per channel along axis chanAxis of the filter when it has several
// scales), and the int32 bias (nil when omitted).
func convQuant(p *plan, op *tflite.Operator, nOut, chanAxis int, act tflite.Activation) (*qmath.ConvParams, error) {
	in, filt, out := op.Inputs[0], op.Inputs[1], op.Outputs[0]
	it, err := qinfo(p, op, in)
	if err != nil {
		return nil, err
	}
	ot, err := qinfo(p, op, out)
	if err != nil {
		return nil, err
	}
	if it.typ != ot.typ {
		return nil, p.unsupported(op, "input %s, output %s", it.typ, ot.typ)
	}
	ft, err := qtype(p, op, filt)
	if err != nil {
		return nil, err
	}
	if ft != it.typ {
		return nil, p.unsupported(op, "%s filter with %s input", ft, it.typ)
	}
	f := p.tensor(filt)
	if !f.IsConst() {
		return nil, p.unsupported(op, "non-constant filter")
	}
	fq := f.Quant
	if fq == nil || len(fq.Scale) == 0 {
		return nil, p.unsupported(op, "filter has no quantization")
	}
	perChannel := len(fq.Scale) > 1
	if perChannel && (fq.Axis != chanAxis || len(fq.Scale) != nOut) {
		return nil, p.unsupported(op, "filter has %d scales on axis %d, want %d on axis %d", len(fq.Scale), fq.Axis, nOut, chanAxis)
	}
	cp := &qmath.ConvParams{In: it.typ, Filter: ft, Out: ot.typ, InZero: it.zero, OutZero: ot.zero, Dot: p.qdot}
	for i, s := range fq.Scale {
		var z int32
		if i < len(fq.ZeroPoint) {
			z = int32(fq.ZeroPoint[i])
		}
		if z < ft.Min() || z > ft.Max() {
			return nil, p.unsupported(op, "filter zero point %d out of %s range", z, ft)
		}
		cp.FilterZero = append(cp.FilterZero, z)
		if fp32Requant {
			cp.Scale = append(cp.Scale, qmath.XNNPACKScale(it.scale, s, ot.scale))
		}
		cp.Mult = append(cp.Mult, qmath.QuantizeMultiplier(qmath.ConvScale(it.scale, s, ot.scale, perChannel || it.typ == qmath.Int8 && op.Op != tflite.OpFullyConnected)))
	}
	if len(op.Inputs) > 2 && op.Inputs[2] >= 0 {
		b := op.Inputs[2]
		bt := p.tensor(b)
		if bt.Type != tflite.Int32 || !bt.IsConst() || bt.NumElements() != nOut {
			return nil, p.unsupported(op, "bias tensor %d must be %d constant int32 values", b, nOut)
		}
		cp.Bias = p.i32(b)
	}
	cp.Lo, cp.Hi, err = qact(p, op, act, ot)
	if err != nil {
		return nil, err
	}
	return cp, nil
}

// convSplit is the least number of units a convolution is split into:
// enough for the pool's chunks to balance (a few per thread).
const convSplit = 64

// runConv wraps a prepared conv as a runFunc split over the pool in blocks
// of four output pixels (the GEMM tile height) and, when there are too few
// blocks to balance (the 14×14 and 7×7 layers, a fully connected layer's
// one row), in ranges of output-channel groups within each block as well.
// A unit is (pixel block, channel range), channel ranges innermost: the
// pool deals each thread a contiguous run of units, so a thread computes
// a contiguous run of output pixels (every channel of them, but at the
// two ends of its run), the same pixels the ops before and after it
// split on (depthwise convolutions, element-wise ops), and a chunk's
// whole blocks run every channel group in one pass over their inputs.
// Channel ranges outermost (as before) left each thread reading every
// pixel of its input and writing part of every output pixel, and one
// thread making a pass per range: the 7×7×960→160 projections took 58 µs
// at one thread and 34 µs at two, against 43 and 26 µs now.
func runConv(p *plan, c *qmath.Conv, dst, src []byte) runFunc {
	units := c.Units()
	blocks := (units + 3) / 4
	groups := c.Groups()
	split := min(groups, max(1, (convSplit+blocks-1)/blocks))
	// run computes channel ranges [r0, r1) of pixel blocks [b0, b1).
	run := func(b0, b1, r0, r1 int) {
		c.RunGroups(dst, src, b0*4, min(b1*4, units), groups*r0/split, groups*r1/split)
	}
	fn := func(u0, u1 int) {
		b0, r0 := u0/split, u0%split
		b1, r1 := u1/split, u1%split // the last block is b1, partly when r1 > 0
		if b0 == b1 {
			run(b0, b0+1, r0, r1)
			return
		}
		if r0 > 0 {
			run(b0, b0+1, r0, split)
			b0++
		}
		run(b0, b1, 0, split)
		if r1 > 0 {
			run(b1, b1+1, 0, r1)
		}
	}
	j := p.pool.newJob(blocks*split, c.Work(), fn)
	return func() { p.pool.runJob(j) }
}

func prepareQuantConv2D(p *plan, op *tflite.Operator) (runFunc, error) {
	if err := p.checkIO(op, 2, 1); err != nil {
		return nil, err
	}
	opts, ok := op.Options.(*tflite.Conv2DOptions)
	if !ok {
		return nil, p.unsupported(op, "missing options")
	}
	in, filt, out := op.Inputs[0], op.Inputs[1], op.Outputs[0]
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
	cp, err := convQuant(p, op, cout, 0, opts.Activation)
	if err != nil {
		return nil, err
	}
	cp.Shape = qmath.ConvShape{Batch: n, InH: h, InW: w, InC: cin, OutH: wy.out, OutW: wx.out, OutC: cout,
		KH: kh, KW: kw, StrideH: wy.stride, StrideW: wx.stride, DilationH: wy.dilation, DilationW: wx.dilation,
		PadTop: wy.pad, PadLeft: wx.pad}
	c, err := qmath.NewConv(cp, p.bytes(filt))
	if err != nil {
		return nil, p.unsupported(op, "%v", err)
	}
	return runConv(p, c, p.bytes(out), p.bytes(in)), nil
}

func prepareQuantDepthwiseConv2D(p *plan, op *tflite.Operator) (runFunc, error) {
	if err := p.checkIO(op, 2, 1); err != nil {
		return nil, err
	}
	opts, ok := op.Options.(*tflite.DepthwiseConv2DOptions)
	if !ok {
		return nil, p.unsupported(op, "missing options")
	}
	in, filt, out := op.Inputs[0], op.Inputs[1], op.Outputs[0]
	n, h, w, cin, ok1 := nhwc(p, in)
	one, kh, kw, cout, ok2 := nhwc(p, filt)
	if !ok1 || !ok2 || one != 1 {
		return nil, p.unsupported(op, "input and filter must be 4-D, filter [1,kh,kw,c]")
	}
	mult := max(opts.DepthMultiplier, 1)
	if cin*mult != cout {
		// TFLite derives the multiplier from the shapes when the option is 0 or stale.
		if cout%cin != 0 {
			return nil, p.unsupported(op, "%d output channels for %d input channels", cout, cin)
		}
		mult = cout / cin
	}
	wy := newWindow(h, kh, opts.StrideH, opts.DilationH, opts.Padding)
	wx := newWindow(w, kw, opts.StrideW, opts.DilationW, opts.Padding)
	if err := checkShape(p, op, out, n, wy.out, wx.out, cout); err != nil {
		return nil, err
	}
	cp, err := convQuant(p, op, cout, 3, opts.Activation)
	if err != nil {
		return nil, err
	}
	cp.Shape = qmath.ConvShape{Batch: n, InH: h, InW: w, InC: cin, OutH: wy.out, OutW: wx.out, OutC: cout,
		KH: kh, KW: kw, StrideH: wy.stride, StrideW: wx.stride, DilationH: wy.dilation, DilationW: wx.dilation,
		PadTop: wy.pad, PadLeft: wx.pad}
	if cp.Bias == nil {
		// The runtime's XNNPACK delegate declines a depthwise convolution
		// without bias, so TFLite's own fixed-point kernel runs it.
		cp.Scale = nil
	}
	d, err := qmath.NewDepthwise(&qmath.DepthwiseParams{ConvParams: *cp, DepthMultiplier: mult}, p.bytes(filt))
	if err != nil {
		return nil, p.unsupported(op, "%v", err)
	}
	src, dst := p.bytes(in), p.bytes(out)
	units := d.Units()
	fn := func(lo, hi int) { d.Run(dst, src, lo, hi) }
	j := p.pool.newJob(units, d.Work(), fn)
	return func() { p.pool.runJob(j) }, nil
}

func prepareQuantFullyConnected(p *plan, op *tflite.Operator) (runFunc, error) {
	if err := p.checkIO(op, 2, 1); err != nil {
		return nil, err
	}
	act := tflite.ActNone
	if opts, ok := op.Options.(*tflite.FullyConnectedOptions); ok {
		act = opts.Activation
	}
	in, filt, out := op.Inputs[0], op.Inputs[1], op.Outputs[0]
	fs := p.tensor(filt).Shape
	if len(fs) != 2 {
		return nil, p.unsupported(op, "filter shape %v, want 2-D", fs)
	}
	units, depth := fs[0], fs[1]
	total := p.tensor(in).NumElements()
	if depth == 0 || total%depth != 0 {
		return nil, p.unsupported(op, "input of %d values for depth %d", total, depth)
	}
	batch := total / depth
	if p.tensor(out).NumElements() != batch*units {
		return nil, p.unsupported(op, "output shape %v, want %d×%d values", p.tensor(out).Shape, batch, units)
	}
	cp, err := convQuant(p, op, units, 0, act)
	if err != nil {
		return nil, err
	}
	cp.Shape = qmath.ConvShape{Batch: batch, InH: 1, InW: 1, InC: depth, OutH: 1, OutW: 1, OutC: units,
		KH: 1, KW: 1, StrideH: 1, StrideW: 1, DilationH: 1, DilationW: 1}
	c, err := qmath.NewConv(cp, p.bytes(filt))
	if err != nil {
		return nil, p.unsupported(op, "%v", err)
	}
	return runConv(p, c, p.bytes(out), p.bytes(in)), nil
}

// quantBinary checks the operands of a quantized element-wise ADD or MUL
// (sym names the op in errors): two inputs and the output of one type and
// one element count (no broadcasting), and the fused activation's range.
func quantBinary(p *plan, op *tflite.Operator, act tflite.Activation, sym string) (q [3]qtensor, n int, lo, hi int32, err error) {
	if err = p.checkIO(op, 2, 1); err != nil {
		return q, 0, 0, 0, err
	}
	a, b, out := op.Inputs[0], op.Inputs[1], op.Outputs[0]
	for i, t := range []int{a, b, out} {
		if q[i], err = qinfo(p, op, t); err != nil {
			return q, 0, 0, 0, err
		}
	}
	if q[0].typ != q[2].typ || q[1].typ != q[2].typ {
		return q, 0, 0, 0, p.unsupported(op, "mixed types %s %s %s -> %s", q[0].typ, sym, q[1].typ, q[2].typ)
	}
	n = p.tensor(out).NumElements()
	if p.tensor(a).NumElements() != n || p.tensor(b).NumElements() != n {
		return q, 0, 0, 0, p.unsupported(op, "broadcasting %v %s %v", p.tensor(a).Shape, sym, p.tensor(b).Shape)
	}
	lo, hi, err = qact(p, op, act, q[2])
	return q, n, lo, hi, err
}

func prepareQuantAdd(p *plan, op *tflite.Operator) (runFunc, error) {
	act := tflite.ActNone
	if opts, ok := op.Options.(*tflite.AddOptions); ok {
		act = opts.Activation
	}
	q, n, lo, hi, err := quantBinary(p, op, act, "+")
	if err != nil {
		return nil, err
	}
	a, b, out := op.Inputs[0], op.Inputs[1], op.Outputs[0]
	params := qmath.NewAddParams(q[0].typ, q[1].typ, q[2].typ, q[0].scale, q[1].scale, q[2].scale, q[0].zero, q[1].zero, q[2].zero, lo, hi)
	xparams, xok := qmath.NewXNNPACKAddParams(q[0].typ, q[1].typ, q[2].typ, q[0].scale, q[1].scale, q[2].scale, q[0].zero, q[1].zero, q[2].zero, lo, hi)
	xok = xok && fp32Requant
	da, db, dst := p.bytes(a), p.bytes(b), p.bytes(out)
	weight := 1
	if !xok {
		weight = 4 // three fixed-point multiplies per element
	}
	j := elementwise(p, n, weight, func(s, e int) {
		if xok {
			qmath.AddXNNPACK(dst[s:e], da[s:e], db[s:e], &xparams)
			return
		}
		qmath.Add(dst[s:e], da[s:e], db[s:e], &params)
	})
	return func() { p.pool.runJob(j) }, nil
}

func prepareQuantMul(p *plan, op *tflite.Operator) (runFunc, error) {
	act := tflite.ActNone
	if opts, ok := op.Options.(*tflite.MulOptions); ok {
		act = opts.Activation
	}
	q, n, lo, hi, err := quantBinary(p, op, act, "*")
	if err != nil {
		return nil, err
	}
	a, b, out := op.Inputs[0], op.Inputs[1], op.Outputs[0]
	mp := &qmath.MulParams{In1: q[0].typ, In2: q[1].typ, Out: q[2].typ, In1Zero: q[0].zero, In2Zero: q[1].zero, OutZero: q[2].zero,
		Scale: float32(q[0].scale*q[1].scale) / q[2].scale, Lo: lo, Hi: hi}
	da, db, dst := p.bytes(a), p.bytes(b), p.bytes(out)
	j := elementwise(p, n, 2, func(s, e int) { qmath.Mul(dst[s:e], da[s:e], db[s:e], mp) })
	return func() { p.pool.runJob(j) }, nil
}

func prepareQuantMean(p *plan, op *tflite.Operator) (runFunc, error) {
	if err := p.checkIO(op, 2, 1); err != nil {
		return nil, err
	}
	in, axesT, out := op.Inputs[0], op.Inputs[1], op.Outputs[0]
	it, err := qinfo(p, op, in)
	if err != nil {
		return nil, err
	}
	ot, err := qinfo(p, op, out)
	if err != nil {
		return nil, err
	}
	if it.typ != ot.typ {
		return nil, p.unsupported(op, "input %s, output %s", it.typ, ot.typ)
	}
	shape := p.tensor(in).Shape
	reduce, err := reduceAxes(p, op, axesT, len(shape))
	if err != nil {
		return nil, err
	}
	// The reduced axes must be one contiguous run: [outer, reduce, inner].
	first, last := -1, -1
	for d, r := range reduce {
		if r {
			if first < 0 {
				first = d
			} else if last != d-1 {
				return nil, p.unsupported(op, "non-contiguous axes")
			}
			last = d
		}
	}
	if first < 0 {
		return nil, p.unsupported(op, "no axes")
	}
	mp := &qmath.MeanParams{In: it.typ, Out: ot.typ, InScale: it.scale, OutScale: ot.scale, InZero: it.zero, OutZero: ot.zero,
		Outer: 1, Reduce: 1, Inner: 1}
	for d, n := range shape {
		switch {
		case d < first:
			mp.Outer *= n
		case d <= last:
			mp.Reduce *= n
		default:
			mp.Inner *= n
		}
	}
	if p.tensor(out).NumElements() != mp.Outer*mp.Inner {
		return nil, p.unsupported(op, "output shape %v", p.tensor(out).Shape)
	}
	keep := false
	if o, ok := op.Options.(*tflite.ReducerOptions); ok {
		keep = o.KeepDims
	}
	globalPool := len(shape) == 4 && first == 1 && last == 2
	sameQuant := it.scale == ot.scale && it.zero == ot.zero
	mp.Mode = qmath.MeanModeFor(keep && globalPool, sameQuant)
	// The runtime's XNNPACK delegate takes every mean that rescales (any
	// axes, with or without keep_dims) and every 4-D mean over H,W as its
	// own average; the other means with identical input and output
	// quantization stay in TFLite's kernels. (Established against the real
	// runtime: TestQuantOpsOracle.)
	if fp32Requant && (globalPool || !sameQuant) {
		mp.Mode = qmath.MeanXNNPACK
	}
	src, dst := p.bytes(in), p.bytes(out)
	if len(src) < mp.Outer*mp.Reduce*mp.Inner || len(dst) < mp.Outer*mp.Inner {
		return nil, p.unsupported(op, "input %d bytes, output %d bytes for %d×%d×%d", len(src), len(dst), mp.Outer, mp.Reduce, mp.Inner)
	}
	// Split on the kept inner axis (the channels of a global pool) in
	// blocks of one cache line.
	blocks := (mp.Inner + elemLine - 1) / elemLine
	j := p.pool.newJob(blocks, mp.Outer*mp.Reduce*mp.Inner*elemWork, func(lo, hi int) {
		qmath.MeanInner(dst, src, mp, lo*elemLine, min(hi*elemLine, mp.Inner))
	})
	return func() { p.pool.runJob(j) }, nil
}

// prepareQuantPool2D is shared by AVERAGE_POOL_2D and MAX_POOL_2D.
func prepareQuantPool2D(p *plan, op *tflite.Operator, kernel func(dst, src []byte, t qmath.Type, s *qmath.PoolShape, lo, hi int32, y0, y1, c0, c1 int)) (runFunc, error) {
	if err := p.checkIO(op, 1, 1); err != nil {
		return nil, err
	}
	opts, ok := op.Options.(*tflite.Pool2DOptions)
	if !ok {
		return nil, p.unsupported(op, "missing options")
	}
	in, out := op.Inputs[0], op.Outputs[0]
	it, err := qinfo(p, op, in)
	if err != nil {
		return nil, err
	}
	ot, err := qinfo(p, op, out)
	if err != nil {
		return nil, err
	}
	if it != ot {
		return nil, p.unsupported(op, "input and output quantization differ")
	}
	n, h, w, c, ok := nhwc(p, in)
	if !ok {
		return nil, p.unsupported(op, "input must be 4-D")
	}
	wy := newWindow(h, opts.FilterHeight, opts.StrideH, 1, opts.Padding)
	wx := newWindow(w, opts.FilterWidth, opts.StrideW, 1, opts.Padding)
	if err := checkShape(p, op, out, n, wy.out, wx.out, c); err != nil {
		return nil, err
	}
	lo, hi, err := qact(p, op, opts.Activation, ot)
	if err != nil {
		return nil, err
	}
	s := &qmath.PoolShape{Batch: n, InH: h, InW: w, C: c, OutH: wy.out, OutW: wx.out, KH: opts.FilterHeight, KW: opts.FilterWidth,
		StrideH: wy.stride, StrideW: wx.stride, PadTop: wy.pad, PadLeft: wx.pad}
	src, dst := p.bytes(in), p.bytes(out)
	// Units are (output row, block of one cache line of channels), rows
	// outermost: a global pool (one output row) still splits.
	cb := (c + elemLine - 1) / elemLine
	fn := func(u0, u1 int) {
		for u := u0; u < u1; {
			y, b := u/cb, u%cb
			e := min(u1, (y+1)*cb) // the rest of this row's blocks in the range
			kernel(dst, src, it.typ, s, lo, hi, y, y+1, b*elemLine, min((b+e-u)*elemLine, c))
			u = e
		}
	}
	j := p.pool.newJob(wy.out*cb, n*wy.out*wx.out*c*opts.FilterHeight*opts.FilterWidth*elemWork/4, fn)
	return func() { p.pool.runJob(j) }, nil
}

func prepareQuantAveragePool2D(p *plan, op *tflite.Operator) (runFunc, error) {
	return prepareQuantPool2D(p, op, qmath.AveragePool)
}

func prepareQuantMaxPool2D(p *plan, op *tflite.Operator) (runFunc, error) {
	return prepareQuantPool2D(p, op, qmath.MaxPool)
}

func prepareQuantSoftmax(p *plan, op *tflite.Operator) (runFunc, error) {
	if err := p.checkIO(op, 1, 1); err != nil {
		return nil, err
	}
	in, out := op.Inputs[0], op.Outputs[0]
	it, err := qinfo(p, op, in)
	if err != nil {
		return nil, err
	}
	ot, err := qinfo(p, op, out)
	if err != nil {
		return nil, err
	}
	if it.typ != ot.typ {
		return nil, p.unsupported(op, "input %s, output %s", it.typ, ot.typ)
	}
	// TFLite requires the output to cover [0, 1) in steps of 1/256.
	if ot.scale != 1.0/256 || ot.zero != ot.typ.Min() {
		return nil, p.unsupported(op, "output scale %g zero point %d, want 1/256 and %d", ot.scale, ot.zero, ot.typ.Min())
	}
	shape := p.tensor(in).Shape
	if len(shape) == 0 || p.tensor(out).NumElements() != p.tensor(in).NumElements() {
		return nil, p.unsupported(op, "input shape %v, output shape %v", shape, p.tensor(out).Shape)
	}
	beta := float32(1)
	if o, ok := op.Options.(*tflite.SoftmaxOptions); ok {
		beta = o.Beta
	}
	depth := shape[len(shape)-1]
	if depth < 1 {
		return nil, p.unsupported(op, "empty last dimension")
	}
	s := qmath.NewSoftmax(it.typ, ot.typ, it.scale, beta, ot.scale, ot.zero)
	src, dst := p.bytes(in), p.bytes(out)
	// Equal sizes and a positive depth dividing them: Run cannot fail.
	return func() { _ = s.Run(dst, src, depth) }, nil
}

func prepareQuantConcatenation(p *plan, op *tflite.Operator) (runFunc, error) {
	opts, ok := op.Options.(*tflite.ConcatenationOptions)
	if !ok {
		return nil, p.unsupported(op, "missing options")
	}
	if opts.Activation != tflite.ActNone {
		return nil, p.unsupported(op, "fused activation %d on quantized concatenation", opts.Activation)
	}
	out := op.Outputs[0]
	ot, err := qinfo(p, op, out)
	if err != nil {
		return nil, err
	}
	os := p.tensor(out).Shape
	rank := len(os)
	axis := opts.Axis
	if axis < 0 {
		axis += rank
	}
	if axis < 0 || axis >= rank {
		return nil, p.unsupported(op, "axis %d for rank %d", opts.Axis, rank)
	}
	outer := 1
	for _, d := range os[:axis] {
		outer *= d
	}
	var inputs []qmath.ConcatInput
	var srcs [][]byte
	sum := 0
	for _, in := range op.Inputs {
		if in < 0 {
			return nil, p.unsupported(op, "missing input")
		}
		it, err := qinfo(p, op, in)
		if err != nil {
			return nil, err
		}
		s := p.tensor(in).Shape
		if len(s) != rank {
			return nil, p.unsupported(op, "input %d has rank %d, want %d", in, len(s), rank)
		}
		for d := range s {
			if d != axis && s[d] != os[d] {
				return nil, p.unsupported(op, "input %d shape %v does not fit output %v", in, s, os)
			}
		}
		sum += s[axis]
		size := 1
		for _, d := range s[axis:] {
			size *= d
		}
		inputs = append(inputs, qmath.ConcatInput{Type: it.typ, Scale: it.scale, Zero: it.zero, Size: size})
		srcs = append(srcs, p.bytes(in))
		if p.sameStorage(in, out) {
			return nil, p.unsupported(op, "input %d shares storage with the output", in)
		}
	}
	if sum != os[axis] {
		return nil, p.unsupported(op, "inputs sum to %d along axis %d, output has %d", sum, axis, os[axis])
	}
	c, err := qmath.NewConcat(ot.typ, ot.scale, ot.zero, outer, inputs)
	if err != nil {
		return nil, p.unsupported(op, "%v", err)
	}
	dst := p.bytes(out)
	return func() { c.Run(dst, srcs) }, nil
}

// prepareQuantRelu handles RELU and RELU6 (op.Op tells which).
func prepareQuantRelu(p *plan, op *tflite.Operator) (runFunc, error) {
	in, out := op.Inputs[0], op.Outputs[0]
	it, err := qinfo(p, op, in)
	if err != nil {
		return nil, err
	}
	ot, err := qinfo(p, op, out)
	if err != nil {
		return nil, err
	}
	if it.typ != ot.typ || p.tensor(in).NumElements() != p.tensor(out).NumElements() {
		return nil, p.unsupported(op, "input %s %v, output %s %v", it.typ, p.tensor(in).Shape, ot.typ, p.tensor(out).Shape)
	}
	act := tflite.ActRelu
	if op.Op == tflite.OpRelu6 {
		act = tflite.ActRelu6
	}
	lo, hi, err := qact(p, op, act, ot)
	if err != nil {
		return nil, err
	}
	rp := &qmath.ReluParams{T: it.typ, InZero: it.zero, OutZero: ot.zero,
		Mult: qmath.QuantizeMultiplier(float64(it.scale) / float64(ot.scale)), Lo: lo, Hi: hi}
	n := p.tensor(out).NumElements()
	src, dst := p.bytes(in)[:n], p.bytes(out)[:n]
	j := elementwise(p, n, 2, func(s, e int) { qmath.Relu(dst[s:e], src[s:e], rp) })
	return func() { p.pool.runJob(j) }, nil
}

// prepareQuantLUT handles the elementwise ops TFLite computes through a
// 256-entry table (LOGISTIC, HARD_SWISH).
func prepareQuantLUT(p *plan, op *tflite.Operator, f func(float32) float32) (runFunc, error) {
	in, out := op.Inputs[0], op.Outputs[0]
	it, err := qinfo(p, op, in)
	if err != nil {
		return nil, err
	}
	ot, err := qinfo(p, op, out)
	if err != nil {
		return nil, err
	}
	if it.typ != ot.typ || p.tensor(in).NumElements() != p.tensor(out).NumElements() {
		return nil, p.unsupported(op, "input %s %v, output %s %v", it.typ, p.tensor(in).Shape, ot.typ, p.tensor(out).Shape)
	}
	l := qmath.NewLUT(it.typ, ot.typ, it.scale, it.zero, ot.scale, ot.zero, f)
	return runLUT(p, l, p.bytes(out), p.bytes(in)), nil
}

// runLUT runs a table over src into dst, split over the pool.
func runLUT(p *plan, l *qmath.LUT, dst, src []byte) runFunc {
	n := min(len(dst), len(src))
	j := elementwise(p, n, 1, func(s, e int) { l.Run(dst[s:e], src[s:e]) })
	return func() { p.pool.runJob(j) }
}

func prepareQuantLogistic(p *plan, op *tflite.Operator) (runFunc, error) {
	return prepareQuantLUT(p, op, qmath.Logistic)
}

// prepareQuantHardSwish tabulates hard swish. TFLite's own int8 kernel
// uses fixed-point arithmetic instead; the table can differ from it by one
// unit on some inputs.
func prepareQuantHardSwish(p *plan, op *tflite.Operator) (runFunc, error) {
	return prepareQuantLUT(p, op, qmath.HardSwish)
}

// prepareQuantRequantize handles QUANTIZE from uint8/int8 to uint8/int8
// (QUANTIZE from float32 and DEQUANTIZE are float kernels).
func prepareQuantRequantize(p *plan, op *tflite.Operator) (runFunc, error) {
	in, out := op.Inputs[0], op.Outputs[0]
	it, err := qinfo(p, op, in)
	if err != nil {
		return nil, err
	}
	ot, err := qinfo(p, op, out)
	if err != nil {
		return nil, err
	}
	if p.tensor(in).NumElements() != p.tensor(out).NumElements() {
		return nil, p.unsupported(op, "input shape %v, output shape %v", p.tensor(in).Shape, p.tensor(out).Shape)
	}
	rp := qmath.NewRequantizeParams(it.typ, ot.typ, it.scale, ot.scale, it.zero, ot.zero)
	// Every output byte is a function of one input byte: tabulate it.
	return runLUT(p, qmath.NewRequantizeLUT(&rp), p.bytes(out), p.bytes(in)), nil
}
