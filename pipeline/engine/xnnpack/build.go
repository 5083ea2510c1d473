//go:build xnnpack && cgo

package xnnpack

import (
	"encoding/binary"
	"fmt"
	"math"
	"unsafe"

	"github.com/alphad/alphad/pipeline/tflite"
)

// builder maps a model onto a subgraph. Every activation is a float32 value
// holding real numbers; quantized tensors are fake-quantized after the node
// that produces them, and constants are dequantized into C memory.
type builder struct {
	m     *tflite.Model
	sg    *subgraph
	alloc func(int) ([]byte, error)

	ids      []uint32          // tensor → value id, invalidID until defined
	canon    []int             // tensor → tensor it aliases (QUANTIZE/DEQUANTIZE), or itself
	consts   map[int][]float32 // DEQUANTIZE outputs of constants
	pads     map[int]padFold   // PAD outputs folded into their only consumer
	extOut   map[int]uint32    // canonical tensor → external float output id
	uses     []int             // consumers of each canonical tensor (model outputs count)
	consumer []int             // the last operator reading each canonical tensor
}

// padFold is a PAD whose zero padding moves into the convolution after it.
type padFold struct {
	src                      int
	top, bottom, left, right int
}

func newBuilder(m *tflite.Model, sg *subgraph, alloc func(int) ([]byte, error)) *builder {
	n := len(m.Tensors)
	b := &builder{
		m: m, sg: sg, alloc: alloc,
		ids:      make([]uint32, n),
		canon:    make([]int, n),
		consts:   map[int][]float32{},
		pads:     map[int]padFold{},
		extOut:   map[int]uint32{},
		uses:     make([]int, n),
		consumer: make([]int, n),
	}
	for i := range b.ids {
		b.ids[i] = invalidID
		b.canon[i] = i
		b.consumer[i] = -1
	}
	return b
}

// isAlias reports whether op only changes the representation of a real
// tensor (QUANTIZE/DEQUANTIZE of an activation), which float emulation
// makes a no-op.
func (b *builder) isAlias(op *tflite.Operator) bool {
	if op.Op != tflite.OpQuantize && op.Op != tflite.OpDequantize {
		return false
	}
	in := op.Inputs[0]
	return !b.m.Tensors[in].IsConst() && b.consts[b.canon[in]] == nil
}

func (b *builder) build() error {
	m := b.m
	for _, op := range m.Operators {
		if op.Op != tflite.OpQuantize && op.Op != tflite.OpDequantize {
			continue
		}
		if len(op.Inputs) != 1 || len(op.Outputs) != 1 || op.Inputs[0] < 0 {
			return unsupported(op, "expected one input and one output")
		}
		if b.isAlias(op) {
			b.canon[op.Outputs[0]] = b.canon[op.Inputs[0]]
			continue
		}
		f, err := b.constFloats(b.canon[op.Inputs[0]])
		if err != nil {
			return unsupported(op, err.Error())
		}
		b.consts[op.Outputs[0]] = f
	}
	for _, op := range m.Operators {
		if op.Op == tflite.OpQuantize || op.Op == tflite.OpDequantize {
			continue
		}
		for _, in := range op.Inputs {
			if in >= 0 {
				c := b.canon[in]
				b.uses[c]++
				b.consumer[c] = op.Index
			}
		}
	}

	for i, ti := range m.Inputs {
		if err := b.defineInput(i, ti); err != nil {
			return err
		}
	}
	for i, ti := range m.Outputs {
		t, c := m.Tensors[ti], b.canon[ti]
		b.uses[c]++
		if t.Type == tflite.Float32 {
			if _, dup := b.extOut[c]; dup {
				return fmt.Errorf("output %d (%s): the same tensor is output twice", i, t.Name)
			}
			b.extOut[c] = uint32(len(m.Inputs) + i)
		} else if err := checkIO(t); err != nil {
			return fmt.Errorf("output %d: %w", i, err)
		}
	}

	for _, op := range m.Operators {
		if err := b.operator(op); err != nil {
			return err
		}
	}

	for i, ti := range m.Outputs {
		t, c := m.Tensors[ti], b.canon[ti]
		src := b.ids[c]
		ext := uint32(len(m.Inputs) + i)
		if src == invalidID || (c < len(b.ids) && b.isInput(c)) {
			return fmt.Errorf("output %d (%s): not computed by any operator", i, t.Name)
		}
		if t.Type == tflite.Float32 {
			continue // the producing node writes the external value
		}
		q, err := b.sg.quantTensor(qtype(t), int32(t.Quant.ZeroPoint[0]), t.Quant.Scale[0], t.Shape, ext, flagExternalOutput)
		if err != nil {
			return fmt.Errorf("output %d (%s): %w", i, t.Name, err)
		}
		if err := b.sg.convert(src, q); err != nil {
			return fmt.Errorf("output %d (%s): %w", i, t.Name, err)
		}
	}
	return nil
}

