package native

import (
	"encoding/binary"

	"github.com/alphad/alphad/pipeline/tflite"
)

// PAD for float32, uint8 and int8 (byte moves, so one kernel serves all):
// the output is filled with zero (float) or the output zero point
// (quantized), then the input rows are copied in.

func preparePad(p *plan, op *tflite.Operator) (runFunc, error) {
	if err := p.checkIO(op, 2, 1); err != nil {
		return nil, err
	}
	in, pads, out := op.Inputs[0], op.Inputs[1], op.Outputs[0]
	it, ot := p.tensor(in), p.tensor(out)
	if it.Type != ot.Type {
		return nil, p.unsupported(op, "input %s, output %s", it.Type, ot.Type)
	}
	var fill byte
	switch it.Type {
	case tflite.Float32:
	case tflite.Uint8, tflite.Int8:
		if !sameQuant(it.Quant, ot.Quant) {
			return nil, p.unsupported(op, "input and output quantization differ")
		}
		if ot.Quant != nil && len(ot.Quant.ZeroPoint) > 0 {
			fill = byte(ot.Quant.ZeroPoint[0])
		}
	default:
		return nil, p.unsupported(op, "%s input", it.Type)
	}
	rank := len(it.Shape)
	if rank > 4 || len(ot.Shape) != rank {
		return nil, p.unsupported(op, "rank %d", rank)
	}
	before, err := padAmounts(p, op, pads, rank)
	if err != nil {
		return nil, err
	}
	// Work in 4-D, left-padded with 1s.
	var is, os, bf [4]int
	is, os = pad4(it.Shape), pad4(ot.Shape)
	for d := 0; d < rank; d++ {
		bf[4-rank+d] = before[d]
		if before[d] < 0 || before[d]+it.Shape[d] > ot.Shape[d] {
			return nil, p.unsupported(op, "paddings do not match output shape %v", ot.Shape)
		}
	}
	k := &padKernel{src: p.bytes(in), dst: p.bytes(out), is: is, os: os, before: bf, esize: it.Type.Size(), fill: fill}
	// Split over output rows (the first two dimensions): each row is
	// filled, then its input pixels copied in.
	j := p.pool.newJob(os[0]*os[1], len(k.dst)/k.esize*elemWork, k.rows)
	return func() { p.pool.runJob(j) }, nil
}

// padAmounts reads the leading paddings of a constant [rank,2] int32/int64
// paddings tensor, checking the trailing ones against nothing (the output
// shape already says how big the result is).
func padAmounts(p *plan, op *tflite.Operator, pads, rank int) ([]int, error) {
	pt := p.tensor(pads)
	if !pt.IsConst() || len(pt.Shape) != 2 || pt.Shape[0] != rank || pt.Shape[1] != 2 {
		return nil, p.unsupported(op, "paddings must be a constant [%d,2] tensor", rank)
	}
	before := make([]int, rank)
	for d := range before {
		switch pt.Type {
		case tflite.Int32:
			before[d] = int(int32(binary.LittleEndian.Uint32(pt.Data[8*d:])))
		case tflite.Int64:
			before[d] = int(int64(binary.LittleEndian.Uint64(pt.Data[16*d:])))
		default:
			return nil, p.unsupported(op, "%s paddings", pt.Type)
		}
	}
	return before, nil
}

// sameQuant reports whether two tensors share quantization parameters.
func sameQuant(a, b *tflite.Quantization) bool {
	if a == nil || b == nil {
		return a == b
	}
	if len(a.Scale) != len(b.Scale) || len(a.ZeroPoint) != len(b.ZeroPoint) {
		return false
	}
	for i := range a.Scale {
		if a.Scale[i] != b.Scale[i] {
			return false
		}
	}
	for i := range a.ZeroPoint {
		if a.ZeroPoint[i] != b.ZeroPoint[i] {
			return false
		}
	}
	return true
}

type padKernel struct {
	src, dst       []byte
	is, os, before [4]int
	esize          int
	fill           byte
}

// rows writes output rows [r0,r1), row r being (r/os[1], r%os[1]) in the
// first two dimensions.
func (k *padKernel) rows(r0, r1 int) {
	rowOut := k.os[2] * k.os[3] * k.esize
	seg := k.is[3] * k.esize
	for r := r0; r < r1; r++ {
		dst := k.dst[r*rowOut : (r+1)*rowOut]
		if k.fill == 0 {
			clear(dst)
		} else {
			for i := range dst {
				dst[i] = k.fill
			}
		}
		i0, i1 := r/k.os[1]-k.before[0], r%k.os[1]-k.before[1]
		if i0 < 0 || i0 >= k.is[0] || i1 < 0 || i1 >= k.is[1] {
			continue
		}
		s := ((i0*k.is[1] + i1) * k.is[2]) * seg
		for i2 := 0; i2 < k.is[2]; i2++ {
			o := ((i2+k.before[2])*k.os[3] + k.before[3]) * k.esize
			copy(dst[o:o+seg], k.src[s:s+seg])
			s += seg
		}
	}
}
