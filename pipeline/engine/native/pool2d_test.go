package native

import (
	"fmt"
	"math"
	"testing"

	"github.com/alphad/alphad/pipeline/tflite"
)

// pool2DRef is the plain reference loop for both pools: the average over
// the taps inside the image, or their maximum.
func pool2DRef(in []float32, n, h, w, c, fh, fw, sh, sw int, pad tflite.Padding, isMax bool, act tflite.Activation) ([]float32, int, int) {
	wy, wx := newWindow(h, fh, sh, 1, pad), newWindow(w, fw, sw, 1, pad)
	out := make([]float32, n*wy.out*wx.out*c)
	for b := 0; b < n; b++ {
		for y := 0; y < wy.out; y++ {
			for x := 0; x < wx.out; x++ {
				for ch := 0; ch < c; ch++ {
					s, m, cnt := float32(0), float32(math.Inf(-1)), 0
					for ky := 0; ky < fh; ky++ {
						for kx := 0; kx < fw; kx++ {
							iy, ix := y*sh-wy.pad+ky, x*sw-wx.pad+kx
							if iy < 0 || iy >= h || ix < 0 || ix >= w {
								continue
							}
							v := in[((b*h+iy)*w+ix)*c+ch]
							s += v
							m = max(m, v)
							cnt++
						}
					}
					v := m
					if !isMax {
						v = s / float32(cnt)
					}
					out[((b*wy.out+y)*wx.out+x)*c+ch] = clampRef(v, act)
				}
			}
		}
	}
	return out, wy.out, wx.out
}

func testPool2D(t *testing.T, code tflite.BuiltinOperator) {
	tests := []struct {
		n, h, w, c, fh, fw, sh, sw int
		pad                        tflite.Padding
		act                        tflite.Activation
	}{
		{1, 7, 7, 8, 7, 7, 1, 1, tflite.PaddingValid, tflite.ActNone}, // MobileNet head
		{2, 6, 5, 3, 2, 2, 2, 2, tflite.PaddingValid, tflite.ActNone},
		{1, 5, 5, 4, 3, 3, 2, 2, tflite.PaddingSame, tflite.ActRelu6},
		{1, 4, 6, 2, 3, 2, 1, 1, tflite.PaddingSame, tflite.ActRelu},
		{1, 7, 7, 1300, 7, 7, 1, 1, tflite.PaddingValid, tflite.ActNone}, // head, 162 blocks of 8 + 4, split over the pool
		{1, 5, 6, 12, 3, 3, 2, 2, tflite.PaddingSame, tflite.ActRelu6},   // one block of 8 + 4, windows cut by the border
	}
	for i, tc := range tests {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			in := randF32(seeded(uint64(i)), tc.n*tc.h*tc.w*tc.c)
			for j := range in {
				in[j] *= 8
			}
			want, oh, ow := pool2DRef(in, tc.n, tc.h, tc.w, tc.c, tc.fh, tc.fw, tc.sh, tc.sw, tc.pad, code == tflite.OpMaxPool2D, tc.act)
			var b modelBuilder
			x, y := b.f32(tc.n, tc.h, tc.w, tc.c), b.f32(tc.n, oh, ow, tc.c)
			b.op(code, &tflite.Pool2DOptions{Padding: tc.pad, StrideH: tc.sh, StrideW: tc.sw,
				FilterHeight: tc.fh, FilterWidth: tc.fw, Activation: tc.act}, []int{x}, []int{y})
			m := b.io([]int{x}, []int{y})
			got := runF32(t, m, 1, in)
			closeTo(t, got, want, 1e-6)
			closeTo(t, runF32(t, m, 2, in), got, 0)
		})
	}
}
