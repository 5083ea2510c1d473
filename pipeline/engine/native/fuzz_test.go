package native

import (
	"errors"
	"math"
	"testing"

	"github.com/alphad/alphad/pipeline/engine"
	"github.com/alphad/alphad/pipeline/tflite"
	"github.com/alphad/alphad/pipeline/tflite/tflitetest"
)

// fuzzSeeds are small models covering the float kernels.
func fuzzSeeds() []*tflite.Model {
	seeds := []*tflite.Model{tflitetest.Tiny(), chain()}
	var b modelBuilder
	x := b.f32(1, 5, 5, 3)
	f := b.tensor(tflite.Float32, []int{4, 3, 3, 3}, make([]float32, 108))
	bi := b.tensor(tflite.Float32, []int{4}, make([]float32, 4))
	c := b.f32(1, 3, 3, 4)
	dw := b.tensor(tflite.Float32, []int{1, 3, 3, 4}, make([]float32, 36))
	d := b.f32(1, 3, 3, 4)
	axes := b.tensor(tflite.Int32, []int{2}, []int32{1, 2})
	mn := b.f32(1, 4)
	w := b.tensor(tflite.Float32, []int{2, 4}, make([]float32, 8))
	fc := b.f32(1, 2)
	y := b.f32(1, 2)
	b.op(tflite.OpConv2D, &tflite.Conv2DOptions{Padding: tflite.PaddingValid, StrideH: 1, StrideW: 1, DilationH: 1, DilationW: 1, Activation: tflite.ActRelu6}, []int{x, f, bi}, []int{c})
	b.op(tflite.OpDepthwiseConv2D, &tflite.DepthwiseConv2DOptions{Padding: tflite.PaddingSame, StrideH: 1, StrideW: 1, DilationH: 1, DilationW: 1, DepthMultiplier: 1}, []int{c, dw, -1}, []int{d})
	b.op(tflite.OpMean, &tflite.ReducerOptions{}, []int{d, axes}, []int{mn})
	b.op(tflite.OpFullyConnected, &tflite.FullyConnectedOptions{}, []int{mn, w, -1}, []int{fc})
	b.op(tflite.OpSoftmax, &tflite.SoftmaxOptions{Beta: 1}, []int{fc}, []int{y})
	return append(seeds, b.io([]int{x}, []int{y}))
}

// FuzzNew feeds parsed models to New and Invoke: whatever the parser
// accepts, the engine must either refuse with an error or run, never
// panic or read out of bounds.
func FuzzNew(f *testing.F) {
	for _, m := range fuzzSeeds() {
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
		for _, tn := range m.Tensors {
			total += tn.ByteSize()
		}
		if total > 1<<22 {
			return // keep each run small
		}
		e, err := New(m, engine.Options{})
		if err != nil {
			var ue *tflite.UnsupportedOpError
			if !errors.As(err, &ue) {
				t.Fatalf("error %T %v, want *tflite.UnsupportedOpError", err, err)
			}
			return
		}
		defer e.Close()
		if err := e.Invoke(); err != nil {
			t.Fatalf("invoke: %v", err)
		}
	})
}

// FuzzConvGeometry runs DEPTHWISE_CONV_2D and CONV_2D of fuzzed geometry
// (tiny and narrow images, windows wider than the image, strides beyond
// the window, dilation, SAME and VALID) through the engine and compares
// them with the plain reference loops. The 3×3 depthwise fast paths (the
// scalar and the AVX2 rows) and the GEMM kernels are all reached.
func FuzzConvGeometry(f *testing.F) {
	f.Add(uint8(4), uint8(1), uint8(5), uint8(2), uint8(2), uint8(2), uint8(2), uint8(0), uint8(0), true, true, uint64(1))   // [1,5,2,6] 3×3 s3 (the PAD report)
	f.Add(uint8(7), uint8(8), uint8(15), uint8(2), uint8(2), uint8(0), uint8(0), uint8(0), uint8(0), true, true, uint64(2))  // vector rows
	f.Add(uint8(6), uint8(5), uint8(3), uint8(3), uint8(2), uint8(2), uint8(1), uint8(1), uint8(1), false, false, uint64(3)) // im2col conv
	f.Fuzz(func(t *testing.T, h, w, c, kh, kw, sh, sw, dil, mult uint8, depthwise, same bool, seed uint64) {
		g := geometry{h: 1 + int(h%12), w: 1 + int(w%12), c: 1 + int(c%20), kh: 1 + int(kh%5), kw: 1 + int(kw%5),
			sh: 1 + int(sh%4), sw: 1 + int(sw%4), dh: 1 + int(dil%2), dw: 1 + int(dil/2%2), mult: 1 + int(mult%3)}
		if g.kh == 4 {
			g.kh, g.kw = 3, 3 // weight the 3×3 fast paths
		}
		g.pad = tflite.PaddingValid
		if same {
			g.pad = tflite.PaddingSame
		}
		if newWindow(g.h, g.kh, g.sh, g.dh, g.pad).out < 1 || newWindow(g.w, g.kw, g.sw, g.dw, g.pad).out < 1 {
			return
		}
		for _, threads := range []int{1, 2} {
			if depthwise {
				g.checkDepthwise(t, seed, threads)
			} else {
				g.checkConv(t, seed, threads)
			}
		}
	})
}

