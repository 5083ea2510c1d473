package tflite

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"
)

// OpCount is one line of an op histogram.
type OpCount struct {
	Op      string // schema name, or the custom code
	Version int
	Count   int
}

func (c OpCount) String() string { return fmt.Sprintf("%s v%d", c.Op, c.Version) }

// OpHistogram counts the operators by op and version, most frequent first
// (ties by name, then version).
func (m *Model) OpHistogram() []OpCount {
	idx := map[OpCount]int{}
	var h []OpCount
	for _, op := range m.Operators {
		k := OpCount{Op: OpName(op.Op), Version: op.Version}
		if op.Op == OpCustom && op.CustomCode != "" {
			k.Op = op.CustomCode
		}
		i, ok := idx[k]
		if !ok {
			i = len(h)
			idx[k] = i
			h = append(h, k)
		}
		h[i].Count++
	}
	slices.SortFunc(h, func(a, b OpCount) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Op, b.Op), cmp.Compare(a.Version, b.Version))
	})
	return h
}

// CutAt returns the part of m that computes tensor: its only output is
// that tensor, the operators it does not depend on and the tensors they
// alone use are dropped, and tensors and operators are renumbered (keeping
// their order). Graph inputs it does not depend on are dropped too. The
// result shares constant Data and Options with m.
func (m *Model) CutAt(tensor int) (*Model, error) {
	if tensor < 0 || tensor >= len(m.Tensors) {
		return nil, fmt.Errorf("tflite: cut at tensor %d: out of range (%d tensors)", tensor, len(m.Tensors))
	}
	needed := make([]bool, len(m.Tensors))
	needed[tensor] = true
	keepOp := make([]bool, len(m.Operators))
	for i := len(m.Operators) - 1; i >= 0; i-- {
		op := m.Operators[i]
		if !slices.ContainsFunc(op.Outputs, func(t int) bool { return t >= 0 && t < len(needed) && needed[t] }) {
			continue
		}
		keepOp[i] = true
		for _, t := range op.Inputs {
			if t >= 0 && t < len(needed) {
				needed[t] = true
			}
		}
	}
	if !slices.Contains(keepOp, true) {
		return nil, fmt.Errorf("tflite: cut at tensor %d: no operator computes it", tensor)
	}
	// Keep every output of a kept operator, used or not.
	for i, op := range m.Operators {
		if keepOp[i] {
			for _, t := range op.Outputs {
				if t >= 0 && t < len(needed) {
					needed[t] = true
				}
			}
		}
	}

	renum := make([]int, len(m.Tensors))
	cut := &Model{Version: m.Version, Description: m.Description}
	for i, t := range m.Tensors {
		renum[i] = -1
		if !needed[i] {
			continue
		}
		renum[i] = len(cut.Tensors)
		c := *t
		c.Index = renum[i]
		c.Shape = slices.Clone(t.Shape)
		if t.Quant != nil {
			c.Quant = &Quantization{Scale: slices.Clone(t.Quant.Scale), ZeroPoint: slices.Clone(t.Quant.ZeroPoint), Axis: t.Quant.Axis}
		}
		cut.Tensors = append(cut.Tensors, &c)
	}
	mapAll := func(ts []int) []int {
		out := make([]int, len(ts))
		for i, t := range ts {
			out[i] = -1
			if t >= 0 && t < len(renum) {
				out[i] = renum[t]
			}
		}
		return out
	}
	for i, op := range m.Operators {
		if !keepOp[i] {
			continue
		}
		c := *op
		c.Index = len(cut.Operators)
		c.Inputs = mapAll(op.Inputs)
		c.Outputs = mapAll(op.Outputs)
		cut.Operators = append(cut.Operators, &c)
	}
	for _, t := range m.Inputs {
		if t >= 0 && t < len(needed) && needed[t] {
			cut.Inputs = append(cut.Inputs, renum[t])
		}
	}
	if len(cut.Inputs) == 0 {
		return nil, fmt.Errorf("tflite: cut at tensor %d: it does not depend on any graph input", tensor)
	}
	cut.Outputs = []int{renum[tensor]}
	return cut, nil
}

// FindGlobalPool finds the global average pool of an image classifier:
// the output of a MEAN over axes 1 and 2 of an NHWC tensor (Teachable
// Machine and TF2 exports), or of an AVERAGE_POOL_2D whose filter covers
// the whole input (Google's TF1 models). Cutting there (CutAt) turns the
// classifier into a feature extractor. When there are several, the last
// one in execution order wins. A RESHAPE or SQUEEZE after the pool is not
// part of the result: the tensor is the pool's own output.
func (m *Model) FindGlobalPool() (tensor int, ok bool) {
	for i := len(m.Operators) - 1; i >= 0; i-- {
		op := m.Operators[i]
		if len(op.Inputs) == 0 || len(op.Outputs) != 1 || !m.valid(op.Inputs[0]) || !m.valid(op.Outputs[0]) {
			continue
		}
		in := m.Tensors[op.Inputs[0]]
		if len(in.Shape) != 4 {
			continue
		}
		switch op.Op {
		case OpMean:
			if len(op.Inputs) == 2 && m.valid(op.Inputs[1]) && m.isSpatialAxes(m.Tensors[op.Inputs[1]]) {
				return op.Outputs[0], true
			}
		case OpAveragePool2D:
			o, isPool := op.Options.(*Pool2DOptions)
			if isPool && o.FilterHeight == in.Shape[1] && o.FilterWidth == in.Shape[2] {
				return op.Outputs[0], true
			}
		}
	}
	return -1, false
}

func (m *Model) valid(t int) bool { return t >= 0 && t < len(m.Tensors) }

// isSpatialAxes reports whether t is a constant int32 vector holding the
// axes 1 and 2 of a rank-4 tensor (in any order, possibly negative).
func (m *Model) isSpatialAxes(t *Tensor) bool {
	if t.Type != Int32 || len(t.Data) != 8 {
		return false
	}
	var seen [4]bool
	for i := range 2 {
		a := int(int32(binary.LittleEndian.Uint32(t.Data[4*i:])))
		if a < 0 {
			a += 4
		}
		if a < 0 || a > 3 {
			return false
		}
		seen[a] = true
	}
	return seen[1] && seen[2]
}
