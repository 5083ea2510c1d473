package native

// The kernel contract: how the interpreter dispatches an operator.
//
//   - kernels maps each builtin op to a prepareFunc. New calls it once per
//     operator, in execution order, after the arena is laid out, so every
//     tensor already has its final storage.
//   - A prepareFunc validates the op's types, shapes and options against the
//     model and returns a runFunc. Unsupported combinations return
//     p.unsupported(op, reason) (a *tflite.UnsupportedOpError naming the op,
//     its version and index); malformed ones may return any wrapped error.
//   - Storage: p.bytes, p.f32, p.u8, p.i8 and p.i32 return views of a
//     tensor. For activations (and model inputs/outputs) they are views of
//     the arena, 64-byte aligned, fixed for the engine's life: capture them in
//     the runFunc closure. For constant tensors they return the model data
//     (p.f32/p.i32 copy it into an aligned slice). Do all packing, fixed-point
//     multiplier computation and scratch allocation in prepare.
//   - A runFunc runs the op once. It must not allocate, must not retain
//     anything beyond what prepare captured, and reads inputs/writes outputs
//     only through the captured views. It may write its outputs before it
//     has finished reading its inputs only if prepare has checked that no
//     input shares storage with an output (p.sameStorage); the arena never
//     shares an output with a live input except for RESHAPE/SQUEEZE aliases.
//   - Parallel work: in prepare, j := p.pool.newJob(n, work, fn) with fn
//     a func(lo, hi int) and work the op's multiply-adds, or elements ×
//     elemWork for element-wise and pooling ops (small jobs run inline);
//     a GEMM cuts its items with gemm.grid; inside the runFunc, p.pool.runJob(j) splits [0,n)
//     into chunks over the worker pool (or runs fn(0,n) inline with one
//     thread) and returns when all chunks are done.
//   - Fused blocks (fused.go): before the arena is laid out, fusePlan picks
//     float32 expand → depthwise → project [→ ADD] chains on large maps;
//     the block's first op runs the whole chain, its other ops are never
//     prepared (their run is empty) and its inner tensors get no storage.
//   - Quantized dispatch: a float prepareFunc whose input is uint8/int8 calls
//     the matching prepareQuantXxx(p, op) declared in quant_ops.go; those
//     wrap package qmath.

import (
	"fmt"
	"unsafe"

	"github.com/alphad/alphad/pipeline/engine/native/qmath"
	"github.com/alphad/alphad/pipeline/tflite"
)

// prepareFunc validates one operator and builds its run function.
type prepareFunc func(p *plan, op *tflite.Operator) (runFunc, error)

// runFunc runs one prepared operator; it allocates nothing.
type runFunc func()

// kernels is the op table, explicit by design (no init registration).
var kernels = map[tflite.BuiltinOperator]prepareFunc{
	tflite.OpConv2D:          prepareConv2D,
	tflite.OpDepthwiseConv2D: prepareDepthwiseConv2D,
	tflite.OpAdd:             prepareAdd,
	tflite.OpMul:             prepareMul,
	tflite.OpPad:             preparePad,
	tflite.OpMean:            prepareMean,
	tflite.OpAveragePool2D:   prepareAveragePool2D,
	tflite.OpMaxPool2D:       prepareMaxPool2D,
	tflite.OpFullyConnected:  prepareFullyConnected,
	tflite.OpSoftmax:         prepareSoftmax,
	tflite.OpReshape:         prepareReshape,
	tflite.OpSqueeze:         prepareReshape,
	tflite.OpConcatenation:   prepareConcatenation,
	tflite.OpRelu:            prepareRelu,
	tflite.OpRelu6:           prepareRelu6,
	tflite.OpLogistic:        prepareLogistic,
	tflite.OpHardSwish:       prepareHardSwish,
	tflite.OpDequantize:      prepareDequantize,
	tflite.OpQuantize:        prepareQuantize,
}

