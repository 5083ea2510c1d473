package tflite

import (
	"fmt"
	"math"
	"slices"
)

// validate checks the cross references and sizes of a freshly read model.
// Operators listed in unsupported get only the checks every op needs.
func (m *Model) validate(unsupported []*UnsupportedOpError) error {
	n := len(m.Tensors)
	if len(m.Inputs) == 0 || len(m.Outputs) == 0 {
		return &FormatError{Where: "subgraph 0", Reason: fmt.Sprintf("%d inputs and %d outputs, want at least one of each", len(m.Inputs), len(m.Outputs))}
	}
	for _, io := range []struct {
		what string
		idx  []int
	}{{"input", m.Inputs}, {"output", m.Outputs}} {
		for i, t := range io.idx {
			if t < 0 || t >= n {
				return &FormatError{Where: fmt.Sprintf("subgraph 0 %s %d", io.what, i), Reason: fmt.Sprintf("tensor index %d out of range (%d tensors)", t, n)}
			}
		}
	}
	for _, t := range m.Inputs {
		if s := m.Tensors[t].Shape; len(s) > 0 && s[0] == -1 {
			s[0] = 1 // unknown batch: run one image at a time
		}
	}
	for _, t := range m.Tensors {
		if err := t.validate(); err != nil {
			return err
		}
	}

	skip := make(map[int]bool, len(unsupported))
	for _, u := range unsupported {
		skip[u.Index] = true
	}
	// Tensors with a value so far: constants, graph inputs, then the
	// outputs of each operator in execution order.
	ready := make([]bool, n)
	for _, t := range m.Tensors {
		ready[t.Index] = t.IsConst()
	}
	for _, t := range m.Inputs {
		if m.Tensors[t].IsConst() {
			return &FormatError{Where: m.Tensors[t].where(), Reason: "graph input has constant data"}
		}
		ready[t] = true
	}
	for _, op := range m.Operators {
		if err := m.validateOp(op, ready, !skip[op.Index]); err != nil {
			return err
		}
	}
	for _, t := range m.Outputs {
		if !ready[t] {
			return &FormatError{Where: m.Tensors[t].where(), Reason: "graph output is never computed"}
		}
	}
	return nil
}

func (t *Tensor) where() string {
	if t.Name == "" {
		return fmt.Sprintf("tensor %d", t.Index)
	}
	return fmt.Sprintf("tensor %d (%s)", t.Index, t.Name)
}

func (t *Tensor) validate() error {
	fail := func(format string, args ...any) error {
		return &FormatError{Where: t.where(), Reason: fmt.Sprintf(format, args...)}
	}
	if t.Type.Size() == 0 {
		return fail("tensor type %s is not supported", t.Type)
	}
	if len(t.Shape) > maxRank {
		return fail("rank %d exceeds %d", len(t.Shape), maxRank)
	}
	elems := 1
	for _, d := range t.Shape {
		if d < 0 {
			return fail("shape %v has a negative or unknown dimension", t.Shape)
		}
		if d > maxElements || (d > 0 && elems > maxElements/d) {
			return fail("shape %v has more than %d elements", t.Shape, maxElements)
		}
		elems *= d
	}
	if t.Data != nil && len(t.Data) != t.ByteSize() {
		return fail("%d bytes of data, want %d for %s%v", len(t.Data), t.ByteSize(), t.Type, t.Shape)
	}
	if q := t.Quant; q != nil {
		if len(q.ZeroPoint) != len(q.Scale) {
			return fail("quantization has %d scales and %d zero points", len(q.Scale), len(q.ZeroPoint))
		}
		for _, s := range q.Scale {
			if math.IsNaN(float64(s)) || math.IsInf(float64(s), 0) || s < 0 {
				return fail("quantization scale %v is not a finite non-negative number", s)
			}
		}
		if len(q.Scale) > 1 {
			if q.Axis < 0 || q.Axis >= len(t.Shape) {
				return fail("quantized dimension %d out of range for shape %v", q.Axis, t.Shape)
			}
			if len(q.Scale) != t.Shape[q.Axis] {
				return fail("%d scales for dimension %d of size %d", len(q.Scale), q.Axis, t.Shape[q.Axis])
			}
		}
	}
	return nil
}

