package native

import (
	"fmt"
	"testing"

	"github.com/alphad/alphad/pipeline/tflite"
)

func TestFullyConnected(t *testing.T) {
	tests := []struct {
		inShape  []int
		units, k int
		act      tflite.Activation
		noBias   bool
		outShape []int
	}{
		{[]int{1, 1280}, 1001, 1280, tflite.ActNone, false, []int{1, 1001}},
		{[]int{1, 1, 1, 16}, 5, 16, tflite.ActRelu, true, []int{1, 5}}, // flattened input
		{[]int{4, 7}, 3, 7, tflite.ActRelu6, false, []int{4, 3}},       // batch
	}
	for i, tc := range tests {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			r := seeded(uint64(i))
			batch := 1
			for _, d := range tc.inShape {
				batch *= d
			}
			batch /= tc.k
			in, w := randF32(r, batch*tc.k), randF32(r, tc.units*tc.k)
			bias := make([]float32, tc.units)
			if !tc.noBias {
				bias = randF32(r, tc.units)
			}
			want := make([]float32, batch*tc.units)
			for bt := 0; bt < batch; bt++ {
				for u := 0; u < tc.units; u++ {
					s := float64(bias[u]) // float64: the reference must not depend on summation order
					for k := 0; k < tc.k; k++ {
						s += float64(in[bt*tc.k+k]) * float64(w[u*tc.k+k])
					}
					want[bt*tc.units+u] = clampRef(float32(s), tc.act)
				}
			}
			var b modelBuilder
			x := b.f32(tc.inShape...)
			wt := b.tensor(tflite.Float32, []int{tc.units, tc.k}, w)
			bi := -1
			if !tc.noBias {
				bi = b.tensor(tflite.Float32, []int{tc.units}, bias)
			}
			y := b.f32(tc.outShape...)
			b.op(tflite.OpFullyConnected, &tflite.FullyConnectedOptions{Activation: tc.act}, []int{x, wt, bi}, []int{y})
			closeTo(t, runF32(t, b.io([]int{x}, []int{y}), 1, in), want, 1e-4)
		})
	}
}
