package native

import (
	"fmt"
	"testing"

	"github.com/alphad/alphad/pipeline/tflite"
)

func TestMean(t *testing.T) {
	tests := []struct {
		axes     []int32
		keep     bool
		outShape []int
	}{
		{[]int32{1, 2}, true, []int{2, 1, 1, 5}}, // global average pool
		{[]int32{1, 2}, false, []int{2, 5}},
		{[]int32{-1}, false, []int{2, 3, 4}},
		{[]int32{0, 3}, true, []int{1, 3, 4, 1}},
	}
	shape := []int{2, 3, 4, 5}
	in := randF32(seeded(5), 120)
	for i, tc := range tests {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			reduce := [4]bool{}
			for _, a := range tc.axes {
				reduce[(int(a)+4)%4] = true
			}
			// Reference: accumulate every element into its output slot.
			var os [4]int
			count := 1
			for d := range shape {
				os[d] = shape[d]
				if reduce[d] {
					os[d] = 1
					count *= shape[d]
				}
			}
			want := make([]float32, os[0]*os[1]*os[2]*os[3])
			for a := 0; a < shape[0]; a++ {
				for b := 0; b < shape[1]; b++ {
					for c := 0; c < shape[2]; c++ {
						for d := 0; d < shape[3]; d++ {
							idx := [4]int{a, b, c, d}
							for k := range idx {
								if reduce[k] {
									idx[k] = 0
								}
							}
							o := ((idx[0]*os[1]+idx[1])*os[2]+idx[2])*os[3] + idx[3]
							want[o] += in[((a*shape[1]+b)*shape[2]+c)*shape[3]+d] / float32(count)
						}
					}
				}
			}
			var b modelBuilder
			x := b.f32(shape...)
			axes := b.tensor(tflite.Int32, []int{len(tc.axes)}, tc.axes)
			y := b.f32(tc.outShape...)
			b.op(tflite.OpMean, &tflite.ReducerOptions{KeepDims: tc.keep}, []int{x, axes}, []int{y})
			closeTo(t, runF32(t, b.io([]int{x}, []int{y}), 1, in), want, 1e-6)
		})
	}
}

// TestMeanGlobalWide is a global average pool (MEAN over height and
// width) with channels in blocks of eight and a rest, split over the pool.
func TestMeanGlobalWide(t *testing.T) {
	h, w, c := 7, 7, 1300
	in := randF32(seeded(7), h*w*c)
	want := make([]float32, c)
	for ch := range c {
		var s float64
		for px := range h * w {
			s += float64(in[px*c+ch])
		}
		want[ch] = float32(s / float64(h*w))
	}
	var b modelBuilder
	x := b.f32(1, h, w, c)
	axes := b.tensor(tflite.Int32, []int{2}, []int32{1, 2})
	y := b.f32(1, 1, 1, c)
	b.op(tflite.OpMean, &tflite.ReducerOptions{KeepDims: true}, []int{x, axes}, []int{y})
	m := b.io([]int{x}, []int{y})
	got := runF32(t, m, 1, in)
	closeTo(t, got, want, 1e-5)
	closeTo(t, runF32(t, m, 2, in), got, 0)
}
