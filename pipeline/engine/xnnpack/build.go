//go:build xnnpack && cgo

package xnnpack

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"unsafe"

	"github.com/alphad/alphad/pipeline/tflite"
)

// builder maps a model onto a subgraph.
//
// A tensor may have two values: a float one holding real numbers and, for
// per-tensor quantized uint8/int8 tensors, a quantized one. Ops XNNPACK
// runs in integer arithmetic (convolutions, fully connected, add, pooling,
// pad, reshape) read and write the quantized values, as TFLite does; the
// other ops run in float on converted values and convert their result back
// to the tensor's grid. Conversions are added lazily, only where a value is
// read in the other representation.
type builder struct {
	m     *tflite.Model
	sg    *subgraph
	alloc func(int) ([]byte, error)

	fid, qid []uint32          // tensor → float / quantized value id, invalidID until defined
	canon    []int             // tensor → tensor it aliases (DEQUANTIZE of an activation), or itself
	consts   map[int][]float32 // DEQUANTIZE/QUANTIZE outputs of constants
	pads     map[int]padFold   // PAD outputs folded into their only consumer
	extF     map[int]uint32    // canonical float tensor → external output id
	extQ     map[int]uint32    // canonical quantized tensor → external output id (same type and grid)
	uses     []int             // consumers of each canonical tensor (model outputs count)
	live     []bool            // operators that feed a model output
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
		fid:      make([]uint32, n),
		qid:      make([]uint32, n),
		canon:    make([]int, n),
		consts:   map[int][]float32{},
		pads:     map[int]padFold{},
		extF:     map[int]uint32{},
		extQ:     map[int]uint32{},
		uses:     make([]int, n),
		live:     make([]bool, len(m.Operators)),
		consumer: make([]int, n),
	}
	for i := range n {
		b.fid[i], b.qid[i] = invalidID, invalidID
		b.canon[i] = i
		b.consumer[i] = -1
	}
	return b
}

