package native

import (
	"fmt"
	"testing"

	"github.com/alphad/alphad/pipeline/tflite"
)

// conv2DRef is the plain reference loop for CONV_2D (NHWC, OHWI filter).
func conv2DRef(in []float32, n, h, w, cin int, filt []float32, cout, kh, kw int, bias []float32,
	sh, sw, dh, dw int, pad tflite.Padding, act tflite.Activation) (out []float32, oh, ow int) {
	wy := newWindow(h, kh, sh, dh, pad)
	wx := newWindow(w, kw, sw, dw, pad)
	oh, ow = wy.out, wx.out
	out = make([]float32, n*oh*ow*cout)
	for b := 0; b < n; b++ {
		for y := 0; y < oh; y++ {
			for x := 0; x < ow; x++ {
				for o := 0; o < cout; o++ {
					var s float32
					if bias != nil {
						s = bias[o]
					}
					for ky := 0; ky < kh; ky++ {
						for kx := 0; kx < kw; kx++ {
							iy, ix := y*sh-wy.pad+ky*dh, x*sw-wx.pad+kx*dw
							if iy < 0 || iy >= h || ix < 0 || ix >= w {
								continue
							}
							for c := 0; c < cin; c++ {
								s += in[((b*h+iy)*w+ix)*cin+c] * filt[((o*kh+ky)*kw+kx)*cin+c]
							}
						}
					}
					out[((b*oh+y)*ow+x)*cout+o] = clampRef(s, act)
				}
			}
		}
	}
	return out, oh, ow
}

func TestConv2D(t *testing.T) {
	tests := []struct {
		n, h, w, cin, cout, kh, kw, sh, sw, dh, dw int
		pad                                        tflite.Padding
		act                                        tflite.Activation
		noBias                                     bool
	}{
		{1, 5, 5, 3, 4, 1, 1, 1, 1, 1, 1, tflite.PaddingSame, tflite.ActNone, false},    // 1x1 GEMM path
		{2, 7, 6, 16, 10, 1, 1, 1, 1, 1, 1, tflite.PaddingValid, tflite.ActRelu6, true}, // batch 2
		{1, 9, 9, 3, 8, 3, 3, 2, 2, 1, 1, tflite.PaddingSame, tflite.ActRelu6, false},   // MobileNet stem
		{1, 8, 7, 5, 6, 3, 3, 1, 1, 1, 1, tflite.PaddingValid, tflite.ActRelu, false},
		{1, 10, 10, 4, 5, 3, 2, 1, 2, 2, 1, tflite.PaddingSame, tflite.ActNone, false}, // dilation
		{1, 6, 6, 4, 7, 1, 1, 2, 2, 1, 1, tflite.PaddingSame, tflite.ActReluN1To1, false},
		{2, 5, 4, 2, 3, 2, 2, 1, 1, 1, 1, tflite.PaddingSame, tflite.ActNone, false},
	}
	for i, tc := range tests {
		for _, threads := range []int{1, 3} {
			t.Run(fmt.Sprintf("%d/threads%d", i, threads), func(t *testing.T) {
				r := seeded(uint64(i))
				in := randF32(r, tc.n*tc.h*tc.w*tc.cin)
				filt := randF32(r, tc.cout*tc.kh*tc.kw*tc.cin)
				var bias []float32
				if !tc.noBias {
					bias = randF32(r, tc.cout)
				}
				want, oh, ow := conv2DRef(in, tc.n, tc.h, tc.w, tc.cin, filt, tc.cout, tc.kh, tc.kw, bias,
					tc.sh, tc.sw, tc.dh, tc.dw, tc.pad, tc.act)
				var b modelBuilder
				x := b.f32(tc.n, tc.h, tc.w, tc.cin)
				f := b.tensor(tflite.Float32, []int{tc.cout, tc.kh, tc.kw, tc.cin}, filt)
				bi := -1
				if bias != nil {
					bi = b.tensor(tflite.Float32, []int{tc.cout}, bias)
				}
				y := b.f32(tc.n, oh, ow, tc.cout)
				b.op(tflite.OpConv2D, &tflite.Conv2DOptions{Padding: tc.pad, StrideH: tc.sh, StrideW: tc.sw,
					DilationH: tc.dh, DilationW: tc.dw, Activation: tc.act}, []int{x, f, bi}, []int{y})
				got := runF32(t, b.io([]int{x}, []int{y}), threads, in)
				closeTo(t, got, want, 1e-5)
			})
		}
	}
}

func TestConv2DUnsupported(t *testing.T) {
	var b modelBuilder
	x := b.f32(1, 4, 4, 4)
	f := b.tensor(tflite.Float32, []int{2, 1, 1, 2}, make([]float32, 4)) // grouped
	y := b.f32(1, 4, 4, 2)
	b.op(tflite.OpConv2D, &tflite.Conv2DOptions{StrideH: 1, StrideW: 1}, []int{x, f}, []int{y})
	assertUnsupported(t, newErr(b.io([]int{x}, []int{y})), "CONV_2D")
}

// BenchmarkConvStem times the two halves of MobileNetV2's first
// convolution (224×224×3 → 112×112×32, 3×3 stride 2, im2col k = 27): the
// gather of the im2col rows and the GEMM on them, one thread.
func BenchmarkConvStem(b *testing.B) {
	r := seeded(1)
	wy := newWindow(224, 3, 2, 1, tflite.PaddingSame)
	wx := newWindow(224, 3, 2, 1, tflite.PaddingSame)
	g := im2col{y: wy, x: wx, c: 3}
	m, k := wy.out*wx.out, 27
	src := randF32(r, 224*224*3)
	cols := alignedF32(m * k)
	dst := alignedF32(m * 32)
	gm := newGemm(gemmKernels()[0], randF32(r, 32*k), 32, k, randF32(r, 32), 0, 6)
	b.Run("gather", func(b *testing.B) {
		for b.Loop() {
			g.fill(cols, src, 0, m, 0)
		}
	})
	b.Run("gemm", func(b *testing.B) {
		for b.Loop() {
			gm.rows(dst, 32, cols, k, 0, m)
		}
	})
}
