// Package tflite reads, validates and writes TensorFlow Lite flatbuffer models
// (.tflite). It knows the subset of the schema that MobileNet-style image
// classifiers use; everything it returns has been bounds- and shape-checked,
// so engines can trust it without re-validating. It never panics on input.
package tflite

import "fmt"

// TensorType is a tensor element type, numbered as in the TFLite schema.
type TensorType int8

// Tensor element types (schema enum TensorType).
const (
	Float32 TensorType = 0
	Float16 TensorType = 1
	Int32   TensorType = 2
	Uint8   TensorType = 3
	Int64   TensorType = 4
	String  TensorType = 5
	Bool    TensorType = 6
	Int16   TensorType = 7
	Int8    TensorType = 9
)

// Size is the byte size of one element, or 0 for types alphad does not handle.
func (t TensorType) Size() int {
	switch t {
	case Float32, Int32:
		return 4
	case Float16, Int16:
		return 2
	case Uint8, Int8, Bool:
		return 1
	case Int64:
		return 8
	}
	return 0
}

func (t TensorType) String() string {
	switch t {
	case Float32:
		return "float32"
	case Float16:
		return "float16"
	case Int32:
		return "int32"
	case Uint8:
		return "uint8"
	case Int64:
		return "int64"
	case String:
		return "string"
	case Bool:
		return "bool"
	case Int16:
		return "int16"
	case Int8:
		return "int8"
	}
	return fmt.Sprintf("type(%d)", int8(t))
}

// BuiltinOperator is a builtin op code, numbered as in the TFLite schema.
type BuiltinOperator int32

// The builtin operators alphad's engines implement (schema enum BuiltinOperator).
const (
	OpAdd             BuiltinOperator = 0
	OpAveragePool2D   BuiltinOperator = 1
	OpConcatenation   BuiltinOperator = 2
	OpConv2D          BuiltinOperator = 3
	OpDepthwiseConv2D BuiltinOperator = 4
	OpDequantize      BuiltinOperator = 6
	OpFullyConnected  BuiltinOperator = 9
	OpLogistic        BuiltinOperator = 14
	OpMaxPool2D       BuiltinOperator = 17
	OpMul             BuiltinOperator = 18
	OpRelu            BuiltinOperator = 19
	OpRelu6           BuiltinOperator = 21
	OpReshape         BuiltinOperator = 22
	OpSoftmax         BuiltinOperator = 25
	OpPad             BuiltinOperator = 34
	OpMean            BuiltinOperator = 40
	OpSqueeze         BuiltinOperator = 43
	OpQuantize        BuiltinOperator = 114
	OpHardSwish       BuiltinOperator = 117
)

// Activation is a fused activation function.
type Activation int8

// Fused activations (schema enum ActivationFunctionType).
const (
	ActNone      Activation = 0
	ActRelu      Activation = 1
	ActReluN1To1 Activation = 2
	ActRelu6     Activation = 3
	ActTanh      Activation = 4
)

// Padding is SAME or VALID.
type Padding int8

// Paddings (schema enum Padding).
const (
	PaddingSame  Padding = 0
	PaddingValid Padding = 1
)

// Quantization holds affine quantization parameters: real = Scale*(q-ZeroPoint).
// Per-tensor quantization has one scale; per-channel has one per slice of
// dimension Axis.
type Quantization struct {
	Scale     []float32
	ZeroPoint []int64
	Axis      int
}

// PerChannel reports whether there is more than one scale.
func (q *Quantization) PerChannel() bool { return q != nil && len(q.Scale) > 1 }

// Tensor is one tensor of the (single) subgraph.
type Tensor struct {
	Index int
	Name  string
	Type  TensorType
	Shape []int
	// Data is the constant contents (weights, biases, shapes), or nil for
	// activations and inputs. Its length equals ByteSize. After Parse it
	// aliases the parsed byte slice (no copy): do not modify either, and
	// do not assume alignment beyond that of the file (16 bytes from its
	// start in files written by TFLite's converter and by Marshal).
	Data  []byte
	Quant *Quantization // nil when not quantized
}

// NumElements is the product of Shape (1 for a scalar).
func (t *Tensor) NumElements() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// ByteSize is NumElements times the element size.
func (t *Tensor) ByteSize() int { return t.NumElements() * t.Type.Size() }

