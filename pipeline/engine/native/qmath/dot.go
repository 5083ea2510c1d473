package qmath

import "fmt"

// The 16-bit multiply-add GEMM tile used when the CPU has a fast vector
// path (AVX2 on amd64): weights are packed as int16 pairs, two steps of
// the dot product per 32-bit lane, so one multiply-add instruction does
// sixteen 8-bit multiply-adds. Values are in the unsigned domain (0..255),
// so every pair sum fits an int32 lane exactly and the dot products stay
// exact up to maxDotK terms.

// Dot names a dot-product kernel of the integer GEMM (Conv) and of the
// depthwise 3×3 accumulation.
type Dot int

const (
	// DotAuto is the fastest kernel this CPU runs (the first of Dots).
	DotAuto Dot = iota
	// DotSWAR is portable Go: two 32-bit lanes per uint64 multiply.
	DotSWAR
	// DotPairs multiplies 16-bit pairs (AVX2 VPMADDWD).
	DotPairs
	// DotQuads multiplies 8-bit quads (AVX512-VNNI VPDPBUSD) and
	// requantizes in the same assembly; used with fp32 requantization,
	// the pairs kernel otherwise.
	DotQuads
	// DotUDOT multiplies 8-bit quads with the arm64 dot-product
	// extension (UDOT by element, FEAT_DotProd).
	DotUDOT
	// DotMLAL multiplies 16-bit values with arm64 NEON's UMLAL by
	// element (every ARMv8-A CPU).
	DotMLAL
)

func (d Dot) String() string {
	switch d {
	case DotAuto:
		return "auto"
	case DotSWAR:
		return "swar"
	case DotPairs:
		return "avx2-pairs"
	case DotQuads:
		return "vnni-quads"
	case DotUDOT:
		return "neon-udot"
	case DotMLAL:
		return "neon-mlal"
	}
	return fmt.Sprintf("Dot(%d)", int(d))
}

// dotCols is the tile width in output channels.
const dotCols = 16

// maxDotK bounds the dot-product length of the 16-bit path so that no
// int32 lane can overflow (255·255·k < 2^31).
const maxDotK = (1<<31 - 1) / (255 * 255)

// packDot packs the unsigned-domain weights w ([n][k]) as int16 pairs:
// panel g, pair p, column j holds w[16g+j][2p] and w[16g+j][2p+1] (zero
// beyond n and k).
func packDot(w []byte, n, k int, flip byte) []int16 {
	kp := (k + 1) / 2
	groups := (n + dotCols - 1) / dotCols
	out := make([]int16, groups*kp*dotCols*2)
	for oc := 0; oc < n; oc++ {
		g, j := oc/dotCols, oc%dotCols
		panel := out[g*kp*dotCols*2:]
		for kk := 0; kk < k; kk++ {
			panel[(kk/2*dotCols+j)*2+kk%2] = int16(w[oc*k+kk] ^ flip)
		}
	}
	return out
}

// pairRow packs an unsigned-domain row of k bytes into k/2 (rounded up)
// lanes of two zero-extended 16-bit values.
func pairRow(dst []uint32, row []byte) {
	n := len(row) / 2
	dst = dst[:(len(row)+1)/2]
	for p := 0; p < n; p++ {
		dst[p] = uint32(row[2*p]) | uint32(row[2*p+1])<<16
	}
	if len(row)%2 == 1 {
		dst[n] = uint32(row[len(row)-1])
	}
}

// dot4x16Go is the portable form of dot4x16: acc[r*16+j] = Σ_p pair
// products of row r (a_r[p]) and column j of the packed panel w.
func dot4x16Go(acc *[64]int32, a0, a1, a2, a3 []uint32, w []int16) {
	rows := [4][]uint32{a0, a1, a2, a3}
	for r, a := range rows {
		for j := 0; j < dotCols; j++ {
			var s int32
			for p, x := range a {
				lo, hi := int32(uint16(x)), int32(x>>16)
				s += lo*int32(w[(p*dotCols+j)*2]) + hi*int32(w[(p*dotCols+j)*2+1])
			}
			acc[r*dotCols+j] = s
		}
	}
}

// packDW9 interleaves 3×3 depthwise weights w ([9][c]) per block of 8
// channels: block b, tap t, lane l holds w[t][8b+l]. Channels beyond the
// last full block are left out.
func packDW9(w []int32, c int) []int32 {
	blocks := c / 8
	out := make([]int32, blocks*72)
	for b := 0; b < blocks; b++ {
		for t := 0; t < 9; t++ {
			for l := 0; l < 8; l++ {
				out[b*72+t*8+l] = w[t*c+8*b+l]
			}
		}
	}
	return out
}

