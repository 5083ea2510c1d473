package native

import (
	"math"

	"github.com/alphad/alphad/pipeline/tflite"
)

// Elementwise binary ops (ADD, MUL) with NumPy broadcasting of up to four
// dimensions. Common cases take flat loops: equal shapes, a scalar operand,
// and a per-channel vector broadcast over the leading dimensions.

type binKind int

const (
	binAdd binKind = iota
	binMul
)

// binOp is a prepared broadcasting binary op.
type binOp struct {
	kind    binKind
	dst     []float32
	a, b    []float32
	shape   [4]int // output shape, left-padded with 1s
	sa, sb  [4]int // element strides of a and b (0 along broadcast dims)
	lo, hi  float32
	pattern int // 0 general, 1 same shape, 2 b scalar, 3 a scalar, 4 b per-row vector, 5 a per-row vector
}

func prepareBinary(p *plan, op *tflite.Operator, kind binKind, act tflite.Activation) (runFunc, error) {
	ia, ib, io := op.Inputs[0], op.Inputs[1], op.Outputs[0]
	for _, t := range []int{ia, ib, io} {
		if err := checkType(p, op, t, tflite.Float32); err != nil {
			return nil, err
		}
	}
	as, bs, os := p.tensor(ia).Shape, p.tensor(ib).Shape, p.tensor(io).Shape
	if len(as) > 4 || len(bs) > 4 || len(os) > 4 {
		return nil, p.unsupported(op, "more than 4 dimensions")
	}
	bin := &binOp{kind: kind, dst: p.f32(io), a: p.f32(ia), b: p.f32(ib)}
	var err error
	if bin.lo, bin.hi, err = actRange(p, op, act); err != nil {
		return nil, err
	}
	pa, pb, po := pad4(as), pad4(bs), pad4(os)
	for d := 0; d < 4; d++ {
		want := max(pa[d], pb[d])
		if (pa[d] != want && pa[d] != 1) || (pb[d] != want && pb[d] != 1) || po[d] != want {
			return nil, p.unsupported(op, "shapes %v and %v do not broadcast to %v", as, bs, os)
		}
	}
	bin.shape = po
	bin.sa, bin.sb = bstrides(pa, po), bstrides(pb, po)
	na, nb, no := len(bin.a), len(bin.b), len(bin.dst)
	last := po[3]
	switch {
	case na == no && nb == no:
		bin.pattern = 1
	case nb == 1 && na == no:
		bin.pattern = 2
	case na == 1 && nb == no:
		bin.pattern = 3
	case na == no && nb == last && pb[3] == last:
		bin.pattern = 4
	case nb == no && na == last && pa[3] == last:
		bin.pattern = 5
	}
	if bin.pattern == 1 {
		if run := bin.chainFlat(p, ia, ib); run != nil {
			return run, nil
		}
		// Same shapes: split the flat arrays over the pool in whole cache
		// lines, each chunk the same fraction of the tensor (not blocks of
		// elemBlock, which leave a short last chunk): thread t takes the
		// t-th share of the pixels, the rows the convolution before it
		// (cut by rows) wrote on the same thread.
		const line = 16 // float32s per 64-byte cache line
		fn := func(lo, hi int) {
			s, e := lo*line, min(hi*line, no)
			binFlat(bin.kind, bin.dst[s:e], bin.a[s:e], bin.b[s:e], bin.lo, bin.hi)
		}
		j := p.pool.newJob((no+line-1)/line, no*elemWork, fn)
		return func() { p.pool.runJob(j) }, nil
	}
	return bin.run, nil
}

func pad4(s []int) [4]int {
	r := [4]int{1, 1, 1, 1}
	copy(r[4-len(s):], s)
	return r
}

// bstrides gives the element strides of shape s read as shape out, zero
// along broadcast dimensions.
func bstrides(s, out [4]int) [4]int {
	var st [4]int
	n := 1
	for d := 3; d >= 0; d-- {
		if s[d] != 1 || out[d] == 1 {
			st[d] = n
		}
		n *= s[d]
	}
	return st
}

func (bin *binOp) run() {
	dst, a, b := bin.dst, bin.a, bin.b
	switch bin.pattern {
	case 1:
		binFlat(bin.kind, dst, a, b, bin.lo, bin.hi)
	case 2:
		binScalar(bin.kind, dst, a, b[0], bin.lo, bin.hi)
	case 3:
		binScalar(bin.kind, dst, b, a[0], bin.lo, bin.hi)
	case 4, 5:
		vec, full := b, a
		if bin.pattern == 5 {
			vec, full = a, b
		}
		n := len(vec)
		for i := 0; i+n <= len(dst); i += n {
			binFlat(bin.kind, dst[i:i+n], full[i:i+n], vec, bin.lo, bin.hi)
		}
	default:
		binRef(bin.kind, dst, a, b, bin.shape, bin.sa, bin.sb, bin.lo, bin.hi)
	}
}

func binFlat(kind binKind, dst, a, b []float32, lo, hi float32) {
	a, b = a[:len(dst)], b[:len(dst)]
	if kind == binAdd && math.IsInf(float64(lo), -1) && math.IsInf(float64(hi), 1) {
		// No activation (residual adds): no clamp, eight at a time with
		// addF32 where there is one, else four at a time.
		i := 0
		if n8 := len(dst) / 8 * 8; n8 > 0 && haveAddF32() {
			addF32(&dst[0], &a[0], &b[0], n8)
			i = n8
		}
		for ; i+4 <= len(dst); i += 4 {
			d, x, y := dst[i:i+4:i+4], a[i:i+4:i+4], b[i:i+4:i+4]
			d[0], d[1], d[2], d[3] = x[0]+y[0], x[1]+y[1], x[2]+y[2], x[3]+y[3]
		}
		for ; i < len(dst); i++ {
			dst[i] = a[i] + b[i]
		}
		return
	}
	if kind == binAdd {
		for i := range dst {
			dst[i] = min(max(a[i]+b[i], lo), hi)
		}
		return
	}
	for i := range dst {
		dst[i] = min(max(a[i]*b[i], lo), hi)
	}
}

func binScalar(kind binKind, dst, a []float32, s, lo, hi float32) {
	a = a[:len(dst)]
	if kind == binAdd {
		for i := range dst {
			dst[i] = min(max(a[i]+s, lo), hi)
		}
		return
	}
	for i := range dst {
		dst[i] = min(max(a[i]*s, lo), hi)
	}
}

// binRef is the general broadcasting loop (also the reference for the
// fast patterns).
func binRef(kind binKind, dst, a, b []float32, shape, sa, sb [4]int, lo, hi float32) {
	o := 0
	for i0 := 0; i0 < shape[0]; i0++ {
		for i1 := 0; i1 < shape[1]; i1++ {
			for i2 := 0; i2 < shape[2]; i2++ {
				for i3 := 0; i3 < shape[3]; i3++ {
					x := a[i0*sa[0]+i1*sa[1]+i2*sa[2]+i3*sa[3]]
					y := b[i0*sb[0]+i1*sb[1]+i2*sb[2]+i3*sb[3]]
					var v float32
					if kind == binAdd {
						v = x + y
					} else {
						v = x * y
					}
					dst[o] = min(max(v, lo), hi)
					o++
				}
			}
		}
	}
}
