package qmath

import "math"

// The 8-bit dot-product GEMM tile for CPUs with VNNI (VPDPBUSD, amd64
// AVX512-VNNI): one instruction adds, per 32-bit lane, four products of an
// unsigned byte and a signed byte. The inputs are already unsigned
// (0..255); the weights, also unsigned, are stored less 128 as signed
// bytes, and the 128·Σx this removes is put back with the zero-point
// correction: Σx·w = Σx·(w-128) + 128·Σx, so the requantization uses
// zw-128 where the other tiles use zw. Products and sums are exact in
// int32 for dot products up to maxDotK terms.

// quadCols is the tile width in output channels: one 64-byte line of
// weights per four steps of the dot product.
const quadCols = 16

// packQuads packs the unsigned-domain weights w ([n][k]) less 128 as
// signed bytes: panel g, quad q, column j, byte b holds w[16g+j][4q+b]-128
// (zero beyond n and k).
func packQuads(w []byte, n, k int, flip byte) []int8 {
	kq := (k + 3) / 4
	groups := (n + quadCols - 1) / quadCols
	out := make([]int8, groups*kq*quadCols*4)
	for oc := 0; oc < n; oc++ {
		g, j := oc/quadCols, oc%quadCols
		panel := out[g*kq*quadCols*4:]
		for kk := 0; kk < k; kk++ {
			panel[(kk/4*quadCols+j)*4+kk%4] = int8(int32(w[oc*k+kk]^flip) - 128)
		}
	}
	return out
}

// quadTile is the per-tile state of quad4x16 (layout shared with the
// assembly: keep the field order and sizes).
type quadTile struct {
	out    [4]*byte // 0: the first output byte of each row
	a      [4]*byte // 32: each row's unsigned inputs, 4·quads bytes
	rowSum [4]int32 // 64: Σ of each row's inputs
	zw     *int32   // 80: 16 filter zero points less 128
	bf     *int32   // 88: 16 folded biases
	scale  *float32 // 96: 16 scales
	zero   int32    // 104: output zero point (unsigned domain)
	lo, hi float32  // 108, 112: clamp bounds less the zero point
	flip   int32    // 116: XOR back to the stored type
	mask   int32    // 120: bit j set: store column j
	_      [4]byte  // 124
}

// quad4x16Go is the portable form of quad4x16asm: the dot products of
// the four rows with the 16 columns of panel w, requantized as fp32Quant
// does (with the zero-point correction) and stored through t.out for the
// columns in t.mask.
func quad4x16Go(t *quadTile, a [4][]byte, w []int8, zw, bf []int32, scale []float32, out [4][]byte) {
	quads := len(w) / (quadCols * 4)
	for r := range 4 {
		for j := range quadCols {
			if t.mask&(1<<j) == 0 {
				continue
			}
			var acc int32
			for q := range quads {
				for b := range 4 {
					acc += int32(a[r][4*q+b]) * int32(w[(q*quadCols+j)*4+b])
				}
			}
			v := acc - zw[j]*t.rowSum[r] + bf[j]
			f := float32(v) * scale[j]
			f = min(max(f, t.lo), t.hi)
			q := int32(math.Float32bits(f+12582912)) - 0x4B400000 + t.zero
			out[r][j] = byte(q ^ t.flip)
		}
	}
}

// dwRequant is the requantization of the fused depthwise kernel (layout
// shared with dwq_amd64.s).
type dwRequant struct {
	zero   int32   // output zero point, unsigned domain
	lo, hi float32 // clamp bounds less the zero point
	flip   int32   // XOR back to the stored type
}

// packDW16 interleaves 3×3 depthwise weights w ([9][c]) per block of 16
// channels: block b, tap t, lane l holds w[t][16b+l]. Channels beyond the
// last full block are left out.
func packDW16(w []int32, c int) []int32 {
	blocks := c / 16
	out := make([]int32, blocks*9*16)
	for b := 0; b < blocks; b++ {
		for t := 0; t < 9; t++ {
			for l := 0; l < 16; l++ {
				out[(b*9+t)*16+l] = w[t*c+16*b+l]
			}
		}
	}
	return out
}

// dw9q16Go is the portable form of dw9q16: for the channels of the full
// 16-channel blocks of out, out[i] = fp32-requantized bias[i] + Σ_t
// x[t][i]·w[t][i] (x unsigned or signed bytes), XOR rq.flip.
func dw9q16Go(out []byte, x *[9][]byte, w, bias []int32, scale []float32, rq *dwRequant, signed bool) {
	n := len(out) / 16 * 16
	for i := range n {
		b, l := i/16, i%16
		acc := bias[i]
		for t := range 9 {
			v := int32(x[t][i])
			if signed {
				v = int32(int8(x[t][i]))
			}
			acc += v * w[(b*9+t)*16+l]
		}
		f := min(max(float32(acc)*scale[i], rq.lo), rq.hi)
		out[i] = byte((int32(math.Float32bits(f+12582912)) - 0x4B400000 + rq.zero) ^ rq.flip)
	}
}

// dw9q16rowGo is the portable form of dw9q16row: dw9q16Go on each pixel.
func dw9q16rowGo(out []byte, x *[9][]byte, w, bias []int32, scale []float32, rq *dwRequant, signed bool, c, pixels, step int) {
	for i := range pixels {
		var xi [9][]byte
		for t := range x {
			xi[t] = x[t][i*step : i*step+c]
		}
		dw9q16Go(out[i*c:(i+1)*c], &xi, w, bias, scale, rq, signed)
	}
}
