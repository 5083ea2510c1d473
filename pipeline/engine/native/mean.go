package native

import (
	"encoding/binary"

	"github.com/alphad/alphad/pipeline/tflite"
)

// MEAN, float32: the average over a constant set of axes, with or without
// keep_dims. Works in 4-D: each input element adds into the output element
// its kept coordinates select, then the sums are divided by the count.

func prepareMean(p *plan, op *tflite.Operator) (runFunc, error) {
	if err := p.checkIO(op, 2, 1); err != nil {
		return nil, err
	}
	in, axesT, out := op.Inputs[0], op.Inputs[1], op.Outputs[0]
	if isQuant(p, in) {
		return prepareQuantMean(p, op)
	}
	for _, t := range []int{in, out} {
		if err := checkType(p, op, t, tflite.Float32); err != nil {
			return nil, err
		}
	}
	shape := p.tensor(in).Shape
	rank := len(shape)
	if rank > 4 {
		return nil, p.unsupported(op, "rank %d", rank)
	}
	reduce, err := reduceAxes(p, op, axesT, rank)
	if err != nil {
		return nil, err
	}
	is := pad4(shape)
	var os [4]int
	count := 1
	for d := 0; d < 4; d++ {
		os[d] = is[d]
		if r := d - (4 - rank); r >= 0 && reduce[r] {
			os[d] = 1
			count *= is[d]
		}
	}
	k := &meanKernel{src: p.f32(in), dst: p.f32(out), is: is, so: bstrides(os, is), inv: 1 / float32(count)}
	if p.tensor(out).NumElements() != os[0]*os[1]*os[2]*os[3] {
		return nil, p.unsupported(op, "output shape %v does not match reduced %v", p.tensor(out).Shape, os)
	}
	if k.so[1] == 0 && k.so[2] == 0 && k.so[3] == 1 {
		// A global pool: split over channel blocks.
		c := is[3]
		j := p.pool.newJob((c+poolBlock-1)/poolBlock, len(k.src)*elemWork, func(b0, b1 int) {
			k.global(b0*poolBlock, min(b1*poolBlock, c))
		})
		return func() { p.pool.runJob(j) }, nil
	}
	return k.run, nil
}

// reduceAxes reads a constant int32 axes tensor (negative axes count from
// the end) into a per-dimension mask.
func reduceAxes(p *plan, op *tflite.Operator, axesT, rank int) ([]bool, error) {
	at := p.tensor(axesT)
	if !at.IsConst() || at.Type != tflite.Int32 {
		return nil, p.unsupported(op, "axes must be a constant int32 tensor")
	}
	mask := make([]bool, rank)
	for i := 0; i < at.NumElements(); i++ {
		a := int(int32(binary.LittleEndian.Uint32(at.Data[4*i:])))
		if a < 0 {
			a += rank
		}
		if a < 0 || a >= rank {
			return nil, p.unsupported(op, "axis %d out of range for rank %d", a, rank)
		}
		mask[a] = true
	}
	return mask, nil
}

type meanKernel struct {
	src, dst []float32
	is, so   [4]int // input shape; output strides over the input shape
	inv      float32
}

func (k *meanKernel) run() {
	// Fast path: reduce over the middle two axes of NHWC (global pool).
	if k.so[1] == 0 && k.so[2] == 0 && k.so[3] == 1 {
		k.global(0, k.is[3])
		return
	}
	dst := k.dst
	clear(dst)
	s := 0
	for i0 := 0; i0 < k.is[0]; i0++ {
		for i1 := 0; i1 < k.is[1]; i1++ {
			for i2 := 0; i2 < k.is[2]; i2++ {
				for i3 := 0; i3 < k.is[3]; i3++ {
					dst[i0*k.so[0]+i1*k.so[1]+i2*k.so[2]+i3*k.so[3]] += k.src[s]
					s++
				}
			}
		}
	}
	for i := range dst {
		dst[i] *= k.inv
	}
}

// global is the fast path of a reduction over the middle two axes of NHWC
// (a global pool), for channels [c0,c1).
func (k *meanKernel) global(c0, c1 int) {
	c := k.is[3]
	for i0 := 0; i0 < k.is[0]; i0++ {
		o := k.dst[i0*k.so[0]+c0 : i0*k.so[0]+c1]
		sumWindow(o, k.src, i0*k.is[1]*k.is[2]*c+c0, 1, k.is[1]*k.is[2], 0, c)
		for i := range o {
			o[i] *= k.inv
		}
	}
}
