//go:build amd64 && !purego

package native

import "golang.org/x/sys/cpu"

// kernel6x16 is in gemm_amd64.s.
//
//go:noescape
func kernel6x16(c *float32, ldc int, a *float32, lda int, panel *float32, bias *float32, k int, lo, hi float32)

// kernel1x16 is in gemm_amd64.s.
//
//go:noescape
func kernel1x16(c *float32, a *float32, panel *float32, bias *float32, k int, lo, hi float32)

// row1x16 checks the bounds of one 16-wide row, then runs the assembly.
func row1x16(c, a, panel, bias []float32, lo, hi float32) {
	k := len(a)
	_ = c[15]
	_ = panel[16*k-1]
	_ = bias[15]
	kernel1x16(&c[0], &a[0], &panel[0], &bias[0], k, lo, hi)
}

// tile6x16 checks the bounds of one 6×16 tile, then runs the assembly.
func tile6x16(c []float32, ldc int, a []float32, lda int, panel, bias []float32, k int, lo, hi float32) {
	_ = c[5*ldc+15]
	_ = a[5*lda+k-1]
	_ = panel[16*k-1]
	_ = bias[15]
	kernel6x16(&c[0], ldc, &a[0], lda, &panel[0], &bias[0], k, lo, hi)
}

// kernel8x32 is in gemm512_amd64.s.
//
//go:noescape
func kernel8x32(c *float32, ldc int, a *float32, lda int, panel *float32, bias *float32, k int, lo, hi float32)

// kernel1x32 is in gemm512_amd64.s.
//
//go:noescape
func kernel1x32(c *float32, a *float32, panel *float32, bias *float32, k int, lo, hi float32)

// row1x32 checks the bounds of one 32-wide row, then runs the assembly.
func row1x32(c, a, panel, bias []float32, lo, hi float32) {
	k := len(a)
	_ = c[31]
	_ = panel[32*k-1]
	_ = bias[31]
	kernel1x32(&c[0], &a[0], &panel[0], &bias[0], k, lo, hi)
}

// tile8x32 checks the bounds of one 8×32 tile, then runs the assembly.
func tile8x32(c []float32, ldc int, a []float32, lda int, panel, bias []float32, k int, lo, hi float32) {
	_ = c[7*ldc+31]
	_ = a[7*lda+k-1]
	_ = panel[32*k-1]
	_ = bias[31]
	kernel8x32(&c[0], ldc, &a[0], lda, &panel[0], &bias[0], k, lo, hi)
}

// gemmKernels lists the micro-kernels this CPU can run, fastest first:
// the AVX-512 tile, then the AVX2+FMA one, when the CPU (and OS) support
// them, then the portable scalar tiles (the 4×4 one is listed so that
// tests cover it).
func gemmKernels() []gemmKernel {
	var ks []gemmKernel
	if cpu.X86.HasAVX512F && cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		ks = append(ks, gemmKernel{name: "avx512-8x32", mr: 8, nr: 32, avx512: true})
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		ks = append(ks, avx2Kernel())
	}
	return append(ks, scalarKernel(), scalar4x4Kernel())
}

// avx2Kernel is the AVX2+FMA 6×16 tile.
func avx2Kernel() gemmKernel { return gemmKernel{name: "avx2-6x16", mr: 6, nr: 16, avx: true} }

// tile8x8 is never called here: no kernel has neon set.
func tile8x8(c []float32, ldc int, a []float32, lda int, panel, bias []float32, k int, lo, hi float32) {
	kernel3x3(c, ldc, a, lda, panel, bias, k, lo, hi)
}

// row1x8 is never called here: no kernel has neon set.
func row1x8(c, a, panel, bias []float32, lo, hi float32) {
	gemmRow(c, a, panel, bias, lo, hi)
}
