//go:build xnnpack && cgo

package xnnpack

import (
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/alphad/alphad/pipeline/engine"
	"github.com/alphad/alphad/pipeline/engine/enginetest"
	"github.com/alphad/alphad/pipeline/tflite"
	"github.com/alphad/alphad/pipeline/tflite/tflitetest"
)

// graph builds small float32 models for mapping tests.
type graph struct{ m *tflite.Model }

func newGraph() *graph { return &graph{m: &tflite.Model{Version: 3}} }

func (g *graph) tensor(shape []int, data []byte, typ tflite.TensorType) int {
	i := len(g.m.Tensors)
	g.m.Tensors = append(g.m.Tensors, &tflite.Tensor{Index: i, Name: "t" + string(rune('a'+i%26)), Type: typ, Shape: shape, Data: data})
	return i
}

// act is an activation tensor; weights is a seeded constant.
func (g *graph) act(shape ...int) int { return g.tensor(shape, nil, tflite.Float32) }

func (g *graph) weights(seed uint64, shape ...int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, 4*n)
	for i := range n {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(r.Float32()*2-1))
	}
	return g.tensor(shape, b, tflite.Float32)
}

func (g *graph) ints(v ...int32) int {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], uint32(x))
	}
	return g.tensor([]int{len(v)}, b, tflite.Int32)
}

// pads is a constant [4,2] PAD paddings tensor.
func (g *graph) pads(v ...int32) int {
	i := g.ints(v...)
	g.m.Tensors[i].Shape = []int{len(v) / 2, 2}
	return i
}

func (g *graph) op(code tflite.BuiltinOperator, opts any, out int, ins ...int) {
	g.m.Operators = append(g.m.Operators, &tflite.Operator{Index: len(g.m.Operators), Op: code, Version: 1, Inputs: ins, Outputs: []int{out}, Options: opts})
}

// seeded fills every float input of e with values in [-1, 1).
func seeded(e engine.Engine, m *tflite.Model) {
	r := rand.New(rand.NewPCG(7, 7))
	for i := range m.Inputs {
		in := engine.Float32s(e.Input(i))
		for j := range in {
			in[j] = r.Float32()*2 - 1
		}
	}
}

