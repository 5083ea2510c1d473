package native

import (
	"math"

	"github.com/alphad/alphad/pipeline/tflite"
)

// DEQUANTIZE: uint8/int8 → float32 as scale·(q − zero_point) (per tensor,
// or per channel along the quantized axis), and float16 → float32.
func prepareDequantize(p *plan, op *tflite.Operator) (runFunc, error) {
	if err := p.checkIO(op, 1, 1); err != nil {
		return nil, err
	}
	in, out := op.Inputs[0], op.Outputs[0]
	it := p.tensor(in)
	if err := checkType(p, op, out, tflite.Float32); err != nil {
		return nil, err
	}
	if it.NumElements() != p.tensor(out).NumElements() {
		return nil, p.unsupported(op, "input shape %v, output shape %v", it.Shape, p.tensor(out).Shape)
	}
	dst := p.f32(out)
	src := p.bytes(in)
	switch it.Type {
	case tflite.Float16:
		return func() {
			for i := range dst {
				dst[i] = halfToFloat(uint16(src[2*i]) | uint16(src[2*i+1])<<8)
			}
		}, nil
	case tflite.Uint8, tflite.Int8:
	default:
		return nil, p.unsupported(op, "%s input", it.Type)
	}
	scales, zps, inner, err := affine(p, op, in)
	if err != nil {
		return nil, err
	}
	signed := it.Type == tflite.Int8
	return func() { dequantize(dst, src, signed, scales, zps, inner) }, nil
}

// affine returns the per-channel scales and zero points of tensor t (one
// entry for per-tensor quantization) and the number of consecutive
// elements that share a channel.
func affine(p *plan, op *tflite.Operator, t int) (scales []float64, zps []int32, inner int, err error) {
	q := p.tensor(t).Quant
	if q == nil || len(q.Scale) == 0 {
		return nil, nil, 0, p.unsupported(op, "tensor %d has no quantization parameters", t)
	}
	for i, s := range q.Scale {
		scales = append(scales, float64(s))
		zp := int64(0)
		if i < len(q.ZeroPoint) {
			zp = q.ZeroPoint[i]
		}
		zps = append(zps, int32(zp))
	}
	inner = p.tensor(t).NumElements()
	if len(scales) > 1 {
		shape := p.tensor(t).Shape
		if q.Axis < 0 || q.Axis >= len(shape) || shape[q.Axis] != len(scales) {
			return nil, nil, 0, p.unsupported(op, "tensor %d: %d scales for axis %d of %v", t, len(scales), q.Axis, shape)
		}
		inner = 1
		for _, d := range shape[q.Axis+1:] {
			inner *= d
		}
	}
	return scales, zps, inner, nil
}

// dequantize is the kernel: element i uses channel (i/inner) mod
// len(scales).
func dequantize(dst []float32, src []byte, signed bool, scales []float64, zps []int32, inner int) {
	src = src[:len(dst)]
	if len(scales) == 1 {
		s, zp := scales[0], zps[0]
		for i, b := range src {
			q := int32(b)
			if signed {
				q = int32(int8(b))
			}
			dst[i] = float32(s * float64(q-zp))
		}
		return
	}
	for i, b := range src {
		ch := (i / inner) % len(scales)
		q := int32(b)
		if signed {
			q = int32(int8(b))
		}
		dst[i] = float32(scales[ch] * float64(q-zps[ch]))
	}
}

// halfToFloat converts an IEEE 754 binary16 value.
func halfToFloat(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	man := uint32(h) & 0x3ff
	switch {
	case exp == 0 && man == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal
		f := float32(man) / 1024 / 16384
		if sign != 0 {
			f = -f
		}
		return f
	case exp == 0x1f:
		return math.Float32frombits(sign | 0xff<<23 | man<<13)
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | man<<13)
}
