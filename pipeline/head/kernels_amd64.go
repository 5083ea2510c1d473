//go:build amd64 && !purego

package head

import "golang.org/x/sys/cpu"

// The training kernels in AVX2 and FMA (kernels_amd64.s) on CPUs that
// have them, else the portable ones (kernels.go). Each assembly kernel
// takes whole vectors of 8 floats; the Go wrappers check the bounds and
// do the tail. Summation order differs from the portable kernels (eight
// lanes), so the same seed trains a head equal to rounding, not bit for
// bit, on another CPU.

func haveAVX2() bool { return cpu.X86.HasAVX2 && cpu.X86.HasFMA }

//go:noescape
func dot2x4AVX2(o *[8]float32, x0, x1, r0, r1, r2, r3 *float32, n int)

//go:noescape
func axpyAVX2(dst, x *float32, a float32, n int)

//go:noescape
func axpy4AVX2(dst, x0, x1, x2, x3 *float32, a *[4]float32, n int)

//go:noescape
func adamAVX2(w, grad, m, v *float32, c *[8]float32, n int)

func gemm2x4(o *[8]float32, x0, x1, r0, r1, r2, r3 []float32) {
	n := len(x0)
	v := n &^ 7
	if v == 0 || !haveAVX2() {
		gemm2x4Go(o, x0, x1, r0, r1, r2, r3)
		return
	}
	x1, r0, r1, r2, r3 = x1[:n], r0[:n], r1[:n], r2[:n], r3[:n]
	dot2x4AVX2(o, &x0[0], &x1[0], &r0[0], &r1[0], &r2[0], &r3[0], v)
	if v < n {
		var t [8]float32
		gemm2x4Go(&t, x0[v:], x1[v:], r0[v:], r1[v:], r2[v:], r3[v:])
		for i := range o {
			o[i] += t[i]
		}
	}
}

func axpy4(dst []float32, a0, a1, a2, a3 float32, x0, x1, x2, x3 []float32) {
	n := len(dst)
	v := n &^ 7
	if v == 0 || !haveAVX2() {
		axpy4Go(dst, a0, a1, a2, a3, x0, x1, x2, x3)
		return
	}
	x0, x1, x2, x3 = x0[:n], x1[:n], x2[:n], x3[:n]
	a := [4]float32{a0, a1, a2, a3}
	axpy4AVX2(&dst[0], &x0[0], &x1[0], &x2[0], &x3[0], &a, v)
	if v < n {
		axpy4Go(dst[v:], a0, a1, a2, a3, x0[v:], x1[v:], x2[v:], x3[v:])
	}
}

func adamStep(w, g, m, v []float32, lr, eps, l2 float32) {
	n := len(w)
	k := n &^ 7
	if k == 0 || !haveAVX2() {
		adamStepGo(w, g, m, v, lr, eps, l2)
		return
	}
	g, m, v = g[:n], m[:n], v[:n]
	c := [8]float32{beta1, 1 - beta1, beta2, 1 - beta2, lr, eps, l2}
	adamAVX2(&w[0], &g[0], &m[0], &v[0], &c, k)
	if k < n {
		adamStepGo(w[k:], g[k:], m[k:], v[k:], lr, eps, l2)
	}
}

func axpy(dst []float32, alpha float32, x []float32) {
	n := len(dst)
	v := n &^ 7
	if v == 0 || !haveAVX2() {
		axpyGo(dst, alpha, x)
		return
	}
	x = x[:n]
	axpyAVX2(&dst[0], &x[0], alpha, v)
	if v < n {
		axpyGo(dst[v:], alpha, x[v:])
	}
}