func (b *builder) isInput(ti int) bool {
	for _, in := range b.m.Inputs {
		if in == ti {
			return true
		}
	}
	return false
}

// checkIO accepts float32 or per-tensor quantized uint8/int8 graph edges.
func checkIO(t *tflite.Tensor) error {
	switch {
	case t.Type == tflite.Float32:
		return nil
	case (t.Type == tflite.Uint8 || t.Type == tflite.Int8) && quantized(t):
		return nil
	}
	return fmt.Errorf("tensor %d (%s): type %s is not float32 or per-tensor quantized uint8/int8", t.Index, t.Name, t.Type)
}

// defineInput defines model input i as external value i, converted to
// float when it is quantized.
func (b *builder) defineInput(i, ti int) error {
	t := b.m.Tensors[ti]
	if err := checkIO(t); err != nil {
		return fmt.Errorf("input %d: %w", i, err)
	}
	if t.Type == tflite.Float32 {
		id, err := b.sg.tensor(t.Shape, nil, uint32(i), flagExternalInput)
		if err != nil {
			return fmt.Errorf("input %d (%s): %w", i, t.Name, err)
		}
		b.ids[ti] = id
		return nil
	}
	q, err := b.sg.quantTensor(qtype(t), int32(t.Quant.ZeroPoint[0]), t.Quant.Scale[0], t.Shape, uint32(i), flagExternalInput)
	if err != nil {
		return fmt.Errorf("input %d (%s): %w", i, t.Name, err)
	}
	f, err := b.sg.tensor(t.Shape, nil, invalidID, 0)
	if err == nil {
		err = b.sg.convert(q, f)
	}
	if err != nil {
		return fmt.Errorf("input %d (%s): %w", i, t.Name, err)
	}
	b.ids[ti] = f
	return nil
}

// quantized reports a per-tensor quantized tensor.
func quantized(t *tflite.Tensor) bool {
	return t.Quant != nil && len(t.Quant.Scale) == 1 && len(t.Quant.ZeroPoint) == 1
}

func qtype(t *tflite.Tensor) dtype {
	if t.Type == tflite.Int8 {
		return qint8
	}
	return quint8
}

// fakeQuant reports whether activation t is rounded to a uint8/int8 grid.
func fakeQuant(t *tflite.Tensor) bool {
	return (t.Type == tflite.Uint8 || t.Type == tflite.Int8) && quantized(t)
}

// value is the value id of tensor ti, defining constants on first use.
func (b *builder) value(ti int) (uint32, error) {
	c := b.canon[ti]
	if id := b.ids[c]; id != invalidID {
		return id, nil
	}
	t := b.m.Tensors[c]
	if !t.IsConst() && b.consts[c] == nil {
		return invalidID, fmt.Errorf("tensor %d (%s) is read before it is computed", t.Index, t.Name)
	}
	f, err := b.constFloats(c)
	if err != nil {
		return invalidID, err
	}
	id, err := b.constant(t.Shape, f)
	if err != nil {
		return invalidID, fmt.Errorf("tensor %d (%s): %w", t.Index, t.Name, err)
	}
	b.ids[c] = id
	return id, nil
}

// constant copies f into C memory and defines a static value over it.
func (b *builder) constant(shape []int, f []float32) (uint32, error) {
	buf, err := b.alloc(4 * len(f))
	if err != nil {
		return invalidID, err
	}
	if len(f) > 0 {
		copy(unsafe.Slice((*float32)(unsafe.Pointer(&buf[0])), len(f)), f)
	}
	return b.sg.tensor(shape, unsafe.Pointer(&buf[0]), invalidID, 0)
}

