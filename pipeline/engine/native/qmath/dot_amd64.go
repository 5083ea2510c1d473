//go:build amd64 && !purego

package qmath

import "golang.org/x/sys/cpu"

// haveDot reports whether the vector kernels (dot4x16, dw9, requant16)
// run the AVX2 assembly; when false the kernels fall back to the SWAR GEMM
// and plain loops.
func haveDot() bool { return cpu.X86.HasAVX2 }

// dot4x16asm is in dot_amd64.s.
//
//go:noescape
func dot4x16asm(acc *[64]int32, a0, a1, a2, a3 *uint32, w *int16, pairs int)

// dot4x16 computes the 4×16 tile of pair products (see dot4x16Go) with
// AVX2 (VPMADDWD). All rows have len(a0) pairs; w holds as many pairs.
func dot4x16(acc *[64]int32, a0, a1, a2, a3 []uint32, w []int16) {
	if !haveDot() {
		dot4x16Go(acc, a0, a1, a2, a3, w)
		return
	}
	n := len(a0)
	if n == 0 {
		*acc = [64]int32{}
		return
	}
	_, _, _ = a1[n-1], a2[n-1], a3[n-1]
	_ = w[n*dotCols*2-1]
	dot4x16asm(acc, &a0[0], &a1[0], &a2[0], &a3[0], &w[0], n)
}

// dw9u8 and dw9i8 are in dw_amd64.s: for each of blocks groups of 8
// channels, acc[i] += Σ_t x[t][i]·w[block][t][i] over the nine taps, with
// x unsigned or signed bytes.
//
//go:noescape
func dw9u8(acc *int32, x *[9]*byte, w *int32, blocks int)

//go:noescape
func dw9i8(acc *int32, x *[9]*byte, w *int32, blocks int)

// dw9 runs the nine-tap depthwise accumulation on blocks of 8 channels:
// acc has 8·blocks entries, every x[t] at least as many bytes, and w the
// weights interleaved per block (packDW9).
func dw9(acc []int32, x *[9][]byte, w []int32, signed bool) {
	blocks := len(acc) / 8
	if blocks == 0 {
		return
	}
	if !haveDot() {
		dw9Go(acc, x, w, signed)
		return
	}
	var p [9]*byte
	for t := range x {
		_ = x[t][8*blocks-1]
		p[t] = &x[t][0]
	}
	_ = w[blocks*72-1]
	if signed {
		dw9i8(&acc[0], &p, &w[0], blocks)
	} else {
		dw9u8(&acc[0], &p, &w[0], blocks)
	}
}

//go:noescape
func requant16asm(dst, acc, zw, bf *int32, scale *float32, p *requantParams)

// requant16 is the vector form of requant16Go.
func requant16(dst *[16]int32, acc, zw, bf []int32, scale []float32, p *requantParams) {
	if !haveDot() {
		requant16Go(dst, acc, zw, bf, scale, p)
		return
	}
	_, _, _, _ = acc[15], zw[15], bf[15], scale[15]
	requant16asm(&dst[0], &acc[0], &zw[0], &bf[0], &scale[0], p)
}

// haveQuads reports whether this CPU runs quad4x16asm (AVX-512 with VNNI;
// x/sys/cpu also checks that the OS saves the ZMM state).
func haveQuads() bool { return cpu.X86.HasAVX512F && cpu.X86.HasAVX512VNNI }

// Dots lists the dot-product kernels this CPU runs, fastest first.
func Dots() []Dot {
	var ds []Dot
	if haveQuads() {
		ds = append(ds, DotQuads)
	}
	if haveDot() {
		ds = append(ds, DotPairs)
	}
	return append(ds, DotSWAR)
}

// quad4x16asm is in vnni_amd64.s.
//
//go:noescape
func quad4x16asm(t *quadTile, w *int8, quads, groups int)

// quad4x16 runs one VNNI tile: t is filled in (rows of 4·quads bytes,
// output, requantization and 16 entries of zw, bf and scale), w is the
// group's panel of len(w)/64 quads.
func quad4x16(t *quadTile, w []int8) {
	quads := len(w) / (quadCols * 4)
	if quads == 0 {
		return
	}
	quad4x16asm(t, &w[0], quads, 1)
}

