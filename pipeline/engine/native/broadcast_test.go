package native

import (
	"fmt"
	"testing"

	"github.com/alphad/alphad/pipeline/tflite"
)

// broadcastRef computes a op b with NumPy broadcasting by index arithmetic
// on the original (unpadded) shapes.
func broadcastRef(a, b []float32, as, bs, os []int, mul bool, act tflite.Activation) []float32 {
	n := 1
	for _, d := range os {
		n *= d
	}
	out := make([]float32, n)
	idx := make([]int, len(os))
	offset := func(v []float32, s []int) float32 {
		o := 0
		for d := range s {
			i := idx[len(os)-len(s)+d]
			if s[d] == 1 {
				i = 0
			}
			o = o*s[d] + i
		}
		return v[o]
	}
	for k := 0; k < n; k++ {
		rem := k
		for d := len(os) - 1; d >= 0; d-- {
			idx[d] = rem % os[d]
			rem /= os[d]
		}
		x, y := offset(a, as), offset(b, bs)
		v := x + y
		if mul {
			v = x * y
		}
		out[k] = clampRef(v, act)
	}
	return out
}

func testBinary(t *testing.T, code tflite.BuiltinOperator) {
	tests := []struct {
		as, bs, os []int
		act        tflite.Activation
	}{
		{[]int{1, 4, 4, 8}, []int{1, 4, 4, 8}, []int{1, 4, 4, 8}, tflite.ActNone},    // same shape
		{[]int{1, 7, 7, 13}, []int{1, 7, 7, 13}, []int{1, 7, 7, 13}, tflite.ActNone}, // same shape: blocks of 32, of 8, a rest of 5
		{[]int{1, 3, 3, 5}, []int{1, 3, 3, 5}, []int{1, 3, 3, 5}, tflite.ActRelu6},   // same shape, clamped
		{[]int{2, 3, 5}, []int{}, []int{2, 3, 5}, tflite.ActRelu6},                   // scalar b
		{[]int{1}, []int{3, 4}, []int{3, 4}, tflite.ActNone},                         // scalar a
		{[]int{1, 3, 3, 6}, []int{6}, []int{1, 3, 3, 6}, tflite.ActRelu},             // channel b
		{[]int{1, 1, 6}, []int{2, 5, 6}, []int{2, 5, 6}, tflite.ActNone},             // channel a
		{[]int{2, 1, 4, 1}, []int{1, 3, 1, 5}, []int{2, 3, 4, 5}, tflite.ActNone},    // general
	}
	for i, tc := range tests {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			r := seeded(uint64(i))
			size := func(s []int) int {
				n := 1
				for _, d := range s {
					n *= d
				}
				return n
			}
			a, bv := randF32(r, size(tc.as)), randF32(r, size(tc.bs))
			want := broadcastRef(a, bv, tc.as, tc.bs, tc.os, code == tflite.OpMul, tc.act)
			var b modelBuilder
			x, y, z := b.f32(tc.as...), b.f32(tc.bs...), b.f32(tc.os...)
			var opts any = &tflite.AddOptions{Activation: tc.act}
			if code == tflite.OpMul {
				opts = &tflite.MulOptions{Activation: tc.act}
			}
			b.op(code, opts, []int{x, y}, []int{z})
			m := b.io([]int{x, y}, []int{z})
			got := runF32(t, m, 1, a, bv)
			closeTo(t, got, want, 1e-6)
			closeTo(t, runF32(t, m, 2, a, bv), got, 0)
		})
	}
	t.Run("mismatch", func(t *testing.T) {
		var b modelBuilder
		x, y, z := b.f32(2, 3), b.f32(4, 3), b.f32(4, 3)
		b.op(code, nil, []int{x, y}, []int{z})
		assertUnsupported(t, newErr(b.io([]int{x, y}, []int{z})), tflite.OpName(code))
	})
}
