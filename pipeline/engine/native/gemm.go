package native

import "unsafe"

// GEMM for the 1x1 convolutions, im2col convolutions and fully connected
// layers: c = clamp(a·B + bias) with a row-major (M×K, row stride lda), B
// constant and packed once into panels of nr columns, and c row-major (row
// stride ldc).
//
// The micro-kernels compute one mr×nr tile of c held in registers:
//   - avx512-8x32 (gemm512_amd64.s), chosen at run time on amd64 CPUs with
//     AVX-512 (32 ZMM registers: sixteen accumulators);
//   - avx2-6x16 (gemm_amd64.s), chosen at run time on amd64 CPUs with AVX2
//     and FMA (build tag purego leaves it out);
//   - scalar3x3, portable Go, on other amd64 CPUs. The Go compiler has 15
//     float registers on amd64 and spills larger scalar tiles (measured:
//     2×6, 3×4 and 4×3 ran at about half the speed of 3×3 and 2×4). With
//     GOAMD64=v3 its multiply-adds compile to FMA instructions and it runs
//     near the scalar peak (~10 GFLOP/s per core here); with GOAMD64=v1 at
//     about half that;
//   - neon-8x8 (gemm_arm64.s), on arm64 (NEON is part of ARMv8-A; build
//     tag purego leaves it out): sixteen accumulators, FMLA by element
//     over four steps of the dot product per loop;
//   - scalar4x4, portable Go, on arm and on arm64 with purego (32 float
//     registers; the arm64 compiler fuses the multiply-adds itself).

const (
	// A block of rows is swept by every B panel in turn; it is sized so
	// that its rows of a (gemmBlockA bytes) and of c (gemmBlockC bytes)
	// stay in cache meanwhile.
	gemmBlockA = 128 << 10
	gemmBlockC = 64 << 10
	// gemmMaxMR and gemmMaxNR bound the tile of every kernel.
	gemmMaxMR = 8
	gemmMaxNR = 32
)

// gemmKernel is a register-tiled micro-kernel and the panel width it wants.
type gemmKernel struct {
	name   string
	mr, nr int
	avx512 bool // tile8x32
	avx    bool // tile6x16
	neon   bool // tile8x8, else kernel3x3 or kernel4x4 by mr
}

// vector reports whether the kernel is an assembly one (AVX2 and FMA at
// least), which the depthwise rows take as leave to use theirs.
func (kern *gemmKernel) vector() bool { return kern.avx || kern.avx512 || kern.neon }

// The portable scalar kernels: 3×3 where the compiler has 16 float
// registers (amd64), 4×4 where it has 32 (arm64, arm).
func scalarKernel() gemmKernel    { return gemmKernel{name: "scalar3x3", mr: 3, nr: 3} }
func scalar4x4Kernel() gemmKernel { return gemmKernel{name: "scalar4x4", mr: 4, nr: 4} }

// tile computes one full mr×nr tile of c from the mr rows of a starting at
// a[0] (row stride lda, k long) and a k×nr panel. A static call, not a
// func value, so that escape analysis keeps callers' scratch tiles on the
// stack.
func (kern *gemmKernel) tile(c []float32, ldc int, a []float32, lda int, panel, bias []float32, k int, lo, hi float32) {
	switch {
	case kern.avx512:
		tile8x32(c, ldc, a, lda, panel, bias, k, lo, hi)
	case kern.avx:
		tile6x16(c, ldc, a, lda, panel, bias, k, lo, hi)
	case kern.neon:
		tile8x8(c, ldc, a, lda, panel, bias, k, lo, hi)
	case kern.mr == 4:
		kernel4x4(c, ldc, a, lda, panel, bias, k, lo, hi)
	default:
		kernel3x3(c, ldc, a, lda, panel, bias, k, lo, hi)
	}
}

// gemm is a matrix product against constant weights, prepared once.
type gemm struct {
	kern   gemmKernel
	n, k   int
	packed []float32 // panels of kern.nr output channels
	bias   []float32 // n rounded up to kern.nr, zero padded
	lo, hi float32
}

// newGemm packs w, laid out [n][k] (one row per output channel, as TFLite
// stores CONV_2D and FULLY_CONNECTED weights), for kern. bias has n
// entries, or is nil for none.
func newGemm(kern gemmKernel, w []float32, n, k int, bias []float32, lo, hi float32) *gemm {
	if kern.avx512 && n <= 16 {
		// Half of a 32-wide panel would be padding: the AVX2 tile is
		// faster there (measured, BenchmarkGemm 12544x32x16).
		kern = avx2Kernel()
	}
	np := (n + kern.nr - 1) / kern.nr * kern.nr
	g := &gemm{kern: kern, n: n, k: k, packed: alignedF32(np * k), bias: alignedF32(np), lo: lo, hi: hi}
	copy(g.bias, bias)
	packB(g.packed, w, n, k, kern.nr)
	return g
}