// quad4x16n runs groups consecutive VNNI tiles (see quad4x16): w holds
// their panels of quads quads each, in order; t's outputs and zw, bf and
// scale are those of the first group, and the following groups use the
// next 16 of each; t.mask applies to the last group.
func quad4x16n(t *quadTile, w []int8, quads, groups int) {
	if quads == 0 || groups == 0 {
		return
	}
	_ = w[groups*quads*quadCols*4-1]
	quad4x16asm(t, &w[0], quads, groups)
}

// dw9q16u8 and dw9q16i8 are in dwq_amd64.s (see dw9q16Go).
//
//go:noescape
func dw9q16u8(out *byte, x *[9]*byte, w *int32, bias *int32, scale *float32, rq *dwRequant, n int)

//go:noescape
func dw9q16i8(out *byte, x *[9]*byte, w *int32, bias *int32, scale *float32, rq *dwRequant, n int)

// dw9q16 runs the fused depthwise 3×3 kernel (AVX-512) on the full
// 16-channel blocks of out; see dw9q16Go. Only called when DotQuads runs.
func dw9q16(out []byte, x *[9][]byte, w, bias []int32, scale []float32, rq *dwRequant, signed bool) {
	n := len(out) / 16 * 16
	if n == 0 {
		return
	}
	var p [9]*byte
	for t := range x {
		_ = x[t][n-1]
		p[t] = &x[t][0]
	}
	_, _, _ = w[n*9-1], bias[n-1], scale[n-1]
	if signed {
		dw9q16i8(&out[0], &p, &w[0], &bias[0], &scale[0], rq, n)
	} else {
		dw9q16u8(&out[0], &p, &w[0], &bias[0], &scale[0], rq, n)
	}
}

// dw9q16rowu8 and dw9q16rowi8 are in dwq_amd64.s: dw9q16 over pixels
// output pixels, the taps advancing step bytes and out ostep per pixel.
//
//go:noescape
func dw9q16rowu8(out *byte, x *[9]*byte, w *int32, bias *int32, scale *float32, rq *dwRequant, n, pixels, step, ostep int)

//go:noescape
func dw9q16rowi8(out *byte, x *[9]*byte, w *int32, bias *int32, scale *float32, rq *dwRequant, n, pixels, step, ostep int)

// dw9q16row runs dw9q16 on pixels consecutive output pixels of c channels
// (a multiple of 16): pixel i writes out[i·c:] from x[t][i·step:].
func dw9q16row(out []byte, x *[9][]byte, w, bias []int32, scale []float32, rq *dwRequant, signed bool, c, pixels, step int) {
	if pixels <= 0 || c < 16 || c%16 != 0 {
		return
	}
	last := (pixels-1)*step + c
	var p [9]*byte
	for t := range x {
		_ = x[t][last-1]
		p[t] = &x[t][0]
	}
	_ = out[(pixels-1)*c+c-1]
	_, _, _ = w[c*9-1], bias[c-1], scale[c-1]
	if signed {
		dw9q16rowi8(&out[0], &p, &w[0], &bias[0], &scale[0], rq, c, pixels, step, c)
	} else {
		dw9q16rowu8(&out[0], &p, &w[0], &bias[0], &scale[0], rq, c, pixels, step, c)
	}
}

// udot4x16 and mlal4x16 are never called here (DotUDOT and DotMLAL are
// arm64's); they run the portable forms for the tests of the packing.
func udot4x16(acc *[64]int32, a *[4][kChunk]byte, w []byte)   { udot4x16Go(acc, a, w) }
func mlal4x16(acc *[64]int32, a *[4][kChunk]byte, w []uint16) { mlal4x16Go(acc, a, w) }

// addVecU8 and addVecI8 are in add_amd64.s: AddXNNPACK on n elements (a
// multiple of 8) of unsigned or signed bytes.
//
//go:noescape
func addVecU8(dst, a, b *byte, n int, p *addVec)

//go:noescape
func addVecI8(dst, a, b *byte, n int, p *addVec)

// addVector runs AddXNNPACK's vector kernel (AVX2) over the whole groups of
// 8 elements of dst (a and b as long) and returns how many it did; the
// inputs and the output are of one type.
func addVector(dst, a, b []byte, p *XNNPACKAddParams) int {
	n := len(dst) &^ 7
	if n == 0 || !haveDot() || p.In1 != p.Out || p.In2 != p.Out {
		return 0
	}
	_, _ = a[n-1], b[n-1]
	if p.Out == Int8 {
		addVecI8(&dst[0], &a[0], &b[0], n, &p.vec)
	} else {
		addVecU8(&dst[0], &a[0], &b[0], n, &p.vec)
	}
	return n
}
