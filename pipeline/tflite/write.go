package tflite

import (
	"encoding/binary"
	"fmt"
	"math"

	flatbuffers "github.com/google/flatbuffers/go"
)

// maxInlineData is the most constant data Marshal puts inside the
// flatbuffer, whose offsets are 32-bit. Larger models get the offset/size
// buffer form: the data follows the flatbuffer, as TFLite's converter
// writes models over 2 GB. (Older runtimes, such as the WASM build of the
// test oracle, load such files but fail to run them.)
const maxInlineData = 1 << 30

// bufferAlign is the alignment of constant data in written files, as the
// schema's force_align on Buffer.data asks.
const bufferAlign = 16

// Marshal encodes m as a .tflite file (schema version 3, one subgraph,
// file identifier "TFL3") that TFLite itself loads: buffer 0 is the empty
// buffer, constant data is 16-byte aligned, operator codes carry both the
// deprecated int8 code and builtin_code. Tensor and operator positions in
// m's slices are their indices; their Index fields are ignored. The result
// is checked with Parse before it is returned, so Marshal never produces a
// file alphad would reject (ops alphad cannot run are allowed, as Inspect
// allows them).
func Marshal(m *Model) ([]byte, error) {
	total := 0
	for i, t := range m.Tensors {
		if t == nil {
			return nil, fmt.Errorf("tflite: marshal: tensor %d is nil", i)
		}
		total += len(t.Data)
	}
	return marshal(m, total > maxInlineData)
}

// marshal is Marshal, with the constant data after the flatbuffer
// (offset/size buffers) when external is set.
func marshal(m *Model, external bool) ([]byte, error) {
	size := 64*1024 + 256*len(m.Tensors)
	if !external {
		for _, t := range m.Tensors {
			size += len(t.Data) + bufferAlign
		}
	}
	w := &writer{b: flatbuffers.NewBuilder(size), external: external}
	out, err := w.model(m)
	if err != nil {
		return nil, fmt.Errorf("tflite: marshal: %w", err)
	}
	if _, _, err := inspect(out); err != nil {
		return nil, fmt.Errorf("tflite: marshal: result does not parse: %w", err)
	}
	return out, nil
}

type writer struct {
	b        *flatbuffers.Builder
	external bool
	// patches are the offset fields of external buffers, as distances from
	// the end of the flatbuffer, with the data they point to.
	patches []patch
}

type patch struct {
	fromEnd int
	data    []byte
}

// placeholderOffset is written into external buffers' offset fields until
// the flatbuffer's size is known; any value > 1 keeps the field present.
const placeholderOffset = 1 << 62