// constFloats dequantizes a constant tensor to real numbers.
func (b *builder) constFloats(ti int) ([]float32, error) {
	if f, ok := b.consts[ti]; ok {
		return f, nil
	}
	t := b.m.Tensors[ti]
	if !t.IsConst() {
		return nil, fmt.Errorf("tensor %d (%s) is not constant", t.Index, t.Name)
	}
	n := t.NumElements()
	out := make([]float32, n)
	d := t.Data
	switch t.Type {
	case tflite.Float32:
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(d[4*i:]))
		}
		return out, nil
	case tflite.Float16:
		for i := range out {
			out[i] = halfToFloat(binary.LittleEndian.Uint16(d[2*i:]))
		}
		return out, nil
	case tflite.Uint8, tflite.Int8, tflite.Int32:
	default:
		return nil, fmt.Errorf("tensor %d (%s): constant of type %s", t.Index, t.Name, t.Type)
	}
	q := t.Quant
	if q == nil || len(q.Scale) == 0 || len(q.ZeroPoint) == 0 {
		return nil, fmt.Errorf("tensor %d (%s): %s constant without quantization", t.Index, t.Name, t.Type)
	}
	// Channel c of element i along Axis: (i / inner) % dim.
	inner, dim := 1, 1
	if len(q.Scale) > 1 {
		if q.Axis < 0 || q.Axis >= len(t.Shape) || t.Shape[q.Axis] != len(q.Scale) || len(q.ZeroPoint) != len(q.Scale) {
			return nil, fmt.Errorf("tensor %d (%s): %d scales do not match axis %d of shape %v", t.Index, t.Name, len(q.Scale), q.Axis, t.Shape)
		}
		dim = len(q.Scale)
		for _, s := range t.Shape[q.Axis+1:] {
			inner *= s
		}
	}
	for i := range out {
		c := (i / inner) % dim
		var v int64
		switch t.Type {
		case tflite.Uint8:
			v = int64(d[i])
		case tflite.Int8:
			v = int64(int8(d[i]))
		case tflite.Int32:
			v = int64(int32(binary.LittleEndian.Uint32(d[4*i:])))
		}
		out[i] = q.Scale[c] * float32(v-q.ZeroPoint[c])
	}
	return out, nil
}

// halfToFloat converts an IEEE 754 binary16 to float32.
func halfToFloat(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // inf, nan
		return math.Float32frombits(sign | 0xff<<23 | frac<<13)
	case exp == 0 && frac == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal
		f := float32(frac) / (1 << 24)
		if sign != 0 {
			return -f
		}
		return f
	}
	return math.Float32frombits(sign | (exp+112)<<23 | frac<<13)
}

// ints reads a constant int32 or int64 tensor (axes, paddings).
func (b *builder) ints(ti int) ([]int, error) {
	t := b.m.Tensors[ti]
	if !t.IsConst() {
		return nil, fmt.Errorf("tensor %d (%s) must be constant", t.Index, t.Name)
	}
	v := make([]int, t.NumElements())
	for i := range v {
		switch t.Type {
		case tflite.Int32:
			v[i] = int(int32(binary.LittleEndian.Uint32(t.Data[4*i:])))
		case tflite.Int64:
			v[i] = int(int64(binary.LittleEndian.Uint64(t.Data[8*i:])))
		default:
			return nil, fmt.Errorf("tensor %d (%s): type %s, want int32 or int64", t.Index, t.Name, t.Type)
		}
	}
	return v, nil
}

// produce defines the value an operator writes tensor ti into: the external
// output when ti is a float model output and needs no rounding.
func (b *builder) produce(ti int) (uint32, error) {
	t := b.m.Tensors[ti]
	if t.Type != tflite.Float32 && !fakeQuant(t) {
		return invalidID, fmt.Errorf("tensor %d (%s): activation type %s", t.Index, t.Name, t.Type)
	}
	ext, isExt := b.extOut[ti]
	var id uint32
	var err error
	if isExt && !fakeQuant(t) {
		id, err = b.sg.tensor(t.Shape, nil, ext, flagExternalOutput)
	} else {
		id, err = b.sg.tensor(t.Shape, nil, invalidID, 0)
	}
	if err != nil {
		return invalidID, fmt.Errorf("tensor %d (%s): %w", t.Index, t.Name, err)
	}
	b.ids[ti] = id
	return id, nil
}

