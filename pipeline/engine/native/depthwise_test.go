package native

import (
	"encoding/binary"
	"fmt"
	"math"
	"testing"

	"github.com/alphad/alphad/internal/cputime"
	"github.com/alphad/alphad/pipeline/engine"
	"github.com/alphad/alphad/pipeline/engine/enginetest"
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
		{1, 5, 2, 6, 3, 3, 1, 3, 3, 1, 1, tflite.PaddingSame, tflite.ActRelu6},   // window wider than the image: no interior column
		{1, 5, 2, 16, 3, 3, 1, 3, 3, 1, 1, tflite.PaddingSame, tflite.ActRelu6},  // same, vector channels
		{1, 4, 1, 8, 3, 3, 1, 1, 1, 1, 1, tflite.PaddingSame, tflite.ActNone},    // one column
		{1, 2, 2, 8, 3, 3, 1, 2, 2, 1, 1, tflite.PaddingSame, tflite.ActNone},    // image smaller than the window
		{1, 5, 5, 44, 3, 3, 1, 1, 1, 1, 1, tflite.PaddingSame, tflite.ActRelu6},  // few rows, many channels: row bands × channel blocks
		{1, 7, 6, 60, 3, 3, 1, 2, 2, 1, 1, tflite.PaddingSame, tflite.ActRelu6},  // same, stride 2
		{1, 3, 6, 24, 3, 3, 1, 1, 1, 1, 1, tflite.PaddingValid, tflite.ActRelu6}, // one output line, no border
		{1, 3, 9, 40, 3, 3, 1, 1, 1, 1, 1, tflite.PaddingSame, tflite.ActRelu6},  // three lines, each shifted; 5 blocks of 8
		{1, 6, 6, 52, 3, 3, 1, 2, 2, 1, 1, tflite.PaddingSame, tflite.ActNone},   // stride 2, even size; 6 blocks + 4 channels
		{1, 7, 7, 13, 3, 3, 1, 2, 2, 1, 1, tflite.PaddingSame, tflite.ActRelu},   // stride 2, odd size; 1 block + 5 channels
		{2, 5, 4, 16, 3, 3, 1, 1, 1, 1, 1, tflite.PaddingSame, tflite.ActRelu6},  // two images, line path
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

// TestDepthwiseChannelCut runs a depthwise convolution after a 1×1
// convolution cut by weight columns (few pixels, many channels), which
// the depthwise then cuts by channel blocks: with channel counts that are
// and are not whole blocks of eight, strides 1 and 2, it must match the
// reference and give the same bits with one and two threads.
func TestDepthwiseChannelCut(t *testing.T) {
	for _, tc := range []struct{ hw, cin, c, stride int }{{5, 8, 200, 1}, {5, 8, 204, 2}, {3, 4, 96, 1}, {6, 8, 130, 2}} {
		t.Run(fmt.Sprintf("%dx%dx%d_s%d", tc.hw, tc.hw, tc.c, tc.stride), func(t *testing.T) {
			r := seeded(uint64(tc.c))
			in := randF32(r, tc.hw*tc.hw*tc.cin)
			cw, dw, bias := randF32(r, tc.c*tc.cin), randF32(r, 9*tc.c), randF32(r, tc.c)
			mid := make([]float32, tc.hw*tc.hw*tc.c)
			for px := range tc.hw * tc.hw {
				for o := range tc.c {
					var s float32
					for k := range tc.cin {
						s += in[px*tc.cin+k] * cw[o*tc.cin+k]
					}
					mid[px*tc.c+o] = s
				}
			}
			want, oh, ow := depthwiseRef(mid, 1, tc.hw, tc.hw, tc.c, dw, 3, 3, 1, bias, tc.stride, tc.stride, 1, 1, tflite.PaddingSame, tflite.ActRelu6)
			var b modelBuilder
			x := b.f32(1, tc.hw, tc.hw, tc.cin)
			f := b.tensor(tflite.Float32, []int{tc.c, 1, 1, tc.cin}, cw)
			y := b.f32(1, tc.hw, tc.hw, tc.c)
			b.op(tflite.OpConv2D, &tflite.Conv2DOptions{StrideH: 1, StrideW: 1}, []int{x, f}, []int{y})
			df := b.tensor(tflite.Float32, []int{1, 3, 3, tc.c}, dw)
			bi := b.tensor(tflite.Float32, []int{tc.c}, bias)
			z := b.f32(1, oh, ow, tc.c)
			b.op(tflite.OpDepthwiseConv2D, &tflite.DepthwiseConv2DOptions{Padding: tflite.PaddingSame, StrideH: tc.stride, StrideW: tc.stride,
				DepthMultiplier: 1, Activation: tflite.ActRelu6}, []int{y, df, bi}, []int{z})
			m := b.io([]int{x}, []int{z})
			got1 := runF32(t, m, 1, in)
			closeTo(t, got1, want, 1e-4)
			got2 := runF32(t, m, 2, in)
			for i := range got1 {
				if math.Float32bits(got1[i]) != math.Float32bits(got2[i]) {
					t.Fatalf("element %d: %v with one thread, %v with two", i, got1[i], got2[i])
				}
			}
			if haveDWLine8() {
				e, err := New(m, engine.Options{Threads: 2})
				if err != nil {
					t.Fatal(err)
				}
				defer e.Close()
				if j := e.opJobs[1][0]; j.n != 2 {
					t.Errorf("depthwise cut into %d items, want 2 channel blocks (one per thread)", j.n)
				}
			}
		})
	}
}

// TestDepthwiseRowPaths checks the scalar and the vector (AVX2) row
// paths, with border pixels tap by tap or through shifted weights, against
// the reference loop directly.
func TestDepthwiseRowPaths(t *testing.T) {
	for _, vec := range []bool{false, haveDWRow8()} {
		for _, tc := range []struct{ stride, h, w int }{{1, 10, 13}, {2, 10, 13}, {2, 11, 7}, {1, 3, 3}, {2, 3, 4}} {
			stride, h, w := tc.stride, tc.h, tc.w
			for _, edges := range []bool{false, true} {
				t.Run(fmt.Sprintf("vec%v/stride%d/%dx%d/edges%v", vec, stride, h, w, edges), func(t *testing.T) {
					r := seeded(uint64(stride))
					c := 27
					in, filt, bias := randF32(r, h*w*c), randF32(r, 9*c), randF32(r, c)
					want, oh, ow := depthwiseRef(in, 1, h, w, c, filt, 3, 3, 1, bias, stride, stride, 1, 1, tflite.PaddingSame, tflite.ActRelu6)
					d := &dwConv{
						y: newWindow(h, 3, stride, 1, tflite.PaddingSame), x: newWindow(w, 3, stride, 1, tflite.PaddingSame),
						c: c, mult: 1, w: filt, bias: bias, lo: 0, hi: 6, vec: vec,
					}
					if edges {
						d.shiftWeights()
						if d.edges == nil {
							t.Fatal("no shifted weights for a 3×3 SAME filter")
						}
					}
					got := make([]float32, oh*ow*c)
					d.rows(got, in, 0, oh)
					closeTo(t, got, want, 1e-5)
				})
			}
		}
	}
}

func BenchmarkDepthwise3x3(b *testing.B) {
	for _, s := range []struct{ hw, c, stride int }{{112, 32, 1}, {112, 96, 2}, {56, 144, 1}, {56, 144, 2}, {28, 192, 1}, {14, 384, 1}, {14, 576, 1}, {14, 576, 2}, {7, 960, 1}} {
		// rows: the row kernel (dwRow8 per pixel run, shifted weight
		// copies at the borders); lines: dwLine8, one call per line;
		// lines16: dwLine16 (AVX-512).
		for _, path := range []string{"rows", "lines", "lines16"} {
			b.Run(fmt.Sprintf("%dx%dx%d_s%d/%s", s.hw, s.hw, s.c, s.stride, path), func(b *testing.B) {
				r := seeded(1)
				d := &dwConv{
					y: newWindow(s.hw, 3, s.stride, 1, tflite.PaddingSame),
					x: newWindow(s.hw, 3, s.stride, 1, tflite.PaddingSame),
					c: s.c, mult: 1, w: randF32(r, 9*s.c), bias: randF32(r, s.c), lo: 0, hi: 6, vec: haveDWRow8(),
				}
				d.shiftWeights()
				d.wide = path == "lines16"
				if (path != "rows" && !(haveDWLine8() && d.padWeights())) || (d.wide && !haveDWLine16()) {
					b.Skip("no line kernel on this CPU")
				}
				src := randF32(r, s.hw*s.hw*s.c)
				dst := make([]float32, d.y.out*d.x.out*s.c)
				b.ReportAllocs()
				cpu0 := cputime.Process()
				for b.Loop() {
					if path == "rows" {
						d.rows(dst, src, 0, d.y.out)
						continue
					}
					for oy := range d.y.out {
						d.vline(dst, src, oy, 0, s.c)
					}
				}
				b.ReportMetric(float64((cputime.Process()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
			})
		}
	}
}

// TestPadDepthwiseNarrow is the reported geometry: [1,4,1,6] → PAD (bottom
// 1, right 1) → 3×3 stride 3 SAME. The padded image is 2 wide, narrower
// than the window, so no column is interior; the fast row path used to
// take column 0 as interior (a truncating division) and read the next
// row's pixels. Checked against the reference loop and, when installed,
// the real TFLite runtime.
func TestPadDepthwiseNarrow(t *testing.T) {
	for _, c := range []int{6, 16} { // scalar channels, then AVX2 blocks
		t.Run(fmt.Sprintf("c%d", c), func(t *testing.T) {
			r := seeded(uint64(c))
			in, filt, bias := randF32(r, 4*1*c), randF32(r, 9*c), randF32(r, c)
			padded := make([]float32, 5*2*c)
			for y := range 4 {
				copy(padded[y*2*c:][:c], in[y*c:][:c])
			}
			want, oh, ow := depthwiseRef(padded, 1, 5, 2, c, filt, 3, 3, 1, bias, 3, 3, 1, 1, tflite.PaddingSame, tflite.ActRelu6)
			var b modelBuilder
			x := b.f32(1, 4, 1, c)
			pads := b.tensor(tflite.Int32, []int{4, 2}, []int32{0, 0, 0, 1, 0, 1, 0, 0})
			p := b.f32(1, 5, 2, c)
			f := b.tensor(tflite.Float32, []int{1, 3, 3, c}, filt)
			bi := b.tensor(tflite.Float32, []int{c}, bias)
			y := b.f32(1, oh, ow, c)
			b.op(tflite.OpPad, nil, []int{x, pads}, []int{p})
			b.op(tflite.OpDepthwiseConv2D, &tflite.DepthwiseConv2DOptions{Padding: tflite.PaddingSame, StrideH: 3, StrideW: 3,
				DepthMultiplier: 1, DilationH: 1, DilationW: 1, Activation: tflite.ActRelu6}, []int{p, f, bi}, []int{y})
			m := b.io([]int{x}, []int{y})
			m.Version = 3
			got := runF32(t, m, 1, in)
			closeTo(t, got, want, 1e-5)

			file, _ := writeModel(t, m, "paddw.tflite")
			raw := make([]byte, 4*len(in))
			for i, v := range in {
				binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
			}
			closeTo(t, got, engine.Float32s(enginetest.Oracle(t, file, raw)), 1e-5)
		})
	}
}
