//go:build (!amd64 && !arm64) || purego

package native

import "runtime"

// gemmKernels lists the micro-kernels to use, best first: the 4×4 scalar
// tile where the compiler has 32 float registers, else the 3×3 one.
func gemmKernels() []gemmKernel {
	if runtime.GOARCH == "arm64" || runtime.GOARCH == "arm" {
		return []gemmKernel{scalar4x4Kernel(), scalarKernel()}
	}
	return []gemmKernel{scalarKernel(), scalar4x4Kernel()}
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

// tile8x8 is never called here: no kernel has neon set.
func tile8x8(c []float32, ldc int, a []float32, lda int, panel, bias []float32, k int, lo, hi float32) {
	kernel3x3(c, ldc, a, lda, panel, bias, k, lo, hi)
}

// row1x8 is never called here: no kernel has neon set.
func row1x8(c, a, panel, bias []float32, lo, hi float32) {
	gemmRow(c, a, panel, bias, lo, hi)
}
