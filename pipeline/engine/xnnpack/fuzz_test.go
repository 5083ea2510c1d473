//go:build xnnpack && cgo

package xnnpack

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/alphad/alphad/pipeline/engine"
	"github.com/alphad/alphad/pipeline/tflite"
	"github.com/alphad/alphad/pipeline/tflite/tflitetest"
)

// FuzzNew feeds mutated model files that the reader accepts to New: it must
// return an error or a working engine, never crash.
func FuzzNew(f *testing.F) {
	for _, m := range []*tflite.Model{tflitetest.Tiny(), padConvModel(6, 5, 3, 4, 3, 2, 1, 1, 0, 1, 0, false, true)} {
		data, err := tflite.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := tflite.Parse(data)
		if err != nil {
			return
		}
		total := 0
		for _, t := range m.Tensors {
			total += t.NumElements()
			if t.NumElements() > 1<<16 || total > 1<<18 {
				return // valid but too big to run quickly
			}
		}
		e, err := New(m, engine.Options{})
		if err != nil {
			return
		}
		defer e.Close()
		if err := e.Invoke(); err != nil {
			t.Fatalf("Invoke: %v", err)
		}
	})
}

// FuzzConvGeometry builds PAD → convolution graphs of random geometry and
// compares XNNPACK with a plain reference loop (checked against the real
// TFLite runtime on the committed seeds).
func FuzzConvGeometry(f *testing.F) {
	f.Add(uint8(6), uint8(5), uint8(3), uint8(4), uint8(3), uint8(2), uint8(1), uint8(1), uint8(0), uint8(1), uint8(0), false, true)
	f.Add(uint8(7), uint8(7), uint8(4), uint8(4), uint8(3), uint8(2), uint8(1), uint8(0), uint8(1), uint8(0), uint8(1), true, false)
	f.Add(uint8(9), uint8(4), uint8(2), uint8(3), uint8(5), uint8(3), uint8(2), uint8(0), uint8(0), uint8(0), uint8(0), false, false)
	f.Fuzz(func(t *testing.T, h, w, c, oc, k, stride, dil, pt, pb, pl, pr uint8, depthwise, same bool) {
		m := padConvModel(1+int(h%12), 1+int(w%12), 1+int(c%6), 1+int(oc%6), 1+int(k%5), 1+int(stride%3), 1+int(dil%2),
			int(pt%3), int(pb%3), int(pl%3), int(pr%3), depthwise, same)
		if m == nil {
			return
		}
		x, err := New(m, engine.Options{})
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		defer x.Close()
		seeded(x, m)
		if err := x.Invoke(); err != nil {
			t.Fatal(err)
		}
		want := referencePadConv(m, engine.Float32s(x.Input(0)))
		got := engine.Float32s(x.Output(0))
		for i := range want {
			if d := got[i] - want[i]; d > 1e-4 || d < -1e-4 {
				t.Fatalf("element %d = %g, reference %g\ngot  %v\nwant %v", i, got[i], want[i], got, want)
			}
		}
	})
}