// settle rounds a freshly computed quantized tensor to its grid, as TFLite's
// integer kernels do when they requantize their output.
func (b *builder) settle(ti int) error {
	t := b.m.Tensors[ti]
	if !fakeQuant(t) {
		return nil
	}
	return b.requantize(ti)
}

// settleCopy is settle for ops that move values without changing them
// (reshape, pad, max pool): rounding is a no-op when in has the same grid.
func (b *builder) settleCopy(ti, in int) error {
	t, u := b.m.Tensors[ti], b.m.Tensors[b.canon[in]]
	_, ext := b.extOut[ti] // a float model output is written by settle's convert
	if !ext && fakeQuant(t) && fakeQuant(u) && t.Type == u.Type &&
		t.Quant.Scale[0] == u.Quant.Scale[0] && t.Quant.ZeroPoint[0] == u.Quant.ZeroPoint[0] {
		return nil
	}
	return b.settle(ti)
}

func (b *builder) requantize(ti int) error {
	t := b.m.Tensors[ti]
	q, err := b.sg.quantTensor(qtype(t), int32(t.Quant.ZeroPoint[0]), t.Quant.Scale[0], t.Shape, invalidID, 0)
	if err == nil {
		err = b.sg.convert(b.ids[ti], q)
	}
	var f uint32
	if err == nil {
		if ext, ok := b.extOut[ti]; ok {
			f, err = b.sg.tensor(t.Shape, nil, ext, flagExternalOutput)
		} else {
			f, err = b.sg.tensor(t.Shape, nil, invalidID, 0)
		}
	}
	if err == nil {
		err = b.sg.convert(q, f)
	}
	if err != nil {
		return fmt.Errorf("tensor %d (%s): requantize: %w", t.Index, t.Name, err)
	}
	b.ids[ti] = f
	return nil
}

// clampRange is the output range of a node writing ti with activation a:
// the activation's range, narrowed to what ti's quantized type can hold.
func (b *builder) clampRange(ti int, a tflite.Activation) (outRange, error) {
	inf := float32(math.Inf(1))
	r := outRange{-inf, inf}
	switch a {
	case tflite.ActNone:
	case tflite.ActRelu:
		r.min = 0
	case tflite.ActRelu6:
		r = outRange{0, 6}
	case tflite.ActReluN1To1:
		r = outRange{-1, 1}
	default:
		return r, fmt.Errorf("fused activation %d is not supported", a)
	}
	t := b.m.Tensors[ti]
	if fakeQuant(t) {
		lo, hi := 0, 255
		if t.Type == tflite.Int8 {
			lo, hi = -128, 127
		}
		s, zp := t.Quant.Scale[0], int(t.Quant.ZeroPoint[0])
		r.min = max(r.min, s*float32(lo-zp))
		r.max = min(r.max, s*float32(hi-zp))
	}
	if !(r.min < r.max) {
		return r, fmt.Errorf("empty output range [%g, %g]", r.min, r.max)
	}
	return r, nil
}

func unsupported(op *tflite.Operator, reason string) error {
	return &tflite.UnsupportedOpError{Op: op.Op.String(), Version: op.Version, Index: op.Index, Reason: reason}
}

