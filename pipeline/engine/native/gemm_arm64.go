//go:build arm64 && !purego

package native

// kernel8x8 is in gemm_arm64.s.
//
//go:noescape
func kernel8x8(c *float32, ldc int, a *float32, lda int, panel *float32, bias *float32, k int, lo, hi float32)

// kernel1x8 is in gemm_arm64.s.
//
//go:noescape
func kernel1x8(c *float32, a *float32, panel *float32, bias *float32, k int, lo, hi float32)

// tile8x8 checks the bounds of one 8×8 tile, then runs the assembly.
func tile8x8(c []float32, ldc int, a []float32, lda int, panel, bias []float32, k int, lo, hi float32) {
	_ = c[7*ldc+7]
	_ = a[7*lda+k-1]
	_ = panel[8*k-1]
	_ = bias[7]
	kernel8x8(&c[0], ldc, &a[0], lda, &panel[0], &bias[0], k, lo, hi)
}

// row1x8 checks the bounds of one 8-wide row, then runs the assembly.
func row1x8(c, a, panel, bias []float32, lo, hi float32) {
	k := len(a)
	_ = c[7]
	_ = panel[8*k-1]
	_ = bias[7]
	kernel1x8(&c[0], &a[0], &panel[0], &bias[0], k, lo, hi)
}

// gemmKernels lists the micro-kernels to use, best first: the NEON tile
// (every ARMv8-A CPU has Advanced SIMD), then the portable ones, listed
// so that tests cover them.
func gemmKernels() []gemmKernel {
	return []gemmKernel{{name: "neon-8x8", mr: 8, nr: 8, neon: true}, scalar4x4Kernel(), scalarKernel()}
}

// tile6x16 is never called here: no kernel has avx set.
func tile6x16(c []float32, ldc int, a []float32, lda int, panel, bias []float32, k int, lo, hi float32) {
	kernel3x3(c, ldc, a, lda, panel, bias, k, lo, hi)
}

// row1x16 is never called here: no kernel has avx set.
func row1x16(c, a, panel, bias []float32, lo, hi float32) {
	gemmRow(c, a, panel, bias, lo, hi)
}

// tile8x32 is never called here: no kernel has avx512 set.
func tile8x32(c []float32, ldc int, a []float32, lda int, panel, bias []float32, k int, lo, hi float32) {
	kernel3x3(c, ldc, a, lda, panel, bias, k, lo, hi)
}

// row1x32 is never called here: no kernel has avx512 set.
func row1x32(c, a, panel, bias []float32, lo, hi float32) {
	gemmRow(c, a, panel, bias, lo, hi)
}

// avx2Kernel is never used here: no kernel has avx512 set.
func avx2Kernel() gemmKernel { return scalarKernel() }
