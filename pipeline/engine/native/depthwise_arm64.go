//go:build arm64 && !purego

package native

// dwRow8 is in depthwise_arm64.s.
//
//go:noescape
func dwRow8(dst *float32, src *float32, w *float32, bias *float32, n int, cs int, rs int, step int, lo, hi float32)

// haveDWRow8 reports whether this CPU runs dwRow8: every arm64 CPU has
// NEON.
func haveDWRow8() bool { return true }

// haveDWLine8 reports whether an assembly depthwise line kernel exists: not
// on this platform (the rows take dwRow8 or Go).
func haveDWLine8() bool { return false }

// dwLine8 is never called here (haveDWLine8 is false).
func dwLine8(dst *float32, src *float32, w *float32, bias *float32, groups int, segs *dwSeg, cs int, rs int, wrs int, step int, lo, hi float32) {
	panic("native: no depthwise line kernel on this platform")
}

// haveDWLine16 reports whether the sixteen-channel line kernel exists: not
// on this platform.
func haveDWLine16() bool { return false }

// dwLine16 is never called here (haveDWLine16 is false).
func dwLine16(dst *float32, src *float32, w *float32, bias *float32, groups int, segs *dwSeg, cs int, rs int, wrs int, step int, lo, hi float32) {
	panic("native: no depthwise line kernel on this platform")
}