// operator maps one TFLite operator onto nodes.
func (b *builder) operator(op *tflite.Operator) error {
	if len(op.Outputs) != 1 {
		return unsupported(op, fmt.Sprintf("%d outputs", len(op.Outputs)))
	}
	var err error
	switch op.Op {
	case tflite.OpQuantize, tflite.OpDequantize:
		return nil // aliases and folded constants, see build
	case tflite.OpConv2D:
		err = b.conv2D(op)
	case tflite.OpDepthwiseConv2D:
		err = b.depthwise(op)
	case tflite.OpPad:
		err = b.pad(op)
	case tflite.OpAdd, tflite.OpMul:
		err = b.binary(op)
	case tflite.OpMean:
		err = b.mean(op)
	case tflite.OpAveragePool2D, tflite.OpMaxPool2D:
		err = b.pool(op)
	case tflite.OpFullyConnected:
		err = b.fullyConnected(op)
	case tflite.OpSoftmax:
		err = b.softmax(op)
	case tflite.OpLogistic, tflite.OpHardSwish, tflite.OpRelu, tflite.OpRelu6:
		err = b.unary(op)
	case tflite.OpReshape, tflite.OpSqueeze:
		err = b.reshape(op)
	case tflite.OpConcatenation:
		return unsupported(op, "the bookworm XNNPACK API (0.0~git20220216) has no concatenation node")
	default:
		return unsupported(op, "no XNNPACK mapping")
	}
	if err != nil {
		return unsupported(op, err.Error())
	}
	return nil
}

// input returns op.Inputs[i], or -1 when absent.
func input(op *tflite.Operator, i int) int {
	if i < len(op.Inputs) {
		return op.Inputs[i]
	}
	return -1
}

// samePadding is TFLite's SAME padding for one spatial dimension.
func samePadding(in, kernel, stride, dilation int) (before, after int) {
	out := (in + stride - 1) / stride
	eff := (kernel-1)*dilation + 1
	total := max((out-1)*stride+eff-in, 0)
	return total / 2, total - total/2
}

// convWindow computes the geometry of a convolution reading tensor in,
// folding a preceding PAD; src is the tensor actually read.
func (b *builder) convWindow(in int, pad tflite.Padding, kh, kw, sh, sw, dh, dw int) (window, int, error) {
	w := window{kernelH: kh, kernelW: kw, strideH: max(sh, 1), strideW: max(sw, 1), dilationH: max(dh, 1), dilationW: max(dw, 1)}
	t := b.m.Tensors[in]
	if len(t.Shape) != 4 {
		return w, 0, fmt.Errorf("input shape %v is not NHWC", t.Shape)
	}
	switch pad {
	case tflite.PaddingSame:
		w.padTop, w.padBottom = samePadding(t.Shape[1], kh, w.strideH, w.dilationH)
		w.padLeft, w.padRight = samePadding(t.Shape[2], kw, w.strideW, w.dilationW)
	case tflite.PaddingValid:
	default:
		return w, 0, fmt.Errorf("padding %d", pad)
	}
	src := in
	if f, ok := b.pads[b.canon[in]]; ok {
		src = f.src
		w.padTop += f.top
		w.padBottom += f.bottom
		w.padLeft += f.left
		w.padRight += f.right
	}
	return w, src, nil
}

func (b *builder) conv2D(op *tflite.Operator) error {
	o, ok := op.Options.(*tflite.Conv2DOptions)
	if !ok || len(op.Inputs) < 2 {
		return fmt.Errorf("malformed operator")
	}
	in, filter, bias, out := op.Inputs[0], op.Inputs[1], input(op, 2), op.Outputs[0]
	ft := b.m.Tensors[filter]
	if len(ft.Shape) != 4 {
		return fmt.Errorf("filter shape %v, want [O,KH,KW,I]", ft.Shape)
	}
	oc, kh, kw, ic := ft.Shape[0], ft.Shape[1], ft.Shape[2], ft.Shape[3]
	w, src, err := b.convWindow(in, o.Padding, kh, kw, o.StrideH, o.StrideW, o.DilationH, o.DilationW)
	if err != nil {
		return err
	}
	c := b.m.Tensors[in].Shape[3]
	if ic == 0 || c%ic != 0 || oc%(c/ic) != 0 {
		return fmt.Errorf("input channels %d do not split into groups of %d", c, ic)
	}
	groups := c / ic
	r, err := b.clampRange(out, o.Activation)
	if err != nil {
		return err
	}
	x, err := b.value(src)
	if err != nil {
		return err
	}
	f, err := b.weights(filter)
	if err != nil {
		return err
	}
	var bid uint32
	if bias >= 0 {
		bid, err = b.weights(bias)
	} else {
		bid, err = b.constant([]int{oc}, make([]float32, oc))
	}
	if err != nil {
		return err
	}
	y, err := b.produce(out)
	if err != nil {
		return err
	}
	if err := b.sg.conv2d(w, groups, ic, oc/groups, r, x, f, bid, y); err != nil {
		return err
	}
	return b.settle(out)
}

