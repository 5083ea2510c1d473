//go:build !amd64 || purego

package head

// Without assembly the kernels are the portable ones (see kernels.go).

func gemm2x4(o *[8]float32, x0, x1, r0, r1, r2, r3 []float32) { gemm2x4Go(o, x0, x1, r0, r1, r2, r3) }

func axpy4(dst []float32, a0, a1, a2, a3 float32, x0, x1, x2, x3 []float32) {
	axpy4Go(dst, a0, a1, a2, a3, x0, x1, x2, x3)
}

func adamStep(w, g, m, v []float32, lr, eps, l2 float32) { adamStepGo(w, g, m, v, lr, eps, l2) }

func axpy(dst []float32, alpha float32, x []float32) { axpyGo(dst, alpha, x) }
