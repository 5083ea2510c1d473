package native

import "github.com/alphad/alphad/pipeline/tflite"

// FULLY_CONNECTED, float32: out[b] = act(W·in[b] + bias), W constant
// [units][k] packed for the GEMM at prepare time.
func prepareFullyConnected(p *plan, op *tflite.Operator) (runFunc, error) {
	if err := p.checkIO(op, 2, 1); err != nil {
		return nil, err
	}
	in, wt, out := op.Inputs[0], op.Inputs[1], op.Outputs[0]
	if isQuant(p, in) {
		return prepareQuantFullyConnected(p, op)
	}
	for _, t := range []int{in, wt, out} {
		if err := checkType(p, op, t, tflite.Float32); err != nil {
			return nil, err
		}
	}
	ws := p.tensor(wt).Shape
	if !p.tensor(wt).IsConst() || len(ws) != 2 {
		return nil, p.unsupported(op, "weights must be a constant 2-D tensor")
	}
	units, k := ws[0], ws[1]
	total := p.tensor(in).NumElements()
	if k == 0 || total%k != 0 {
		return nil, p.unsupported(op, "input of %d elements is not a multiple of %d", total, k)
	}
	batch := total / k
	if p.tensor(out).NumElements() != batch*units {
		return nil, p.unsupported(op, "output shape %v, want %d×%d", p.tensor(out).Shape, batch, units)
	}
	act := tflite.ActNone
	if o, ok := op.Options.(*tflite.FullyConnectedOptions); ok {
		act = o.Activation
	}
	lo, hi, err := actRange(p, op, act)
	if err != nil {
		return nil, err
	}
	bias, err := floatBias(p, op, 2, units)
	if err != nil {
		return nil, err
	}
	g := newGemm(p.kern, p.f32(wt), units, k, bias, lo, hi)
	src, dst := p.f32(in), p.f32(out)
	if batch >= 4*g.kern.mr {
		rows := func(u0, u1 int) { g.unitRows(dst, units, src, k, batch, u0, u1) }
		j := p.pool.newJob(g.units(batch), batch*units*k, rows)
		return func() { p.pool.runJob(j) }, nil
	}
	// Few rows (one image): split the columns instead.
	cols := func(p0, p1 int) { g.block(dst, units, src, k, 0, batch, p0, p1) }
	j := p.pool.newJob(g.panels(), batch*units*k, cols)
	return func() { p.pool.runJob(j) }, nil
}
