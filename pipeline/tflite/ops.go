package tflite

// OpCustom is the builtin code of custom (non-builtin) operators.
const OpCustom BuiltinOperator = 32

// opSpec describes what alphad accepts for one supported op.
type opSpec struct {
	maxVersion   int
	minIn, maxIn int   // input count range; maxIn < 0 means unbounded
	optional     []int // input positions that may be -1
	options      uint8 // BuiltinOptions union type, 0 if the op has none
}

// BuiltinOptions union types (schema union BuiltinOptions).
const (
	optNone            uint8 = 0
	optConv2D          uint8 = 1
	optDepthwiseConv2D uint8 = 2
	optPool2D          uint8 = 5
	optFullyConnected  uint8 = 8
	optSoftmax         uint8 = 9
	optConcatenation   uint8 = 10
	optAdd             uint8 = 11
	optReshape         uint8 = 17
	optMul             uint8 = 21
	optPad             uint8 = 22
	optReducer         uint8 = 27
	optSqueeze         uint8 = 30
	optDequantize      uint8 = 38
	optQuantize        uint8 = 89
	optHardSwish       uint8 = 91
)

// supportedOps lists the ops alphad's engines implement, with the highest
// op version accepted (the versions TFLite's converter emitted for them as
// of TF 2.16) and their input arity. Every op has exactly one output.
var supportedOps = map[BuiltinOperator]opSpec{
	OpAdd:             {maxVersion: 5, minIn: 2, maxIn: 2, options: optAdd},
	OpAveragePool2D:   {maxVersion: 3, minIn: 1, maxIn: 1, options: optPool2D},
	OpConcatenation:   {maxVersion: 4, minIn: 1, maxIn: -1, options: optConcatenation},
	OpConv2D:          {maxVersion: 6, minIn: 2, maxIn: 3, optional: []int{2}, options: optConv2D},
	OpDepthwiseConv2D: {maxVersion: 7, minIn: 2, maxIn: 3, optional: []int{2}, options: optDepthwiseConv2D},
	OpDequantize:      {maxVersion: 6, minIn: 1, maxIn: 1, options: optDequantize},
	OpFullyConnected:  {maxVersion: 11, minIn: 2, maxIn: 3, optional: []int{2}, options: optFullyConnected},
	OpLogistic:        {maxVersion: 3, minIn: 1, maxIn: 1},
	OpMaxPool2D:       {maxVersion: 3, minIn: 1, maxIn: 1, options: optPool2D},
	OpMul:             {maxVersion: 7, minIn: 2, maxIn: 2, options: optMul},
	OpRelu:            {maxVersion: 3, minIn: 1, maxIn: 1},
	OpRelu6:           {maxVersion: 3, minIn: 1, maxIn: 1},
	OpReshape:         {maxVersion: 1, minIn: 1, maxIn: 2, optional: []int{1}, options: optReshape},
	OpSoftmax:         {maxVersion: 3, minIn: 1, maxIn: 1, options: optSoftmax},
	OpPad:             {maxVersion: 4, minIn: 2, maxIn: 2, options: optPad},
	OpMean:            {maxVersion: 3, minIn: 2, maxIn: 2, options: optReducer},
	OpSqueeze:         {maxVersion: 2, minIn: 1, maxIn: 1, options: optSqueeze},
	OpQuantize:        {maxVersion: 3, minIn: 1, maxIn: 1, options: optQuantize},
	OpHardSwish:       {maxVersion: 1, minIn: 1, maxIn: 1, options: optHardSwish},
}

// Supported reports whether alphad implements op at the given version.
func Supported(op BuiltinOperator, version int) bool {
	s, ok := supportedOps[op]
	return ok && version >= 1 && version <= s.maxVersion
}