func (w *writer) model(m *Model) ([]byte, error) {
	b := w.b
	// Constant data first: the large vectors end up at the end of the
	// file, and nothing may be nested while they are written.
	buffers := []flatbuffers.UOffsetT{w.emptyTable(3)}
	bufIndex := make([]uint32, len(m.Tensors))
	dataVecs := make([]flatbuffers.UOffsetT, 0, len(m.Tensors))
	var external [][]byte
	for i, t := range m.Tensors {
		switch {
		case len(t.Data) == 0:
			continue
		case w.external:
			external = append(external, t.Data)
			bufIndex[i] = uint32(len(external))
		default:
			b.Prep(bufferAlign, len(t.Data))
			dataVecs = append(dataVecs, b.CreateByteVector(t.Data))
			bufIndex[i] = uint32(len(dataVecs))
		}
	}
	for _, v := range dataVecs {
		b.StartObject(3)
		b.PrependUOffsetTSlot(bufferData, v, 0)
		buffers = append(buffers, b.EndObject())
	}
	for _, d := range external {
		b.StartObject(3)
		b.PrependUint64Slot(bufferSize, uint64(len(d)), 0)
		b.PrependUint64Slot(bufferOffset, placeholderOffset, 0)
		w.patches = append(w.patches, patch{fromEnd: int(b.Offset()), data: d})
		buffers = append(buffers, b.EndObject())
	}

	tensors := make([]flatbuffers.UOffsetT, len(m.Tensors))
	for i, t := range m.Tensors {
		tensors[i] = w.tensor(t, bufIndex[i])
	}

	type codeKey struct {
		op      BuiltinOperator
		version int
		custom  string
	}
	codeIndex := map[codeKey]uint32{}
	var codes []flatbuffers.UOffsetT
	ops := make([]flatbuffers.UOffsetT, len(m.Operators))
	for i, op := range m.Operators {
		if op == nil {
			return nil, fmt.Errorf("operator %d is nil", i)
		}
		k := codeKey{op.Op, op.Version, op.CustomCode}
		ci, ok := codeIndex[k]
		if !ok {
			ci = uint32(len(codes))
			codeIndex[k] = ci
			codes = append(codes, w.opCode(op))
		}
		var err error
		if ops[i], err = w.operator(op, ci); err != nil {
			return nil, fmt.Errorf("operator %d (%s): %w", i, OpName(op.Op), err)
		}
	}

	tensorsVec := w.offsets(tensors)
	opsVec := w.offsets(ops)
	inputs := w.ints(m.Inputs)
	outputs := w.ints(m.Outputs)
	name := b.CreateString("main")
	b.StartObject(6)
	b.PrependUOffsetTSlot(subgraphTensors, tensorsVec, 0)
	b.PrependUOffsetTSlot(subgraphInputs, inputs, 0)
	b.PrependUOffsetTSlot(subgraphOutputs, outputs, 0)
	b.PrependUOffsetTSlot(subgraphOperators, opsVec, 0)
	b.PrependUOffsetTSlot(subgraphName, name, 0)
	subgraph := b.EndObject()

	codesVec := w.offsets(codes)
	subgraphsVec := w.offsets([]flatbuffers.UOffsetT{subgraph})
	buffersVec := w.offsets(buffers)
	var desc flatbuffers.UOffsetT
	if m.Description != "" {
		desc = b.CreateString(m.Description)
	}
	b.StartObject(8)
	b.PrependUint32Slot(modelVersion, schemaVersion, 0)
	b.PrependUOffsetTSlot(modelOperatorCodes, codesVec, 0)
	b.PrependUOffsetTSlot(modelSubgraphs, subgraphsVec, 0)
	if desc != 0 {
		b.PrependUOffsetTSlot(modelDescription, desc, 0)
	}
	b.PrependUOffsetTSlot(modelBuffers, buffersVec, 0)
	root := b.EndObject()
	b.FinishWithFileIdentifier(root, []byte(fileIdentifier))
	fb := b.FinishedBytes()
	if !w.external {
		if len(fb) > math.MaxInt32 {
			return nil, fmt.Errorf("flatbuffer of %d bytes exceeds 2 GB", len(fb))
		}
		return fb, nil
	}
	// Append the data, each piece 16-byte aligned, and patch the offsets.
	size := len(fb)
	for _, p := range w.patches {
		size = alignUp(size, bufferAlign) + len(p.data)
	}
	out := make([]byte, len(fb), size)
	copy(out, fb)
	for _, p := range w.patches {
		off := alignUp(len(out), bufferAlign)
		out = append(out, make([]byte, off-len(out))...)
		out = append(out, p.data...)
		binary.LittleEndian.PutUint64(out[len(fb)-p.fromEnd:], uint64(off))
	}
	return out, nil
}

func alignUp(n, a int) int { return (n + a - 1) / a * a }

func (w *writer) emptyTable(fields int) flatbuffers.UOffsetT {
	w.b.StartObject(fields)
	return w.b.EndObject()
}

func (w *writer) offsets(offs []flatbuffers.UOffsetT) flatbuffers.UOffsetT {
	w.b.StartVector(flatbuffers.SizeUOffsetT, len(offs), flatbuffers.SizeUOffsetT)
	for i := len(offs) - 1; i >= 0; i-- {
		w.b.PrependUOffsetT(offs[i])
	}
	return w.b.EndVector(len(offs))
}

