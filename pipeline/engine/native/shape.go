package native

import (
	"math"
	"slices"

	"github.com/alphad/alphad/pipeline/tflite"
)

// Shape and option helpers shared by the kernels.

// actRange is the clamp interval of a fused activation.
func actRange(p *plan, op *tflite.Operator, act tflite.Activation) (lo, hi float32, err error) {
	inf := float32(math.Inf(1))
	switch act {
	case tflite.ActNone:
		return -inf, inf, nil
	case tflite.ActRelu:
		return 0, inf, nil
	case tflite.ActRelu6:
		return 0, 6, nil
	case tflite.ActReluN1To1:
		return -1, 1, nil
	}
	return 0, 0, p.unsupported(op, "fused activation %d", act)
}

// window is the geometry of one spatial axis of a convolution or pool.
type window struct {
	in, out, filter, stride, dilation, pad int
}

// newWindow computes output size and leading padding as TFLite does.
func newWindow(in, filter, stride, dilation int, padding tflite.Padding) window {
	stride, dilation = max(stride, 1), max(dilation, 1)
	eff := (filter-1)*dilation + 1
	w := window{in: in, filter: filter, stride: stride, dilation: dilation}
	if padding == tflite.PaddingSame {
		w.out = (in + stride - 1) / stride
		w.pad = max((w.out-1)*stride+eff-in, 0) / 2
	} else {
		w.out = (in - eff + stride) / stride
	}
	return w
}

// checkShape reports whether tensor t has exactly shape want.
func checkShape(p *plan, op *tflite.Operator, t int, want ...int) error {
	if !slices.Equal(p.tensor(t).Shape, want) {
		return p.unsupported(op, "tensor %d (%s) has shape %v, want %v", t, p.tensor(t).Name, p.tensor(t).Shape, want)
	}
	return nil
}

// checkType reports whether tensor t has type want.
func checkType(p *plan, op *tflite.Operator, t int, want tflite.TensorType) error {
	if got := p.tensor(t).Type; got != want {
		return p.unsupported(op, "tensor %d (%s) is %s, want %s", t, p.tensor(t).Name, got, want)
	}
	return nil
}

// isQuant reports whether tensor t holds uint8 or int8 values.
func isQuant(p *plan, t int) bool {
	ty := p.tensor(t).Type
	return ty == tflite.Uint8 || ty == tflite.Int8
}

// nhwc returns the four dimensions of a 4-D tensor, or ok=false.
func nhwc(p *plan, t int) (n, h, w, c int, ok bool) {
	s := p.tensor(t).Shape
	if len(s) != 4 {
		return 0, 0, 0, 0, false
	}
	return s[0], s[1], s[2], s[3], true
}

// floatBias returns the n float32s of bias input idx of op, or zeros when
// the input is omitted.
func floatBias(p *plan, op *tflite.Operator, idx, n int) ([]float32, error) {
	b := alignedF32(n)
	if idx >= len(op.Inputs) || op.Inputs[idx] < 0 {
		return b, nil
	}
	t := op.Inputs[idx]
	if err := checkType(p, op, t, tflite.Float32); err != nil {
		return nil, err
	}
	if p.tensor(t).NumElements() != n || !p.tensor(t).IsConst() {
		return nil, p.unsupported(op, "bias tensor %d must be %d constant values", t, n)
	}
	copy(b, p.f32(t))
	return b, nil
}