// validateOp checks op's tensor references against the tensors computed
// so far (ready, updated with op's outputs) and, when full is set, its
// arity and options.
func (m *Model) validateOp(op *Operator, ready []bool, full bool) error {
	where := fmt.Sprintf("operator %d (%s)", op.Index, OpName(op.Op))
	fail := func(format string, args ...any) error {
		return &FormatError{Where: where, Reason: fmt.Sprintf(format, args...)}
	}
	spec := supportedOps[op.Op]
	if full {
		if len(op.Inputs) < spec.minIn || (spec.maxIn >= 0 && len(op.Inputs) > spec.maxIn) {
			return fail("%d inputs, want %d to %d", len(op.Inputs), spec.minIn, spec.maxIn)
		}
		if len(op.Outputs) != 1 {
			return fail("%d outputs, want 1", len(op.Outputs))
		}
	}
	for i, t := range op.Inputs {
		switch {
		case t == -1 && (!full || slices.Contains(spec.optional, i)):
			continue
		case t < 0 || t >= len(m.Tensors):
			return fail("input %d: tensor index %d out of range (%d tensors)", i, t, len(m.Tensors))
		case !ready[t]:
			return fail("input %d: tensor %d is used before it is computed", i, t)
		}
	}
	for i, t := range op.Outputs {
		switch {
		case t < 0 || t >= len(m.Tensors):
			return fail("output %d: tensor index %d out of range (%d tensors)", i, t, len(m.Tensors))
		case ready[t]:
			return fail("output %d: tensor %d is already a constant, input or earlier output", i, t)
		}
		ready[t] = true
	}
	if full {
		if err := m.validateOptions(op); err != nil {
			return fail("%v", err)
		}
	}
	return nil
}

func (m *Model) validateOptions(op *Operator) error {
	checkAct := func(a Activation) error {
		if a < ActNone || a > ActTanh {
			return fmt.Errorf("fused activation %d is not supported", a)
		}
		return nil
	}
	checkPad := func(p Padding) error {
		if p != PaddingSame && p != PaddingValid {
			return fmt.Errorf("padding %d is not SAME or VALID", p)
		}
		return nil
	}
	positive := func(what string, vs ...int) error {
		for _, v := range vs {
			if v < 1 {
				return fmt.Errorf("%s %d, want >= 1", what, v)
			}
		}
		return nil
	}
	out := m.Tensors[op.Outputs[0]]
	switch o := op.Options.(type) {
	case *Conv2DOptions:
		return firstErr(checkPad(o.Padding), checkAct(o.Activation),
			positive("stride", o.StrideW, o.StrideH), positive("dilation", o.DilationW, o.DilationH))
	case *DepthwiseConv2DOptions:
		return firstErr(checkPad(o.Padding), checkAct(o.Activation),
			positive("stride", o.StrideW, o.StrideH), positive("dilation", o.DilationW, o.DilationH))
	case *Pool2DOptions:
		return firstErr(checkPad(o.Padding), checkAct(o.Activation),
			positive("stride", o.StrideW, o.StrideH), positive("filter size", o.FilterWidth, o.FilterHeight))
	case *FullyConnectedOptions:
		return checkAct(o.Activation)
	case *AddOptions:
		return checkAct(o.Activation)
	case *MulOptions:
		return checkAct(o.Activation)
	case *ConcatenationOptions:
		if r := len(out.Shape); o.Axis < -r || o.Axis >= max(r, 1) {
			return fmt.Errorf("axis %d out of range for rank %d", o.Axis, r)
		}
		return checkAct(o.Activation)
	case *SoftmaxOptions:
		if b := float64(o.Beta); math.IsNaN(b) || math.IsInf(b, 0) {
			return fmt.Errorf("softmax beta %v is not finite", o.Beta)
		}
	case *SqueezeOptions:
		r := len(m.Tensors[op.Inputs[0]].Shape)
		for _, d := range o.SqueezeDims {
			if d < -r || d >= r {
				return fmt.Errorf("squeeze dim %d out of range for rank %d", d, r)
			}
		}
	}
	return nil
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