// agree runs m through xnnpack and native on a seeded input.
func agree(t *testing.T, m *tflite.Model, opts engine.Options) {
	t.Helper()
	x, err := New(m, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	defer x.Close()
	n, err := newNative(m, engine.Options{})
	if err != nil {
		t.Fatalf("native: %v", err)
	}
	defer n.Close()
	seeded(x, m)
	copy(n.Input(0), x.Input(0))
	if err := x.Invoke(); err != nil {
		t.Fatal(err)
	}
	if err := n.Invoke(); err != nil {
		t.Fatal(err)
	}
	d, err := enginetest.Compare(x.Output(0), n.Output(0), tflite.Float32)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("xnnpack vs native: %v", d)
	d.Check(t, 1e-4, 0)
}

// TestMapping compares small graphs covering each mapping path with the
// native engine.
func TestMapping(t *testing.T) {
	conv := func(pad tflite.Padding, stride int) *tflite.Conv2DOptions {
		return &tflite.Conv2DOptions{Padding: pad, StrideH: stride, StrideW: stride, DilationH: 1, DilationW: 1, Activation: tflite.ActRelu6}
	}
	tests := []struct {
		name   string
		folded int // PADs folded into a convolution
		build  func(g *graph)
	}{
		{"tiny", 0, func(g *graph) { g.m = tflitetest.Tiny() }},
		{"conv same stride 2 (asymmetric padding)", 0, func(g *graph) {
			in, out := g.act(1, 8, 7, 3), g.act(1, 4, 4, 5)
			g.op(tflite.OpConv2D, conv(tflite.PaddingSame, 2), out, in, g.weights(1, 5, 3, 3, 3), g.weights(2, 5))
			g.m.Inputs, g.m.Outputs = []int{in}, []int{out}
		}},
		{"conv without bias", 0, func(g *graph) {
			in, out := g.act(1, 6, 6, 4), g.act(1, 6, 6, 2)
			g.op(tflite.OpConv2D, conv(tflite.PaddingSame, 1), out, in, g.weights(1, 2, 3, 3, 4), -1)
			g.m.Inputs, g.m.Outputs = []int{in}, []int{out}
		}},
		{"pad folded into depthwise", 1, func(g *graph) {
			in, padded, out := g.act(1, 6, 6, 4), g.act(1, 7, 7, 4), g.act(1, 3, 3, 4)
			g.op(tflite.OpPad, nil, padded, in, g.pads(0, 0, 0, 1, 0, 1, 0, 0))
			g.op(tflite.OpDepthwiseConv2D, &tflite.DepthwiseConv2DOptions{Padding: tflite.PaddingValid, StrideH: 2, StrideW: 2,
				DepthMultiplier: 1, DilationH: 1, DilationW: 1, Activation: tflite.ActRelu6}, out, padded, g.weights(3, 1, 3, 3, 4), g.weights(4, 4))
			g.m.Inputs, g.m.Outputs = []int{in}, []int{out}
		}},
		{"pad node, add, mean, fc, softmax", 0, func(g *graph) {
			in, padded, c1 := g.act(1, 4, 4, 2), g.act(1, 6, 6, 2), g.act(1, 6, 6, 2)
			sum, pooled, logits, prob := g.act(1, 6, 6, 2), g.act(1, 2), g.act(1, 3), g.act(1, 3)
			g.op(tflite.OpPad, nil, padded, in, g.pads(0, 0, 1, 1, 1, 1, 0, 0))
			g.op(tflite.OpConv2D, conv(tflite.PaddingSame, 1), c1, padded, g.weights(5, 2, 3, 3, 2), g.weights(6, 2))
			g.op(tflite.OpAdd, &tflite.AddOptions{Activation: tflite.ActRelu}, sum, c1, padded) // PAD read twice: not folded
			g.op(tflite.OpMean, &tflite.ReducerOptions{}, pooled, sum, g.ints(1, 2))
			g.op(tflite.OpFullyConnected, &tflite.FullyConnectedOptions{}, logits, pooled, g.weights(7, 3, 2), g.weights(8, 3))
			g.op(tflite.OpSoftmax, &tflite.SoftmaxOptions{Beta: 0.5}, prob, logits)
			g.m.Inputs, g.m.Outputs = []int{in}, []int{prob}
		}},
		{"average pool, reshape", 0, func(g *graph) {
			in, pooled, flat := g.act(1, 4, 4, 3), g.act(1, 2, 2, 3), g.act(1, 12)
			g.op(tflite.OpAveragePool2D, &tflite.Pool2DOptions{Padding: tflite.PaddingValid, StrideH: 2, StrideW: 2, FilterHeight: 2, FilterWidth: 2}, pooled, in)
			g.op(tflite.OpReshape, &tflite.ReshapeOptions{NewShape: []int{1, 12}}, flat, pooled, g.ints(1, 12))
			g.m.Inputs, g.m.Outputs = []int{in}, []int{flat}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := newGraph()
			tc.build(g)
			agree(t, g.m, engine.Options{})
			if n := foldedPads(t, g.m); n != tc.folded {
				t.Errorf("%d PADs folded, want %d", n, tc.folded)
			}
		})
	}
}

// foldedPads maps m and counts the PADs folded into convolutions.
func foldedPads(t *testing.T, m *tflite.Model) int {
	t.Helper()
	var e Engine
	defer e.Close()
	sg, err := newSubgraph(len(m.Inputs) + len(m.Outputs))
	if err != nil {
		t.Fatal(err)
	}
	defer sg.delete()
	b := newBuilder(m, sg, e.alloc)
	if err := b.build(); err != nil {
		t.Fatal(err)
	}
	return len(b.pads)
}

// qtensor is a quantized tensor; data, when n > 0, is n seeded bytes.
func (g *graph) qtensor(typ tflite.TensorType, scales []float32, zp []int64, seed uint64, shape ...int) int {
	var data []byte
	if seed > 0 {
		n := 1
		for _, d := range shape {
			n *= d
		}
		r := rand.New(rand.NewPCG(seed, 3))
		data = make([]byte, n*typ.Size())
		for i := range data {
			data[i] = byte(r.UintN(256))
		}
	}
	i := g.tensor(shape, data, typ)
	g.m.Tensors[i].Quant = &tflite.Quantization{Scale: scales, ZeroPoint: zp}
	return i
}

// TestMappingQuantized compares quantized graphs, including the paths the
// MobileNet goldens do not reach (no bias, per-channel fully connected),
// with the native engine.
func TestMappingQuantized(t *testing.T) {
	conv := &tflite.Conv2DOptions{Padding: tflite.PaddingSame, StrideH: 1, StrideW: 1, DilationH: 1, DilationW: 1, Activation: tflite.ActRelu}
	tests := []struct {
		name  string
		build func(g *graph)
	}{
		{"uint8 conv without bias", func(g *graph) {
			in := g.qtensor(tflite.Uint8, []float32{0.02}, []int64{128}, 0, 1, 5, 5, 3)
			w := g.qtensor(tflite.Uint8, []float32{0.01}, []int64{120}, 11, 4, 3, 3, 3)
			out := g.qtensor(tflite.Uint8, []float32{0.05}, []int64{100}, 0, 1, 5, 5, 4)
			g.op(tflite.OpConv2D, conv, out, in, w, -1)
			g.m.Inputs, g.m.Outputs = []int{in}, []int{out}
		}},
		{"int8 per-channel conv without bias, per-channel fc", func(g *graph) {
			in := g.qtensor(tflite.Int8, []float32{0.03}, []int64{-5}, 0, 1, 6, 6, 4)
			w := g.qtensor(tflite.Int8, []float32{0.01, 0.02, 0.015, 0.005}, []int64{0, 0, 0, 0}, 12, 4, 1, 1, 4)
			g.m.Tensors[w].Quant.Axis = 0
			c := g.qtensor(tflite.Int8, []float32{0.02}, []int64{-128}, 0, 1, 6, 6, 4)
			g.op(tflite.OpConv2D, conv, c, in, w, -1)
			fw := g.qtensor(tflite.Int8, []float32{0.001, 0.0008, 0.0005}, []int64{0, 0, 0}, 13, 3, 144)
			fb := g.qtensor(tflite.Int32, []float32{0.02 * 0.001, 0.02 * 0.0008, 0.02 * 0.0005}, []int64{0, 0, 0}, 14, 3)
			binary.LittleEndian.PutUint32(g.m.Tensors[fb].Data, 300)
			binary.LittleEndian.PutUint32(g.m.Tensors[fb].Data[4:], 200)
			binary.LittleEndian.PutUint32(g.m.Tensors[fb].Data[8:], 0)
			out := g.qtensor(tflite.Int8, []float32{0.05}, []int64{3}, 0, 1, 3)
			g.op(tflite.OpFullyConnected, &tflite.FullyConnectedOptions{}, out, c, fw, fb)
			g.m.Inputs, g.m.Outputs = []int{in}, []int{out}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := newGraph()
			tc.build(g)
			x, err := New(g.m, engine.Options{})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			defer x.Close()
			n, err := newNative(g.m, engine.Options{})
			if err != nil {
				t.Fatalf("native: %v", err)
			}
			defer n.Close()
			r := rand.New(rand.NewPCG(5, 5))
			for i := range x.Input(0) {
				x.Input(0)[i] = byte(r.UintN(256))
			}
			copy(n.Input(0), x.Input(0))
			if err := x.Invoke(); err != nil {
				t.Fatal(err)
			}
			if err := n.Invoke(); err != nil {
				t.Fatal(err)
			}
			d, err := enginetest.Compare(x.Output(0), n.Output(0), g.m.Output(0).Type)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("xnnpack vs native: %v (output %v)", d, x.Output(0)[:min(8, len(x.Output(0)))])
			d.Check(t, 0, tolLSB)
			if distinct(x.Output(0)) < 2 {
				t.Errorf("degenerate output %v", x.Output(0))
			}
		})
	}
}

func distinct(b []byte) int {
	seen := map[byte]bool{}
	for _, v := range b {
		seen[v] = true
	}
	return len(seen)
}

func TestThreads(t *testing.T) {
	agree(t, tflitetest.Tiny(), engine.Options{Threads: 2})
}

func TestUnsupportedOp(t *testing.T) {
	g := newGraph()
	in, out := g.act(1, 2, 2, 3), g.act(1, 2, 2, 6)
	g.op(tflite.OpConcatenation, &tflite.ConcatenationOptions{Axis: 3}, out, in, in)
	g.m.Inputs, g.m.Outputs = []int{in}, []int{out}
	_, err := New(g.m, engine.Options{})
	var u *tflite.UnsupportedOpError
	if !errors.As(err, &u) {
		t.Fatalf("New = %v, want an UnsupportedOpError", err)
	}
	if u.Op != "CONCATENATION" || u.Index != 0 || !strings.Contains(err.Error(), "concatenation") {
		t.Errorf("error %q does not name the op and the reason", err)
	}
}

func TestClose(t *testing.T) {
	e, err := New(tflitetest.Tiny(), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Input(0)) != 4*4*4*2 || len(e.Output(0)) != 4*2 {
		t.Errorf("buffers are %d and %d bytes", len(e.Input(0)), len(e.Output(0)))
	}
	if err := e.Invoke(); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := e.Invoke(); err == nil {
		t.Error("Invoke after Close succeeded")
	}
}

func TestSamePadding(t *testing.T) {
	tests := []struct{ in, k, s, d, before, after int }{
		{224, 3, 2, 1, 0, 1},
		{112, 3, 1, 1, 1, 1},
		{7, 1, 1, 1, 0, 0},
		{8, 3, 2, 1, 0, 1},
		{7, 3, 2, 1, 1, 1},
		{10, 3, 1, 2, 2, 2},
	}
	for _, tc := range tests {
		b, a := samePadding(tc.in, tc.k, tc.s, tc.d)
		if b != tc.before || a != tc.after {
			t.Errorf("samePadding(%d, k%d, s%d, d%d) = %d, %d; want %d, %d", tc.in, tc.k, tc.s, tc.d, b, a, tc.before, tc.after)
		}
	}
}

func TestHalfToFloat(t *testing.T) {
	tests := []struct {
		h    uint16
		want float32
	}{
		{0x0000, 0},
		{0x3c00, 1},
		{0xc000, -2},
		{0x3555, 0.333251953125},
		{0x7bff, 65504},
		{0x0001, 5.9604645e-08}, // smallest subnormal
		{0x8200, -3.0517578e-05},
		{0x7c00, float32(math.Inf(1))},
	}
	for _, tc := range tests {
		if got := halfToFloat(tc.h); got != tc.want {
			t.Errorf("halfToFloat(%#04x) = %g, want %g", tc.h, got, tc.want)
		}
	}
	if f := halfToFloat(0x7e00); !math.IsNaN(float64(f)) {
		t.Errorf("halfToFloat(0x7e00) = %g, want NaN", f)
	}
}
