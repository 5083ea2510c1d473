//go:build arm64 && !purego

package native

// dwRow8 is in depthwise_arm64.s.
//
//go:noescape
func dwRow8(dst *float32, src *float32, w *float32, bias *float32, n int, cs int, rs int, step int, lo, hi float32)

// haveDWRow8 reports whether this CPU runs dwRow8: every arm64 CPU has
// NEON.
func haveDWRow8() bool { return true }
