//go:build xnnpack && cgo

package xnnpack

// This file is the only one that talks to C. It pins the XNNPACK subgraph
// API of Debian bookworm's libxnnpack-dev (0.0~git20220216): the Trixie
// snapshot (2024) renamed and reshaped several of these calls, so porting
// means editing this file only.

/*
#cgo LDFLAGS: -lXNNPACK -lpthreadpool -lm
#include <stdlib.h>
#include <string.h>
#include <xnnpack.h>
#include <pthreadpool.h>

// Checked here so a header from another API generation fails at build time.
#ifndef XNN_FLAG_YIELD_WORKERS
#error "xnnpack.h lacks XNN_FLAG_YIELD_WORKERS: bookworm's libxnnpack-dev (0.0~git20220216) is required"
#endif

static void* alphad_alloc(size_t n) {
	void* p = NULL;
	// 64-byte alignment for SIMD loads, XNN_EXTRA_BYTES for XNNPACK's over-reads.
	size_t size = (n + XNN_EXTRA_BYTES + 63) & ~(size_t)63;
	if (posix_memalign(&p, 64, size) != 0) {
		return NULL;
	}
	memset(p, 0, size);
	return p;
}
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// invalidID is XNN_INVALID_VALUE_ID.
const invalidID = ^uint32(0)

// dtype is an XNNPACK value datatype.
type dtype int

const (
	fp32    dtype = C.xnn_datatype_fp32
	qint8   dtype = C.xnn_datatype_qint8
	quint8  dtype = C.xnn_datatype_quint8
	qint32  dtype = C.xnn_datatype_qint32
	qcint8  dtype = C.xnn_datatype_qcint8
	qcint32 dtype = C.xnn_datatype_qcint32
)

// Value flags.
const (
	flagExternalInput  = C.XNN_VALUE_FLAG_EXTERNAL_INPUT
	flagExternalOutput = C.XNN_VALUE_FLAG_EXTERNAL_OUTPUT
)

var statusNames = [...]string{
	C.xnn_status_success:               "success",
	C.xnn_status_uninitialized:         "uninitialized",
	C.xnn_status_invalid_parameter:     "invalid parameter",
	C.xnn_status_invalid_state:         "invalid state",
	C.xnn_status_unsupported_parameter: "unsupported parameter",
	C.xnn_status_unsupported_hardware:  "unsupported hardware",
	C.xnn_status_out_of_memory:         "out of memory",
}

// check turns an xnn_status into an error naming the call.
func check(call string, s C.enum_xnn_status) error {
	if s == C.xnn_status_success {
		return nil
	}
	name := fmt.Sprintf("status %d", int(s))
	if int(s) < len(statusNames) {
		name = statusNames[s]
	}
	return fmt.Errorf("%s: %s", call, name)
}

// cAlloc returns n zeroed bytes of C memory, 64-byte aligned and followed by
// XNN_EXTRA_BYTES of padding. Free it with cFree.
func cAlloc(n int) (unsafe.Pointer, error) {
	p := C.alphad_alloc(C.size_t(n))
	if p == nil {
		return nil, fmt.Errorf("allocate %d bytes: out of memory", n)
	}
	return p, nil
}

func cFree(p unsafe.Pointer) { C.free(p) }

func sizes(dims []int) (*C.size_t, C.size_t) {
	if len(dims) == 0 {
		return nil, 0
	}
	c := make([]C.size_t, len(dims))
	for i, d := range dims {
		c[i] = C.size_t(d)
	}
	return &c[0], C.size_t(len(c))
}

// subgraph wraps xnn_subgraph_t. Each method defines one value or node.
type subgraph struct{ p C.xnn_subgraph_t }

// newSubgraph initializes XNNPACK (idempotent) and creates a subgraph
// reserving external value ids [0, external).
func newSubgraph(external int) (*subgraph, error) {
	if err := check("xnn_initialize", C.xnn_initialize(nil)); err != nil {
		return nil, err
	}
	s := &subgraph{}
	if err := check("xnn_create_subgraph", C.xnn_create_subgraph(C.uint32_t(external), 0, &s.p)); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *subgraph) delete() {
	if s.p != nil {
		C.xnn_delete_subgraph(s.p)
		s.p = nil
	}
}

// tensor defines a float value; data is nil or C memory that outlives the runtime.
func (s *subgraph) tensor(dims []int, data unsafe.Pointer, extID, flags uint32) (uint32, error) {
	d, n := sizes(dims)
	var id C.uint32_t
	err := check("xnn_define_tensor_value", C.xnn_define_tensor_value(s.p, C.xnn_datatype_fp32, n, d, data,
		C.uint32_t(extID), C.uint32_t(flags), &id))
	return uint32(id), err
}

// quantTensor defines a per-tensor quantized value (qint8, quint8, qint32);
// data is nil or C memory that outlives the runtime.
func (s *subgraph) quantTensor(t dtype, zeroPoint int32, scale float32, dims []int, data unsafe.Pointer, extID, flags uint32) (uint32, error) {
	d, n := sizes(dims)
	var id C.uint32_t
	err := check("xnn_define_quantized_tensor_value", C.xnn_define_quantized_tensor_value(s.p, C.enum_xnn_datatype(t),
		C.int32_t(zeroPoint), C.float(scale), n, d, data, C.uint32_t(extID), C.uint32_t(flags), &id))
	return uint32(id), err
}

// channelTensor defines a static per-channel quantized value (qcint8,
// qcint32) with zero points 0; scales has one entry per slice of
// channelDim. XNNPACK keeps the scales pointer, so scales, like data, must
// be C memory that outlives the runtime.
func (s *subgraph) channelTensor(t dtype, scales []float32, dims []int, channelDim int, data unsafe.Pointer) (uint32, error) {
	d, n := sizes(dims)
	var id C.uint32_t
	err := check("xnn_define_channelwise_quantized_tensor_value", C.xnn_define_channelwise_quantized_tensor_value(s.p,
		C.enum_xnn_datatype(t), (*C.float)(unsafe.Pointer(&scales[0])), n, C.size_t(channelDim), d, data,
		C.uint32_t(invalidID), 0, &id))
	return uint32(id), err
}

// window is the geometry of a convolution or pooling node.
type window struct {
	padTop, padRight, padBottom, padLeft int
	kernelH, kernelW                     int
	strideH, strideW                     int
	dilationH, dilationW                 int
}

// outRange is a node's output clamp.
type outRange struct{ min, max float32 }

func (s *subgraph) conv2d(w window, groups, groupIn, groupOut int, r outRange, in, filter, bias, out uint32) error {
	return check("xnn_define_convolution_2d", C.xnn_define_convolution_2d(s.p,
		C.uint32_t(w.padTop), C.uint32_t(w.padRight), C.uint32_t(w.padBottom), C.uint32_t(w.padLeft),
		C.uint32_t(w.kernelH), C.uint32_t(w.kernelW), C.uint32_t(w.strideH), C.uint32_t(w.strideW),
		C.uint32_t(w.dilationH), C.uint32_t(w.dilationW),
		C.uint32_t(groups), C.size_t(groupIn), C.size_t(groupOut), C.float(r.min), C.float(r.max),
		C.uint32_t(in), C.uint32_t(filter), C.uint32_t(bias), C.uint32_t(out), 0))
}

func (s *subgraph) depthwise(w window, multiplier, channels int, r outRange, in, filter, bias, out uint32) error {
	return check("xnn_define_depthwise_convolution_2d", C.xnn_define_depthwise_convolution_2d(s.p,
		C.uint32_t(w.padTop), C.uint32_t(w.padRight), C.uint32_t(w.padBottom), C.uint32_t(w.padLeft),
		C.uint32_t(w.kernelH), C.uint32_t(w.kernelW), C.uint32_t(w.strideH), C.uint32_t(w.strideW),
		C.uint32_t(w.dilationH), C.uint32_t(w.dilationW),
		C.uint32_t(multiplier), C.size_t(channels), C.float(r.min), C.float(r.max),
		C.uint32_t(in), C.uint32_t(filter), C.uint32_t(bias), C.uint32_t(out), 0))
}

func (s *subgraph) globalAvgPool(r outRange, in, out uint32) error {
	return check("xnn_define_global_average_pooling_2d", C.xnn_define_global_average_pooling_2d(s.p,
		C.float(r.min), C.float(r.max), C.uint32_t(in), C.uint32_t(out), 0))
}

func (s *subgraph) avgPool(w window, r outRange, in, out uint32) error {
	return check("xnn_define_average_pooling_2d", C.xnn_define_average_pooling_2d(s.p,
		C.uint32_t(w.padTop), C.uint32_t(w.padRight), C.uint32_t(w.padBottom), C.uint32_t(w.padLeft),
		C.uint32_t(w.kernelH), C.uint32_t(w.kernelW), C.uint32_t(w.strideH), C.uint32_t(w.strideW),
		C.float(r.min), C.float(r.max), C.uint32_t(in), C.uint32_t(out), 0))
}

func (s *subgraph) maxPool(w window, r outRange, in, out uint32) error {
	return check("xnn_define_max_pooling_2d", C.xnn_define_max_pooling_2d(s.p,
		C.uint32_t(w.padTop), C.uint32_t(w.padRight), C.uint32_t(w.padBottom), C.uint32_t(w.padLeft),
		C.uint32_t(w.kernelH), C.uint32_t(w.kernelW), C.uint32_t(w.strideH), C.uint32_t(w.strideW),
		C.uint32_t(w.dilationH), C.uint32_t(w.dilationW),
		C.float(r.min), C.float(r.max), C.uint32_t(in), C.uint32_t(out), 0))
}

// fullyConnected defines y = x·Wᵀ + b with W [out, in]; reshape2D flattens
// x to [-1, in] as TFLite does.
func (s *subgraph) fullyConnected(r outRange, in, filter, bias, out uint32, reshape2D bool) error {
	var flags C.uint32_t
	if reshape2D {
		flags = C.XNN_FLAG_TENSORFLOW_RESHAPE_2D
	}
	return check("xnn_define_fully_connected", C.xnn_define_fully_connected(s.p, C.float(r.min), C.float(r.max),
		C.uint32_t(in), C.uint32_t(filter), C.uint32_t(bias), C.uint32_t(out), flags))
}

func (s *subgraph) add(r outRange, a, b, out uint32) error {
	return check("xnn_define_add2", C.xnn_define_add2(s.p, C.float(r.min), C.float(r.max),
		C.uint32_t(a), C.uint32_t(b), C.uint32_t(out), 0))
}

func (s *subgraph) multiply(r outRange, a, b, out uint32) error {
	return check("xnn_define_multiply2", C.xnn_define_multiply2(s.p, C.float(r.min), C.float(r.max),
		C.uint32_t(a), C.uint32_t(b), C.uint32_t(out), 0))
}

func (s *subgraph) clamp(r outRange, in, out uint32) error {
	return check("xnn_define_clamp", C.xnn_define_clamp(s.p, C.float(r.min), C.float(r.max),
		C.uint32_t(in), C.uint32_t(out), 0))
}

func (s *subgraph) softmax(in, out uint32) error {
	return check("xnn_define_softmax", C.xnn_define_softmax(s.p, C.uint32_t(in), C.uint32_t(out), 0))
}

func (s *subgraph) sigmoid(in, out uint32) error {
	return check("xnn_define_sigmoid", C.xnn_define_sigmoid(s.p, C.uint32_t(in), C.uint32_t(out), 0))
}

func (s *subgraph) hardswish(in, out uint32) error {
	return check("xnn_define_hardswish", C.xnn_define_hardswish(s.p, C.uint32_t(in), C.uint32_t(out), 0))
}

// pad defines a constant pad; pre and post have one entry per dimension.
func (s *subgraph) pad(pre, post []int, value float32, in, out uint32) error {
	p, _ := sizes(pre)
	q, _ := sizes(post)
	return check("xnn_define_static_constant_pad", C.xnn_define_static_constant_pad(s.p, p, q, C.float(value),
		C.uint32_t(in), C.uint32_t(out), 0))
}

func (s *subgraph) reshape(dims []int, in, out uint32) error {
	d, n := sizes(dims)
	return check("xnn_define_static_reshape", C.xnn_define_static_reshape(s.p, n, d, C.uint32_t(in), C.uint32_t(out), 0))
}

// convert defines a datatype conversion (fp32 ↔ qint8/quint8).
func (s *subgraph) convert(in, out uint32) error {
	return check("xnn_define_convert", C.xnn_define_convert(s.p, C.uint32_t(in), C.uint32_t(out), 0))
}

// external binds an external value id to C memory.
type external struct {
	id   uint32
	data unsafe.Pointer
}

// runtime is a compiled subgraph plus its optional thread pool.
type runtime struct {
	p    C.xnn_runtime_t
	pool C.pthreadpool_t
}

// newRuntime compiles s; threads > 1 runs it on a pthreadpool whose workers
// yield after each invoke. s may be deleted afterwards.
func (s *subgraph) newRuntime(threads int) (*runtime, error) {
	r := &runtime{}
	var flags C.uint32_t
	if threads > 1 {
		r.pool = C.pthreadpool_create(C.size_t(threads))
		if r.pool == nil {
			return nil, fmt.Errorf("pthreadpool_create(%d): failed", threads)
		}
		flags |= C.XNN_FLAG_YIELD_WORKERS
	}
	if err := check("xnn_create_runtime_v2", C.xnn_create_runtime_v2(s.p, r.pool, flags, &r.p)); err != nil {
		r.delete()
		return nil, err
	}
	return r, nil
}

// setup binds every external value; the memory must stay valid until delete.
func (r *runtime) setup(ext []external) error {
	v := make([]C.struct_xnn_external_value, len(ext))
	for i, e := range ext {
		v[i].id = C.uint32_t(e.id)
		v[i].data = e.data
	}
	var p *C.struct_xnn_external_value
	if len(v) > 0 {
		p = &v[0]
	}
	return check("xnn_setup_runtime", C.xnn_setup_runtime(r.p, C.size_t(len(v)), p))
}

func (r *runtime) invoke() error {
	return check("xnn_invoke_runtime", C.xnn_invoke_runtime(r.p))
}

func (r *runtime) delete() {
	if r.p != nil {
		C.xnn_delete_runtime(r.p)
		r.p = nil
	}
	if r.pool != nil {
		C.pthreadpool_destroy(r.pool)
		r.pool = nil
	}
}