// plan is the per-model build state handed to every prepareFunc.
type plan struct {
	model *tflite.Model
	pool  *pool
	kern  gemmKernel // the GEMM micro-kernel for this CPU
	qdot  qmath.Dot  // the integer dot-product kernel
	// views holds the arena view of every non-constant tensor (nil for
	// constants and for tensors no operator touches).
	views [][]byte
	// chanCut marks the tensors written by a job whose thread segments
	// split the channels (a 1×1 convolution cut by weight columns): an op
	// reading one may cut the same way, so that each thread reads what it
	// wrote.
	chanCut map[int]bool
	// fz is the plan's fused blocks and chained pairs (nil: none).
	fz *fusion
	// at is the index of the op being prepared; tail the job of the last
	// prepared 1×1 CONV_2D, which the op after it may join, and chained
	// is set when the op being prepared did (see chain.go).
	at      int
	tail    *opTail
	chained bool
}

// markChanCut records that tensor i is written split by channels (see
// plan.chanCut).
func (p *plan) markChanCut(i int) {
	if p.chanCut == nil {
		p.chanCut = map[int]bool{}
	}
	p.chanCut[i] = true
}

// tensor returns tensor i of the model.
func (p *plan) tensor(i int) *tflite.Tensor { return p.model.Tensors[i] }

// bytes is the storage of tensor i: its arena view, or its constant data.
func (p *plan) bytes(i int) []byte {
	t := p.model.Tensors[i]
	if t.IsConst() {
		return t.Data
	}
	return p.views[i]
}

// f32 views tensor i as float32s (constants are copied to aligned memory).
func (p *plan) f32(i int) []float32 {
	t := p.model.Tensors[i]
	if t.IsConst() {
		out := make([]float32, len(t.Data)/4)
		copy(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(out))), len(out)*4), t.Data)
		return out
	}
	return asF32(p.views[i])
}

// i32 views tensor i as int32s (constants are copied to aligned memory).
func (p *plan) i32(i int) []int32 {
	t := p.model.Tensors[i]
	if t.IsConst() {
		out := make([]int32, len(t.Data)/4)
		copy(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(out))), len(out)*4), t.Data)
		return out
	}
	b := p.views[i]
	if len(b) < 4 {
		return nil
	}
	return unsafe.Slice((*int32)(unsafe.Pointer(&b[0])), len(b)/4)
}

// u8 views tensor i as uint8s.
func (p *plan) u8(i int) []uint8 { return p.bytes(i) }

// i8 views tensor i as int8s.
func (p *plan) i8(i int) []int8 {
	b := p.bytes(i)
	if len(b) == 0 {
		return nil
	}
	return unsafe.Slice((*int8)(unsafe.Pointer(&b[0])), len(b))
}

// sameStorage reports whether tensors i and j overlap in memory.
func (p *plan) sameStorage(i, j int) bool {
	a, b := p.bytes(i), p.bytes(j)
	if len(a) == 0 || len(b) == 0 {
		return false
	}
	pa, pb := uintptr(unsafe.Pointer(&a[0])), uintptr(unsafe.Pointer(&b[0]))
	return pa < pb+uintptr(len(b)) && pb < pa+uintptr(len(a))
}

// unsupported builds the error for an op this engine cannot run.
func (p *plan) unsupported(op *tflite.Operator, format string, args ...any) error {
	return &tflite.UnsupportedOpError{
		Op:      tflite.OpName(op.Op),
		Version: op.Version,
		Index:   op.Index,
		Reason:  fmt.Sprintf(format, args...),
	}
}

// asF32 views b as float32s.
func asF32(b []byte) []float32 {
	if len(b) < 4 {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), len(b)/4)
}

// checkIO checks the operand counts of op: at least minIn inputs (the
// first minIn present) and exactly nOut outputs.
func (p *plan) checkIO(op *tflite.Operator, minIn, nOut int) error {
	if len(op.Inputs) < minIn || len(op.Outputs) != nOut {
		return p.unsupported(op, "want %d inputs and %d outputs, have %d and %d", minIn, nOut, len(op.Inputs), len(op.Outputs))
	}
	for _, in := range op.Inputs[:minIn] {
		if in < 0 {
			return p.unsupported(op, "missing required input")
		}
	}
	return nil
}
