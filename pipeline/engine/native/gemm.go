package native

import "unsafe"

// GEMM for the 1x1 convolutions, im2col convolutions and fully connected
// layers: c = clamp(a·B + bias) with a row-major (M×K, row stride lda), B
// packed by packB into panels of gemmNR columns, and c row-major (row
// stride ldc). The micro-kernel keeps a 3×3 tile of c in registers: the
// Go compiler has 15 float registers on amd64 and spills larger tiles
// (measured: 2×6, 3×4 and 4×3 all ran at about half the speed of 3×3 and
// 2×4). With GOAMD64=v3 the multiply-adds compile to FMA instructions and
// the loop is FMA-bound, near the scalar peak (~10 GFLOP/s per core here).

const (
	gemmMR = 3
	gemmNR = 3
	// A block of rows is swept by every B panel in turn; it is sized so
	// that its rows of a (gemmBlockA bytes) and of c (gemmBlockC bytes)
	// stay in cache meanwhile.
	gemmBlockA = 128 << 10
	gemmBlockC = 64 << 10
)

// packedLen is the length of the packed form of an n×k weight matrix.
func packedLen(n, k int) int { return (n + gemmNR - 1) / gemmNR * gemmNR * k }

// packB packs w, laid out [n][k] (one row per output channel, as TFLite
// stores CONV_2D and FULLY_CONNECTED weights), into dst as panels of gemmNR
// output channels: dst[p*k*gemmNR + kk*gemmNR + jj] = w[(p*gemmNR+jj)*k+kk],
// zero beyond n.
func packB(dst, w []float32, n, k int) {
	clear(dst[:packedLen(n, k)])
	for j := 0; j < n; j++ {
		p, jj := j/gemmNR, j%gemmNR
		panel := dst[p*k*gemmNR:]
		row := w[j*k : j*k+k]
		for kk, v := range row {
			panel[kk*gemmNR+jj] = v
		}
	}
}

// gemmRows computes rows [m0,m1) of c: c[i*ldc+j] = clamp(bias[j] +
// Σ_kk a[i*lda+kk]·B[kk][j], lo, hi) for j < n. bias has at least
// n rounded up to gemmNR entries (zero padded). It allocates nothing.
func gemmRows(c []float32, ldc int, a []float32, lda int, bp, bias []float32, m0, m1, n, k int, lo, hi float32) {
	if k == 0 {
		return
	}
	var tile [gemmMR * gemmNR]float32 // a partial panel's tile, before copying out
	mc := max(gemmMR, min(gemmBlockA/(4*k), gemmBlockC/(4*max(n, 1)))/gemmMR*gemmMR)
	for i0 := m0; i0 < m1; i0 += mc {
		i1 := min(i0+mc, m1)
		for j := 0; j < n; j += gemmNR {
			panel := bp[j*k : j*k+gemmNR*k]
			bj := bias[j : j+gemmNR]
			nr := min(gemmNR, n-j)
			i := i0
			for ; i+gemmMR <= i1; i += gemmMR {
				if nr == gemmNR {
					kernel3x3(c[i*ldc+j:], ldc, a[i*lda:], lda, panel, bj, k, lo, hi)
					continue
				}
				kernel3x3(tile[:], gemmNR, a[i*lda:], lda, panel, bj, k, lo, hi)
				for r := 0; r < gemmMR; r++ {
					copy(c[(i+r)*ldc+j:(i+r)*ldc+j+nr], tile[r*gemmNR:])
				}
			}
			for ; i < i1; i++ {
				gemmRow(c[i*ldc+j:i*ldc+j+nr], a[i*lda:i*lda+k], panel, bj, lo, hi)
			}
		}
	}
}

// gemmRow computes one row of a panel (the rows left over below the last
// full tile): c[jj] = clamp(bias[jj] + Σ a[kk]·panel[kk][jj]) for jj <
// len(c) ≤ gemmNR.
func gemmRow(c, a, panel, bias []float32, lo, hi float32) {
	panel = panel[:len(a)*gemmNR]
	c0, c1, c2 := bias[0], bias[1], bias[2]
	for kk, x := range a {
		b := panel[kk*gemmNR : kk*gemmNR+gemmNR : kk*gemmNR+gemmNR]
		c0 += x * b[0]
		c1 += x * b[1]
		c2 += x * b[2]
	}
	acc := [gemmNR]float32{c0, c1, c2}
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

// clamp limits v to [lo, hi] (cheaper than the min/max builtins, which
// order signed zeros and NaNs).
func clamp(v, lo, hi float32) float32 {
	return min(max(v, lo), hi)
}
