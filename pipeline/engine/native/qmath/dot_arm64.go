//go:build arm64 && !purego

package qmath

import "golang.org/x/sys/cpu"

// haveDot reports whether the vector kernels (dw9, requant16) run the
// NEON assembly: always on arm64 (Advanced SIMD is part of ARMv8-A).
func haveDot() bool { return true }

// haveUDOT reports whether this CPU has the dot-product extension.
func haveUDOT() bool { return cpu.ARM64.HasASIMDDP }

// Dots lists the dot-product kernels this CPU runs, fastest first.
func Dots() []Dot {
	var ds []Dot
	if haveUDOT() {
		ds = append(ds, DotUDOT)
	}
	return append(ds, DotMLAL, DotSWAR)
}

// udot4x16asm and mlal4x16asm are in dot_arm64.s.
//
//go:noescape
func udot4x16asm(acc *[64]int32, a0, a1, a2, a3 *byte, w *byte, steps int)

//go:noescape
func mlal4x16asm(acc *[64]int32, a0, a1, a2, a3 *byte, w *uint16, steps int)

// udot4x16 computes the 4×16 tile (see udot4x16Go) with UDOT; w is one
// packUDOT panel of len(w)/16 steps (a whole number of udotSteps).
func udot4x16(acc *[64]int32, a *[4][kChunk]byte, w []byte) {
	steps := len(w) / (dotCols * udotStep)
	if steps == 0 || !haveUDOT() {
		udot4x16Go(acc, a, w)
		return
	}
	_ = a[3][steps*udotStep-1]
	udot4x16asm(acc, &a[0][0], &a[1][0], &a[2][0], &a[3][0], &w[0], steps)
}

// mlal4x16 computes the 4×16 tile (see mlal4x16Go) with UMLAL; w is one
// packMLAL panel.
func mlal4x16(acc *[64]int32, a *[4][kChunk]byte, w []uint16) {
	steps := len(w) / (dotCols * mlalStep)
	if steps == 0 {
		mlal4x16Go(acc, a, w)
		return
	}
	_ = a[3][steps*mlalStep-1]
	mlal4x16asm(acc, &a[0][0], &a[1][0], &a[2][0], &a[3][0], &w[0], steps)
}

// dot4x16 is never called here (DotPairs is not in Dots).
func dot4x16(acc *[64]int32, a0, a1, a2, a3 []uint32, w []int16) {
	dot4x16Go(acc, a0, a1, a2, a3, w)
}

// dw9u8 and dw9i8 are in dot_arm64.s: for each of blocks groups of 8
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
	_, _, _, _ = acc[15], zw[15], bf[15], scale[15]
	requant16asm(&dst[0], &acc[0], &zw[0], &bf[0], &scale[0], p)
}

// quad4x16n is never called here (DotQuads is not in Dots).
func quad4x16n(t *quadTile, w []int8, quads, groups int) {
	panic("qmath: no VNNI kernel on this platform")
}

// quad4x16 is never called here (DotQuads is not in Dots).
func quad4x16(t *quadTile, w []int8) { panic("qmath: no VNNI kernel on this platform") }

// dw9q16row is never called here (DotQuads is not in Dots).
func dw9q16row(out []byte, x *[9][]byte, w, bias []int32, scale []float32, rq *dwRequant, signed bool, c, pixels, step int) {
	dw9q16rowGo(out, x, w, bias, scale, rq, signed, c, pixels, step)
}

// dw9q16 is never called here (DotQuads is not in Dots).
func dw9q16(out []byte, x *[9][]byte, w, bias []int32, scale []float32, rq *dwRequant, signed bool) {
	dw9q16Go(out, x, w, bias, scale, rq, signed)
}

// addVector has no vector kernel here: AddXNNPACK's table loop does it all.
func addVector(dst, a, b []byte, p *XNNPACKAddParams) int { return 0 }