// weights is the value of a constant operand (filter or bias).
func (b *builder) weights(ti int) (uint32, error) {
	c := b.canon[ti]
	if !b.m.Tensors[c].IsConst() && b.consts[c] == nil {
		return invalidID, fmt.Errorf("tensor %d (%s): weights must be constant", ti, b.m.Tensors[ti].Name)
	}
	return b.value(ti)
}

func (b *builder) depthwise(op *tflite.Operator) error {
	o, ok := op.Options.(*tflite.DepthwiseConv2DOptions)
	if !ok || len(op.Inputs) < 2 {
		return fmt.Errorf("malformed operator")
	}
	in, filter, bias, out := op.Inputs[0], op.Inputs[1], input(op, 2), op.Outputs[0]
	ft := b.m.Tensors[filter]
	if len(ft.Shape) != 4 || ft.Shape[0] != 1 {
		return fmt.Errorf("filter shape %v, want [1,KH,KW,C·M]", ft.Shape)
	}
	kh, kw, oc := ft.Shape[1], ft.Shape[2], ft.Shape[3]
	w, src, err := b.convWindow(in, o.Padding, kh, kw, o.StrideH, o.StrideW, o.DilationH, o.DilationW)
	if err != nil {
		return err
	}
	c := b.m.Tensors[in].Shape[3]
	if c == 0 || oc%c != 0 {
		return fmt.Errorf("%d output channels are not a multiple of %d input channels", oc, c)
	}
	r, err := b.clampRange(out, o.Activation)
	if err != nil {
		return err
	}
	x, err := b.value(src)
	if err != nil {
		return err
	}
	f, err := b.weights(filter)
	if err != nil {
		return err
	}
	bid := invalidID
	if bias >= 0 {
		if bid, err = b.weights(bias); err != nil {
			return err
		}
	}
	y, err := b.produce(out)
	if err != nil {
		return err
	}
	if err := b.sg.depthwise(w, oc/c, c, r, x, f, bid, y); err != nil {
		return err
	}
	return b.settle(out)
}

// pad folds a spatial zero PAD into the convolution that alone reads it, or
// else defines a constant pad node. Real zero is the zero point, so
// quantized pads are zero too.
func (b *builder) pad(op *tflite.Operator) error {
	if len(op.Inputs) < 2 {
		return fmt.Errorf("malformed operator")
	}
	in, out := op.Inputs[0], op.Outputs[0]
	p, err := b.ints(op.Inputs[1])
	if err != nil {
		return err
	}
	rank := len(b.m.Tensors[in].Shape)
	if len(p) != 2*rank {
		return fmt.Errorf("%d paddings for rank %d", len(p), rank)
	}
	pre, post := make([]int, rank), make([]int, rank)
	for i := range rank {
		pre[i], post[i] = p[2*i], p[2*i+1]
		if pre[i] < 0 || post[i] < 0 {
			return fmt.Errorf("negative padding %v", p)
		}
	}
	if rank == 4 && pre[0] == 0 && post[0] == 0 && pre[3] == 0 && post[3] == 0 && b.uses[out] == 1 {
		if c := b.consumer[out]; c > op.Index {
			next := b.m.Operators[c]
			if (next.Op == tflite.OpConv2D || next.Op == tflite.OpDepthwiseConv2D) && b.canon[next.Inputs[0]] == out {
				b.pads[out] = padFold{src: in, top: pre[1], bottom: post[1], left: pre[2], right: post[2]}
				return nil
			}
		}
	}
	x, err := b.value(in)
	if err != nil {
		return err
	}
	y, err := b.produce(out)
	if err != nil {
		return err
	}
	if err := b.sg.pad(pre, post, 0, x, y); err != nil {
		return err
	}
	return b.settleCopy(out, in)
}

