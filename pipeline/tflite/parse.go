package tflite

import (
	"fmt"
	"os"
)

// schemaVersion is the only TFLite schema version alphad reads and writes.
const schemaVersion = 3

// fileIdentifier is the flatbuffer file identifier of .tflite files.
const fileIdentifier = "TFL3"

// Field ids of the schema tables read here (the n-th field of a table,
// counting a union as two: its type, then its value).
const (
	modelVersion       = 0
	modelOperatorCodes = 1
	modelSubgraphs     = 2
	modelDescription   = 3
	modelBuffers       = 4

	opcodeDeprecatedBuiltin = 0
	opcodeCustom            = 1
	opcodeVersion           = 2
	opcodeBuiltin           = 3

	subgraphTensors   = 0
	subgraphInputs    = 1
	subgraphOutputs   = 2
	subgraphOperators = 3
	subgraphName      = 4

	tensorShape        = 0
	tensorType         = 1
	tensorBuffer       = 2
	tensorName         = 3
	tensorQuantization = 4
	tensorSparsity     = 6

	quantScale     = 2
	quantZeroPoint = 3
	quantDetails   = 4 // union type
	quantDimension = 6

	operatorOpcode      = 0
	operatorInputs      = 1
	operatorOutputs     = 2
	operatorOptionsType = 3
	operatorOptions     = 4
	operatorIntermeds   = 8

	bufferData   = 0
	bufferOffset = 1
	bufferSize   = 2
)

// Limits that keep a hostile file from causing huge allocations.
const (
	maxRank     = 8
	maxElements = 1 << 28 // per tensor
)

// ReadFile reads and parses the model at path (see Parse). Errors name the
// file.
func ReadFile(path string) (*Model, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tflite: read model: %w", err)
	}
	m, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", path, err)
	}
	return m, nil
}

// Parse parses and validates a .tflite model. Only the first subgraph is
// read. Errors are *FormatError for malformed or inconsistent files and
// *UnsupportedOpError for ops (or op versions) alphad does not implement.
//
// Tensor.Data aliases data: the caller must not modify data while the model
// is in use. Data slices carry no alignment guarantee beyond that of data
// itself (converters align buffers to 16 bytes from the file start).
//
// A -1 (unknown) batch dimension in a graph input's shape is read as 1;
// -1 anywhere else is an error.
func Parse(data []byte) (*Model, error) {
	m, unsupported, err := Inspect(data)
	if err != nil {
		return nil, err
	}
	if len(unsupported) > 0 {
		return nil, unsupported[0]
	}
	return m, nil
}

// Inspect is Parse that accepts unsupported ops: it returns the validated
// model together with one *UnsupportedOpError per operator alphad cannot
// run (in graph order): unknown or custom ops, op versions above what
// alphad implements, and element types the engines do not compute in
// (e.g. int16 activations). Their arity is not checked; unknown ops have
// no Options. err is non-nil only for malformed files (*FormatError).
func Inspect(data []byte) (m *Model, unsupported []*UnsupportedOpError, err error) {
	// The parser checks every offset before use; recover is only a safety
	// net so that a bug here cannot crash the daemon on a bad file.
	defer func() {
		if p := recover(); p != nil {
			m, unsupported = nil, nil
			err = &FormatError{Reason: fmt.Sprintf("malformed flatbuffer (%v)", p)}
		}
	}()
	return inspect(data)
}

// inspect is Inspect without the recover, so that fuzzing finds panics.
func inspect(data []byte) (*Model, []*UnsupportedOpError, error) {
	if len(data) < 8 {
		return nil, nil, &FormatError{Reason: fmt.Sprintf("file too short (%d bytes)", len(data))}
	}
	if string(data[4:8]) != fileIdentifier {
		return nil, nil, &FormatError{Reason: fmt.Sprintf("file identifier %q, want %q", data[4:8], fileIdentifier)}
	}
	r := &reader{buf: data, where: at("model", -1)}
	root, _ := r.tableAt(r.deref(0))
	m := &Model{Version: int(uint32(r.i32(root, modelVersion, 0)))}
	m.Description = r.string(root, modelDescription)
	if r.err != nil {
		return nil, nil, r.err
	}
	if m.Version != schemaVersion {
		return nil, nil, &FormatError{Where: "model", Reason: fmt.Sprintf("schema version %d, want %d", m.Version, schemaVersion)}
	}

	codes := r.readOpCodes(root)
	subgraphs := r.tables(root, modelSubgraphs)
	buffers := r.tables(root, modelBuffers)
	if r.err != nil {
		return nil, nil, r.err
	}
	if len(subgraphs) == 0 {
		return nil, nil, &FormatError{Where: "model", Reason: "no subgraphs"}
	}
	sg := subgraphs[0]

	r.where = at("subgraph", 0)
	tensorTables := r.tables(sg, subgraphTensors)
	m.Inputs = r.ints(sg, subgraphInputs)
	m.Outputs = r.ints(sg, subgraphOutputs)
	opTables := r.tables(sg, subgraphOperators)
	if r.err != nil {
		return nil, nil, r.err
	}

	m.Tensors = make([]*Tensor, len(tensorTables))
	for i, tt := range tensorTables {
		m.Tensors[i] = r.readTensor(i, tt, buffers)
		if r.err != nil {
			return nil, nil, r.err
		}
	}

	var unsupported []*UnsupportedOpError
	m.Operators = make([]*Operator, len(opTables))
	for i, ot := range opTables {
		op, uerr := r.readOperator(i, ot, codes)
		if r.err != nil {
			return nil, nil, r.err
		}
		if uerr == nil {
			uerr = m.checkTypes(op)
		}
		if uerr != nil {
			unsupported = append(unsupported, uerr)
		}
		m.Operators[i] = op
	}
	if err := m.validate(unsupported); err != nil {
		return nil, nil, err
	}
	return m, unsupported, nil
}