func (w *writer) ints(v []int) flatbuffers.UOffsetT {
	w.b.StartVector(4, len(v), 4)
	for i := len(v) - 1; i >= 0; i-- {
		w.b.PrependInt32(int32(v[i]))
	}
	return w.b.EndVector(len(v))
}

func (w *writer) tensor(t *Tensor, buffer uint32) flatbuffers.UOffsetT {
	b := w.b
	shape := w.ints(t.Shape)
	var name, quant flatbuffers.UOffsetT
	if t.Name != "" {
		name = b.CreateString(t.Name)
	}
	if q := t.Quant; q != nil {
		b.StartVector(4, len(q.Scale), 4)
		for i := len(q.Scale) - 1; i >= 0; i-- {
			b.PrependFloat32(q.Scale[i])
		}
		scale := b.EndVector(len(q.Scale))
		b.StartVector(8, len(q.ZeroPoint), 8)
		for i := len(q.ZeroPoint) - 1; i >= 0; i-- {
			b.PrependInt64(q.ZeroPoint[i])
		}
		zp := b.EndVector(len(q.ZeroPoint))
		b.StartObject(7)
		b.PrependUOffsetTSlot(quantScale, scale, 0)
		b.PrependUOffsetTSlot(quantZeroPoint, zp, 0)
		b.PrependInt32Slot(quantDimension, int32(q.Axis), 0)
		quant = b.EndObject()
	}
	b.StartObject(5)
	b.PrependUOffsetTSlot(tensorShape, shape, 0)
	b.PrependInt8Slot(tensorType, int8(t.Type), 0)
	b.PrependUint32Slot(tensorBuffer, buffer, 0)
	if name != 0 {
		b.PrependUOffsetTSlot(tensorName, name, 0)
	}
	if quant != 0 {
		b.PrependUOffsetTSlot(tensorQuantization, quant, 0)
	}
	return b.EndObject()
}

func (w *writer) opCode(op *Operator) flatbuffers.UOffsetT {
	b := w.b
	var custom flatbuffers.UOffsetT
	if op.CustomCode != "" {
		custom = b.CreateString(op.CustomCode)
	}
	// Codes above 127 go in builtin_code only; the int8 field then holds
	// PLACEHOLDER_FOR_GREATER_OP_CODES (127), as TFLite's writer does.
	b.StartObject(4)
	b.PrependInt8Slot(opcodeDeprecatedBuiltin, int8(min(op.Op, 127)), 0)
	if custom != 0 {
		b.PrependUOffsetTSlot(opcodeCustom, custom, 0)
	}
	b.PrependInt32Slot(opcodeVersion, int32(op.Version), 1)
	b.PrependInt32Slot(opcodeBuiltin, int32(op.Op), 0)
	return b.EndObject()
}

func (w *writer) operator(op *Operator, code uint32) (flatbuffers.UOffsetT, error) {
	b := w.b
	typ, opts, err := w.options(op)
	if err != nil {
		return 0, err
	}
	inputs := w.ints(op.Inputs)
	outputs := w.ints(op.Outputs)
	b.StartObject(5)
	b.PrependUint32Slot(operatorOpcode, code, 0)
	b.PrependUOffsetTSlot(operatorInputs, inputs, 0)
	b.PrependUOffsetTSlot(operatorOutputs, outputs, 0)
	if typ != optNone {
		b.PrependUint8Slot(operatorOptionsType, typ, 0)
		b.PrependUOffsetTSlot(operatorOptions, opts, 0)
	}
	return b.EndObject(), nil
}