func (b *builder) binary(op *tflite.Operator) error {
	if len(op.Inputs) != 2 {
		return fmt.Errorf("malformed operator")
	}
	var act tflite.Activation
	switch o := op.Options.(type) {
	case *tflite.AddOptions:
		act = o.Activation
	case *tflite.MulOptions:
		act = o.Activation
	}
	out := op.Outputs[0]
	r, err := b.clampRange(out, act)
	if err != nil {
		return err
	}
	x, err := b.value(op.Inputs[0])
	if err != nil {
		return err
	}
	z, err := b.value(op.Inputs[1])
	if err != nil {
		return err
	}
	y, err := b.produce(out)
	if err != nil {
		return err
	}
	if op.Op == tflite.OpMul {
		err = b.sg.multiply(r, x, z, y)
	} else {
		err = b.sg.add(r, x, z, y)
	}
	if err != nil {
		return err
	}
	return b.settle(out)
}

// mean supports the global average over H and W of an NHWC tensor.
func (b *builder) mean(op *tflite.Operator) error {
	if len(op.Inputs) != 2 {
		return fmt.Errorf("malformed operator")
	}
	in, out := op.Inputs[0], op.Outputs[0]
	shape := b.m.Tensors[in].Shape
	axes, err := b.ints(op.Inputs[1])
	if err != nil {
		return err
	}
	hw := [4]bool{}
	for _, a := range axes {
		if a < 0 {
			a += len(shape)
		}
		if a < 0 || a >= len(shape) {
			return fmt.Errorf("axis %d out of range", a)
		}
		hw[a] = true
	}
	if len(shape) != 4 || !hw[1] || !hw[2] || hw[0] || hw[3] {
		return fmt.Errorf("only the mean over H,W of an NHWC tensor maps to XNNPACK (axes %v, shape %v)", axes, shape)
	}
	return b.globalPool(in, out, tflite.ActNone)
}

// globalPool averages NHWC in over H,W into out ([N,1,1,C] or [N,C]).
func (b *builder) globalPool(in, out int, act tflite.Activation) error {
	shape := b.m.Tensors[in].Shape
	r, err := b.clampRange(out, act)
	if err != nil {
		return err
	}
	x, err := b.value(in)
	if err != nil {
		return err
	}
	y, err := b.produce(out)
	if err != nil {
		return err
	}
	pooled := []int{shape[0], 1, 1, shape[3]}
	if len(b.m.Tensors[out].Shape) == 4 {
		err = b.sg.globalAvgPool(r, x, y)
	} else {
		var tmp uint32
		tmp, err = b.sg.tensor(pooled, nil, invalidID, 0)
		if err == nil {
			err = b.sg.globalAvgPool(r, x, tmp)
		}
		if err == nil {
			err = b.sg.reshape(b.m.Tensors[out].Shape, tmp, y)
		}
	}
	if err != nil {
		return err
	}
	return b.settle(out)
}

func (b *builder) pool(op *tflite.Operator) error {
	o, ok := op.Options.(*tflite.Pool2DOptions)
	if !ok || len(op.Inputs) != 1 {
		return fmt.Errorf("malformed operator")
	}
	in, out := op.Inputs[0], op.Outputs[0]
	w, src, err := b.convWindow(in, o.Padding, o.FilterHeight, o.FilterWidth, o.StrideH, o.StrideW, 1, 1)
	if err != nil {
		return err
	}
	if src != in {
		return fmt.Errorf("pooling cannot fold a PAD")
	}
	shape, oshape := b.m.Tensors[in].Shape, b.m.Tensors[out].Shape
	global := len(oshape) == 4 && oshape[1] == 1 && oshape[2] == 1 && w.padTop+w.padBottom+w.padLeft+w.padRight == 0 &&
		o.FilterHeight == shape[1] && o.FilterWidth == shape[2]
	if op.Op == tflite.OpAveragePool2D && global {
		return b.globalPool(in, out, o.Activation)
	}
	r, err := b.clampRange(out, o.Activation)
	if err != nil {
		return err
	}
	x, err := b.value(in)
	if err != nil {
		return err
	}
	y, err := b.produce(out)
	if err != nil {
		return err
	}
	if op.Op == tflite.OpMaxPool2D {
		if err := b.sg.maxPool(w, r, x, y); err != nil {
			return err
		}
		return b.settleCopy(out, in)
	}
	if err := b.sg.avgPool(w, r, x, y); err != nil {
		return err
	}
	return b.settle(out)
}