// opCode is one entry of the model's operator_codes.
type opCode struct {
	op      BuiltinOperator
	custom  string
	version int
}

func (r *reader) readOpCodes(root table) []opCode {
	tables := r.tables(root, modelOperatorCodes)
	codes := make([]opCode, len(tables))
	for i, t := range tables {
		r.where = at("operator code", i)
		// Old files only have the int8 deprecated code; new ones put
		// codes above 127 in builtin_code. TFLite takes the larger.
		dep := BuiltinOperator(r.i8(t, opcodeDeprecatedBuiltin, 0))
		code := BuiltinOperator(r.i32(t, opcodeBuiltin, 0))
		codes[i] = opCode{op: max(dep, code), custom: r.string(t, opcodeCustom), version: int(r.i32(t, opcodeVersion, 1))}
		if codes[i].op < 0 {
			r.fail("negative builtin code %d", codes[i].op)
		}
	}
	return codes
}

func (r *reader) readTensor(i int, t table, buffers []table) *Tensor {
	r.where = at("tensor", i)
	tn := &Tensor{Index: i, Name: r.string(t, tensorName)}
	r.where.name = tn.Name
	tn.Type = TensorType(r.i8(t, tensorType, 0))
	tn.Shape = r.ints(t, tensorShape)
	if tn.Shape == nil {
		tn.Shape = []int{}
	}
	if _, ok := r.subTable(t, tensorSparsity); ok {
		r.fail("sparse tensors are not supported")
	}
	if q, ok := r.subTable(t, tensorQuantization); ok {
		if r.u8(q, quantDetails, 0) != 0 {
			r.fail("custom quantization details are not supported")
		}
		scale := r.float32s(q, quantScale)
		zp := r.int64s(q, quantZeroPoint)
		// As TFLite: no quantization unless both arrays are given.
		if len(scale) > 0 && len(zp) > 0 {
			tn.Quant = &Quantization{Scale: scale, ZeroPoint: zp, Axis: int(r.i32(q, quantDimension, 0))}
		}
	}
	b := int(uint32(r.i32(t, tensorBuffer, 0)))
	if r.err != nil {
		return nil
	}
	if b >= len(buffers) {
		r.fail("buffer index %d out of range (%d buffers)", b, len(buffers))
		return nil
	}
	tn.Data = r.bufferData(b, buffers[b])
	return tn
}

// bufferData is the contents of buffer b: its inline data vector, or the
// offset/size range of the file that large models use. nil when empty.
func (r *reader) bufferData(b int, t table) []byte {
	r.where.buffer = b
	defer func() { r.where.buffer = -1 }()
	if off, size := r.u64(t, bufferOffset), r.u64(t, bufferSize); off > 1 {
		if off > uint64(len(r.buf)) || size > uint64(len(r.buf))-off {
			r.fail("data range [%d, +%d) outside the file (%d bytes)", off, size, len(r.buf))
			return nil
		}
		if size == 0 {
			return nil
		}
		return r.buf[off : off+size : off+size]
	}
	d := r.bytes(t, bufferData)
	if len(d) == 0 {
		return nil
	}
	return d
}

