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

// expf is e^x through expShifted.
func expf(x float32) float32 {
	var d [1]float32
	expShifted(d[:], []float32{x}, 0, 1)
	return d[0]
}

// TestExpf sweeps expShifted against math.Exp over the softmax range (x ≤ 0,
// down to where e^x leaves the normal float32 range) and a little above:
// within 2 ulp, and the hand-off to math.Exp at the ends.
func TestExpf(t *testing.T) {
	for _, x := range []float32{0, -0, 1, -1, 0.5, -0.5, -86.99, 87.99, -87, 88, -100, 100, float32(math.Inf(-1)), float32(math.Inf(1))} {
		if got, want := expf(x), float32(math.Exp(float64(x))); got != want && math.Abs(float64(got-want)) > 2.5e-7*float64(want) {
			t.Errorf("expf(%v) = %v, want %v", x, got, want)
		}
	}
	if v := expf(float32(math.NaN())); !math.IsNaN(float64(v)) {
		t.Errorf("expf(NaN) = %v", v)
	}
	for i := 0; i <= 200000; i++ {
		x := -87 + 100*float32(i)/200000
		got, want := expf(x), math.Exp(float64(x))
		if rel := math.Abs(float64(got)-want) / want; rel > 2.5e-7 {
			t.Fatalf("expf(%v) = %v, want %v (relative error %.3g)", x, got, want, rel)
		}
	}
}

func BenchmarkSoftmax1001(b *testing.B) {
	x := randF32(seeded(3), 1001)
	for i := range x {
		x[i] *= 20
	}
	dst := make([]float32, len(x))
	for b.Loop() {
		softmax(dst, x, 1)
	}
}
