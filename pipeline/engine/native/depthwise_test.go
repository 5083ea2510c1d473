package native

import (
	"fmt"
	"testing"

	"github.com/alphad/alphad/pipeline/tflite"
)

// depthwiseRef is the plain reference loop for DEPTHWISE_CONV_2D.
func depthwiseRef(in []float32, n, h, w, c int, filt []float32, kh, kw, mult int, bias []float32,
	sh, sw, dh, dw int, pad tflite.Padding, act tflite.Activation) (out []float32, oh, ow int) {
	wy := newWindow(h, kh, sh, dh, pad)
	wx := newWindow(w, kw, sw, dw, pad)
	oh, ow = wy.out, wx.out
	oc := c * mult
	out = make([]float32, n*oh*ow*oc)
	for b := 0; b < n; b++ {
		for y := 0; y < oh; y++ {
			for x := 0; x < ow; x++ {
				for ch := 0; ch < c; ch++ {
					for m := 0; m < mult; m++ {
						o := ch*mult + m
						s := bias[o]
						for ky := 0; ky < kh; ky++ {
							for kx := 0; kx < kw; kx++ {
								iy, ix := y*sh-wy.pad+ky*dh, x*sw-wx.pad+kx*dw
								if iy < 0 || iy >= h || ix < 0 || ix >= w {
									continue
								}
								s += in[((b*h+iy)*w+ix)*c+ch] * filt[(ky*kw+kx)*oc+o]
							}
						}
						out[((b*oh+y)*ow+x)*oc+o] = clampRef(s, act)
					}
				}
			}
		}
	}
	return out, oh, ow
}

func TestDepthwiseConv2D(t *testing.T) {
	tests := []struct {
		n, h, w, c, kh, kw, mult, sh, sw, dh, dw int
		pad                                      tflite.Padding
		act                                      tflite.Activation
	}{
		{1, 8, 8, 16, 3, 3, 1, 1, 1, 1, 1, tflite.PaddingSame, tflite.ActRelu6}, // fast interior path
		{1, 9, 9, 5, 3, 3, 1, 2, 2, 1, 1, tflite.PaddingSame, tflite.ActRelu6},  // stride 2
		{1, 7, 6, 4, 3, 3, 1, 1, 1, 1, 1, tflite.PaddingValid, tflite.ActNone},
		{2, 6, 6, 3, 3, 3, 2, 1, 1, 1, 1, tflite.PaddingSame, tflite.ActNone},   // multiplier
		{1, 10, 10, 4, 3, 3, 1, 1, 1, 2, 2, tflite.PaddingSame, tflite.ActRelu}, // dilation
		{1, 6, 5, 3, 5, 5, 1, 1, 1, 1, 1, tflite.PaddingSame, tflite.ActNone},
		{1, 9, 8, 20, 3, 3, 1, 1, 1, 1, 1, tflite.PaddingSame, tflite.ActRelu6},  // 8+8 vector, 4 scalar
		{1, 11, 11, 24, 3, 3, 1, 2, 2, 1, 1, tflite.PaddingSame, tflite.ActNone}, // vector, stride 2
		{1, 7, 9, 8, 3, 3, 1, 2, 1, 1, 1, tflite.PaddingValid, tflite.ActRelu},
	}
	for i, tc := range tests {
		for _, threads := range []int{1, 2} {
			t.Run(fmt.Sprintf("%d/threads%d", i, threads), func(t *testing.T) {
				r := seeded(uint64(i))
				oc := tc.c * tc.mult
				in := randF32(r, tc.n*tc.h*tc.w*tc.c)
				filt := randF32(r, tc.kh*tc.kw*oc)
				bias := randF32(r, oc)
				want, oh, ow := depthwiseRef(in, tc.n, tc.h, tc.w, tc.c, filt, tc.kh, tc.kw, tc.mult, bias,
					tc.sh, tc.sw, tc.dh, tc.dw, tc.pad, tc.act)
				var b modelBuilder
				x := b.f32(tc.n, tc.h, tc.w, tc.c)
				f := b.tensor(tflite.Float32, []int{1, tc.kh, tc.kw, oc}, filt)
				bi := b.tensor(tflite.Float32, []int{oc}, bias)
				y := b.f32(tc.n, oh, ow, oc)
				b.op(tflite.OpDepthwiseConv2D, &tflite.DepthwiseConv2DOptions{Padding: tc.pad, StrideH: tc.sh, StrideW: tc.sw,
					DepthMultiplier: tc.mult, DilationH: tc.dh, DilationW: tc.dw, Activation: tc.act}, []int{x, f, bi}, []int{y})
				got := runF32(t, b.io([]int{x}, []int{y}), threads, in)
				closeTo(t, got, want, 1e-5)
			})
		}
	}
}

// TestDepthwiseRowPaths checks the scalar and the vector (AVX2) interior
// row paths against the reference loop directly.
func TestDepthwiseRowPaths(t *testing.T) {
	for _, vec := range []bool{false, haveDWRow8()} {
		for _, stride := range []int{1, 2} {
			t.Run(fmt.Sprintf("vec%v/stride%d", vec, stride), func(t *testing.T) {
				r := seeded(uint64(stride))
				h, w, c := 10, 13, 27
				in, filt, bias := randF32(r, h*w*c), randF32(r, 9*c), randF32(r, c)
				want, oh, ow := depthwiseRef(in, 1, h, w, c, filt, 3, 3, 1, bias, stride, stride, 1, 1, tflite.PaddingSame, tflite.ActRelu6)
				d := &dwConv{
					y: newWindow(h, 3, stride, 1, tflite.PaddingSame), x: newWindow(w, 3, stride, 1, tflite.PaddingSame),
					c: c, mult: 1, w: filt, bias: bias, lo: 0, hi: 6, vec: vec,
				}
				got := make([]float32, oh*ow*c)
				d.rows(got, in, 0, oh)
				closeTo(t, got, want, 1e-5)
			})
		}
	}
}

func BenchmarkDepthwise3x3(b *testing.B) {
	for _, s := range []struct{ hw, c, stride int }{{112, 32, 1}, {56, 144, 1}, {28, 192, 1}, {14, 576, 1}, {7, 960, 1}} {
		b.Run(fmt.Sprintf("%dx%dx%d_s%d", s.hw, s.hw, s.c, s.stride), func(b *testing.B) {
			r := seeded(1)
			d := &dwConv{
				y: newWindow(s.hw, 3, s.stride, 1, tflite.PaddingSame),
				x: newWindow(s.hw, 3, s.stride, 1, tflite.PaddingSame),
				c: s.c, mult: 1, w: randF32(r, 9*s.c), bias: randF32(r, s.c), lo: 0, hi: 6, vec: haveDWRow8(),
			}
			src := randF32(r, s.hw*s.hw*s.c)
			dst := make([]float32, d.y.out*d.x.out*s.c)
			b.ReportAllocs()
			cpu0 := processCPU()
			for b.Loop() {
				d.rows(dst, src, 0, d.y.out)
			}
			b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
		})
	}
}
