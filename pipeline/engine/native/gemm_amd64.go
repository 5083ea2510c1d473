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

// gemmKernels lists the micro-kernels this CPU can run, fastest first:
// the AVX2+FMA assembly tile when the CPU (and OS) support it, then the
// portable scalar tiles (the 4×4 one is listed so that tests cover it).
func gemmKernels() []gemmKernel {
	var ks []gemmKernel
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		ks = append(ks, gemmKernel{name: "avx2-6x16", mr: 6, nr: 16, avx: true})
	}
	return append(ks, scalarKernel(), scalar4x4Kernel())
}
