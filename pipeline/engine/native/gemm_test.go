package native

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/alphad/alphad/internal/cputime"
)

// gemmRef is the plain reference loop for gemmRows, on unpacked weights
// w laid out [n][k].
func gemmRef(c []float32, ldc int, a []float32, lda int, w, bias []float32, m, n, k int, lo, hi float32) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			s := float64(bias[j]) // float64: independent of summation order
			for kk := 0; kk < k; kk++ {
				s += float64(a[i*lda+kk]) * float64(w[j*k+kk])
			}
			c[i*ldc+j] = min(max(float32(s), lo), hi)
		}
	}
}

func randF32(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = r.Float32()*2 - 1
	}
	return s
}

// closeTo compares within an absolute-plus-relative tolerance and reports
// the first mismatch.
func closeTo(t *testing.T, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("len %d, want %d", len(got), len(want))
	}
	for i := range got {
		d := math.Abs(float64(got[i] - want[i]))
		if d > tol*(1+math.Abs(float64(want[i]))) || math.IsNaN(float64(got[i])) != math.IsNaN(float64(want[i])) {
			t.Fatalf("element %d: got %v, want %v (diff %g)", i, got[i], want[i], d)
		}
	}
}

func TestGemm(t *testing.T) {
	inf := float32(math.Inf(1))
	tests := []struct {
		m, n, k int
		lo, hi  float32
	}{
		{1, 1, 1, -inf, inf},
		{2, 6, 3, -inf, inf},
		{3, 7, 5, 0, 6},
		{6, 16, 4, -inf, inf},
		{17, 13, 9, 0, inf},
		{64, 96, 24, 0, 6},
		{49, 1001, 33, -inf, inf},
		{5, 16, 1, -1, 1},
		{301, 24, 144, -inf, inf}, // several row blocks
		{13, 40, 7, 0, 6},
	}
	r := rand.New(rand.NewPCG(1, 2))
	for _, kern := range gemmKernels() {
		for _, tc := range tests {
			t.Run(fmt.Sprintf("%s/%dx%dx%d", kern.name, tc.m, tc.n, tc.k), func(t *testing.T) {
				lda, ldc := tc.k+3, tc.n+2 // strides wider than the rows
				a := randF32(r, tc.m*lda)
				w := randF32(r, tc.n*tc.k)
				bias := randF32(r, tc.n)
				want := make([]float32, tc.m*ldc)
				got := make([]float32, tc.m*ldc)
				gemmRef(want, ldc, a, lda, w, bias, tc.m, tc.n, tc.k, tc.lo, tc.hi)
				g := newGemm(kern, w, tc.n, tc.k, bias, tc.lo, tc.hi)
				// Split the rows like the pool does.
				u := g.units(tc.m)
				g.unitRows(got, ldc, a, lda, tc.m, 0, u/2)
				g.unitRows(got, ldc, a, lda, tc.m, u/2, u)
				closeTo(t, got, want, 1e-5)
			})
		}
	}
}

// BenchmarkGemm is a ladder of MobileNetV2's 1×1 convolution shapes
// (M pixels × K input channels · K × N output channels) for each
// micro-kernel this CPU runs.
func BenchmarkGemm(b *testing.B) {
	shapes := []struct{ m, k, n int }{
		{12544, 32, 16},
		{12544, 16, 96},
		{3136, 24, 144},
		{3136, 144, 24},
		{784, 32, 192},
		{784, 192, 32},
		{196, 64, 384},
		{196, 384, 64},
		{196, 576, 96},
		{49, 160, 960},
		{49, 960, 160},
		{49, 320, 1280},
	}
	r := rand.New(rand.NewPCG(3, 4))
	for _, kern := range gemmKernels() {
		for _, s := range shapes {
			b.Run(fmt.Sprintf("%s/%dx%dx%d", kern.name, s.m, s.k, s.n), func(b *testing.B) {
				a := randF32(r, s.m*s.k)
				g := newGemm(kern, randF32(r, s.n*s.k), s.n, s.k, nil, 0, 6)
				c := make([]float32, s.m*s.n)
				b.ReportAllocs()
				cpu0 := cputime.Process()
				for b.Loop() {
					g.rows(c, s.n, a, s.k, 0, s.m)
				}
				flops := 2 * float64(s.m*s.n*s.k)
				cpu := (cputime.Process() - cpu0).Seconds()
				b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				if cpu > 0 {
					b.ReportMetric(flops*float64(b.N)/cpu/1e9, "cpu-GFLOP/s")
				}
			})
		}
	}
}

// TestGemmGridClaims computes products cut by grid for one to three
// threads, item by item and in runs of neighbouring items (as the pool's
// claims hand them out, which gridItems merges into fewer blocks), with
// every kernel: each must equal the unsplit product bit for bit.
func TestGemmGridClaims(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	shapes := []struct{ m, n, k int }{
		{196, 64, 384},  // more rows than B: cut by rows
		{196, 384, 64},  // cut by columns
		{49, 160, 960},  // few panels: rows and columns
		{1, 1001, 1280}, // one row
		{37, 45, 11},
		{0, 40, 8}, // an empty output (a map with a zero dimension)
	}
	for _, kern := range gemmKernels() {
		for _, sh := range shapes {
			a, w, bias := randF32(r, sh.m*sh.k), randF32(r, sh.n*sh.k), randF32(r, sh.n)
			g := newGemm(kern, w, sh.n, sh.k, bias, 0, 6)
			whole := make([]float32, sh.m*sh.n)
			g.rows(whole, sh.n, a, sh.k, 0, sh.m)
			for threads := 1; threads <= 3; threads++ {
				gr := g.grid(sh.m, threads, false)
				for _, run := range []int{1, 2, 3, gr.items()} {
					got := make([]float32, sh.m*sh.n)
					for i := 0; i < gr.items(); i += run {
						g.gridItems(gr, got, sh.n, a, sh.k, i, min(i+run, gr.items()))
					}
					for i := range got {
						if math.Float32bits(got[i]) != math.Float32bits(whole[i]) {
							t.Fatalf("%s %dx%dx%d, %d threads (grid %d×%d), runs of %d items: element %d is %v, unsplit %v",
								kern.name, sh.m, sh.n, sh.k, threads, gr.rc, gr.cc, run, i, got[i], whole[i])
						}
					}
				}
			}
		}
	}
}