// options writes the options table of op and returns its union type.
func (w *writer) options(op *Operator) (uint8, flatbuffers.UOffsetT, error) {
	b := w.b
	spec, ok := supportedOps[op.Op]
	if !ok {
		if op.Options != nil {
			return 0, 0, fmt.Errorf("options %T for an op alphad does not know", op.Options)
		}
		return optNone, 0, nil
	}
	act := func(id int, a Activation) { b.PrependInt8Slot(id, int8(a), 0) }
	i32 := func(id, v, def int) { b.PrependInt32Slot(id, int32(v), int32(def)) }
	mismatch := func() (uint8, flatbuffers.UOffsetT, error) {
		return 0, 0, fmt.Errorf("options %T do not belong to this op", op.Options)
	}
	switch o := op.Options.(type) {
	case nil:
		if spec.options == optNone {
			return optNone, 0, nil
		}
		switch op.Op {
		case OpPad, OpQuantize, OpDequantize, OpHardSwish, OpMean, OpReshape, OpSqueeze,
			OpAdd, OpMul, OpConcatenation, OpFullyConnected:
			// Options whose defaults are meaningful.
			return spec.options, w.emptyTable(0), nil
		}
		return 0, 0, fmt.Errorf("missing options")
	case *Conv2DOptions:
		if op.Op != OpConv2D {
			return mismatch()
		}
		b.StartObject(7)
		b.PrependInt8Slot(0, int8(o.Padding), 0)
		i32(1, o.StrideW, 0)
		i32(2, o.StrideH, 0)
		act(3, o.Activation)
		i32(4, o.DilationW, 1)
		i32(5, o.DilationH, 1)
	case *DepthwiseConv2DOptions:
		if op.Op != OpDepthwiseConv2D {
			return mismatch()
		}
		b.StartObject(7)
		b.PrependInt8Slot(0, int8(o.Padding), 0)
		i32(1, o.StrideW, 0)
		i32(2, o.StrideH, 0)
		i32(3, o.DepthMultiplier, 0)
		act(4, o.Activation)
		i32(5, o.DilationW, 1)
		i32(6, o.DilationH, 1)
	case *Pool2DOptions:
		if op.Op != OpAveragePool2D && op.Op != OpMaxPool2D {
			return mismatch()
		}
		b.StartObject(6)
		b.PrependInt8Slot(0, int8(o.Padding), 0)
		i32(1, o.StrideW, 0)
		i32(2, o.StrideH, 0)
		i32(3, o.FilterWidth, 0)
		i32(4, o.FilterHeight, 0)
		act(5, o.Activation)
	case *FullyConnectedOptions:
		if op.Op != OpFullyConnected {
			return mismatch()
		}
		b.StartObject(3)
		act(0, o.Activation)
		b.PrependBoolSlot(2, o.KeepNumDims, false)
	case *SoftmaxOptions:
		if op.Op != OpSoftmax {
			return mismatch()
		}
		b.StartObject(1)
		b.PrependFloat32Slot(0, o.Beta, 0)
	case *ConcatenationOptions:
		if op.Op != OpConcatenation {
			return mismatch()
		}
		b.StartObject(2)
		i32(0, o.Axis, 0)
		act(1, o.Activation)
	case *AddOptions:
		if op.Op != OpAdd {
			return mismatch()
		}
		b.StartObject(1)
		act(0, o.Activation)
	case *MulOptions:
		if op.Op != OpMul {
			return mismatch()
		}
		b.StartObject(1)
		act(0, o.Activation)
	case *ReshapeOptions:
		if op.Op != OpReshape {
			return mismatch()
		}
		var shape flatbuffers.UOffsetT
		if o.NewShape != nil {
			shape = w.ints(o.NewShape)
		}
		b.StartObject(1)
		if shape != 0 {
			b.PrependUOffsetTSlot(0, shape, 0)
		}
	case *ReducerOptions:
		if op.Op != OpMean {
			return mismatch()
		}
		b.StartObject(1)
		b.PrependBoolSlot(0, o.KeepDims, false)
	case *SqueezeOptions:
		if op.Op != OpSqueeze {
			return mismatch()
		}
		var dims flatbuffers.UOffsetT
		if o.SqueezeDims != nil {
			dims = w.ints(o.SqueezeDims)
		}
		b.StartObject(1)
		if dims != 0 {
			b.PrependUOffsetTSlot(0, dims, 0)
		}
	default:
		return mismatch()
	}
	return spec.options, b.EndObject(), nil
}
