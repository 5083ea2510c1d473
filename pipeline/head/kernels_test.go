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

// TestTrainingKernels checks gemm2x4, axpy, axpy4 and adamStep (assembly where
// the CPU has it) against plain loops in float64, for lengths with and
// without a tail.
func TestTrainingKernels(t *testing.T) {
	near := func(got float32, want float64) bool { return math.Abs(float64(got)-want) <= 1e-4*(1+math.Abs(want)) }
	for _, n := range []int{1, 5, 8, 9, 16, 100, 1283} {
		x0, x1 := seq(n, 1), seq(n, 2)
		r := [4][]float32{seq(n, 3), seq(n, 4), seq(n, 5), seq(n, 6)}
		var o [8]float32
		gemm2x4(&o, x0, x1, r[0], r[1], r[2], r[3])
		for k := range 4 {
			for s, x := range [][]float32{x0, x1} {
				if want := refDot(x, r[k]); !near(o[2*k+s], want) {
					t.Errorf("n=%d: gemm2x4 o[%d] = %v, want %v", n, 2*k+s, o[2*k+s], want)
				}
			}
		}
		dst := seq(n, 7)
		want := make([]float64, n)
		for i := range want {
			want[i] = float64(dst[i]) - 1.5*float64(x0[i])
		}
		axpy(dst, -1.5, x0)
		for i := range dst {
			if !near(dst[i], want[i]) {
				t.Fatalf("n=%d: axpy[%d] = %v, want %v", n, i, dst[i], want[i])
			}
		}
		dst = seq(n, 7)
		a := [4]float32{0.5, -1.25, 2, 0.75}
		for i := range want {
			want[i] = float64(dst[i])
			for k := range 4 {
				want[i] += float64(a[k]) * float64(r[k][i])
			}
		}
		axpy4(dst, a[0], a[1], a[2], a[3], r[0], r[1], r[2], r[3])
		for i := range dst {
			if !near(dst[i], want[i]) {
				t.Fatalf("n=%d: axpy4[%d] = %v, want %v", n, i, dst[i], want[i])
			}
		}
		w, g, m, v := seq(n, 8), seq(n, 9), seq(n, 10), seq(n, 11)
		for i := range v {
			v[i] *= v[i]
		}
		const lr, eps, l2 = 0.01, 1e-7, 0.05
		ww, mm, vv := make([]float64, n), make([]float64, n), make([]float64, n)
		for i := range ww {
			gi := float64(g[i]) + l2*float64(w[i])
			mm[i] = beta1*float64(m[i]) + (1-beta1)*gi
			vv[i] = beta2*float64(v[i]) + (1-beta2)*gi*gi
			ww[i] = float64(w[i]) - lr*mm[i]/(math.Sqrt(vv[i])+eps)
		}
		adamStep(w, g, m, v, lr, eps, l2)
		for i := range w {
			if !near(w[i], ww[i]) || !near(m[i], mm[i]) || !near(v[i], vv[i]) {
				t.Fatalf("n=%d: adam [%d] w m v = %v %v %v, want %v %v %v", n, i, w[i], m[i], v[i], ww[i], mm[i], vv[i])
			}
		}
	}
}