// packB packs w ([n][k]) into dst as panels of nr output channels:
// dst[p*k*nr + kk*nr + jj] = w[(p*nr+jj)*k+kk], zero beyond n.
func packB(dst, w []float32, n, k, nr int) {
	clear(dst)
	for j := 0; j < n; j++ {
		p, jj := j/nr, j%nr
		panel := dst[p*k*nr:]
		row := w[j*k : j*k+k]
		for kk, v := range row {
			panel[kk*nr+jj] = v
		}
	}
}

// units is the number of mr-row units m rows split into (the grain of
// the worker pool).
func (g *gemm) units(m int) int { return (m + g.kern.mr - 1) / g.kern.mr }

// unitRows computes the rows of units [u0,u1) of an m-row product.
func (g *gemm) unitRows(c []float32, ldc int, a []float32, lda, m, u0, u1 int) {
	g.rows(c, ldc, a, lda, u0*g.kern.mr, min(u1*g.kern.mr, m))
}

// panels is the number of nr-column panels of B (the grain of a
// column split, for products with few rows).
func (g *gemm) panels() int { return (g.n + g.kern.nr - 1) / g.kern.nr }

// gemmGrid is how an m-row product is cut into items for the worker pool:
// rc row chunks of whole mr-row units times cc column chunks of whole
// panels. Items are numbered row chunk fastest, so that items claimed one
// after the other share their panels of B; with one thread there is one
// item, the whole product.
//
// The cut follows the larger operand: a product whose a (m×k) outweighs
// its B (k×n) is cut by rows (each thread reads its rows of a once and
// all of B, which stays in its cache), one whose B outweighs a, typical
// of the small feature maps late in a network and of the classifier, by
// columns (each thread streams only its panels of B, the bulk of the
// memory traffic, and reads all of the small a).
type gemmGrid struct {
	m, units, panels int
	rc, cc           int
}

// grid cuts an m-row product for threads threads; rowsOnly forbids a
// column cut (an im2col convolution fills its rows of a per item).
func (g *gemm) grid(m, threads int, rowsOnly bool) gemmGrid {
	gr := gemmGrid{m: m, units: g.units(m), panels: g.panels(), rc: 1, cc: 1}
	if threads <= 1 || gr.units == 0 || gr.panels == 0 {
		return gr // one item (an empty one when the product is)
	}
	// As many items as the pool has chunks; a cut across the other
	// operand too only when it has few units: each row chunk reads all of
	// B's panels again, each column chunk all of its rows of a.
	want, few := threads*chunksPerThread, threads*itemsPerThread
	if !rowsOnly && m*g.k < g.k*g.n && gr.panels >= threads {
		gr.cc = min(gr.panels, want)
		if gr.panels < few {
			gr.rc = min(gr.units, (few+gr.panels-1)/gr.panels)
		}
	} else {
		gr.rc = min(gr.units, want)
		if !rowsOnly && gr.rc < few {
			gr.cc = min(gr.panels, max(1, few/gr.rc))
		}
	}
	return gr
}

// items is the number of items the grid cuts the product into.
func (gr gemmGrid) items() int { return gr.rc * gr.cc }

// item returns the rows [m0,m1) and panels [p0,p1) of item i.
func (gr gemmGrid) item(i, mr int) (m0, m1, p0, p1 int) {
	r, c := i%gr.rc, i/gr.rc
	u0, u1 := gr.units*r/gr.rc, gr.units*(r+1)/gr.rc
	return u0 * mr, min(u1*mr, gr.m), gr.panels * c / gr.cc, gr.panels * (c + 1) / gr.cc
}

// gridItems computes items [i0,i1) of grid gr of the product c = a·B.
//
// Items claimed together run as few blocks as they can: consecutive row
// chunks of one column chunk as one, and with one row chunk consecutive
// column chunks as one (a block reads its rows of a and its panels of B
// once).
func (g *gemm) gridItems(gr gemmGrid, c []float32, ldc int, a []float32, lda, i0, i1 int) {
	mr := g.kern.mr
	for i := i0; i < i1; {
		m0, m1, p0, p1 := gr.item(i, mr)
		for i++; i < i1; i++ {
			n0, n1, q0, q1 := gr.item(i, mr)
			if q0 == p0 && q1 == p1 && n0 == m1 {
				m1 = n1 // the next row chunk of the same columns
				continue
			}
			if gr.rc == 1 && q0 == p1 {
				p1 = q1 // the next column chunk, on every row
				continue
			}
			break
		}
		g.block(c, ldc, a, lda, m0, m1, p0, p1)
	}
}

