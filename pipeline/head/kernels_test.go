package head

import (
	"math"
	"testing"
)

func refDot(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

func seq(n int, seed uint64) []float32 {
	r := newRNG(seed)
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	return x
}

func TestKernels(t *testing.T) {
	for _, n := range []int{0, 1, 3, 7, 8, 9, 17, 100, 1280} {
		t.Run("dot", func(t *testing.T) {
			a, b := seq(n, 1), seq(n, 2)
			if got, want := float64(dot(a, b)), refDot(a, b); math.Abs(got-want) > 1e-4*(1+math.Abs(want)) {
				t.Errorf("n=%d: dot = %v, want %v", n, got, want)
			}
		})
		t.Run("axpy", func(t *testing.T) {
			d, x := seq(n, 3), seq(n, 4)
			want := make([]float32, n)
			for i := range want {
				want[i] = d[i] + 0.5*x[i]
			}
			axpy(d, 0.5, x)
			for i := range d {
				if math.Abs(float64(d[i]-want[i])) > 1e-6 {
					t.Fatalf("n=%d: axpy[%d] = %v, want %v", n, i, d[i], want[i])
				}
			}
		})
		t.Run("gemv", func(t *testing.T) {
			for _, rows := range []int{1, 3, 4, 5, 9} {
				w, b, x := seq(rows*n, 5), seq(rows, 6), seq(n, 7)
				dst := make([]float32, rows)
				gemv(dst, w, b, x)
				for j := range dst {
					want := float64(b[j]) + refDot(w[j*n:(j+1)*n], x)
					if math.Abs(float64(dst[j])-want) > 1e-4*(1+math.Abs(want)) {
						t.Fatalf("n=%d rows=%d: gemv[%d] = %v, want %v", n, rows, j, dst[j], want)
					}
				}
			}
		})
	}
}