// referencePadConv runs a padConvModel with plain loops.
func referencePadConv(m *tflite.Model, in []float32) []float32 {
	pad, conv := m.Operators[0], m.Operators[1]
	p := m.Tensors[pad.Inputs[1]].Data
	pads := make([]int, 8)
	for i := range pads {
		pads[i] = int(int32(binary.LittleEndian.Uint32(p[4*i:])))
	}
	is, ps, os := m.Tensors[pad.Inputs[0]].Shape, m.Tensors[pad.Outputs[0]].Shape, m.Tensors[conv.Outputs[0]].Shape
	h, w, c := is[1], is[2], is[3]
	ph, pw := ps[1], ps[2]
	padded := make([]float32, ph*pw*c)
	for y := range h {
		for x := range w {
			copy(padded[((y+pads[2])*pw+x+pads[4])*c:][:c], in[(y*w+x)*c:][:c])
		}
	}
	wt := m.Tensors[conv.Inputs[1]]
	weights := floats(wt.Data)
	bias := floats(m.Tensors[conv.Inputs[2]].Data)
	oh, ow, oc := os[1], os[2], os[3]
	var padding tflite.Padding
	var stride, dil int
	lo, hi := float32(math.Inf(-1)), float32(math.Inf(1))
	depthwise := conv.Op == tflite.OpDepthwiseConv2D
	if depthwise {
		o := conv.Options.(*tflite.DepthwiseConv2DOptions)
		padding, stride, dil, lo, hi = o.Padding, o.StrideH, o.DilationH, 0, 6
	} else {
		o := conv.Options.(*tflite.Conv2DOptions)
		padding, stride, dil = o.Padding, o.StrideH, o.DilationH
	}
	k := wt.Shape[1]
	top, left := 0, 0
	if padding == tflite.PaddingSame {
		top, _ = samePadding(ph, k, stride, dil)
		left, _ = samePadding(pw, k, stride, dil)
	}
	out := make([]float32, oh*ow*oc)
	for y := range oh {
		for x := range ow {
			for o := range oc {
				sum := float64(bias[o])
				for ky := range k {
					for kx := range k {
						iy, ix := y*stride-top+ky*dil, x*stride-left+kx*dil
						if iy < 0 || ix < 0 || iy >= ph || ix >= pw {
							continue
						}
						if depthwise {
							sum += float64(padded[(iy*pw+ix)*c+o/(oc/c)]) * float64(weights[(ky*k+kx)*oc+o])
							continue
						}
						for ci := range c {
							sum += float64(padded[(iy*pw+ix)*c+ci]) * float64(weights[((o*k+ky)*k+kx)*c+ci])
						}
					}
				}
				out[(y*ow+x)*oc+o] = min(max(float32(sum), lo), hi)
			}
		}
	}
	return out
}

func floats(b []byte) []float32 {
	f := make([]float32, len(b)/4)
	for i := range f {
		f[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return f
}

// padConvModel is input [1,h,w,c] → PAD (pt,pb,pl,pr) → CONV_2D or
// DEPTHWISE_CONV_2D k×k, or nil when the geometry has no output.
func padConvModel(h, w, c, oc, k, stride, dil, pt, pb, pl, pr int, depthwise, same bool) *tflite.Model {
	if depthwise {
		oc = c * max(1, oc%3)
	}
	ph, pw := h+pt+pb, w+pl+pr
	eff := (k-1)*dil + 1
	var oh, ow int
	if same {
		oh, ow = (ph+stride-1)/stride, (pw+stride-1)/stride
	} else {
		if ph < eff || pw < eff {
			return nil
		}
		oh, ow = (ph-eff)/stride+1, (pw-eff)/stride+1
	}
	pad := tflite.PaddingValid
	if same {
		pad = tflite.PaddingSame
	}
	g := newGraph()
	in, padded, out := g.act(1, h, w, c), g.act(1, ph, pw, c), g.act(1, oh, ow, oc)
	g.op(tflite.OpPad, nil, padded, in, g.pads(0, 0, int32(pt), int32(pb), int32(pl), int32(pr), 0, 0))
	if depthwise {
		g.op(tflite.OpDepthwiseConv2D, &tflite.DepthwiseConv2DOptions{Padding: pad, StrideH: stride, StrideW: stride,
			DepthMultiplier: oc / c, DilationH: dil, DilationW: dil, Activation: tflite.ActRelu6},
			out, padded, g.weights(1, 1, k, k, oc), g.weights(2, oc))
	} else {
		g.op(tflite.OpConv2D, &tflite.Conv2DOptions{Padding: pad, StrideH: stride, StrideW: stride, DilationH: dil, DilationW: dil},
			out, padded, g.weights(1, oc, k, k, c), g.weights(2, oc))
	}
	g.m.Inputs, g.m.Outputs = []int{in}, []int{out}
	return g.m
}