func (r *reader) readOperator(i int, t table, codes []opCode) (*Operator, *UnsupportedOpError) {
	r.where = at("operator", i)
	ci := int(uint32(r.i32(t, operatorOpcode, 0)))
	if r.err != nil {
		return nil, nil
	}
	if ci >= len(codes) {
		r.fail("opcode index %d out of range (%d codes)", ci, len(codes))
		return nil, nil
	}
	c := codes[ci]
	op := &Operator{Index: i, Op: c.op, Version: c.version, CustomCode: c.custom}
	r.where.name = OpName(c.op)
	op.Inputs = r.ints(t, operatorInputs)
	op.Outputs = r.ints(t, operatorOutputs)
	if op.Inputs == nil {
		op.Inputs = []int{}
	}
	if op.Outputs == nil {
		op.Outputs = []int{}
	}
	if r.err != nil {
		return nil, nil
	}

	spec, ok := supportedOps[c.op]
	switch {
	case c.op == OpCustom:
		name := c.custom
		if name == "" {
			name = "CUSTOM"
		}
		return op, &UnsupportedOpError{Op: name, Version: c.version, Index: i, Reason: "custom op"}
	case !ok:
		return op, &UnsupportedOpError{Op: OpName(c.op), Version: c.version, Index: i}
	}

	typ := r.u8(t, operatorOptionsType, optNone)
	opts, present := r.subTable(t, operatorOptions)
	if r.err != nil {
		return nil, nil
	}
	if present && typ != spec.options {
		r.fail("options of union type %d, want %d", typ, spec.options)
		return nil, nil
	}
	if !present {
		opts = table{} // every field reads as absent: schema defaults
	}
	op.Options = r.readOptions(c.op, opts)
	if c.version < 1 || c.version > spec.maxVersion {
		return op, &UnsupportedOpError{Op: OpName(c.op), Version: c.version, Index: i,
			Reason: fmt.Sprintf("supported versions are 1 to %d", spec.maxVersion)}
	}
	return op, nil
}

// readOptions decodes the options table of op; absent fields (or an absent
// table: the zero table has an empty vtable) take the schema defaults.
func (r *reader) readOptions(op BuiltinOperator, t table) any {
	act := func(id int) Activation { return Activation(r.i8(t, id, 0)) }
	i := func(id int, def int32) int { return int(r.i32(t, id, def)) }
	switch op {
	case OpConv2D:
		return &Conv2DOptions{Padding: Padding(r.i8(t, 0, 0)), StrideW: i(1, 0), StrideH: i(2, 0),
			Activation: act(3), DilationW: i(4, 1), DilationH: i(5, 1)}
	case OpDepthwiseConv2D:
		return &DepthwiseConv2DOptions{Padding: Padding(r.i8(t, 0, 0)), StrideW: i(1, 0), StrideH: i(2, 0),
			DepthMultiplier: i(3, 0), Activation: act(4), DilationW: i(5, 1), DilationH: i(6, 1)}
	case OpAveragePool2D, OpMaxPool2D:
		return &Pool2DOptions{Padding: Padding(r.i8(t, 0, 0)), StrideW: i(1, 0), StrideH: i(2, 0),
			FilterWidth: i(3, 0), FilterHeight: i(4, 0), Activation: act(5)}
	case OpFullyConnected:
		if w := r.i8(t, 1, 0); w != 0 {
			r.fail("weights format %d is not supported", w)
		}
		return &FullyConnectedOptions{Activation: act(0), KeepNumDims: r.bool(t, 2)}
	case OpSoftmax:
		return &SoftmaxOptions{Beta: r.f32(t, 0, 0)}
	case OpConcatenation:
		return &ConcatenationOptions{Axis: i(0, 0), Activation: act(1)}
	case OpAdd:
		return &AddOptions{Activation: act(0)}
	case OpMul:
		return &MulOptions{Activation: act(0)}
	case OpReshape:
		return &ReshapeOptions{NewShape: r.ints(t, 0)}
	case OpMean:
		return &ReducerOptions{KeepDims: r.bool(t, 0)}
	case OpSqueeze:
		return &SqueezeOptions{SqueezeDims: r.ints(t, 0)}
	}
	return nil
}

// checkTypes reports an op whose data input or output has an element type
// the engines do not compute in (int16 activations, for instance). Indices
// are checked later; out-of-range ones are skipped here.
func (m *Model) checkTypes(op *Operator) *UnsupportedOpError {
	check := func(what string, ts []int, extra TensorType) *UnsupportedOpError {
		if len(ts) == 0 || ts[0] < 0 || ts[0] >= len(m.Tensors) {
			return nil
		}
		switch typ := m.Tensors[ts[0]].Type; typ {
		case Float32, Uint8, Int8:
			return nil
		default:
			if typ == extra {
				return nil
			}
			return &UnsupportedOpError{Op: OpName(op.Op), Version: op.Version, Index: op.Index, Reason: typ.String() + " " + what}
		}
	}
	extra := TensorType(-1)
	if op.Op == OpDequantize {
		extra = Float16 // float16 weights expanded at load time
	}
	if u := check("input", op.Inputs, extra); u != nil {
		return u
	}
	return check("output", op.Outputs, -1)
}
