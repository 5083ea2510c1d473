//go:build (!amd64 && !arm64) || purego

package native

// haveDWRow8 reports whether an assembly depthwise row kernel exists: not
// on this platform.
func haveDWRow8() bool { return false }

// row8 is never called here (haveDWRow8 is false).
func (d *dwConv) row8(dst, src []float32, oy, iy0, xlo, n, ch int) {}