// geometry is one fuzzed convolution shape.
type geometry struct {
	h, w, c, kh, kw, sh, sw, dh, dw, mult int
	pad                                   tflite.Padding
}

func (g geometry) checkDepthwise(t *testing.T, seed uint64, threads int) {
	t.Helper()
	r := seeded(seed)
	oc := g.c * g.mult
	in, filt, bias := randF32(r, g.h*g.w*g.c), randF32(r, g.kh*g.kw*oc), randF32(r, oc)
	want, oh, ow := depthwiseRef(in, 1, g.h, g.w, g.c, filt, g.kh, g.kw, g.mult, bias, g.sh, g.sw, g.dh, g.dw, g.pad, tflite.ActRelu6)
	var b modelBuilder
	x := b.f32(1, g.h, g.w, g.c)
	fi := b.tensor(tflite.Float32, []int{1, g.kh, g.kw, oc}, filt)
	bi := b.tensor(tflite.Float32, []int{oc}, bias)
	y := b.f32(1, oh, ow, oc)
	b.op(tflite.OpDepthwiseConv2D, &tflite.DepthwiseConv2DOptions{Padding: g.pad, StrideH: g.sh, StrideW: g.sw,
		DepthMultiplier: g.mult, DilationH: g.dh, DilationW: g.dw, Activation: tflite.ActRelu6}, []int{x, fi, bi}, []int{y})
	got := runF32(t, b.io([]int{x}, []int{y}), threads, in)
	if i, ok := within(got, want, 1e-4); !ok {
		t.Fatalf("depthwise %+v threads %d: element %d = %g, reference %g", g, threads, i, got[i], want[i])
	}
	// Both interior row paths directly (the engine takes only the one this
	// CPU has).
	if g.mult == 1 {
		for _, vec := range []bool{false, haveDWRow8()} {
			for _, edges := range []bool{false, true} {
				d := &dwConv{y: newWindow(g.h, g.kh, g.sh, g.dh, g.pad), x: newWindow(g.w, g.kw, g.sw, g.dw, g.pad),
					c: g.c, mult: 1, w: filt, bias: bias, lo: 0, hi: 6, vec: vec}
				if edges {
					d.shiftWeights()
				}
				rows := make([]float32, oh*ow*oc)
				d.rows(rows, in, 0, oh)
				if i, ok := within(rows, want, 1e-4); !ok {
					t.Fatalf("depthwise rows %+v vec %v edges %v: element %d = %g, reference %g", g, vec, edges, i, rows[i], want[i])
				}
			}
		}
	}
}

func (g geometry) checkConv(t *testing.T, seed uint64, threads int) {
	t.Helper()
	r := seeded(seed)
	oc := g.mult + g.c%4
	in, filt, bias := randF32(r, g.h*g.w*g.c), randF32(r, oc*g.kh*g.kw*g.c), randF32(r, oc)
	want, oh, ow := conv2DRef(in, 1, g.h, g.w, g.c, filt, oc, g.kh, g.kw, bias, g.sh, g.sw, g.dh, g.dw, g.pad, tflite.ActNone)
	var b modelBuilder
	x := b.f32(1, g.h, g.w, g.c)
	fi := b.tensor(tflite.Float32, []int{oc, g.kh, g.kw, g.c}, filt)
	bi := b.tensor(tflite.Float32, []int{oc}, bias)
	y := b.f32(1, oh, ow, oc)
	b.op(tflite.OpConv2D, &tflite.Conv2DOptions{Padding: g.pad, StrideH: g.sh, StrideW: g.sw, DilationH: g.dh, DilationW: g.dw},
		[]int{x, fi, bi}, []int{y})
	got := runF32(t, b.io([]int{x}, []int{y}), threads, in)
	if i, ok := within(got, want, 1e-4); !ok {
		t.Fatalf("conv %+v threads %d: element %d = %g, reference %g", g, threads, i, got[i], want[i])
	}
}

// within reports the first element where got and want differ by more
// than tol (relative above 1).
func within(got, want []float32, tol float64) (int, bool) {
	if len(got) != len(want) {
		return 0, false
	}
	for i := range got {
		if d := math.Abs(float64(got[i] - want[i])); d > tol*(1+math.Abs(float64(want[i]))) || d != d {
			return i, false
		}
	}
	return 0, true
}