// IsConst reports whether the tensor has constant data.
func (t *Tensor) IsConst() bool { return t.Data != nil }

// Operator is one node of the graph. Options holds the typed options of its
// op: *Conv2DOptions, *DepthwiseConv2DOptions, *Pool2DOptions,
// *FullyConnectedOptions, *SoftmaxOptions, *ConcatenationOptions,
// *AddOptions, *MulOptions, *ReshapeOptions, *ReducerOptions,
// *SqueezeOptions, or nil for ops without options (DEQUANTIZE, LOGISTIC,
// RELU, RELU6, PAD, QUANTIZE, HARD_SWISH) and for ops alphad does not run.
// Parse always sets the options of the ops that have them, filling absent
// fields (or an absent table) with the schema defaults, e.g. dilation 1.
type Operator struct {
	Index   int
	Op      BuiltinOperator
	Version int
	Inputs  []int // tensor indices; -1 marks an omitted optional input
	Outputs []int
	Options any
	// CustomCode is the name of a custom op (Op == OpCustom), else "".
	CustomCode string
}

// Conv2DOptions are the options of CONV_2D.
type Conv2DOptions struct {
	Padding              Padding
	StrideW, StrideH     int
	DilationW, DilationH int
	Activation           Activation
}

// DepthwiseConv2DOptions are the options of DEPTHWISE_CONV_2D.
type DepthwiseConv2DOptions struct {
	Padding              Padding
	StrideW, StrideH     int
	DepthMultiplier      int
	DilationW, DilationH int
	Activation           Activation
}

// Pool2DOptions are the options of AVERAGE_POOL_2D and MAX_POOL_2D.
type Pool2DOptions struct {
	Padding                   Padding
	StrideW, StrideH          int
	FilterWidth, FilterHeight int
	Activation                Activation
}

// FullyConnectedOptions are the options of FULLY_CONNECTED.
type FullyConnectedOptions struct {
	Activation  Activation
	KeepNumDims bool
}

// SoftmaxOptions are the options of SOFTMAX.
type SoftmaxOptions struct{ Beta float32 }

// ConcatenationOptions are the options of CONCATENATION.
type ConcatenationOptions struct {
	Axis       int
	Activation Activation
}

// AddOptions are the options of ADD.
type AddOptions struct{ Activation Activation }

// MulOptions are the options of MUL.
type MulOptions struct{ Activation Activation }

// ReshapeOptions are the options of RESHAPE.
type ReshapeOptions struct{ NewShape []int }

// ReducerOptions are the options of MEAN.
type ReducerOptions struct{ KeepDims bool }

// SqueezeOptions are the options of SQUEEZE.
type SqueezeOptions struct{ SqueezeDims []int }

// Model is a parsed and validated model with a single subgraph. Shapes
// are static: a -1 (unknown) batch dimension of a graph input is read as 1.
type Model struct {
	Version     int
	Description string
	Tensors     []*Tensor
	Operators   []*Operator // in execution order
	Inputs      []int       // tensor indices
	Outputs     []int       // tensor indices
}

// Input is the i-th input tensor.
func (m *Model) Input(i int) *Tensor { return m.Tensors[m.Inputs[i]] }

// Output is the i-th output tensor.
func (m *Model) Output(i int) *Tensor { return m.Tensors[m.Outputs[i]] }

// FormatError reports a file that is not a well-formed, self-consistent
// TFLite model (truncated, corrupt, inconsistent sizes or indices).
type FormatError struct {
	Where  string // e.g. "tensor 12 (conv/weights)", "operator 3", "buffer 7"
	Reason string
}

func (e *FormatError) Error() string {
	if e.Where == "" {
		return "tflite: invalid model: " + e.Reason
	}
	return "tflite: invalid model: " + e.Where + ": " + e.Reason
}

// UnsupportedOpError reports an operator (or op version, or type
// combination) that alphad cannot run.
type UnsupportedOpError struct {
	Op      string // schema name, e.g. "RESIZE_BILINEAR" or a custom code
	Version int
	Index   int    // operator index in the graph
	Reason  string // optional detail, e.g. "int16 input"
}

func (e *UnsupportedOpError) Error() string {
	s := fmt.Sprintf("tflite: unsupported op %s version %d at operator %d", e.Op, e.Version, e.Index)
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	return s
}