func (b *builder) fullyConnected(op *tflite.Operator) error {
	o, ok := op.Options.(*tflite.FullyConnectedOptions)
	if !ok || len(op.Inputs) < 2 {
		return fmt.Errorf("malformed operator")
	}
	in, filter, bias, out := op.Inputs[0], op.Inputs[1], input(op, 2), op.Outputs[0]
	ft := b.m.Tensors[filter]
	if len(ft.Shape) != 2 {
		return fmt.Errorf("weights shape %v, want [out, in]", ft.Shape)
	}
	r, err := b.clampRange(out, o.Activation)
	if err != nil {
		return err
	}
	x, err := b.value(in)
	if err != nil {
		return err
	}
	f, err := b.weights(filter)
	if err != nil {
		return err
	}
	bid := invalidID
	if bias >= 0 {
		if bid, err = b.weights(bias); err != nil {
			return err
		}
	}
	y, err := b.produce(out)
	if err != nil {
		return err
	}
	ishape, oshape := b.m.Tensors[in].Shape, b.m.Tensors[out].Shape
	switch {
	case len(ishape) == 2 && len(oshape) == 2:
		err = b.sg.fullyConnected(r, x, f, bid, y, false)
	case len(oshape) == 2:
		err = b.sg.fullyConnected(r, x, f, bid, y, true)
	default: // keep_num_dims: compute [rows, out], then restore the shape
		var tmp uint32
		tmp, err = b.sg.tensor([]int{b.m.Tensors[out].NumElements() / ft.Shape[0], ft.Shape[0]}, nil, invalidID, 0)
		if err == nil {
			err = b.sg.fullyConnected(r, x, f, bid, tmp, true)
		}
		if err == nil {
			err = b.sg.reshape(oshape, tmp, y)
		}
	}
	if err != nil {
		return err
	}
	return b.settle(out)
}

func (b *builder) softmax(op *tflite.Operator) error {
	in, out := op.Inputs[0], op.Outputs[0]
	beta := float32(1)
	if o, ok := op.Options.(*tflite.SoftmaxOptions); ok && o.Beta != 0 {
		beta = o.Beta
	}
	x, err := b.value(in)
	if err != nil {
		return err
	}
	if beta != 1 {
		k, err := b.constant([]int{1}, []float32{beta})
		if err != nil {
			return err
		}
		scaled, err := b.sg.tensor(b.m.Tensors[in].Shape, nil, invalidID, 0)
		if err != nil {
			return err
		}
		inf := float32(math.Inf(1))
		if err := b.sg.multiply(outRange{-inf, inf}, x, k, scaled); err != nil {
			return err
		}
		x = scaled
	}
	y, err := b.produce(out)
	if err != nil {
		return err
	}
	if err := b.sg.softmax(x, y); err != nil {
		return err
	}
	return b.settle(out)
}

func (b *builder) unary(op *tflite.Operator) error {
	in, out := op.Inputs[0], op.Outputs[0]
	x, err := b.value(in)
	if err != nil {
		return err
	}
	y, err := b.produce(out)
	if err != nil {
		return err
	}
	switch op.Op {
	case tflite.OpLogistic:
		err = b.sg.sigmoid(x, y)
	case tflite.OpHardSwish:
		err = b.sg.hardswish(x, y)
	default:
		act := tflite.ActRelu
		if op.Op == tflite.OpRelu6 {
			act = tflite.ActRelu6
		}
		var r outRange
		if r, err = b.clampRange(out, act); err == nil {
			err = b.sg.clamp(r, x, y)
		}
	}
	if err != nil {
		return err
	}
	return b.settle(out)
}

func (b *builder) reshape(op *tflite.Operator) error {
	in, out := op.Inputs[0], op.Outputs[0]
	if b.m.Tensors[in].NumElements() != b.m.Tensors[out].NumElements() {
		return fmt.Errorf("reshape %v to %v changes the element count", b.m.Tensors[in].Shape, b.m.Tensors[out].Shape)
	}
	x, err := b.value(in)
	if err != nil {
		return err
	}
	y, err := b.produce(out)
	if err != nil {
		return err
	}
	if err := b.sg.reshape(b.m.Tensors[out].Shape, x, y); err != nil {
		return err
	}
	return b.settleCopy(out, in)
}