func (b *builder) isConst(ti int) bool {
	c := b.canon[ti]
	return b.m.Tensors[c].IsConst() || b.consts[c] != nil
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
		in, out := op.Inputs[0], op.Outputs[0]
		switch {
		case b.isConst(in):
			f, err := b.constFloats(b.canon[in])
			if err != nil {
				return unsupported(op, err.Error())
			}
			b.consts[out] = f
		case op.Op == tflite.OpDequantize:
			b.canon[out] = b.canon[in]
		}
	}
	// Only ops that feed an output are mapped: XNNPACK gives a value that
	// nothing reads no memory, and its producer would write through nil.
	live := make([]bool, len(m.Tensors))
	for _, ti := range m.Outputs {
		live[b.canon[ti]] = true
	}
	for i := len(m.Operators) - 1; i >= 0; i-- {
		op := m.Operators[i]
		if !slices.ContainsFunc(op.Outputs, func(o int) bool { return o >= 0 && live[b.canon[o]] }) {
			continue
		}
		b.live[op.Index] = true
		for _, in := range op.Inputs {
			if in >= 0 {
				live[b.canon[in]] = true
			}
		}
	}
	for _, op := range m.Operators {
		if !b.live[op.Index] || op.Op == tflite.OpDequantize || (op.Op == tflite.OpQuantize && b.consts[op.Outputs[0]] != nil) {
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
		ct := m.Tensors[c]
		ext := uint32(len(m.Inputs) + i)
		b.uses[c]++
		if err := checkIO(t); err != nil {
			return fmt.Errorf("output %d: %w", i, err)
		}
		if _, dup := b.extF[c]; dup {
			return fmt.Errorf("output %d (%s): the same tensor is output twice", i, t.Name)
		}
		if _, dup := b.extQ[c]; dup {
			return fmt.Errorf("output %d (%s): the same tensor is output twice", i, t.Name)
		}
		switch {
		case t.Type == tflite.Float32 && !isQ(ct):
			b.extF[c] = ext
		case isQ(t) && sameGrid(t, ct):
			b.extQ[c] = ext
		}
	}

	for _, op := range m.Operators {
		if !b.live[op.Index] {
			continue
		}
		if err := b.operator(op); err != nil {
			return err
		}
	}

	for i, ti := range m.Outputs {
		t, c := m.Tensors[ti], b.canon[ti]
		ext := uint32(len(m.Inputs) + i)
		if b.isInput(c) || (b.fid[c] == invalidID && b.qid[c] == invalidID) {
			return fmt.Errorf("output %d (%s): not computed by any operator", i, t.Name)
		}
		if _, ok := b.extF[c]; ok {
			continue // written by the node that computes it
		}
		if _, ok := b.extQ[c]; ok {
			continue
		}
		var err error
		if t.Type == tflite.Float32 { // a quantized tensor, dequantized
			var f uint32
			if f, err = b.sg.tensor(t.Shape, nil, ext, flagExternalOutput); err == nil {
				err = b.sg.convert(b.qid[c], f)
			}
		} else { // requantized to the output's grid
			var f, q uint32
			if f, err = b.valueF(c); err == nil {
				q, err = b.sg.quantTensor(qtype(t), zeroPoint(t), t.Quant.Scale[0], t.Shape, nil, ext, flagExternalOutput)
			}
			if err == nil {
				err = b.sg.convert(f, q)
			}
		}
		if err != nil {
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
	if t.Type == tflite.Float32 || isQ(t) {
		return nil
	}
	return fmt.Errorf("tensor %d (%s): type %s is not float32 or per-tensor quantized uint8/int8", t.Index, t.Name, t.Type)
}

// defineInput defines model input i as external value i.
func (b *builder) defineInput(i, ti int) error {
	t := b.m.Tensors[ti]
	if err := checkIO(t); err != nil {
		return fmt.Errorf("input %d: %w", i, err)
	}
	var err error
	if t.Type == tflite.Float32 {
		b.fid[ti], err = b.sg.tensor(t.Shape, nil, uint32(i), flagExternalInput)
	} else {
		b.qid[ti], err = b.sg.quantTensor(qtype(t), zeroPoint(t), t.Quant.Scale[0], t.Shape, nil, uint32(i), flagExternalInput)
	}
	if err != nil {
		return fmt.Errorf("input %d (%s): %w", i, t.Name, err)
	}
	return nil
}

// isQ reports a per-tensor quantized uint8/int8 tensor.
func isQ(t *tflite.Tensor) bool {
	return (t.Type == tflite.Uint8 || t.Type == tflite.Int8) &&
		t.Quant != nil && len(t.Quant.Scale) == 1 && len(t.Quant.ZeroPoint) == 1
}

// sameGrid reports two quantized tensors with the same type, scale and zero point.
func sameGrid(t, u *tflite.Tensor) bool {
	return isQ(t) && isQ(u) && t.Type == u.Type && t.Quant.Scale[0] == u.Quant.Scale[0] && t.Quant.ZeroPoint[0] == u.Quant.ZeroPoint[0]
}

func qtype(t *tflite.Tensor) dtype {
	if t.Type == tflite.Int8 {
		return qint8
	}
	return quint8
}

func zeroPoint(t *tflite.Tensor) int32 { return int32(t.Quant.ZeroPoint[0]) }

// valueF is the float value of tensor ti: defined, converted from its
// quantized value, or a dequantized constant.
func (b *builder) valueF(ti int) (uint32, error) {
	c := b.canon[ti]
	if id := b.fid[c]; id != invalidID {
		return id, nil
	}
	t := b.m.Tensors[c]
	if q := b.qid[c]; q != invalidID {
		f, err := b.sg.tensor(t.Shape, nil, invalidID, 0)
		if err == nil {
			err = b.sg.convert(q, f)
		}
		if err != nil {
			return invalidID, fmt.Errorf("tensor %d (%s): dequantize: %w", t.Index, t.Name, err)
		}
		b.fid[c] = f
		return f, nil
	}
	if !b.isConst(c) {
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
	b.fid[c] = id
	return id, nil
}

// valueQ is the quantized value of activation ti, converting its float
// value when needed.
func (b *builder) valueQ(ti int) (uint32, error) {
	c := b.canon[ti]
	if id := b.qid[c]; id != invalidID {
		return id, nil
	}
	t := b.m.Tensors[c]
	f, err := b.valueF(c)
	if err != nil {
		return invalidID, err
	}
	q, err := b.sg.quantTensor(qtype(t), zeroPoint(t), t.Quant.Scale[0], t.Shape, nil, invalidID, 0)
	if err == nil {
		err = b.sg.convert(f, q)
	}
	if err != nil {
		return invalidID, fmt.Errorf("tensor %d (%s): quantize: %w", t.Index, t.Name, err)
	}
	b.qid[c] = q
	return q, nil
}

// constant copies f into C memory and defines a static float value over it.
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

// quantWeights defines constant ti (filter or bias) in XNNPACK's quantized
// form: per-tensor uint8/int8/int32 as quint8/qint8/qint32, per-channel
// int8/int32 along channelDim as qcint8/qcint32. ok is false when the
// tensor has no such form.
func (b *builder) quantWeights(ti, channelDim int) (id uint32, ok bool, err error) {
	t := b.m.Tensors[ti]
	q := t.Quant
	if !t.IsConst() || q == nil || len(q.Scale) == 0 || len(q.Scale) != len(q.ZeroPoint) {
		return invalidID, false, nil
	}
	buf, err := b.alloc(len(t.Data))
	if err != nil {
		return invalidID, false, err
	}
	copy(buf, t.Data)
	data := unsafe.Pointer(&buf[0])
	if len(q.Scale) == 1 {
		var dt dtype
		switch t.Type {
		case tflite.Uint8:
			dt = quint8
		case tflite.Int8:
			dt = qint8
		case tflite.Int32:
			dt = qint32
		default:
			return invalidID, false, nil
		}
		id, err = b.sg.quantTensor(dt, int32(q.ZeroPoint[0]), q.Scale[0], t.Shape, data, invalidID, 0)
		return id, err == nil, err
	}
	if q.Axis != channelDim || channelDim >= len(t.Shape) || t.Shape[channelDim] != len(q.Scale) {
		return invalidID, false, nil
	}
	for _, z := range q.ZeroPoint {
		if z != 0 {
			return invalidID, false, nil
		}
	}
	var dt dtype
	switch t.Type {
	case tflite.Int8:
		dt = qcint8
	case tflite.Int32:
		dt = qcint32
	default:
		return invalidID, false, nil
	}
	sbuf, err := b.alloc(4 * len(q.Scale))
	if err != nil {
		return invalidID, false, err
	}
	scales := unsafe.Slice((*float32)(unsafe.Pointer(&sbuf[0])), len(q.Scale))
	copy(scales, q.Scale)
	id, err = b.sg.channelTensor(dt, scales, t.Shape, channelDim, data)
	return id, err == nil, err
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

// produceF defines the float value an op writes ti into: the external output
// when ti is a float model output. For a quantized tensor it is a raw result
// that settle rounds onto the tensor's grid.
func (b *builder) produceF(ti int) (uint32, error) {
	t := b.m.Tensors[ti]
	if t.Type != tflite.Float32 && !isQ(t) {
		return invalidID, fmt.Errorf("tensor %d (%s): activation type %s", t.Index, t.Name, t.Type)
	}
	var id uint32
	var err error
	if ext, ok := b.extF[ti]; ok {
		id, err = b.sg.tensor(t.Shape, nil, ext, flagExternalOutput)
	} else {
		id, err = b.sg.tensor(t.Shape, nil, invalidID, 0)
	}
	if err != nil {
		return invalidID, fmt.Errorf("tensor %d (%s): %w", t.Index, t.Name, err)
	}
	if !isQ(t) {
		b.fid[ti] = id
	}
	return id, nil
}

// settle rounds the raw float result of a quantized tensor onto its grid, as
// TFLite's integer kernels do when they requantize their output.
func (b *builder) settle(ti int, raw uint32) error {
	t := b.m.Tensors[ti]
	if !isQ(t) {
		return nil
	}
	q, err := b.produceQ(ti)
	if err == nil {
		err = b.sg.convert(raw, q)
	}
	if err != nil {
		return fmt.Errorf("tensor %d (%s): requantize: %w", t.Index, t.Name, err)
	}
	return nil
}

// produceQ defines the quantized value an op writes ti into.
func (b *builder) produceQ(ti int) (uint32, error) {
	t := b.m.Tensors[ti]
	ext, flags := invalidID, uint32(0)
	if e, ok := b.extQ[ti]; ok {
		ext, flags = e, flagExternalOutput
	}
	q, err := b.sg.quantTensor(qtype(t), zeroPoint(t), t.Quant.Scale[0], t.Shape, nil, ext, flags)
	if err != nil {
		return invalidID, fmt.Errorf("tensor %d (%s): %w", t.Index, t.Name, err)
	}
	b.qid[ti] = q
	return q, nil
}

// floatOp runs node in float: it reads the float values of ins, writes out
// and rounds it onto out's grid when out is quantized.
func (b *builder) floatOp(ins []int, out int, node func(x []uint32, y uint32) error) error {
	x := make([]uint32, len(ins))
	for i, in := range ins {
		var err error
		if x[i], err = b.valueF(in); err != nil {
			return err
		}
	}
	y, err := b.produceF(out)
	if err != nil {
		return err
	}
	if err := node(x, y); err != nil {
		return err
	}
	return b.settle(out, y)
}

// quantOp runs node on the quantized values of ins, writing out's.
func (b *builder) quantOp(ins []int, out int, node func(x []uint32, y uint32) error) error {
	x := make([]uint32, len(ins))
	for i, in := range ins {
		var err error
		if x[i], err = b.valueQ(in); err != nil {
			return err
		}
	}
	y, err := b.produceQ(out)
	if err != nil {
		return err
	}
	return node(x, y)
}

// quantizable reports activations that can all be read and written
// quantized with one element type: ins and out quantized alike, none constant.
func (b *builder) quantizable(out int, ins ...int) bool {
	o := b.m.Tensors[out]
	if !isQ(o) {
		return false
	}
	for _, in := range ins {
		t := b.m.Tensors[b.canon[in]]
		if b.isConst(in) || !isQ(t) || t.Type != o.Type {
			return false
		}
	}
	return true
}
