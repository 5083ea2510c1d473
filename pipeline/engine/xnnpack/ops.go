//go:build xnnpack && cgo

package xnnpack

import (
	"fmt"
	"math"
	"slices"
	"unsafe"

	"github.com/alphad/alphad/pipeline/tflite"
)

// This file maps each TFLite operator onto XNNPACK nodes; build.go holds
// the graph-level bookkeeping (values, constants, edges).

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
	if isQ(t) {
		lo, hi := 0, 255
		if t.Type == tflite.Int8 {
			lo, hi = -128, 127
		}
		s, zp := t.Quant.Scale[0], int(zeroPoint(t))
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
	if len(op.Outputs) != 1 || len(op.Inputs) == 0 || op.Outputs[0] < 0 {
		return unsupported(op, fmt.Sprintf("%d inputs and %d outputs", len(op.Inputs), len(op.Outputs)))
	}
	hasBias := op.Op == tflite.OpConv2D || op.Op == tflite.OpDepthwiseConv2D || op.Op == tflite.OpFullyConnected
	for i, in := range op.Inputs {
		if in < 0 && (i != 2 || !hasBias) {
			return unsupported(op, fmt.Sprintf("input %d is omitted", i))
		}
	}
	for _, ti := range append(slices.Clip(op.Inputs), op.Outputs[0]) {
		if ti < 0 {
			continue
		}
		if t := b.m.Tensors[ti]; slices.ContainsFunc(t.Shape, func(d int) bool { return d < 1 }) {
			return unsupported(op, fmt.Sprintf("tensor %d (%s) has an empty shape %v", t.Index, t.Name, t.Shape))
		}
	}
	var err error
	switch op.Op {
	case tflite.OpDequantize:
		return nil // an alias or a folded constant, see build
	case tflite.OpQuantize:
		err = b.quantize(op)
	case tflite.OpConv2D, tflite.OpDepthwiseConv2D:
		err = b.conv(op)
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

// quantize requantizes an activation onto the output's grid (constants are
// folded in build).
func (b *builder) quantize(op *tflite.Operator) error {
	in, out := op.Inputs[0], op.Outputs[0]
	if b.consts[out] != nil {
		return nil
	}
	if !isQ(b.m.Tensors[out]) {
		return fmt.Errorf("output type %s is not quantized per tensor", b.m.Tensors[out].Type)
	}
	if err := b.wantShape(out, b.m.Tensors[in].Shape...); err != nil {
		return err
	}
	x, err := b.valueF(in)
	if err != nil {
		return err
	}
	q, err := b.produceQ(out)
	if err != nil {
		return err
	}
	return b.sg.convert(x, q)
}

// windowOut is the output size of a window of k taps, dilation d and
// stride s over n elements padded by before and after (0 when none fits).
func windowOut(n, before, after, k, s, d int) int {
	span := n + before + after - ((k-1)*d + 1)
	if span < 0 {
		return 0
	}
	return span/s + 1
}

// wantShape checks that tensor ti has the shape its op computes: XNNPACK
// trusts the declared shapes and would write out of bounds otherwise.
func (b *builder) wantShape(ti int, want ...int) error {
	if t := b.m.Tensors[ti]; !slices.Equal(t.Shape, want) {
		return fmt.Errorf("tensor %d (%s) has shape %v, the op computes %v", t.Index, t.Name, t.Shape, want)
	}
	return nil
}

// wantElems checks the element count of an optional tensor (a bias).
func (b *builder) wantElems(ti, n int) error {
	if ti < 0 {
		return nil
	}
	if t := b.m.Tensors[ti]; t.NumElements() != n {
		return fmt.Errorf("tensor %d (%s) has %d elements, want %d", t.Index, t.Name, t.NumElements(), n)
	}
	return nil
}

// broadcast is the numpy broadcast of two shapes, or false.
func broadcast(a, c []int) ([]int, bool) {
	n := max(len(a), len(c))
	out := make([]int, n)
	for i := range n {
		x, y := 1, 1
		if j := len(a) - n + i; j >= 0 {
			x = a[j]
		}
		if j := len(c) - n + i; j >= 0 {
			y = c[j]
		}
		switch {
		case x == y || y == 1:
			out[i] = x
		case x == 1:
			out[i] = y
		default:
			return nil, false
		}
	}
	return out, true
}

// samePadding is TFLite's SAME padding for one spatial dimension.
func samePadding(in, kernel, stride, dilation int) (before, after int) {
	out := (in + stride - 1) / stride
	eff := (kernel-1)*dilation + 1
	total := max((out-1)*stride+eff-in, 0)
	return total / 2, total - total/2
}

// convWindow computes the geometry of a convolution or pool reading tensor
// in, folding a preceding PAD; src is the tensor actually read.
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
	if f, ok := b.pads[b.canon[in]]; ok && len(b.m.Tensors[f.src].Shape) == 4 {
		src = f.src
		w.padTop += f.top
		w.padBottom += f.bottom
		w.padLeft += f.left
		w.padRight += f.right
	}
	return w, src, nil
}

// weightsF is the float value of a constant operand.
func (b *builder) weightsF(ti int) (uint32, error) {
	if !b.isConst(ti) {
		return invalidID, fmt.Errorf("tensor %d (%s): weights must be constant", ti, b.m.Tensors[ti].Name)
	}
	return b.valueF(ti)
}

// weightKind says what an integer node accepts.
type weightKind struct {
	channelDim   int  // the filter's output-channel dimension
	perChannel   bool // per-channel int8 filters (qc8) are accepted
	biasRequired bool // a missing bias must be given as zeros
}

// weightsQ defines filter and bias for an integer node reading activation
// in and writing activations of type act; ok is false when they have no
// matching quantized form (uint8: per-tensor uint8 filter; int8: int8
// filter, per channel only where k allows, with the bias quantized alike).
func (b *builder) weightsQ(act tflite.TensorType, in, filter, bias int, k weightKind) (f, bi uint32, ok bool, err error) {
	ft := b.m.Tensors[filter]
	if !ft.IsConst() || ft.Quant == nil || (bias >= 0 && (!b.m.Tensors[bias].IsConst() || b.m.Tensors[bias].Type != tflite.Int32)) {
		return invalidID, invalidID, false, nil
	}
	perChannel := ft.Quant.PerChannel()
	switch {
	case act == tflite.Uint8 && (ft.Type != tflite.Uint8 || perChannel),
		act == tflite.Int8 && (ft.Type != tflite.Int8 || slices.ContainsFunc(ft.Quant.ZeroPoint, func(z int64) bool { return z != 0 })),
		perChannel && !k.perChannel,
		bias >= 0 && perChannel != b.m.Tensors[bias].Quant.PerChannel():
		return invalidID, invalidID, false, nil
	}
	if f, ok, err = b.quantWeights(filter, k.channelDim); !ok || err != nil {
		return invalidID, invalidID, false, err
	}
	switch {
	case bias >= 0:
		bi, ok, err = b.quantWeights(bias, 0)
	case k.biasRequired:
		bi, err = b.zeroBias(in, ft, k.channelDim)
	default:
		bi = invalidID
	}
	if !ok || err != nil {
		return invalidID, invalidID, false, err
	}
	return f, bi, true, nil
}

// zeroBias defines a zero int32 bias quantized as TFLite would: scale
// input scale × filter scale, per channel when the filter is.
func (b *builder) zeroBias(in int, ft *tflite.Tensor, channelDim int) (uint32, error) {
	n := ft.Shape[channelDim]
	sIn := b.m.Tensors[b.canon[in]].Quant.Scale[0]
	data, err := b.alloc(4 * n)
	if err != nil {
		return invalidID, err
	}
	if !ft.Quant.PerChannel() {
		return b.sg.quantTensor(qint32, 0, sIn*ft.Quant.Scale[0], []int{n}, unsafe.Pointer(&data[0]), invalidID, 0)
	}
	sbuf, err := b.alloc(4 * n)
	if err != nil {
		return invalidID, err
	}
	scales := unsafe.Slice((*float32)(unsafe.Pointer(&sbuf[0])), n)
	for i := range scales {
		scales[i] = sIn * ft.Quant.Scale[i]
	}
	return b.sg.channelTensor(qcint32, scales, []int{n}, 0, unsafe.Pointer(&data[0]))
}

// conv maps CONV_2D and DEPTHWISE_CONV_2D.
func (b *builder) conv(op *tflite.Operator) error {
	if len(op.Inputs) < 2 {
		return fmt.Errorf("malformed operator")
	}
	in, filter, bias, out := op.Inputs[0], op.Inputs[1], input(op, 2), op.Outputs[0]
	ft, it := b.m.Tensors[filter], b.m.Tensors[in]
	if len(ft.Shape) != 4 || len(it.Shape) != 4 {
		return fmt.Errorf("filter shape %v or input shape %v is not 4-D", ft.Shape, it.Shape)
	}
	c := it.Shape[3]
	var (
		w          window
		src        int
		act        tflite.Activation
		err        error
		channelDim int
		node       func(r outRange, x, f, bi, y uint32) error
	)
	if o, ok := op.Options.(*tflite.Conv2DOptions); ok && op.Op == tflite.OpConv2D {
		oc, kh, kw, ic := ft.Shape[0], ft.Shape[1], ft.Shape[2], ft.Shape[3]
		if w, src, err = b.convWindow(in, o.Padding, kh, kw, o.StrideH, o.StrideW, o.DilationH, o.DilationW); err != nil {
			return err
		}
		if ic == 0 || c%ic != 0 || oc%(c/ic) != 0 {
			return fmt.Errorf("input channels %d do not split into groups of %d", c, ic)
		}
		groups := c / ic
		act = o.Activation
		node = func(r outRange, x, f, bi, y uint32) error {
			return b.sg.conv2d(w, groups, ic, oc/groups, r, x, f, bi, y)
		}
	} else if o, ok := op.Options.(*tflite.DepthwiseConv2DOptions); ok && op.Op == tflite.OpDepthwiseConv2D {
		kh, kw, oc := ft.Shape[1], ft.Shape[2], ft.Shape[3]
		if ft.Shape[0] != 1 {
			return fmt.Errorf("filter shape %v, want [1,KH,KW,C·M]", ft.Shape)
		}
		if w, src, err = b.convWindow(in, o.Padding, kh, kw, o.StrideH, o.StrideW, o.DilationH, o.DilationW); err != nil {
			return err
		}
		if c == 0 || oc%c != 0 {
			return fmt.Errorf("%d output channels are not a multiple of %d input channels", oc, c)
		}
		act, channelDim = o.Activation, 3
		node = func(r outRange, x, f, bi, y uint32) error {
			return b.sg.depthwise(w, oc/c, c, r, x, f, bi, y)
		}
	} else {
		return fmt.Errorf("malformed operator")
	}
	ss := b.m.Tensors[src].Shape
	oc := ft.Shape[0]
	if op.Op == tflite.OpDepthwiseConv2D {
		oc = ft.Shape[3]
	}
	oh := windowOut(ss[1], w.padTop, w.padBottom, w.kernelH, w.strideH, w.dilationH)
	ow := windowOut(ss[2], w.padLeft, w.padRight, w.kernelW, w.strideW, w.dilationW)
	if err := b.wantShape(out, ss[0], oh, ow, oc); err != nil {
		return err
	}
	if err := b.wantElems(bias, oc); err != nil {
		return err
	}
	r, err := b.clampRange(out, act)
	if err != nil {
		return err
	}
	if b.quantizable(out, src) {
		k := weightKind{channelDim: channelDim, perChannel: true, biasRequired: op.Op == tflite.OpConv2D}
		f, bi, ok, err := b.weightsQ(b.m.Tensors[out].Type, src, filter, bias, k)
		if err != nil {
			return err
		}
		if ok {
			return b.quantOp([]int{src}, out, func(x []uint32, y uint32) error { return node(r, x[0], f, bi, y) })
		}
	}
	f, err := b.weightsF(filter)
	if err != nil {
		return err
	}
	var bi uint32
	switch {
	case bias >= 0:
		bi, err = b.weightsF(bias)
	case op.Op == tflite.OpConv2D: // XNNPACK's convolution requires a bias
		bi, err = b.constant([]int{ft.Shape[0]}, make([]float32, ft.Shape[0]))
	default:
		bi = invalidID
	}
	if err != nil {
		return err
	}
	return b.floatOp([]int{src}, out, func(x []uint32, y uint32) error { return node(r, x[0], f, bi, y) })
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
	padded := make([]int, rank)
	for i := range rank {
		pre[i], post[i] = p[2*i], p[2*i+1]
		if pre[i] < 0 || post[i] < 0 {
			return fmt.Errorf("negative padding %v", p)
		}
		padded[i] = b.m.Tensors[in].Shape[i] + pre[i] + post[i]
	}
	if err := b.wantShape(out, padded...); err != nil {
		return err
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
	node := func(x []uint32, y uint32) error { return b.sg.pad(pre, post, 0, x[0], y) }
	if b.quantizable(out, in) && sameGrid(b.m.Tensors[out], b.m.Tensors[b.canon[in]]) {
		return b.quantOp([]int{in}, out, node)
	}
	return b.floatOp([]int{in}, out, node)
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
	shape, ok := broadcast(b.m.Tensors[op.Inputs[0]].Shape, b.m.Tensors[op.Inputs[1]].Shape)
	if !ok {
		return fmt.Errorf("shapes %v and %v do not broadcast", b.m.Tensors[op.Inputs[0]].Shape, b.m.Tensors[op.Inputs[1]].Shape)
	}
	if err := b.wantShape(out, shape...); err != nil {
		return err
	}
	r, err := b.clampRange(out, act)
	if err != nil {
		return err
	}
	if op.Op == tflite.OpMul {
		return b.floatOp(op.Inputs, out, func(x []uint32, y uint32) error { return b.sg.multiply(r, x[0], x[1], y) })
	}
	node := func(x []uint32, y uint32) error { return b.sg.add(r, x[0], x[1], y) }
	if b.quantizable(out, op.Inputs...) {
		return b.quantOp(op.Inputs, out, node)
	}
	return b.floatOp(op.Inputs, out, node)
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
	var hw [4]bool
	for _, a := range axes {
		if a < 0 {
			a += len(shape)
		}
		if a < 0 || a >= len(shape) || len(shape) != 4 {
			return fmt.Errorf("only the mean over H,W of an NHWC tensor maps to XNNPACK (axes %v, shape %v)", axes, shape)
		}
		hw[a] = true
	}
	if !hw[1] || !hw[2] || hw[0] || hw[3] {
		return fmt.Errorf("only the mean over H,W of an NHWC tensor maps to XNNPACK (axes %v, shape %v)", axes, shape)
	}
	return b.globalPool(in, out, tflite.ActNone)
}

// globalPool averages NHWC in over H,W into out ([N,1,1,C] or [N,C]).
func (b *builder) globalPool(in, out int, act tflite.Activation) error {
	shape, oshape := b.m.Tensors[in].Shape, b.m.Tensors[out].Shape
	pooled := []int{shape[0], 1, 1, shape[3]}
	if !slices.Equal(oshape, pooled) && !slices.Equal(oshape, []int{shape[0], shape[3]}) {
		return fmt.Errorf("tensor %d has shape %v, the op computes %v", out, oshape, pooled)
	}
	r, err := b.clampRange(out, act)
	if err != nil {
		return err
	}
	quant := b.quantizable(out, in)
	node := func(x []uint32, y uint32) error {
		if len(oshape) == 4 {
			return b.sg.globalAvgPool(r, x[0], y)
		}
		var tmp uint32
		var err error
		if quant {
			o := b.m.Tensors[out]
			tmp, err = b.sg.quantTensor(qtype(o), zeroPoint(o), o.Quant.Scale[0], pooled, nil, invalidID, 0)
		} else {
			tmp, err = b.sg.tensor(pooled, nil, invalidID, 0)
		}
		if err == nil {
			err = b.sg.globalAvgPool(r, x[0], tmp)
		}
		if err == nil {
			err = b.sg.reshape(oshape, tmp, y)
		}
		return err
	}
	if quant {
		return b.quantOp([]int{in}, out, node)
	}
	return b.floatOp([]int{in}, out, node)
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
	oh := windowOut(shape[1], w.padTop, w.padBottom, w.kernelH, w.strideH, 1)
	ow := windowOut(shape[2], w.padLeft, w.padRight, w.kernelW, w.strideW, 1)
	if err := b.wantShape(out, shape[0], oh, ow, shape[3]); err != nil {
		return err
	}
	r, err := b.clampRange(out, o.Activation)
	if err != nil {
		return err
	}
	if op.Op == tflite.OpMaxPool2D {
		node := func(x []uint32, y uint32) error { return b.sg.maxPool(w, r, x[0], y) }
		if b.quantizable(out, in) && sameGrid(b.m.Tensors[out], b.m.Tensors[b.canon[in]]) {
			return b.quantOp([]int{in}, out, node)
		}
		return b.floatOp([]int{in}, out, node)
	}
	return b.floatOp([]int{in}, out, func(x []uint32, y uint32) error { return b.sg.avgPool(w, r, x[0], y) })
}

func (b *builder) fullyConnected(op *tflite.Operator) error {
	o, ok := op.Options.(*tflite.FullyConnectedOptions)
	if !ok || len(op.Inputs) < 2 {
		return fmt.Errorf("malformed operator")
	}
	in, filter, bias, out := op.Inputs[0], op.Inputs[1], input(op, 2), op.Outputs[0]
	ft := b.m.Tensors[filter]
	if len(ft.Shape) != 2 || ft.Shape[0] <= 0 || ft.Shape[1] <= 0 {
		return fmt.Errorf("weights shape %v, want [out, in]", ft.Shape)
	}
	r, err := b.clampRange(out, o.Activation)
	if err != nil {
		return err
	}
	ishape, oshape := b.m.Tensors[in].Shape, b.m.Tensors[out].Shape
	n, k := b.m.Tensors[in].NumElements(), ft.Shape[1]
	if n%k != 0 || (len(ishape) == 2 && ishape[1] != k) {
		return fmt.Errorf("input shape %v does not split into rows of %d", ishape, k)
	}
	if len(oshape) == 2 {
		err = b.wantShape(out, n/k, ft.Shape[0])
	} else if b.m.Tensors[out].NumElements() != n/k*ft.Shape[0] || oshape[len(oshape)-1] != ft.Shape[0] {
		err = fmt.Errorf("output shape %v does not hold %d rows of %d", oshape, n/k, ft.Shape[0])
	}
	if err == nil {
		err = b.wantElems(bias, ft.Shape[0])
	}
	if err != nil {
		return err
	}
	quant := false
	var f, bi uint32
	if b.quantizable(out, in) {
		// The bookworm XNNPACK rejects per-channel fully connected weights.
		if f, bi, quant, err = b.weightsQ(b.m.Tensors[out].Type, in, filter, bias, weightKind{}); err != nil {
			return err
		}
	}
	if !quant {
		if f, err = b.weightsF(filter); err != nil {
			return err
		}
		bi = invalidID
		if bias >= 0 {
			if bi, err = b.weightsF(bias); err != nil {
				return err
			}
		}
	}
	node := func(x []uint32, y uint32) error {
		switch {
		case len(ishape) == 2 && len(oshape) == 2:
			return b.sg.fullyConnected(r, x[0], f, bi, y, false)
		case len(oshape) == 2:
			return b.sg.fullyConnected(r, x[0], f, bi, y, true)
		}
		// keep_num_dims: compute [rows, out], then restore the shape.
		rows := []int{b.m.Tensors[out].NumElements() / ft.Shape[0], ft.Shape[0]}
		var tmp uint32
		var err error
		if quant {
			o := b.m.Tensors[out]
			tmp, err = b.sg.quantTensor(qtype(o), zeroPoint(o), o.Quant.Scale[0], rows, nil, invalidID, 0)
		} else {
			tmp, err = b.sg.tensor(rows, nil, invalidID, 0)
		}
		if err == nil {
			err = b.sg.fullyConnected(r, x[0], f, bi, tmp, true)
		}
		if err == nil {
			err = b.sg.reshape(oshape, tmp, y)
		}
		return err
	}
	if quant {
		return b.quantOp([]int{in}, out, node)
	}
	return b.floatOp([]int{in}, out, node)
}

func (b *builder) softmax(op *tflite.Operator) error {
	in, out := op.Inputs[0], op.Outputs[0]
	if err := b.wantShape(out, b.m.Tensors[in].Shape...); err != nil {
		return err
	}
	beta := float32(1)
	if o, ok := op.Options.(*tflite.SoftmaxOptions); ok && o.Beta != 0 {
		beta = o.Beta
	}
	return b.floatOp([]int{in}, out, func(x []uint32, y uint32) error {
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
			if err := b.sg.multiply(outRange{-inf, inf}, x[0], k, scaled); err != nil {
				return err
			}
			x[0] = scaled
		}
		return b.sg.softmax(x[0], y)
	})
}

func (b *builder) unary(op *tflite.Operator) error {
	in, out := op.Inputs[0], op.Outputs[0]
	if err := b.wantShape(out, b.m.Tensors[in].Shape...); err != nil {
		return err
	}
	return b.floatOp([]int{in}, out, func(x []uint32, y uint32) error {
		switch op.Op {
		case tflite.OpLogistic:
			return b.sg.sigmoid(x[0], y)
		case tflite.OpHardSwish:
			return b.sg.hardswish(x[0], y)
		}
		act := tflite.ActRelu
		if op.Op == tflite.OpRelu6 {
			act = tflite.ActRelu6
		}
		r, err := b.clampRange(out, act)
		if err != nil {
			return err
		}
		return b.sg.clamp(r, x[0], y)
	})
}

func (b *builder) reshape(op *tflite.Operator) error {
	in, out := op.Inputs[0], op.Outputs[0]
	it, ot := b.m.Tensors[in], b.m.Tensors[out]
	if it.NumElements() != ot.NumElements() {
		return fmt.Errorf("reshape %v to %v changes the element count", it.Shape, ot.Shape)
	}
	node := func(x []uint32, y uint32) error { return b.sg.reshape(ot.Shape, x[0], y) }
	if b.quantizable(out, in) && sameGrid(ot, b.m.Tensors[b.canon[in]]) {
		return b.quantOp([]int{in}, out, node)
	}
	return b.floatOp([]int{in}, out, node)
}