// rows computes rows [m0,m1) of c: c[i*ldc+j] = clamp(bias[j] +
// Σ_kk a[i*lda+kk]·B[kk][j], lo, hi) for j < n. It allocates nothing.
func (g *gemm) rows(c []float32, ldc int, a []float32, lda, m0, m1 int) {
	g.block(c, ldc, a, lda, m0, m1, 0, g.panels())
}

// block computes rows [m0,m1) of c in the columns of panels [p0,p1).
func (g *gemm) block(c []float32, ldc int, a []float32, lda, m0, m1, p0, p1 int) {
	k, n, mr, nr := g.k, g.n, g.kern.mr, g.kern.nr
	if k == 0 {
		return
	}
	var tile [gemmMaxMR * gemmMaxNR]float32 // a partial panel's tile, before copying out
	mc := max(mr, min(gemmBlockA/(4*k), gemmBlockC/(4*max(n, 1)))/mr*mr)
	for i0 := m0; i0 < m1; i0 += mc {
		i1 := min(i0+mc, m1)
		for j := p0 * nr; j < min(n, p1*nr); j += nr {
			panel := g.packed[j*k : j*k+nr*k]
			bj := g.bias[j : j+nr]
			w := min(nr, n-j)
			i := i0
			for ; i+mr <= i1; i += mr {
				if w == nr {
					g.kern.tile(c[i*ldc+j:], ldc, a[i*lda:], lda, panel, bj, k, g.lo, g.hi)
					continue
				}
				g.kern.tile(tile[:], nr, a[i*lda:], lda, panel, bj, k, g.lo, g.hi)
				for r := 0; r < mr; r++ {
					copy(c[(i+r)*ldc+j:(i+r)*ldc+j+w], tile[r*nr:])
				}
			}
			for ; i < i1; i++ {
				switch {
				case g.kern.avx512 && w == nr:
					row1x32(c[i*ldc+j:i*ldc+j+w], a[i*lda:i*lda+k], panel, bj, g.lo, g.hi)
				case g.kern.avx512:
					row1x32(tile[:nr], a[i*lda:i*lda+k], panel, bj, g.lo, g.hi)
					copy(c[i*ldc+j:i*ldc+j+w], tile[:w])
				case g.kern.avx && w == nr:
					row1x16(c[i*ldc+j:i*ldc+j+w], a[i*lda:i*lda+k], panel, bj, g.lo, g.hi)
				case g.kern.avx:
					row1x16(tile[:nr], a[i*lda:i*lda+k], panel, bj, g.lo, g.hi)
					copy(c[i*ldc+j:i*ldc+j+w], tile[:w])
				case g.kern.neon && w == nr:
					row1x8(c[i*ldc+j:i*ldc+j+w], a[i*lda:i*lda+k], panel, bj, g.lo, g.hi)
				case g.kern.neon:
					row1x8(tile[:nr], a[i*lda:i*lda+k], panel, bj, g.lo, g.hi)
					copy(c[i*ldc+j:i*ldc+j+w], tile[:w])
				default:
					gemmRow(c[i*ldc+j:i*ldc+j+w], a[i*lda:i*lda+k], panel, bj, g.lo, g.hi)
				}
			}
		}
	}
}

// gemmRow computes one row of a panel (a row left over below the last
// full tile): c[jj] = clamp(bias[jj] + Σ a[kk]·panel[kk][jj]) for jj <
// len(c) ≤ len(bias), the panel width.
func gemmRow(c, a, panel, bias []float32, lo, hi float32) {
	nr := len(bias)
	var acc [gemmMaxNR]float32
	copy(acc[:nr], bias)
	panel = panel[:len(a)*nr]
	for kk, x := range a {
		b := panel[kk*nr : kk*nr+nr]
		for jj, v := range b {
			acc[jj] += x * v
		}
	}
	for jj := range c {
		c[jj] = clamp(acc[jj], lo, hi)
	}
}