// dw9Go is the portable form of dw9.
func dw9Go(acc []int32, x *[9][]byte, w []int32, signed bool) {
	for i := range acc[:len(acc)/8*8] {
		b, l := i/8, i%8
		for t := 0; t < 9; t++ {
			v := int32(x[t][i])
			if signed {
				v = int32(int8(x[t][i]))
			}
			acc[i] += v * w[b*72+t*8+l]
		}
	}
}

// requantParams are the per-row constants of requant16 (layout shared
// with the assembly).
type requantParams struct {
	rowSum    int32
	zero      int32
	lo, hi    float32 // clamp bounds less the zero point
	magic     float32 // 1.5·2^23
	magicBits int32   // its bit pattern
}

func newRequantParams(rowSum, zero, lo, hi int32) requantParams {
	return requantParams{rowSum: rowSum, zero: zero, lo: float32(lo - zero), hi: float32(hi - zero),
		magic: 12582912, magicBits: 0x4B400000}
}

// requant16Go requantizes 16 accumulators as fp32Quant does, with the
// GEMM's zero-point correction: dst[j] = fp32Quant(acc[j] - zw[j]·rowSum +
// bf[j], scale[j], ...).
func requant16Go(dst *[16]int32, acc, zw, bf []int32, scale []float32, p *requantParams) {
	lo, hi := int32(p.lo)+p.zero, int32(p.hi)+p.zero
	for j := range dst {
		dst[j] = fp32Quant(acc[j]-zw[j]*p.rowSum+bf[j], scale[j], p.zero, lo, hi)
	}
}

// The arm64 NEON GEMM tiles (4 rows × 16 output channels, like the pairs
// tile) take the gathered unsigned-domain rows as bytes, zero-padded to
// a whole number of steps, and leave the 64 accumulators for storeDot.

// udotStep and mlalStep are the dot-product lengths one loop iteration
// of udot4x16asm and mlal4x16asm consumes.
const (
	udotStep = 16
	mlalStep = 8
)

// packUDOT packs the unsigned-domain weights w ([n][k]) for the UDOT
// tile: panel g (kp = k rounded up to udotStep), quad q, column j, byte b
// holds w[16g+j][4q+b] (zero beyond n and k).
func packUDOT(w []byte, n, k int, flip byte) []byte {
	kp := (k + udotStep - 1) / udotStep * udotStep
	groups := (n + dotCols - 1) / dotCols
	out := make([]byte, groups*kp*dotCols)
	for oc := 0; oc < n; oc++ {
		g, j := oc/dotCols, oc%dotCols
		panel := out[g*kp*dotCols:]
		for kk := 0; kk < k; kk++ {
			panel[(kk/4*dotCols+j)*4+kk%4] = w[oc*k+kk] ^ flip
		}
	}
	return out
}

// packMLAL packs the unsigned-domain weights w ([n][k]) for the UMLAL
// tile as 16-bit values: panel g (kp = k rounded up to mlalStep), step
// kk, column j holds w[16g+j][kk] (zero beyond n and k).
func packMLAL(w []byte, n, k int, flip byte) []uint16 {
	kp := (k + mlalStep - 1) / mlalStep * mlalStep
	groups := (n + dotCols - 1) / dotCols
	out := make([]uint16, groups*kp*dotCols)
	for oc := 0; oc < n; oc++ {
		g, j := oc/dotCols, oc%dotCols
		panel := out[g*kp*dotCols:]
		for kk := 0; kk < k; kk++ {
			panel[kk*dotCols+j] = uint16(w[oc*k+kk] ^ flip)
		}
	}
	return out
}

// udot4x16Go is the portable form of udot4x16asm: acc[r*16+j] =
// Σ_k a[r][k]·w[k][j] over the kp = len(w)/16 bytes of each row.
func udot4x16Go(acc *[64]int32, a *[4][kChunk]byte, w []byte) {
	kp := len(w) / dotCols
	for r := range 4 {
		for j := range dotCols {
			var s int32
			for kk := range kp {
				s += int32(a[r][kk]) * int32(w[(kk/4*dotCols+j)*4+kk%4])
			}
			acc[r*dotCols+j] = s
		}
	}
}

// mlal4x16Go is the portable form of mlal4x16asm.
func mlal4x16Go(acc *[64]int32, a *[4][kChunk]byte, w []uint16) {
	kp := len(w) / dotCols
	for r := range 4 {
		for j := range dotCols {
			var s int32
			for kk := range kp {
				s += int32(a[r][kk]) * int32(w[kk*dotCols+j])
			}
			acc[r*dotCols+j] = s
		}
	}
}
