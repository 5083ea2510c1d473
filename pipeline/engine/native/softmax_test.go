package native

import (
	"fmt"
	"math"
	"testing"

	"github.com/alphad/alphad/pipeline/tflite"
)

func softmaxRef(x []float32, beta float64) []float32 {
	m := math.Inf(-1)
	for _, v := range x {
		m = max(m, float64(v))
	}
	var sum float64
	for _, v := range x {
		sum += math.Exp((float64(v) - m) * beta)
	}
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(math.Exp((float64(v)-m)*beta) / sum)
	}
	return out
}

func TestSoftmax(t *testing.T) {
	for _, tc := range []struct {
		rows, n int
		beta    float32
	}{{1, 1001, 1}, {3, 7, 0.5}, {2, 1, 1}, {1, 5, 2}} {
		t.Run(fmt.Sprintf("%dx%d_beta%g", tc.rows, tc.n, tc.beta), func(t *testing.T) {
			in := randF32(seeded(2), tc.rows*tc.n)
			for i := range in {
				in[i] *= 20
			}
			var want []float32
			for r := 0; r < tc.rows; r++ {
				want = append(want, softmaxRef(in[r*tc.n:(r+1)*tc.n], float64(tc.beta))...)
			}
			var b modelBuilder
			x, y := b.f32(tc.rows, tc.n), b.f32(tc.rows, tc.n)
			b.op(tflite.OpSoftmax, &tflite.SoftmaxOptions{Beta: tc.beta}, []int{x}, []int{y})
			closeTo(t, runF32(t, b.io([]int{x}, []int{y}), 1, in), want, 1e-6)
		})
	}
}
