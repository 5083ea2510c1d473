package native

import (
	"math"

	"github.com/alphad/alphad/pipeline/tflite"
)

// CONCATENATION, float32, along any axis (negative counts from the end):
// for each index of the dimensions before the axis, each input contributes
// one contiguous chunk in turn.
func prepareConcatenation(p *plan, op *tflite.Operator) (runFunc, error) {
	if len(op.Inputs) < 1 || len(op.Outputs) != 1 {
		return nil, p.unsupported(op, "want inputs and one output")
	}
	out := op.Outputs[0]
	if isQuant(p, op.Inputs[0]) {
		return prepareQuantConcatenation(p, op)
	}
	opts, ok := op.Options.(*tflite.ConcatenationOptions)
	if !ok {
		return nil, p.unsupported(op, "missing options")
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
	lo, hi, err := actRange(p, op, opts.Activation)
	if err != nil {
		return nil, err
	}
	if err := checkType(p, op, out, tflite.Float32); err != nil {
		return nil, err
	}
	outer := 1
	for _, d := range os[:axis] {
		outer *= d
	}
	inner := 1
	for _, d := range os[axis+1:] {
		inner *= d
	}
	var srcs [][]float32
	var chunks []int
	total := 0
	for _, in := range op.Inputs {
		if in < 0 {
			return nil, p.unsupported(op, "missing input")
		}
		if err := checkType(p, op, in, tflite.Float32); err != nil {
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
		total += s[axis]
		srcs = append(srcs, p.f32(in))
		chunks = append(chunks, s[axis]*inner)
	}
	if total != os[axis] {
		return nil, p.unsupported(op, "inputs sum to %d along axis %d, output has %d", total, axis, os[axis])
	}
	dst := p.f32(out)
	return func() {
		o := 0
		for i := 0; i < outer; i++ {
			for j, src := range srcs {
				n := chunks[j]
				copy(dst[o:o+n], src[i*n:(i+1)*n])
				o += n
			}
		}
		if lo > -math.MaxFloat32 || hi < math.MaxFloat32 {
			for i, v := range dst {
				dst[i] = min(max(v, lo), hi)
			}
		}
	}, nil
}
