//go:build (!amd64 && !arm64) || purego

package native

// haveDWRow8 reports whether an assembly depthwise row kernel exists: not
// on this platform.
func haveDWRow8() bool { return false }

// dwRow8 is never called here (haveDWRow8 is false).
func dwRow8(dst *float32, src *float32, w *float32, bias *float32, n int, cs int, rs int, step int, lo, hi float32) {
	panic("native: no depthwise row kernel on this platform")
}