// kernel3x3 computes one full 3×3 tile of c from rows a[0],
// a[lda], a[2·lda] (each k long) and a k×3 panel of B. The bounds are
// checked once up front; the loop walks raw pointers so that it compiles
// to loads and multiply-adds only.
func kernel3x3(c []float32, ldc int, a []float32, lda int, panel, bias []float32, k int, lo, hi float32) {
	bb := (*[3]float32)(bias)
	_ = a[2*lda+k-1]
	_ = panel[k*3-1]
	_ = c[2*ldc+2]
	c00, c01, c02 := bb[0], bb[1], bb[2]
	c10, c11, c12 := bb[0], bb[1], bb[2]
	c20, c21, c22 := bb[0], bb[1], bb[2]
	pa := unsafe.Pointer(unsafe.SliceData(a))
	pb := unsafe.Pointer(unsafe.SliceData(panel))
	stride := uintptr(lda) * 4
	for kk := 0; kk < k; kk++ {
		x0 := *(*float32)(pa)
		x1 := *(*float32)(unsafe.Add(pa, 1*stride))
		x2 := *(*float32)(unsafe.Add(pa, 2*stride))
		b0 := *(*float32)(unsafe.Add(pb, 0))
		c00 += x0 * b0
		c10 += x1 * b0
		c20 += x2 * b0
		b1 := *(*float32)(unsafe.Add(pb, 4))
		c01 += x0 * b1
		c11 += x1 * b1
		c21 += x2 * b1
		b2 := *(*float32)(unsafe.Add(pb, 8))
		c02 += x0 * b2
		c12 += x1 * b2
		c22 += x2 * b2
		pa = unsafe.Add(pa, 4)
		pb = unsafe.Add(pb, 12)
	}
	r0 := (*[3]float32)(c[0*ldc:])
	r0[0] = clamp(c00, lo, hi)
	r0[1] = clamp(c01, lo, hi)
	r0[2] = clamp(c02, lo, hi)
	r1 := (*[3]float32)(c[1*ldc:])
	r1[0] = clamp(c10, lo, hi)
	r1[1] = clamp(c11, lo, hi)
	r1[2] = clamp(c12, lo, hi)
	r2 := (*[3]float32)(c[2*ldc:])
	r2[0] = clamp(c20, lo, hi)
	r2[1] = clamp(c21, lo, hi)
	r2[2] = clamp(c22, lo, hi)
}

// kernel4x4 is kernel3x3 with a 4×4 tile, for CPUs with 32 float
// registers (arm64, armv7 VFP), where the larger tile does not spill and
// halves the loads per multiply-add.
func kernel4x4(c []float32, ldc int, a []float32, lda int, panel, bias []float32, k int, lo, hi float32) {
	bb := (*[4]float32)(bias)
	_ = a[3*lda+k-1]
	_ = panel[k*4-1]
	_ = c[3*ldc+3]
	c00, c01, c02, c03 := bb[0], bb[1], bb[2], bb[3]
	c10, c11, c12, c13 := bb[0], bb[1], bb[2], bb[3]
	c20, c21, c22, c23 := bb[0], bb[1], bb[2], bb[3]
	c30, c31, c32, c33 := bb[0], bb[1], bb[2], bb[3]
	pa := unsafe.Pointer(unsafe.SliceData(a))
	pb := unsafe.Pointer(unsafe.SliceData(panel))
	stride := uintptr(lda) * 4
	for kk := 0; kk < k; kk++ {
		x0 := *(*float32)(pa)
		x1 := *(*float32)(unsafe.Add(pa, 1*stride))
		x2 := *(*float32)(unsafe.Add(pa, 2*stride))
		x3 := *(*float32)(unsafe.Add(pa, 3*stride))
		b0 := *(*float32)(unsafe.Add(pb, 0))
		c00 += x0 * b0
		c10 += x1 * b0
		c20 += x2 * b0
		c30 += x3 * b0
		b1 := *(*float32)(unsafe.Add(pb, 4))
		c01 += x0 * b1
		c11 += x1 * b1
		c21 += x2 * b1
		c31 += x3 * b1
		b2 := *(*float32)(unsafe.Add(pb, 8))
		c02 += x0 * b2
		c12 += x1 * b2
		c22 += x2 * b2
		c32 += x3 * b2
		b3 := *(*float32)(unsafe.Add(pb, 12))
		c03 += x0 * b3
		c13 += x1 * b3
		c23 += x2 * b3
		c33 += x3 * b3
		pa = unsafe.Add(pa, 4)
		pb = unsafe.Add(pb, 16)
	}
	r0 := (*[4]float32)(c[0*ldc:])
	r0[0] = clamp(c00, lo, hi)
	r0[1] = clamp(c01, lo, hi)
	r0[2] = clamp(c02, lo, hi)
	r0[3] = clamp(c03, lo, hi)
	r1 := (*[4]float32)(c[1*ldc:])
	r1[0] = clamp(c10, lo, hi)
	r1[1] = clamp(c11, lo, hi)
	r1[2] = clamp(c12, lo, hi)
	r1[3] = clamp(c13, lo, hi)
	r2 := (*[4]float32)(c[2*ldc:])
	r2[0] = clamp(c20, lo, hi)
	r2[1] = clamp(c21, lo, hi)
	r2[2] = clamp(c22, lo, hi)
	r2[3] = clamp(c23, lo, hi)
	r3 := (*[4]float32)(c[3*ldc:])
	r3[0] = clamp(c30, lo, hi)
	r3[1] = clamp(c31, lo, hi)
	r3[2] = clamp(c32, lo, hi)
	r3[3] = clamp(c33, lo, hi)
}

// clamp limits v to [lo, hi] (cheaper than the min/max builtins, which
// order signed zeros and NaNs).
func clamp(v, lo, hi float32) float32 {
	return min(max(v, lo), hi)
}
