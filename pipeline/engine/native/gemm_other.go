//go:build !amd64 || purego

package native

// gemmKernels lists the micro-kernels available: the portable scalar tile.
func gemmKernels() []gemmKernel { return []gemmKernel{scalarKernel()} }

// tile6x16 is never called here: no kernel has avx set.
func tile6x16(c []float32, ldc int, a []float32, lda int, panel, bias []float32, k int, lo, hi float32) {
	kernel3x3(c, ldc, a, lda, panel, bias, k, lo, hi)
}

// row1x16 is never called here: no kernel has avx set.
func row1x16(c, a, panel, bias []float32, lo, hi float32) {
	gemmRow(c, a, panel, bias, lo, hi)
}
