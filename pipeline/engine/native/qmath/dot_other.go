//go:build (!amd64 && !arm64) || purego

package qmath

// haveDot is false: without a vector path the SWAR GEMM is faster than the
// portable 16-bit tile.
func haveDot() bool { return false }

func dot4x16(acc *[64]int32, a0, a1, a2, a3 []uint32, w []int16) {
	dot4x16Go(acc, a0, a1, a2, a3, w)
}

func dw9(acc []int32, x *[9][]byte, w []int32, signed bool) {
	dw9Go(acc, x, w, signed)
}

func requant16(dst *[16]int32, acc, zw, bf []int32, scale []float32, p *requantParams) {
	requant16Go(dst, acc, zw, bf, scale, p)
}

// Dots lists the dot-product kernels this platform runs: the portable one.
func Dots() []Dot { return []Dot{DotSWAR} }

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

// udot4x16 and mlal4x16 are never called here (DotUDOT and DotMLAL are
// not in Dots); they run the portable forms for the tests of the packing.
func udot4x16(acc *[64]int32, a *[4][kChunk]byte, w []byte)   { udot4x16Go(acc, a, w) }
func mlal4x16(acc *[64]int32, a *[4][kChunk]byte, w []uint16) { mlal4x16Go(acc, a, w) }

// addVector has no vector kernel here: AddXNNPACK's table loop does it all.
func addVector(dst, a, b []byte, p *XNNPACKAddParams) int { return 0 }
