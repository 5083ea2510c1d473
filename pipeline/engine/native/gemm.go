package native

// GEMM for the 1x1 convolutions, im2col convolutions and fully connected
// layers: c = clamp(a·B + bias) with a row-major (M×K, row stride lda), B
// packed by packB into panels of gemmNR columns, and c row-major (row
// stride ldc). The micro-kernel keeps a 2×6 tile of c in registers
// (the Go compiler has 15 float registers on amd64: 12 accumulators,
// 2 values of a and one of B); with GOAMD64=v3 the multiply-adds compile
// to FMA instructions.

const (
	gemmMR = 2
	gemmNR = 6
	// gemmBlockBytes bounds the rows of a swept per B panel so they stay
	// in L2 while every panel passes over them.
	gemmBlockBytes = 192 << 10
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
	mc := max(gemmMR, gemmBlockBytes/(4*k)/gemmMR*gemmMR)
	for i0 := m0; i0 < m1; i0 += mc {
		i1 := min(i0+mc, m1)
		for j := 0; j < n; j += gemmNR {
			panel := bp[j*k : j*k+gemmNR*k]
			bj := bias[j : j+gemmNR]
			full := j+gemmNR <= n
			i := i0
			for ; i+gemmMR <= i1; i += gemmMR {
				if full {
					kernel2x6(c[i*ldc+j:], ldc, a[i*lda:i*lda+k], a[(i+1)*lda:(i+1)*lda+k], panel, bj, lo, hi)
				} else {
					gemmEdge(c[i*ldc+j:], ldc, a[i*lda:], lda, panel, bj, gemmMR, n-j, k, lo, hi)
				}
			}
			if i < i1 {
				gemmEdge(c[i*ldc+j:], ldc, a[i*lda:], lda, panel, bj, i1-i, min(gemmNR, n-j), k, lo, hi)
			}
		}
	}
}

// gemmEdge computes an mr×nr corner tile (mr ≤ gemmMR, nr ≤ gemmNR).
func gemmEdge(c []float32, ldc int, a []float32, lda int, panel, bias []float32, mr, nr, k int, lo, hi float32) {
	for i := 0; i < mr; i++ {
		var acc [gemmNR]float32
		copy(acc[:], bias[:gemmNR])
		row := a[i*lda : i*lda+k]
		for kk, x := range row {
			b := panel[kk*gemmNR : kk*gemmNR+gemmNR]
			for jj := range acc {
				acc[jj] += x * b[jj]
			}
		}
		out := c[i*ldc : i*ldc+nr]
		for jj := range out {
			out[jj] = min(max(acc[jj], lo), hi)
		}
	}
}

// kernel2x6 computes one full 2×6 tile; a0..a1 are the k-long rows of a.
func kernel2x6(c []float32, ldc int, a0, a1 []float32, panel, bias []float32, lo, hi float32) {
	bias = bias[:6]
	c00, c01, c02, c03, c04, c05 := bias[0], bias[1], bias[2], bias[3], bias[4], bias[5]
	c10, c11, c12, c13, c14, c15 := bias[0], bias[1], bias[2], bias[3], bias[4], bias[5]
	a1 = a1[:len(a0)]
	panel = panel[:len(a0)*6]
	for kk, x0 := range a0 {
		x1 := a1[kk]
		b := panel[kk*6 : kk*6+6 : kk*6+6]
		b0 := b[0]
		c00 += x0 * b0
		c10 += x1 * b0
		b1 := b[1]
		c01 += x0 * b1
		c11 += x1 * b1
		b2 := b[2]
		c02 += x0 * b2
		c12 += x1 * b2
		b3 := b[3]
		c03 += x0 * b3
		c13 += x1 * b3
		b4 := b[4]
		c04 += x0 * b4
		c14 += x1 * b4
		b5 := b[5]
		c05 += x0 * b5
		c15 += x1 * b5
	}
	r0 := c[0*ldc : 0*ldc+6 : 0*ldc+6]
	r0[0] = min(max(c00, lo), hi)
	r0[1] = min(max(c01, lo), hi)
	r0[2] = min(max(c02, lo), hi)
	r0[3] = min(max(c03, lo), hi)
	r0[4] = min(max(c04, lo), hi)
	r0[5] = min(max(c05, lo), hi)
	r1 := c[1*ldc : 1*ldc+6 : 1*ldc+6]
	r1[0] = min(max(c10, lo), hi)
	r1[1] = min(max(c11, lo), hi)
	r1[2] = min(max(c12, lo), hi)
	r1[3] = min(max(c13, lo), hi)
	r1[4] = min(max(c14, lo), hi)
	r1[5] = min(max(c15, lo), hi)
}
